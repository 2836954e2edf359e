"""The HTTP service's /v1 contract through FastAPI's TestClient, and the real command.

Real HTTP (uvicorn on a free loopback port), the Open Inference Protocol, limits and
liveness are in test_service_http.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pytest
from _serving import free_port
from conftest import RunCli
from fastapi.testclient import TestClient

import tagdecide
from tagdecide.data import TrackScores
from tagdecide.service import create_app
from tagdecide.strategies import Strategy
from tagdecide.taxonomy import Taxonomy

TAGS = ("blues-rock", "punk", "happy", "sad", "calm")
CATEGORIES = ("rock", "mood")
TAXONOMY = Taxonomy(TAGS, ["rock", "rock", "mood", "mood", "mood"], ["G", "G", "M", "M", "M"])
N_TRACKS = 80


def _training(seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.uniform(size=(N_TRACKS, len(TAGS))) < 0.3).astype(np.uint8)
    truth[0] = 1
    scores = np.clip(0.4 * truth + rng.uniform(0, 0.6, truth.shape), 0, 1)
    categories = rng.uniform(size=(N_TRACKS, len(CATEGORIES)))
    return TrackScores(np.arange(N_TRACKS), TAGS, scores, CATEGORIES, categories), truth


@pytest.fixture(scope="module")
def plain_model() -> Strategy:
    """``thresholds`` without a taxonomy: needs the tags' scores only."""
    scores, truth = _training()
    tags_only = TrackScores(scores.ids, TAGS, scores.tag_scores)
    return tagdecide.make_strategy("thresholds").fit(tags_only, truth)


@pytest.fixture(scope="module")
def category_model() -> Strategy:
    """``hierarchical`` with a taxonomy: needs the category scores too."""
    scores, truth = _training()
    return tagdecide.make_strategy("hierarchical").fit(scores, truth, taxonomy=TAXONOMY)


@pytest.fixture(scope="module")
def client(plain_model: Strategy) -> TestClient:
    return TestClient(create_app(plain_model))


def _tracks(
    n_tracks: int, names: tuple[str, ...] = TAGS, seed: int = 1
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Request tracks with random scores (plus the matrix), ids ``'t0'``, ``'t1'``, ..."""
    matrix = np.random.default_rng(seed).uniform(size=(n_tracks, len(names)))
    matrix[0, 0] = 1.0  # the ends of the range are accepted
    matrix[-1, -1] = 0.0
    tracks = [
        {"id": f"t{row}", "scores": dict(zip(names, map(float, matrix[row]), strict=True))}
        for row in range(n_tracks)
    ]
    return tracks, matrix


def _tags_of(decisions: np.ndarray, row: int) -> list[str]:
    return [TAGS[column] for column in np.flatnonzero(decisions[row])]


def _detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    return detail


# -- decisions equal the library's -------------------------------------------------------


def test_decisions_equal_predict(client: TestClient, plain_model: Strategy) -> None:
    tracks, matrix = _tracks(200)
    response = client.post("/v1/decide", json={"tracks": tracks})
    assert response.status_code == 200, response.text
    expected = plain_model.predict(TrackScores(np.arange(200), TAGS, matrix))
    assert expected.any()
    got = response.json()["tracks"]
    assert [track["id"] for track in got] == [f"t{row}" for row in range(200)]
    for row, track in enumerate(got):
        assert track["tags"] == _tags_of(expected, row)


def test_decisions_with_categories(category_model: Strategy) -> None:
    assert category_model.required_categories == CATEGORIES
    client = TestClient(create_app(category_model))
    tracks, matrix = _tracks(50, TAGS + CATEGORIES, seed=5)
    response = client.post("/v1/decide", json={"tracks": tracks})
    assert response.status_code == 200, response.text
    expected = category_model.predict(
        TrackScores(np.arange(50), TAGS, matrix[:, :5], CATEGORIES, matrix[:, 5:])
    )
    for row, track in enumerate(response.json()["tracks"]):
        assert track["tags"] == _tags_of(expected, row)
    del tracks[3]["scores"]["mood"]
    detail = _detail(client.post("/v1/decide", json={"tracks": tracks}), 422)
    assert detail == "track 't3': missing score for category 'mood'"


def test_taxonomy_categories_are_accepted_and_ignored() -> None:
    scores, truth = _training()
    model = tagdecide.make_strategy("thresholds").fit(scores, truth, taxonomy=TAXONOMY)
    assert model.required_categories == ()
    client = TestClient(create_app(model))
    with_categories, matrix = _tracks(20, TAGS + CATEGORIES)
    without, _ = _tracks(20, TAGS)
    for tracks in (with_categories, without):
        response = client.post("/v1/decide", json={"tracks": tracks})
        assert response.status_code == 200, response.text
    expected = model.predict(TrackScores(np.arange(20), TAGS, matrix[:, :5]))
    for row, track in enumerate(
        client.post("/v1/decide", json={"tracks": with_categories}).json()["tracks"]
    ):
        assert track["tags"] == _tags_of(expected, row)
    info = client.get("/v1/model").json()
    assert info["categories"] == [] and info["ignored_categories"] == list(CATEGORIES)


def test_ids_are_any_string_and_order_is_kept(client: TestClient) -> None:
    tracks, _ = _tracks(4)
    for track, track_id in zip(tracks, ["", "ünïcode ✓", "42", 't\n"x"'], strict=True):
        track["id"] = track_id
    response = client.post("/v1/decide", json={"tracks": list(reversed(tracks))})
    assert response.status_code == 200, response.text
    assert [track["id"] for track in response.json()["tracks"]] == ['t\n"x"', "42", "ünïcode ✓", ""]


def test_id_that_cannot_be_answered(client: TestClient) -> None:
    body = json.dumps({"tracks": [{"id": "X", "scores": dict.fromkeys(TAGS, 0.5)}]})
    body = body.replace('"X"', '"\\ud800"')  # a lone surrogate: an answer could not hold it
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    detail = _detail(response, 422)
    assert detail.startswith("body: not valid JSON: unexpected end of hex escape (byte ")


def test_integer_scores_are_numbers(client: TestClient) -> None:
    track = {"id": "a", "scores": dict.fromkeys(TAGS, 1)}
    response = client.post("/v1/decide", json={"tracks": [track]})
    assert response.status_code == 200, response.text


# -- bad requests: a 4xx naming the culprit ---------------------------------------------


def _one_track(**changes: Any) -> dict[str, Any]:
    scores: dict[str, Any] = dict.fromkeys(TAGS, 0.5)
    scores.update(changes)
    return {
        "tracks": [{"id": "ok", "scores": dict.fromkeys(TAGS, 0.5)}, {"id": "t1", "scores": scores}]
    }


def test_missing_tag(client: TestClient) -> None:
    body = _one_track()
    del body["tracks"][1]["scores"]["happy"]
    detail = _detail(client.post("/v1/decide", json=body), 422)
    assert detail == "track 't1': missing score for tag 'happy'"
    for tag in ("happy", "sad", "calm"):
        body["tracks"][1]["scores"].pop(tag, None)
    detail = _detail(client.post("/v1/decide", json=body), 422)
    assert detail == "track 't1': missing scores for 3 tags: 'happy', 'sad', 'calm'"


def test_unknown_score_name(client: TestClient) -> None:
    detail = _detail(client.post("/v1/decide", json=_one_track(jazz=0.3)), 422)
    assert "track 't1': unknown score name(s) 'jazz'" in detail


@pytest.mark.parametrize(("value", "shown"), [(1.5, "1.5"), (-0.01, "-0.01"), ("1e999", "inf")])
def test_score_outside_unit_interval(client: TestClient, value: Any, shown: str) -> None:
    body = json.dumps(_one_track(sad=0.25)).replace("0.25", str(value))
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    detail = _detail(response, 422)
    assert detail == f"scores must be numbers in [0, 1]: track 't1' 'sad' = {shown}"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused(client: TestClient, token: str) -> None:
    body = json.dumps(_one_track(sad=0.25)).replace("0.25", token)
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    detail = _detail(response, 422)
    assert detail.startswith("body: not valid JSON: invalid character (byte ")
    # The text before the bad byte names the tag; the reason is said.
    assert f'"sad": {token[:2]}' in detail or f'"sad": -{token[:2]}' in detail, detail
    assert detail.endswith("NaN and Infinity are not JSON numbers")


def test_nesting_deeper_than_the_decoder_goes_is_a_client_error(client: TestClient) -> None:
    body = b'{"tracks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    assert (
        _detail(response, 422)
        == "body: not valid JSON: nested too deeply (a request nests 4 levels)"
    )


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ("0.5", "a string"),
        (None, "null"),
        (True, "bool"),
        ([0.5], "an array"),
        ({"x": 1}, "an object"),
    ],
)
def test_score_not_a_number(client: TestClient, value: Any, got: str) -> None:
    response = client.post("/v1/decide", json=_one_track(punk=value))
    detail = _detail(response, 422)
    assert detail == f"track 't1' (tracks[1].scores.punk): expected a number, got {got}"


def test_huge_integer_score(client: TestClient) -> None:
    body = json.dumps(_one_track(punk=0.25)).replace("0.25", str(10**400))
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    assert _detail(response, 422) == "scores must be numbers in [0, 1]: track 't1' 'punk' = inf"


def test_duplicate_ids(client: TestClient) -> None:
    tracks, _ = _tracks(5)
    tracks[3]["id"] = tracks[4]["id"] = "t1"
    detail = _detail(client.post("/v1/decide", json={"tracks": tracks}), 422)
    assert detail == "duplicate track id(s) 't1'; ids must be unique"


def test_empty_track_list(client: TestClient) -> None:
    detail = _detail(client.post("/v1/decide", json={"tracks": []}), 422)
    assert detail == "tracks: empty list; give at least one track"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, 'tracks: missing; send {"tracks": [...]}'),
        ({"tracks": {}}, "tracks: expected an array, got an object"),
        ([], "body: expected an object, got an array"),
        ({"tracks": [{"id": 7, "scores": {}}]}, "tracks[0].id: expected a string, got an integer"),
        ({"tracks": [{"id": "x"}]}, "track 'x' (tracks[0].scores): missing"),
        ({"tracks": [{"scores": dict.fromkeys(TAGS, 0.5)}]}, "tracks[0].id: missing"),
        (
            {"tracks": [{"id": "x", "scores": [0.5]}]},
            "track 'x' (tracks[0].scores): expected an object, got an array",
        ),
        ({"tracks": ["x"]}, "tracks[0]: expected an object, got a string"),
    ],
)
def test_wrong_types(client: TestClient, body: Any, expected: str) -> None:
    detail = _detail(client.post("/v1/decide", json=body), 422)
    assert detail == expected


def test_too_many_tracks(plain_model: Strategy) -> None:
    client = TestClient(create_app(plain_model))
    track = {"scores": dict.fromkeys(TAGS, 0.5)}
    body = {"tracks": [{"id": str(row), **track} for row in range(10_001)]}
    detail = _detail(client.post("/v1/decide", json=body), 413)
    assert detail == "tracks: 10001 tracks in one request; at most 10000"
    body["tracks"].pop()
    assert client.post("/v1/decide", json=body).status_code == 200


def test_body_over_the_limit_is_refused_before_parsing(plain_model: Strategy) -> None:
    client = TestClient(create_app(plain_model, max_body_bytes=1000))
    tracks, _ = _tracks(20)
    response = client.post("/v1/decide", json={"tracks": tracks})
    assert "too large" in _detail(response, 413)
    # Not JSON at all: refused for its size, so it was never parsed.
    response = client.post("/v1/decide", content=b"{" * 5000)
    assert _detail(response, 413) == "request body too large: 5000 bytes; at most 1000 bytes"


def test_streamed_body_over_the_limit_is_refused(plain_model: Strategy) -> None:
    client = TestClient(create_app(plain_model, max_body_bytes=1000))

    def chunks() -> Any:  # no Content-Length: sent chunked
        for _ in range(50):
            yield b" " * 100

    response = client.post("/v1/decide", content=chunks())
    assert "request body too large: over 1000 bytes" in _detail(response, 413)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json",
        b'{"tracks": [}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"tracks": [{"id": "\\ud800", "scores": {}}]}',
        b'{"tracks": [{"id": "a", "scores": {"\\udfff": 0.5}}]}',
        b'{"tracks": null}',
        b"null",
        b"1e999999",
        b'"\\u0000"',
    ],
)
def test_malformed_json_is_a_client_error(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/decide", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text


def test_malformed_json_message(client: TestClient) -> None:
    response = client.post(
        "/v1/decide", content=b'{"tracks": [}', headers={"content-type": "application/json"}
    )
    assert _detail(response, 422) == (
        "body: not valid JSON: invalid character (byte 12) near '{\"tracks\": [}'"
    )


def test_wrong_content_type_is_a_client_error(client: TestClient) -> None:
    response = client.post(
        "/v1/decide", content=b"tracks=1", headers={"content-type": "text/plain"}
    )
    assert 400 <= response.status_code < 500


def test_bad_content_length(client: TestClient) -> None:
    response = client.post("/v1/decide", content=b"{}", headers={"content-length": "many"})
    assert 400 <= response.status_code < 500


# -- the other endpoints ---------------------------------------------------------------


def test_model_info(client: TestClient, plain_model: Strategy) -> None:
    info = client.get("/v1/model").json()
    assert info["tags"] == list(TAGS)
    assert info["categories"] == [] and info["ignored_categories"] == []
    assert info["strategy"] == {
        "name": "thresholds",
        "params": plain_model.get_params(),
        "choice": None,
    }
    assert info["format"] == "tagdecide-model" and info["format_version"] == 1
    assert info["package_version"] == tagdecide.__version__
    assert info["training_n_tracks"] == N_TRACKS


def test_health_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/v1/decide", "/v1/model", "/health"} <= set(schema["paths"])
    assert client.get("/v1/decide").status_code == 405


def test_unfitted_model_is_refused() -> None:
    with pytest.raises(tagdecide.TagdecideError, match="unfitted"):
        create_app(tagdecide.make_strategy("thresholds"))


# -- the real command ------------------------------------------------------------------


def test_serve_command(plain_model: Strategy, tmp_path: Path) -> None:
    """``serve --name --log-level info``: both protocols answer, the access log is printed."""
    model_path = tmp_path / "model.json"
    tagdecide.save_model(plain_model, model_path)
    port = free_port()
    script = Path(sys.executable).parent / "tagdecide"
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(script), "serve", str(model_path), "--port", str(port)]
        + ["--name", "tagger", "--log-level", "info"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=url, timeout=5.0) as http:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, "the server stopped"
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.1)
            tracks, matrix = _tracks(3)
            response = http.post("/v1/decide", json={"tracks": tracks})
            assert http.get("/v2/models/tagger/ready").json() == {"name": "tagger", "ready": True}
        assert response.status_code == 200, response.text
        expected = plain_model.predict(TrackScores(np.arange(3), TAGS, matrix))
        assert [track["tags"] for track in response.json()["tracks"]] == [
            _tags_of(expected, row) for row in range(3)
        ]
    finally:
        server.terminate()
        try:
            stdout, stderr = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            stdout, stderr = server.communicate(timeout=15)
    said = stderr.decode()
    assert f"model {model_path} as 'tagger' (5 tags) at http://127.0.0.1:{port}" in said
    assert '"POST /v1/decide HTTP/1.1" 200' in stdout.decode()  # --log-level info's access log


@pytest.mark.parametrize(("level", "access_log"), [("warning", False), ("info", True)])
def test_serve_freezes_what_it_loaded_and_logs_access_only_when_it_prints(
    plain_model: Strategy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
    level: str,
    access_log: bool,
) -> None:
    """``serve`` hands uvicorn a config whose access log is on only at info and below, and
    freezes the garbage collector's view of what it loaded before it serves (the server
    itself is not run here)."""
    import gc

    import uvicorn

    model_path = tmp_path / "model.json"
    tagdecide.save_model(plain_model, model_path)
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))

    def run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        calls.append("run")
        assert server.config.access_log is access_log
        assert sockets and sockets[0].getsockname()[0] == "127.0.0.1"

    monkeypatch.setattr(uvicorn.Server, "run", run)
    code, _, err = run_cli(["serve", model_path, "--port", free_port(), "--log-level", level])
    assert code == 0, err
    assert calls == ["freeze", "run"]


def test_model_info_says_how_an_auto_model_chose(client: TestClient) -> None:
    scores, truth = _training()
    tags_only = TrackScores(scores.ids, TAGS, scores.tag_scores)
    model = tagdecide.make_strategy("auto", candidates="thresholds,shrunk").fit(tags_only, truth)
    info = TestClient(create_app(model)).get("/v1/model").json()
    assert info["strategy"]["choice"] == model.choice_summary()  # type: ignore[attr-defined]
    assert info["strategy"]["choice"].startswith("auto (cross-validation, ")
    assert client.get("/v1/model").json()["strategy"]["choice"] is None  # thresholds


def test_lanes_by_body_size(plain_model: Strategy) -> None:
    """Up to ``inline_below`` bytes on the event loop's own thread, up to ``process_above``
    in a thread, beyond in a worker process (this process's decider is not called)."""
    import threading

    import anyio

    from tagdecide.service._decide import Decider
    from tagdecide.service._lanes import Lanes

    decider = Decider(plain_model, name="model", max_tracks=100)
    threads: list[str] = []
    decide = decider.decide

    def recorded(body: bytes | bytearray) -> tuple[int, bytes]:
        threads.append(threading.current_thread().name)
        return decide(body)

    decider.decide = recorded  # type: ignore[method-assign]
    lanes = Lanes(decider, plain_model, workers=1, processes=1, inline_below=300, process_above=900)
    requests = [_tracks(n_tracks, seed=n_tracks) for n_tracks in (1, 5, 20)]
    bodies = [json.dumps({"tracks": tracks}).encode() for tracks, _ in requests]
    assert len(bodies[0]) <= 300 < len(bodies[1]) <= 900 < len(bodies[2])

    async def run_all() -> list[tuple[int, bytes]]:
        loop_thread = threading.current_thread().name
        answers = [await lanes.run("v1", body) for body in bodies]
        assert threads[0] == loop_thread and threads[1] != loop_thread
        return answers

    try:
        answers = anyio.run(run_all)
    finally:
        lanes.close()
    assert len(threads) == 2  # the 20-track body was decided by the worker process
    for (status, content), (_, matrix) in zip(answers, requests, strict=True):
        assert status == 200
        expected = plain_model.predict(TrackScores(np.arange(len(matrix)), TAGS, matrix))
        got = [track["tags"] for track in json.loads(content)["tracks"]]
        assert got == [_tags_of(expected, row) for row in range(len(matrix))]


def test_a_killed_worker_process_is_replaced(plain_model: Strategy) -> None:
    """A worker process killed between requests (out of memory, say): the next large body
    is decided by a new one."""
    import anyio

    from tagdecide.service._decide import Decider
    from tagdecide.service._lanes import Lanes

    decider = Decider(plain_model, name="model", max_tracks=100)
    lanes = Lanes(decider, plain_model, workers=1, processes=1, inline_below=0, process_above=0)
    tracks, matrix = _tracks(3)
    body = json.dumps({"tracks": tracks}).encode()
    expected = plain_model.predict(TrackScores(np.arange(3), TAGS, matrix))
    try:
        first = anyio.run(lanes.run, "v1", body)
        (killed,) = lanes._started
        killed.process.kill()
        killed.process.join(timeout=10)
        second = anyio.run(lanes.run, "v1", body)
        assert lanes._started and killed not in lanes._started
    finally:
        lanes.close()
    assert not killed.process.is_alive()
    for status, content in (first, second):
        assert status == 200
        got = [track["tags"] for track in json.loads(content)["tracks"]]
        assert got == [_tags_of(expected, row) for row in range(3)]
