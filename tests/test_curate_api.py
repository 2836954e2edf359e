"""The curation page's API through FastAPI's TestClient: the flow, the figures, bad requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tagdecide import make_strategy
from tagdecide.curate.app import create_curation_app
from tagdecide.curate.session import Session, open_session, read_tracks_info
from tagdecide.curate.store import CurationStore
from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies import Strategy
from tagdecide.taxonomy import Taxonomy

TAGS = ("blues-rock", "punk", "jazz", "happy", "sad", "calm")
CLASSES = ("Genres", "Genres", "Genres", "Moods", "Moods", "Moods")
CATEGORIES = ("rock", "other", "mood")
TAXONOMY = Taxonomy(TAGS, ["rock", "rock", "other", "mood", "mood", "mood"], list(CLASSES))


def labelled(n_tracks: int = 120, seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    """Scores that say something about a random truth, with category scores."""
    rng = np.random.default_rng(seed)
    truth = (rng.uniform(size=(n_tracks, len(TAGS))) < 0.3).astype(np.uint8)
    scores = np.clip(0.35 * truth + rng.uniform(0, 0.65, truth.shape), 0, 1).round(4)
    categories = rng.uniform(size=(n_tracks, len(CATEGORIES))).round(4)
    ids = np.arange(1000, 1000 + n_tracks) * 7
    return TrackScores(ids, TAGS, scores, CATEGORIES, categories), truth


def fitted(strategy: str = "thresholds") -> tuple[Strategy, TrackScores, np.ndarray]:
    """A model fitted on one half; the other half (scores and truth) to curate."""
    scores, truth = labelled()
    half = scores.n_tracks // 2
    model = make_strategy(strategy).fit(
        scores.subset(slice(0, half)), truth[:half], taxonomy=TAXONOMY
    )
    return model, scores.subset(slice(half, None)), truth[half:]


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Session, TestClient, np.ndarray]:
    model, scores, truth = fitted()
    store = CurationStore(tmp_path / "curation.sqlite")
    session = open_session(model, scores, store, queue="sample", n=8)
    client = TestClient(create_curation_app(session), raise_server_exceptions=False)
    return session, client, truth


def _post(client: TestClient, track: int, action: str, **body: Any) -> Any:
    return client.post(f"/api/tracks/{track}/{action}", json=body)


def test_page_and_its_files_are_served_without_any_network_address(
    setup: tuple[Session, TestClient, np.ndarray],
) -> None:
    _, client, _ = setup
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/curate.js">' in page.text
    for name, kind in (("curate.js", "text/javascript"), ("curate.css", "text/css")):
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(kind)
        assert "http://" not in answer.text and "https://" not in answer.text
    assert "http" not in page.text.replace('"/static', "")  # no CDN, works offline
    assert client.get("/static/../store.py").status_code == 404
    assert client.get("/static/secret.txt").json() == {"detail": "no static file 'secret.txt'"}


def test_a_track_shows_the_given_tags_and_near_misses_per_class(
    setup: tuple[Session, TestClient, np.ndarray],
) -> None:
    session, client, _ = setup
    view = client.get("/api/next", params={"client": "a"}).json()["track"]
    track = view["track"]
    assert track == int(session.store.queue_ids()[0]) and view["version"] == 0
    row = int(np.flatnonzero(session.scores.ids == track)[0])
    decided = session.model.predict(session.scores.subset([row]))[0]
    given = {entry["tag"] for entry in view["tags"] if entry["given"]}
    assert given == {TAGS[j] for j in np.flatnonzero(decided)}
    for entry in view["tags"]:
        assert entry["class"] == CLASSES[TAGS.index(entry["tag"])]
        assert (entry["margin"] >= 0) == entry["given"]
        assert entry["margin"] == pytest.approx(entry["value"] - entry["threshold"])
    # Every class with a tag not given shows near misses (at most 5 per class).
    for name in set(CLASSES):
        misses = [e for e in view["tags"] if e["class"] == name and not e["given"]]
        expected = [
            t for t, c, d in zip(TAGS, CLASSES, decided, strict=True) if c == name and not d
        ]
        assert len(misses) == min(5, len(expected))


def test_verdicts_undo_done_and_the_figures(
    setup: tuple[Session, TestClient, np.ndarray],
) -> None:
    session, client, truth = setup
    truth_of = {int(track): truth[row] for row, track in enumerate(session.scores.ids)}
    curated = []
    for _ in range(3):
        view = client.get("/api/next", params={"client": "a"}).json()["track"]
        track, version = view["track"], view["version"]
        # Answer from the truth for every tag shown, then one wrong click undone.
        for entry in view["tags"]:
            present = int(truth_of[track][TAGS.index(entry["tag"])])
            answer = _post(client, track, "verdicts", tag=entry["tag"], present=present,
                           version=version, curator="ana")  # fmt: skip
            assert answer.status_code == 200, answer.text
            version = answer.json()["version"]
        shown = {entry["tag"] for entry in view["tags"]}
        hidden = [tag for tag in TAGS if tag not in shown]
        for tag in hidden:  # tags not shown: added or rejected by hand
            present = int(truth_of[track][TAGS.index(tag)])
            version = _post(client, track, "verdicts", tag=tag, present=present,
                            version=version).json()["version"]  # fmt: skip
        wrong = _post(client, track, "verdicts", tag=TAGS[0], present=1, version=version).json()
        undone = _post(client, track, "undo", version=wrong["version"]).json()
        tag_zero = next(e for e in undone["tags"] if e["tag"] == TAGS[0])
        assert tag_zero["verdict"] == int(truth_of[track][0])
        done = _post(client, track, "done", version=undone["version"])
        assert done.json()["done"] is True and done.json()["curators"] == ["ana"]
        curated.append(track)
    progress = client.get("/api/progress").json()
    assert (progress["done"], progress["budget"]) == (3, 8)
    rows = [int(np.flatnonzero(session.scores.ids == track)[0]) for track in curated]
    decided = session.model.predict(session.scores.subset(rows)).astype(bool)
    true = truth[rows].astype(bool)
    figures = {row["class"]: row for row in progress["figures"]}
    assert set(figures) == {"Genres", "Moods", "all tags"}
    for name, columns in (("Genres", [0, 1, 2]), ("Moods", [3, 4, 5]), ("all tags", range(6))):
        hits = int((decided[:, columns] & true[:, columns]).sum())
        given, positives = int(decided[:, columns].sum()), int(true[:, columns].sum())
        precision = figures[name]["precision"]
        if given:
            assert precision["value"] == pytest.approx(hits / given)
            assert precision["low"] <= precision["value"] <= precision["high"]
        else:
            assert precision["value"] is None
        if positives:
            assert figures[name]["recall"]["value"] == pytest.approx(hits / positives)
        if given + positives:
            assert figures[name]["f1"]["value"] == pytest.approx(2 * hits / (given + positives))
    assert "weighted_f1" in figures["all tags"]
    # The next track is not one of the done ones; the export's truth is the answers.
    following = client.get("/api/next", params={"client": "a"}).json()["track"]["track"]
    assert following not in curated
    ids, exported, _ = session.store.done_truth()
    assert ids.tolist() == curated
    np.testing.assert_array_equal(exported, truth[rows])


def test_two_browsers_on_one_track_see_the_conflict(
    setup: tuple[Session, TestClient, np.ndarray],
) -> None:
    session, client, _ = setup
    track = int(session.store.queue_ids()[0])
    first = _post(client, track, "verdicts", tag="punk", present=1, version=0, curator="ana")
    assert first.status_code == 200
    second = _post(client, track, "verdicts", tag="punk", present=0, version=0, curator="ben")
    assert second.status_code == 409
    body = second.json()
    assert body["detail"].startswith(f"track {track} was changed by another curator")
    assert body["track"]["version"] == 1 and body["track"]["curators"] == ["ana"]
    assert next(e for e in body["track"]["tags"] if e["tag"] == "punk")["verdict"] == 1
    # Two browsers asking for work get different tracks.
    one = client.get("/api/next", params={"client": "x"}).json()["track"]["track"]
    other = client.get("/api/next", params={"client": "y"}).json()["track"]["track"]
    assert one != other


BAD_REQUESTS = [
    ("verdicts", {"tag": "punk", "present": 1}, 422, "version: Field required"),
    ("verdicts", {"tag": "punk", "present": 1, "version": "0"}, 422, "version: Input should be"),
    ("verdicts", {"tag": "punk", "present": 2, "version": 0}, 422, "present: Input should be"),
    ("verdicts", {"tag": "punk", "present": True, "version": 0}, 422, "present: Input should"),
    ("verdicts", {"tag": "nope", "present": 1, "version": 0}, 422, "tag: 'nope' is not one"),
    ("verdicts", {"tag": 3, "present": 1, "version": 0}, 422, "tag: Input should be a valid"),
    ("verdicts", {"present": 1, "version": 0}, 422, "tag: Field required"),
    ("verdicts", {"tag": "punk", "present": 1, "version": -1}, 422, "version: Input should be"),
    ("verdicts", {"tag": "punk", "present": 1, "version": 0, "x": 1}, 422, "x: unknown field"),
    ("verdicts", [1, 2], 422, "body: Input should be a valid dictionary"),
    ("verdicts", {"tag": "punk", "present": 1, "version": 7}, 409, "changed by another curator"),
    ("verdicts", {"tag": "punk", "present": 1, "version": 0, "curator": 5}, 422, "curator:"),
    ("undo", {"version": 0}, 422, "nothing to undo"),
    ("done", {}, 422, "version: Field required"),
    ("done", {"version": 10**30}, 422, "version"),
]


@pytest.mark.parametrize(("action", "body", "status", "detail"), BAD_REQUESTS)
def test_bad_requests_get_4xx_naming_the_field(
    setup: tuple[Session, TestClient, np.ndarray],
    action: str,
    body: Any,
    status: int,
    detail: str,
) -> None:
    session, client, _ = setup
    track = int(session.store.queue_ids()[0])
    answer = (
        _post(client, track, action, **{})
        if body is None
        else client.post(f"/api/tracks/{track}/{action}", json=body)
    )
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]
    assert session.store.count_events() == 0


def test_bad_paths_queries_and_bodies_get_4xx(
    setup: tuple[Session, TestClient, np.ndarray],
) -> None:
    session, client, _ = setup
    track = int(session.store.queue_ids()[0])
    checks = [
        (client.post(f"/api/tracks/{track}/verdicts", content=b"{not json",
                     headers={"content-type": "application/json"}), 422, "body: not valid JSON"),
        (client.post(f"/api/tracks/{track}/verdicts", content=b"x" * 20000,
                     headers={"content-type": "application/json"}), 413, "request body too large"),
        (client.post("/api/tracks/abc/verdicts", json={}), 422, "track: Input should be a valid"),
        (client.post("/api/tracks/5/done", json={"version": 0}), 404,
         "track 5 is not in the curation queue"),
        (client.get("/api/tracks/5"), 404, "track 5 is not in the curation queue"),
        (client.get("/api/next"), 422, "client: Field required"),
        (client.get("/api/next", params={"client": "a", "after": "x"}), 422, "after:"),
        (client.get(f"/audio/{track}"), 404, "no local audio file"),
        (client.get("/api/tracks/99999999999999999999999"), 422, "track:"),
    ]  # fmt: skip
    for answer, status, detail in checks:
        assert answer.status_code == status, (detail, answer.text)
        assert detail in answer.json()["detail"]
    assert session.store.count_events() == 0


def test_tracks_info_is_shown_and_local_audio_served(tmp_path: Path) -> None:
    model, scores, _ = fitted()
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.ogg").write_bytes(b"OggS fake audio")
    store = CurationStore(tmp_path / "c.sqlite")
    session = open_session(model, scores, store, queue="review", n=4)
    first, second = (int(track) for track in store.queue_ids()[:2])
    info_path = tmp_path / "info.csv"
    info_path.write_text(
        "ChallengeID,title,artist,album,url,label\n"
        f'{first},"Blue, Blue",Ann,First,audio/a.ogg,x\n'
        f"{second},Red,Bo,Second,https://example.org/red.mp3,y\n",
        encoding="utf-8",
    )
    session.info = read_tracks_info(info_path)
    client = TestClient(create_curation_app(session), raise_server_exceptions=False)
    view = client.get(f"/api/tracks/{first}").json()
    assert view["info"] == {"title": "Blue, Blue", "artist": "Ann", "album": "First",
                            "audio": f"/audio/{first}"}  # fmt: skip
    assert client.get(f"/audio/{first}").content == b"OggS fake audio"
    assert client.get(f"/api/tracks/{second}").json()["info"]["audio"].startswith("https://")
    assert client.get(f"/audio/{second}").status_code == 404


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("id,title\n1,a\n", "no ChallengeID column"),
        ("ChallengeID,label\n1,a\n", "none of the columns title, artist, album, url"),
        ("ChallengeID,title\nx1,a\n", "line 2, column ChallengeID: 'x1' is not an integer"),
        ("ChallengeID,title\n1,a\n1,b\n", "line 3: ChallengeID 1 repeated"),
        ("ChallengeID,title\n1,a,b\n", "line 2 has 3 cells; the header has 2"),
        ("ChallengeID,url\n1,file:///etc/passwd\n", "line 2, column url: 'file:///etc/passwd'"),
    ],
)
def test_bad_tracks_info_is_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "info.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_tracks_info(path)


def test_a_database_of_another_model_or_missing_tracks_is_refused(tmp_path: Path) -> None:
    model, scores, _ = fitted()
    store = CurationStore(tmp_path / "c.sqlite")
    open_session(model, scores, store, n=5)
    other, _ = labelled()
    renamed = TrackScores(other.ids, ("a", "b", "c", "d", "e", "f"), other.tag_scores)
    other_model = make_strategy("thresholds").fit(renamed, np.eye(len(other.ids), 6, dtype=int))
    with pytest.raises(InputError, match="was made for a model with other tags"):
        open_session(other_model, renamed, store)
    with pytest.raises(InputError, match="X: 5 queued track"):
        open_session(model, scores.subset(slice(0, 0)), store)
    with pytest.raises(InputError, match="--n must be at least 1; got 0"):
        open_session(model, scores, CurationStore(tmp_path / "d.sqlite"), n=0)


def test_a_stacked_model_shows_the_inputs_that_moved_it(tmp_path: Path) -> None:
    model, scores, _ = fitted("stacked")
    session = open_session(model, scores, CurationStore(tmp_path / "c.sqlite"), n=3)
    client = TestClient(create_curation_app(session), raise_server_exceptions=False)
    view = client.get("/api/next", params={"client": "a"}).json()["track"]
    assert any(entry["inputs"] for entry in view["tags"])
    assert all(entry["rule"] == "stacked" for entry in view["tags"])


def test_figures_are_undefined_without_counts_and_intervals_hold_the_value() -> None:
    from tagdecide.curate.metrics import class_figures, wilson_interval

    truth = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0]])
    decided = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    rows = {row["class"]: row for row in class_figures(truth, decided, ["A", "A", "B", "B"])}
    assert rows["A"]["precision"]["value"] == pytest.approx(1 / 2)
    assert rows["A"]["recall"]["value"] == pytest.approx(1 / 2)
    assert rows["B"]["f1"]["value"] == pytest.approx(1.0)
    empty = class_figures(np.zeros((2, 2)), np.zeros((2, 2)), ["A", "A"])[0]
    assert empty["f1"] == {"value": None, "low": None, "high": None}
    assert empty["precision"]["value"] is None and empty["weighted_f1"]["value"] is None
    assert class_figures(np.zeros((0, 2)), np.zeros((0, 2)), ["A", "B"])[2]["tracks"] == 0
    for hits, trials in ((0, 5), (5, 5), (3, 7), (1, 1000)):
        estimate = wilson_interval(hits, trials)
        assert estimate.low is not None and estimate.high is not None
        assert 0 <= estimate.low <= hits / trials <= estimate.high <= 1
