"""A large /v1/decide body decided in parts by every worker process at once
(tagdecide.service._lanes, Decider.part_ranges/decide_part/join_parts): the parts are runs
of whole tracks wherever the cut falls, and the answer, refusals included, is byte for byte
the one the body gets decided whole; through real HTTP, also with a worker killed while it
decides its part."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx2 as httpx
import msgspec
import numpy as np
import pytest
from _serving import TAGS, five_tag_model, kill_a_worker_at_its_part, serving

from tagdecide.data import TrackScores
from tagdecide.service import _lanes, create_app
from tagdecide.service._decide import Decider
from tagdecide.strategies import Strategy

N_TRACKS = 60
N_SENT = 2500  # tracks: over 256 KiB, so the body arrives in pieces, into shared memory


#: Every test starts and ends with no shared memory segment (see conftest).
pytestmark = pytest.mark.usefixtures("no_segment_left")


@pytest.fixture(scope="module")
def model() -> Strategy:
    return five_tag_model(N_TRACKS)


def _tracks(n_tracks: int = N_SENT, seed: int = 4) -> list[dict[str, Any]]:
    matrix = np.random.default_rng(seed).uniform(size=(n_tracks, len(TAGS)))
    return [
        {"id": f"t{row}", "scores": dict(zip(TAGS, values, strict=True))}
        for row, values in enumerate(matrix.tolist())
    ]


def _body(tracks: list[dict[str, Any]], **dumps: Any) -> bytes:
    return json.dumps({"tracks": tracks}, **dumps).encode()


def _expected_tags(model: Strategy, tracks: list[dict[str, Any]]) -> list[list[str]]:
    matrix = np.array([[track["scores"][tag] for tag in TAGS] for track in tracks])
    decisions = model.predict(TrackScores(np.arange(len(matrix)), TAGS, matrix))
    return [[TAGS[column] for column in np.flatnonzero(row)] for row in decisions]


# -- where a body is cut ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "dumps",
    [{}, {"separators": (",", ":")}, {"indent": 2}, {"indent": "\t", "separators": (" ,", ": ")}],
)
@pytest.mark.parametrize("n_parts", [2, 3])
def test_parts_are_runs_of_whole_tracks(
    model: Strategy, dumps: dict[str, Any], n_parts: int
) -> None:
    decider = Decider(model, name="model", max_tracks=1000)
    tracks = _tracks(40)
    body = b"\n " + _body(tracks, **dumps) + b" \r\n"
    ranges = decider.part_ranges(body, n_parts)
    assert ranges is not None and len(ranges) == n_parts
    decoded = [json.loads(b"[" + body[start:end] + b"]") for start, end in ranges]
    assert all(part for part in decoded)  # no part is empty
    assert [track for part in decoded for track in part] == tracks
    sizes = [end - start for start, end in ranges]
    assert max(sizes) < 2 * min(sizes)  # about equal


@pytest.mark.parametrize(
    "body",
    [
        b'{"tracks": [{"id": "a", "scores": {}}]}',  # one track: nothing to cut
        b'[{"tracks": [{"id": "a"}, {"id": "b"}]}]',  # not an object
        b'{"other": 1, "tracks": [{"id": "a"}, {"id": "b"}]}',  # another key first
        b'{"\\u0074racks": [{"id": "a"}, {"id": "b"}]}',  # the key spelled otherwise
        b'{"tracks": [{"id": "a"}, {"id": "b"}]} x',  # something after it
        b'{"tracks": [{"id": "a"}, {"id": "b"}], "x": [1]}',  # ends like a list, is not one
        b'{"tracks": [{"id": "a"}, {"id": "b"}',  # cut short
    ],
)
def test_bodies_of_another_shape_are_not_cut(model: Strategy, body: bytes) -> None:
    decider = Decider(model, name="model", max_tracks=1000)
    ranges = decider.part_ranges(body, 2)
    if ranges is not None:  # cut by its look: then one part is not a list of tracks
        parts = [b"[" + body[start:end] + b"]" for start, end in ranges]
        answers = [decider.decide_part(part) for part in parts]
        assert decider.join_parts(answers) is None


def test_a_cut_inside_an_id_is_not_trusted(model: Strategy) -> None:
    """An id holding what lies between two tracks, where the cut is looked for: the parts
    do not decode, and the body is decided whole."""
    decider = Decider(model, name="model", max_tracks=1000)
    tracks = _tracks(2)
    tracks[0]["id"] = "x" * 600 + '"}}, {"id": "' + "y" * 20  # the middle is in the x
    body = _body(tracks)
    ranges = decider.part_ranges(body, 2)
    assert ranges is not None
    (start, end), _ = ranges
    assert body[end - 10 : end + 20].count(b"x") + body[end - 10 : end + 20].count(b"y")
    answers = [decider.decide_part(b"[" + body[start:end] + b"]") for start, end in ranges]
    assert [status for status, _, _ in answers] == [0, 0]
    assert decider.join_parts(answers) is None
    assert decider.decide(body)[0] == 200


# -- through real HTTP -----------------------------------------------------------------------


@pytest.fixture()
def joined(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each time the server joined parts' answers: whether they made the answer. The cores
    count as idle, whatever else the machine runs."""
    monkeypatch.setattr(_lanes, "idle_cores", lambda: 64)
    calls: list[bool] = []
    original = Decider.join_parts

    def join_parts(self: Decider, answers: Any) -> bytes | None:
        result = original(self, answers)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(Decider, "join_parts", join_parts)
    return calls


def _bad_bodies() -> dict[str, bytes]:
    """Bodies with a culprit in the first part, in the second, or across both."""
    bodies = {}
    for where, row in (("first", 3), ("second", N_SENT - 3)):
        tracks = _tracks()
        tracks[row]["scores"]["punk"] = 1.5
        bodies[f"score out of range, {where} part"] = _body(tracks)
        tracks = _tracks()
        tracks[row]["scores"]["not-a-tag"] = 0.5
        bodies[f"unknown name, {where} part"] = _body(tracks)
        tracks = _tracks()
        del tracks[row]["scores"]["sad"]
        bodies[f"missing tag, {where} part"] = _body(tracks)
        tracks = _tracks()
        tracks[row]["id"] = "i" * 2000
        bodies[f"long id, {where} part"] = _body(tracks)
        before = b'"t%d", "scores": {"blues-rock": ' % row
        bodies[f"NaN, {where} part"] = _body(_tracks()).replace(before, before + b'NaN, "x": ')
    tracks = _tracks()
    tracks[-1]["id"] = tracks[0]["id"]  # repeated across the parts, each unique alone
    bodies["id repeated across parts"] = _body(tracks)
    tracks = _tracks()
    tracks[2]["scores"]["sad"] = -1.0
    tracks[-2]["scores"]["happy"] = 2.0
    bodies["culprits in both parts"] = _body(tracks)
    bodies["too many tracks together"] = _body(_tracks(N_SENT + 1))
    return bodies


def test_split_answers_are_the_whole_answers(model: Strategy, joined: list[bool]) -> None:
    split = create_app(model, process_above=1000, split_above=2000, max_tracks=N_SENT)
    whole = create_app(model, process_above=1000, split_above=None, max_tracks=N_SENT)
    tracks = _tracks()
    good = {"compact": _body(tracks, separators=(",", ":")), "indented": _body(tracks, indent=1)}
    bad = _bad_bodies()
    tricky = [dict(track) for track in tracks]  # ids holding what lies between tracks
    for row in range(N_SENT // 2 - 20, N_SENT // 2 + 20):
        tricky[row]["id"] = f'{row}"}}}}, {{"id": "'
    bodies = {**good, **bad, "ids holding what lies between tracks": _body(tricky)}
    assert min(len(body) for body in bodies.values()) > 2000
    answers: dict[str, list[tuple[int, bytes]]] = {}
    for app in (split, whole):
        with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            for name, body in bodies.items():
                response = http.post("/v1/decide", content=body)
                answers.setdefault(name, []).append((response.status_code, response.content))
        if app is split:
            assert joined[: len(good)] == [True, True]  # the good bodies were decided in parts
            assert joined[len(good) : len(good) + len(bad)] == [False] * len(bad)  # not these
    for name, (from_parts, from_whole) in answers.items():
        assert from_parts == from_whole, name
    status, content = answers["ids holding what lies between tracks"][0]
    assert status == 200
    assert [track["id"] for track in json.loads(content)["tracks"]] == [
        track["id"] for track in tricky
    ]
    for name in good:
        status, content = answers[name][0]
        assert status == 200
        got = [track["tags"] for track in json.loads(content)["tracks"]]
        assert got == _expected_tags(model, tracks)
        assert [track["id"] for track in json.loads(content)["tracks"]] == [
            track["id"] for track in tracks
        ]
    statuses = {name: answers[name][0][0] for name in bad}
    assert all(status in (413, 422) for status in statuses.values()), statuses
    detail = msgspec.json.decode(answers["id repeated across parts"][0][1])["detail"]
    assert detail == "duplicate track id(s) 't0'; ids must be unique"
    detail = msgspec.json.decode(answers["culprits in both parts"][0][1])["detail"]
    assert detail.startswith("scores must be numbers in [0, 1]: track 't2' 'sad' = -1.0, track")


def test_large_bodies_at_once_get_their_own_answers(model: Strategy, joined: list[bool]) -> None:
    """Four large bodies at once: each decided in parts if it came while both workers were
    idle, else whole; each answer is its own."""
    app = create_app(model, process_above=1000, split_above=2000)
    bodies = [_tracks(N_SENT, seed=seed) for seed in range(4)]
    answers: dict[int, Any] = {}
    with serving(app) as base:

        def send(index: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                answers[index] = http.post("/v1/decide", content=_body(bodies[index])).json()

        senders = [threading.Thread(target=send, args=(index,)) for index in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    assert all(joined)
    for index, tracks in enumerate(bodies):
        assert [track["tags"] for track in answers[index]["tracks"]] == _expected_tags(
            model, tracks
        )


@pytest.mark.parametrize("why", ["one idle core for two parts", "a body over SPLIT_AT_MOST"])
def test_bodies_are_decided_whole_when_parts_do_not_pay(
    model: Strategy, joined: list[bool], monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    tracks = _tracks()
    if why.startswith("one idle core"):
        monkeypatch.setattr(_lanes, "idle_cores", lambda: 1)
    else:
        monkeypatch.setattr(_lanes, "SPLIT_AT_MOST", len(_body(tracks)) - 1)
    app = create_app(model, process_above=1000, split_above=2000)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        response = http.post("/v1/decide", content=_body(tracks))
    assert response.status_code == 200
    assert [track["tags"] for track in response.json()["tracks"]] == _expected_tags(model, tracks)
    assert joined == []


def test_a_worker_killed_while_deciding_its_part(
    model: Strategy, joined: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second part's worker dies as it is given its part: the request gets the answer
    of a stopped worker (500, one line), the other worker stays, the next request is
    decided in parts by it and a new one, and no segment is left behind."""
    killed = kill_a_worker_at_its_part(monkeypatch, after_byte=100)
    tracks = _tracks()
    app = create_app(model, process_above=1000, split_above=2000)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        first = http.post("/v1/decide", content=_body(tracks))
        assert first.status_code == 500
        assert first.json() == {"detail": "the worker process stopped; try again"}
        assert killed
        second = http.post("/v1/decide", content=_body(tracks))
        assert second.status_code == 200
        assert [track["tags"] for track in second.json()["tracks"]] == _expected_tags(model, tracks)
        assert http.get("/health").status_code == 200
    assert joined == [True]  # the second request, in parts (the first never got to join)
