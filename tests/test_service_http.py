"""The service through real HTTP: uvicorn on a free loopback port, in a background thread.

Both protocols (the Open Inference Protocol also through tritonclient), liveness while a
large request is decided, admission (503), a client that stops sending (408), oversize ids
and scores refused before they are decoded, the lanes (event loop, threads, worker
processes) giving the same decisions, the hot paths answered in front of FastAPI, and
offline docs.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import numpy as np
import pytest
from _serving import serving

import tagdecide
from tagdecide.data import TrackScores
from tagdecide.service import MAX_ID_LENGTH, create_app
from tagdecide.strategies import Strategy
from tagdecide.taxonomy import Taxonomy

TAGS = ("blues-rock", "punk", "happy", "sad", "calm")
CATEGORIES = ("rock", "mood")
TAXONOMY = Taxonomy(TAGS, ["rock", "rock", "mood", "mood", "mood"], ["G", "G", "M", "M", "M"])
N_TRACKS = 80


def _training(n_tags: int = len(TAGS), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.uniform(size=(N_TRACKS, n_tags)) < 0.3).astype(np.uint8)
    truth[0] = 1
    return np.clip(0.4 * truth + rng.uniform(0, 0.6, truth.shape), 0, 1), truth


@pytest.fixture(scope="module")
def model() -> Strategy:
    """``hierarchical``: needs the tags' and the categories' scores."""
    scores, truth = _training()
    categories = np.random.default_rng(1).uniform(size=(N_TRACKS, len(CATEGORIES)))
    training = TrackScores(np.arange(N_TRACKS), TAGS, scores, CATEGORIES, categories)
    return tagdecide.make_strategy("hierarchical").fit(training, truth, taxonomy=TAXONOMY)


@pytest.fixture(scope="module")
def url(model: Strategy) -> Iterator[str]:
    with serving(create_app(model, name="tagger", spawn_at_start=False)) as base:
        yield base


@pytest.fixture()
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        yield client


def _matrix(n_tracks: int, n_columns: int, seed: int = 2) -> np.ndarray:
    matrix = np.random.default_rng(seed).uniform(size=(n_tracks, n_columns))
    matrix[0, 0], matrix[-1, -1] = 1.0, 0.0
    return matrix


def _expected(model: Strategy, matrix: np.ndarray) -> np.ndarray:
    n_tags = len(TAGS)
    return model.predict(
        TrackScores(
            np.arange(len(matrix)), TAGS, matrix[:, :n_tags], CATEGORIES, matrix[:, n_tags:]
        )
    )


def _tracks_body(matrix: np.ndarray, names: tuple[str, ...] = TAGS + CATEGORIES) -> bytes:
    tracks = [
        {"id": f"t{row}", "scores": dict(zip(names, values, strict=True))}
        for row, values in enumerate(matrix.tolist())
    ]
    return json.dumps({"tracks": tracks}).encode()


def _raw_request(url: str, head: str, body: bytes) -> socket.socket:
    """A socket that sent ``head`` (request line and headers) and ``body``, and waits."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=20)
    connection.sendall(head.encode() + b"\r\n" + body)
    return connection


def _read_response(connection: socket.socket) -> tuple[int, dict[str, str], Any]:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        if match and len(rest) >= int(match[1]):
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(rest)


# -- /v1 -------------------------------------------------------------------------------


def test_v1_decisions_through_http(http: httpx.Client, model: Strategy) -> None:
    matrix = _matrix(300, 7)
    response = http.post("/v1/decide", content=_tracks_body(matrix))
    assert response.status_code == 200, response.text
    expected = _expected(model, matrix)
    assert expected.any() and not expected.all()
    got = response.json()["tracks"]
    assert [track["id"] for track in got] == [f"t{row}" for row in range(300)]
    for row, track in enumerate(got):
        assert track["tags"] == [TAGS[column] for column in np.flatnonzero(expected[row])]
    assert http.get("/v1/model").json()["name"] == "tagger"
    assert http.get("/health").json() == {"status": "ok"}


def test_id_over_the_limit_is_refused_naming_the_field(http: httpx.Client) -> None:
    scores = dict.fromkeys(TAGS + CATEGORIES, 0.5)
    track_id = "x" * (MAX_ID_LENGTH + 1)
    response = http.post("/v1/decide", json={"tracks": [{"id": track_id, "scores": scores}]})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"tracks[0].id: 1,025 characters ('{'x' * 36}...); an id has at most 1024"
    }


def test_huge_id_is_refused_before_it_is_decoded(http: httpx.Client) -> None:
    scores = dict.fromkeys(TAGS + CATEGORIES, 0.5)
    tracks = [{"id": "ok", "scores": scores}, {"id": "y" * 5_000_000, "scores": scores}]
    response = http.post("/v1/decide", json={"tracks": tracks})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert detail.startswith('tracks[1].id: 5,000,002 bytes of JSON ("yyyy')
    assert detail.endswith("...); an id has at most 1024 characters")
    assert len(detail) < 200


def test_a_million_keys_are_refused_before_they_are_decoded(http: httpx.Client) -> None:
    scores = {f"k{index}": 0.5 for index in range(1_000_000)}
    response = http.post("/v1/decide", json={"tracks": [{"id": "many", "scores": scores}]})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert re.fullmatch(
        r"tracks\[0\]\.scores: [\d,]+ bytes of JSON; the scores of this model's 7 tags and "
        r"categories take at most [\d,]+",
        detail,
    ), detail


def test_long_unknown_names_are_shortened(http: httpx.Client) -> None:
    scores: dict[str, float] = dict.fromkeys(TAGS + CATEGORIES, 0.5)
    scores["z" * 500] = 0.5
    response = http.post("/v1/decide", json={"tracks": [{"id": "t", "scores": scores}]})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"track 't': unknown score name(s) '{'z' * 36}...; expected the model's tags and "
        "categories (see GET /v1/model)"
    )


def test_missing_category_named(http: httpx.Client) -> None:
    scores = dict.fromkeys(TAGS, 0.5)
    response = http.post("/v1/decide", json={"tracks": [{"id": "t", "scores": scores}]})
    assert response.json() == {
        "detail": "track 't': missing scores for 2 categories: 'rock', 'mood'"
    }


# -- the Open Inference Protocol ---------------------------------------------------------

COLUMNS = list(TAGS + CATEGORIES)


def test_v2_health_and_metadata(http: httpx.Client) -> None:
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert http.get("/v2").json()["name"] == "tagdecide"
    assert http.get("/v2/models/tagger/ready").json() == {"name": "tagger", "ready": True}
    assert http.get("/v2/models/tagger/versions/1/ready").status_code == 200
    metadata = http.get("/v2/models/tagger").json()
    assert metadata["name"] == "tagger" and metadata["versions"] == ["1"]
    assert metadata["parameters"]["columns"] == COLUMNS
    assert metadata["inputs"] == [
        {
            "name": "scores",
            "datatype": "FP64",
            "shape": [-1, 7],
            "parameters": {"columns": COLUMNS},
        }
    ]
    assert metadata["outputs"][0]["shape"] == [-1, 5]
    assert metadata["outputs"][0]["parameters"] == {"columns": list(TAGS)}
    assert http.get("/v2/models/tagger/versions/1").json() == metadata


@pytest.mark.parametrize("path", ["/v2/models/other", "/v2/models/other/ready"])
def test_v2_unknown_model(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "unknown model 'other'; this server serves 'tagger'"}
    response = http.get("/v2/models/tagger/versions/7")
    assert response.json() == {"error": "model 'tagger' has no version '7'; it has '1'"}


@pytest.mark.parametrize("nested", [False, True])
def test_v2_infer_like_the_protocol_example(
    http: httpx.Client, model: Strategy, nested: bool
) -> None:
    """The protocol's example request (id, one input, requested output) for this model."""
    matrix = _matrix(4, 7, seed=9)
    data = matrix.tolist() if nested else matrix.ravel().tolist()
    request = {
        "id": "42",
        "inputs": [{"name": "scores", "shape": [4, 7], "datatype": "FP64", "data": data}],
        "outputs": [{"name": "decisions"}],
    }
    response = http.post("/v2/models/tagger/infer", json=request)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model_name"] == "tagger" and answer["id"] == "42"
    (output,) = answer["outputs"]
    assert output["name"] == "decisions" and output["datatype"] == "UINT8"
    assert output["shape"] == [4, 5] and output["parameters"] == {"columns": list(TAGS)}
    assert output["data"] == _expected(model, matrix).ravel().tolist()


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"datatype": "INT64"}, 400, "inputs[0].datatype: 'INT64'; send FP32 or FP64"),
        (
            {"shape": [2, 6]},
            400,
            "inputs[0].shape: [2, 6]; expected [n_tracks, 7] (the metadata's "
            "parameters.columns, in order)",
        ),
        ({"shape": [3, 7]}, 400, "inputs[0].data: 14 values; the shape [3, 7] holds 21"),
        (
            {"data": [[0.5] * 7, [0.5] * 6]},
            400,
            "inputs[0].data: 2 rows, row 1 of 6 values; the shape says 2 rows of 7",
        ),
        ({"data": [0.5] * 13 + [True]}, 400, "inputs[0].data[13]: expected a number, got bool"),
        (
            {"data": [0.5] * 13 + [1.5]},
            422,
            "scores must be numbers in [0, 1]: row 1 'mood' = 1.5",
        ),
        (  # beyond FP32's range: inf once rounded to the tensor's type, refused quietly
            {"data": [0.5] * 13 + [1e39]},
            422,
            "scores must be numbers in [0, 1]: row 1 'mood' = inf",
        ),
        (
            {"name": "x" * 100},
            400,
            f"inputs[0].name: '{'x' * 36}... is not an input of this model; its input is 'scores'",
        ),
    ],
)
def test_v2_bad_infer_requests(
    http: httpx.Client, change: dict[str, Any], status: int, error: str
) -> None:
    tensor = {"name": "scores", "shape": [2, 7], "datatype": "FP32", "data": [0.5] * 14}
    tensor.update(change)
    response = http.post("/v2/models/tagger/infer", json={"inputs": [tensor]})
    assert response.status_code == status
    assert response.json() == {"error": error}


@pytest.mark.parametrize("nested", [False, True])
def test_v2_values_past_the_shape_are_refused_before_they_are_decoded(
    http: httpx.Client, nested: bool
) -> None:
    """A million numbers for one track are counted (by their commas), not decoded; so are
    a few too many in one list per track."""
    for n_values in (1_000_000, 20):
        data = "[" + ",".join(["0"] * n_values) + "]"
        if nested:
            data = "[" + data + "]"
        tensor = f'{{"name": "scores", "shape": [1, 7], "datatype": "FP64", "data": {data}}}'
        response = http.post("/v2/models/tagger/infer", content=f'{{"inputs": [{tensor}]}}')
        assert response.status_code == 400
        expected = f"inputs[0].data: {n_values} values; the shape [1, 7] holds 7"
        assert response.json() == {"error": expected}


def test_v2_long_values_are_shortened(http: httpx.Client) -> None:
    tensor = {"name": "scores", "shape": list(range(100_000)), "datatype": "FP32", "data": []}
    response = http.post("/v2/models/tagger/infer", json={"inputs": [tensor], "id": "i" * 5000})
    assert response.status_code == 413
    assert response.json() == {
        "error": f"id: 5,000 characters ('{'i' * 36}...); an id has at most 1024"
    }
    response = http.post("/v2/models/tagger/infer", json={"inputs": [tensor], "id": "j" * 20000})
    assert response.status_code == 413
    assert response.json()["error"].startswith('id: 20,002 bytes of JSON ("jjjj')
    response = http.post("/v2/models/tagger/infer", json={"inputs": [tensor]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("inputs[0].shape: [0, 1, 2, ") and len(error) < 150, error


def test_v2_malformed_and_binary_requests(http: httpx.Client) -> None:
    response = http.post("/v2/models/tagger/infer", content=b'{"inputs": [}')
    assert response.status_code == 400
    assert response.json() == {
        "error": "body: not valid JSON: invalid character (byte 12) near '{\"inputs\": [}'"
    }
    response = http.post("/v2/models/tagger/infer", json={"inputs": []})
    assert response.json() == {"error": "inputs: 0 tensors; this model takes one, 'scores'"}
    response = http.post(
        "/v2/models/tagger/infer",
        content=b"{}",
        headers={"inference-header-content-length": "2"},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("binary tensor data is not supported")


def test_tritonclient(url: str, model: Strategy) -> None:
    triton = pytest.importorskip("tritonclient.http")
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("tagger")
        metadata = client.get_model_metadata("tagger")
        assert metadata["parameters"]["columns"] == COLUMNS
        for datatype, dtype in (("FP64", np.float64), ("FP32", np.float32)):
            matrix = _matrix(20, 7, seed=4).astype(dtype)
            tensor = triton.InferInput("scores", list(matrix.shape), datatype)
            tensor.set_data_from_numpy(matrix, binary_data=False)
            wanted = triton.InferRequestedOutput("decisions", binary_data=False)
            result = client.infer("tagger", [tensor], outputs=[wanted], request_id="r1")
            decisions = result.as_numpy("decisions")
            expected = _expected(model, matrix.astype(np.float64))
            np.testing.assert_array_equal(decisions, expected)
            assert result.get_response()["id"] == "r1"
    finally:
        client.close()


# -- liveness, admission, slow clients ---------------------------------------------------


def test_health_answers_while_a_large_request_is_decided(model: Strategy) -> None:
    names = tuple(f"tag-{index:03d}" for index in range(200))
    scores, truth = _training(len(names))
    wide = tagdecide.make_strategy("thresholds").fit(
        TrackScores(np.arange(N_TRACKS), names, scores), truth
    )
    body = _tracks_body(_matrix(4000, len(names)), names)
    with (
        serving(create_app(wide, spawn_at_start=False)) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        big: dict[str, Any] = {}

        def send_big() -> None:
            big["response"] = http.post("/v1/decide", content=body)

        sender = threading.Thread(target=send_big)
        sender.start()
        answered_meanwhile = 0
        with httpx.Client(base_url=base, timeout=30) as prober:
            while sender.is_alive():
                health = prober.get("/health")
                assert health.status_code == 200
                answered_meanwhile += sender.is_alive()
                time.sleep(0.01)
        sender.join()
    assert big["response"].status_code == 200
    assert len(big["response"].json()["tracks"]) == 4000
    assert answered_meanwhile > 0


def test_busy_server_answers_503_and_stays_live(model: Strategy) -> None:
    app = create_app(model, workers=1, max_queued=0, spawn_at_start=False)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        head = "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n"
        holder = _raw_request(base, head, b'{"tracks": ')  # admitted; its body is unfinished
        try:
            deadline = time.monotonic() + 20
            while (response := http.post("/v1/decide", json={})).status_code != 503:
                assert time.monotonic() < deadline, "never saturated"
                time.sleep(0.05)
            assert response.headers["retry-after"] == "1"
            assert response.json()["detail"].startswith("busy: 1 requests in progress")
            v2 = http.post("/v2/models/model/infer", json={})
            assert v2.status_code == 503 and "error" in v2.json()
            assert http.get("/health").status_code == 200
        finally:
            holder.close()
        deadline = time.monotonic() + 20
        while (response := http.post("/v1/decide", json={})).status_code == 503:
            assert time.monotonic() < deadline, "the slot was not given back"
            time.sleep(0.05)
        assert response.status_code == 422


def test_client_that_stops_sending_is_timed_out(model: Strategy) -> None:
    with serving(create_app(model, body_timeout=0.5, spawn_at_start=False)) as base:
        head = "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n"
        connection = _raw_request(base, head, b'{"tracks": [')
        with connection:
            status, _, answer = _read_response(connection)
    assert status == 408
    assert answer == {
        "detail": "request body: nothing received for 0.5 s after 12 bytes; "
        "send the whole body at once"
    }


# -- the process lane, docs ----------------------------------------------------------------


def test_large_bodies_are_decided_in_a_process(model: Strategy) -> None:
    matrix = _matrix(200, 7, seed=3)
    app = create_app(model, name="tagger", process_above=1000)
    with serving(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        response = http.post("/v1/decide", content=_tracks_body(matrix))
        assert response.status_code == 200, response.text
        expected = _expected(model, matrix)
        for row, track in enumerate(response.json()["tracks"]):
            assert track["tags"] == [TAGS[column] for column in np.flatnonzero(expected[row])]
        request = {
            "inputs": [
                {"name": "scores", "shape": [200, 7], "datatype": "FP64", "data": matrix.tolist()}
            ]
        }
        answer = http.post("/v2/models/tagger/infer", json=request).json()
        assert answer["outputs"][0]["data"] == expected.ravel().tolist()
        refused = http.post("/v1/decide", content=b" " * 2000 + b"[]")
        assert refused.json() == {"detail": "body: expected an object, got an array"}


def _infer_body(matrix: np.ndarray) -> bytes:
    tensor = {"name": "scores", "shape": list(matrix.shape), "datatype": "FP64"}
    return json.dumps({"inputs": [{**tensor, "data": matrix.ravel().tolist()}]}).encode()


def test_every_lane_gives_the_same_decisions(model: Strategy) -> None:
    """One track at a time (on the event loop), 30 at once in a thread and in a process:
    the same decisions as ``predict``, in both protocols."""
    matrix = _matrix(30, 7, seed=5)
    expected = _expected(model, matrix)
    assert expected.any() and not expected.all()
    one_track = len(_tracks_body(matrix[:1]))
    whole = len(_tracks_body(matrix))
    assert one_track < 400 < 1500 < whole  # the 1-track bodies go inline, the 30-track ones not
    for process_above in (10**6, 1500):  # 30 tracks in a thread, then in a process
        app = create_app(model, name="tagger", inline_below=400, process_above=process_above)
        with serving(app) as base, httpx.Client(base_url=base, timeout=120) as http:
            together = http.post("/v1/decide", content=_tracks_body(matrix)).json()["tracks"]
            v2 = http.post("/v2/models/tagger/infer", content=_infer_body(matrix)).json()
            alone = [
                http.post("/v1/decide", content=_tracks_body(matrix[row : row + 1])).json()
                for row in range(len(matrix))
            ]
            alone_v2 = [
                http.post(
                    "/v2/models/tagger/infer", content=_infer_body(matrix[row : row + 1])
                ).json()["outputs"][0]["data"]
                for row in range(len(matrix))
            ]
        for row in range(len(matrix)):
            tags = [TAGS[column] for column in np.flatnonzero(expected[row])]
            assert together[row] == {"id": f"t{row}", "tags": tags}
            assert alone[row]["tracks"][0]["tags"] == tags
            assert alone_v2[row] == expected[row].tolist()
        assert v2["outputs"][0]["data"] == expected.ravel().tolist()


def test_concurrent_large_requests_share_the_worker_processes(model: Strategy) -> None:
    """Six large requests at once through two processes: each answer is its own."""
    matrices = [_matrix(40, 7, seed=seed) for seed in range(6)]
    app = create_app(model, name="tagger", processes=2, process_above=1000)
    answers: dict[int, Any] = {}
    with serving(app) as base:

        def send(index: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as http:
                body = matrices[index]
                if index % 2:
                    answers[index] = http.post("/v1/decide", content=_tracks_body(body)).json()
                else:
                    answers[index] = http.post(
                        "/v2/models/tagger/infer", content=_infer_body(body)
                    ).json()

        senders = [threading.Thread(target=send, args=(index,)) for index in range(6)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    for index, matrix in enumerate(matrices):
        expected = _expected(model, matrix)
        if index % 2:
            got = [track["tags"] for track in answers[index]["tracks"]]
            assert got == [[TAGS[j] for j in np.flatnonzero(row)] for row in expected]
        else:
            assert answers[index]["outputs"][0]["data"] == expected.ravel().tolist()


def test_hot_paths_answer_like_the_framework(http: httpx.Client) -> None:
    """The paths answered in front of FastAPI: same bodies and headers; other methods and
    paths still reach FastAPI."""
    for path, body in (
        ("/health", {"status": "ok"}),
        ("/v2/health/live", {"live": True}),
        ("/v2/health/ready", {"ready": True}),
    ):
        response = http.get(path)
        assert response.status_code == 200 and response.json() == body
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["content-length"]) == len(response.content)
    assert http.post("/health").status_code == 405
    assert http.get("/v1/decide").status_code == 405
    assert http.get("/health/").status_code in (307, 404)
    binary = http.post(
        "/v2/models/tagger/infer",
        content=b"{}",
        headers={"inference-header-content-length": "2"},
    )
    assert binary.status_code == 400
    assert binary.json()["error"].startswith("binary tensor data is not supported")
    other = http.post("/v2/models/other/infer", content=_infer_body(_matrix(2, 7)))
    assert other.status_code == 404
    assert other.json() == {"error": "unknown model 'other'; this server serves 'tagger'"}


def test_docs_are_served_without_other_hosts(http: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        html = http.get(page).text
        assert "openapi.json" in html
        assert not re.search(r"(https?:)?//[\w.-]+\.\w+/", html), html
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets
        for asset in assets:
            response = http.get(asset)
            assert response.status_code == 200, asset
            assert len(response.content) > 0
    schema = http.get("/openapi.json").json()
    assert {"/v1/decide", "/v1/model", "/health", "/v2/models/{model_name}/infer"} <= set(
        schema["paths"]
    )
    body = schema["paths"]["/v1/decide"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/DecideRequest"}
    assert "TrackIn" in schema["components"]["schemas"]
    assert "InferenceRequest" in schema["components"]["schemas"]
