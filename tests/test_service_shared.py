"""Large bodies through shared memory (tagdecide.service._shared): the intake writes them
into segments as they arrive, worker processes read them in place, and no segment outlives
its request (or, for the few kept for reuse, the server), however the request ends: answered,
refused, timed out, the client gone, the handler failing, the worker killed. Also through
real HTTP, with bodies sent in pieces."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import anyio
import numpy as np
import pytest
from _serving import TAGS, five_tag_model, serving

from tagdecide.data import TrackScores
from tagdecide.service import create_app
from tagdecide.service._decide import Decider
from tagdecide.service._intake import Intake, Message, Scope
from tagdecide.service._lanes import Lanes
from tagdecide.service._shared import BodyPool, Mappings, SharedBody, segment_names
from tagdecide.strategies import Strategy

N_TRACKS = 60


#: Every test starts and ends with no shared memory segment (see conftest).
pytestmark = pytest.mark.usefixtures("no_segment_left")


@pytest.fixture(scope="module")
def model() -> Strategy:
    return five_tag_model(N_TRACKS)


def _matrix(n_tracks: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).uniform(size=(n_tracks, len(TAGS)))
    matrix[0, 0], matrix[-1, -1] = 1.0, 0.0
    return matrix


def _v1_body(matrix: np.ndarray) -> bytes:
    tracks = [
        {"id": f"t{row}", "scores": dict(zip(TAGS, values, strict=True))}
        for row, values in enumerate(matrix.tolist())
    ]
    return json.dumps({"tracks": tracks}).encode()


def _v2_body(matrix: np.ndarray) -> bytes:
    tensor = {"name": "scores", "shape": list(matrix.shape), "datatype": "FP64"}
    return json.dumps({"inputs": [{**tensor, "data": matrix.ravel().tolist()}]}).encode()


def _tags(model: Strategy, matrix: np.ndarray) -> list[list[str]]:
    decisions = model.predict(TrackScores(np.arange(len(matrix)), TAGS, matrix))
    return [[TAGS[column] for column in np.flatnonzero(row)] for row in decisions]


# -- the segments and the pool ---------------------------------------------------------------


def test_a_body_is_refused_past_its_limit_and_reads_back_as_written() -> None:
    body = SharedBody(8)
    try:
        assert body.write(b"abc") and body.write(b"defgh")
        assert not body.write(b"i")  # past the declared length: nothing written
        assert len(body) == 8 and body.tobytes() == b"abcdefgh"
        assert segment_names() == [body.name]
    finally:
        body.release()
    body.release()  # twice: nothing happens


def test_the_pool_keeps_a_few_segments_and_unlinks_the_rest() -> None:
    pool = BodyPool(keep=1, keep_bytes=1000)
    first, second = pool.take(900), pool.take(10)
    large = pool.take(1001)  # over keep_bytes: a segment of its own, never kept
    assert first.pooled and second.pooled and not large.pooled
    assert first.capacity == 1000 and large.capacity == 1001
    assert len(segment_names()) == 3
    for body in (first, second, large):
        pool.give_back(body)
    assert segment_names() == [first.name]  # one kept
    again = pool.take(5)
    assert again is first and len(again) == 0 and again.limit == 5
    assert again.write(b"12345") and not again.write(b"6")
    pool.give_back(again)
    pool.close()
    assert segment_names() == []
    late = pool.take(10)
    pool.give_back(late)  # given back after close: unlinked at once
    assert segment_names() == []


def test_a_worker_keeps_the_last_pooled_segments_mapped() -> None:
    pool = BodyPool(keep=3, keep_bytes=100)
    bodies = [pool.take(4) for _ in range(3)]
    for index, body in enumerate(bodies):
        body.write(b"%4d" % index)
    mappings = Mappings(keep=2)
    try:
        read = [mappings.read(body.name, 4, True, bytes) for body in bodies]
        assert read == [b"   0", b"   1", b"   2"]
        assert list(mappings.open) == [bodies[1].name, bodies[2].name]  # the oldest closed
        single = SharedBody(3)
        single.write(b"xyz")
        assert mappings.read(single.name, 2, False, bytes) == b"xy"
        assert single.name not in mappings.open  # not pooled: closed at once
        single.release()
    finally:
        for memory in mappings.open.values():
            memory.close()
        for body in bodies:
            pool.give_back(body)
        pool.close()


# -- the intake: every way a request ends gives the segment back --------------------------------


def _scope(path: str, length: int) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", b"%d" % length)],
    }


def _through_intake(
    pool: BodyPool, chunks: list[bytes], length: int, handler: Any, then: str = "end"
) -> list[Message]:
    """Send ``chunks`` to an intake whose one hot path is ``handler``, the last one as the
    body's end (``then="end"``), or then the client goes away (``"gone"``) or stops sending
    (``"stall"``); what the intake sent back."""
    sent: list[Message] = []
    last = len(chunks) - 1 if then == "end" else len(chunks)
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < last}
        for index, chunk in enumerate(chunks)
    ]
    stall = then == "stall"

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if stall:
            await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def framework(scope: Scope, receive: Any, send: Any) -> None:
        raise AssertionError("the hot path should not reach the framework")

    intake = Intake(
        framework,
        max_bytes=100,
        body_timeout=0.2,
        capacity=4,
        routes={"/hot": handler},
        shared_above=10,
        pool=pool,
    )
    anyio.run(intake, _scope("/hot", length), receive, send)
    return sent


def test_a_large_body_is_written_into_shared_memory_and_given_back() -> None:
    seen: list[tuple[bool, bytes, list[str]]] = []

    async def handler(scope: Scope, body: Any) -> tuple[int, bytes]:
        shared = isinstance(body, SharedBody)
        seen.append((shared, body.tobytes() if shared else bytes(body), segment_names()))
        return 200, b"{}"

    pool = BodyPool(keep=0)
    sent = _through_intake(pool, [b'{"tracks":', b" [1, 2, 3", b"]}"], 21, handler)
    assert sent[0]["status"] == 200
    assert seen[0][:2] == (True, b'{"tracks": [1, 2, 3]}') and len(seen[0][2]) == 1
    assert segment_names() == []  # keep=0: unlinked as the request ended
    own = BodyPool(keep=4, keep_bytes=20)  # over keep_bytes: unlinked (in a thread) at once
    _through_intake(own, [b'{"tracks":', b" [1, 2, 3", b"]}"], 21, handler)
    assert seen[-1][:2] == (True, b'{"tracks": [1, 2, 3]}') and own.idle == []
    assert segment_names() == []
    _through_intake(pool, [b"[1, 2", b"]"], 6, handler)  # at most shared_above: no segment
    assert seen[-1][:2] == (False, b"[1, 2]") and seen[-1][2] == []


@pytest.mark.parametrize(
    ("chunks", "length", "then", "status"),
    [
        ([b'{"tracks": [', b"1, 2"], 60, "gone", None),  # the client goes away mid-body
        ([b'{"tracks": [', b"1, 2"], 60, "stall", 408),  # the client stops sending
        ([b"x" * 60, b"x" * 60], 90, "gone", 413),  # more than max_bytes arrives
    ],
)
@pytest.mark.parametrize("keep_bytes", [2**20, 10])  # a pool's segment, one of its own
def test_a_request_that_ends_early_gives_its_segment_back(
    chunks: list[bytes], length: int, then: str, status: int | None, keep_bytes: int
) -> None:
    async def handler(scope: Scope, body: Any) -> tuple[int, bytes]:
        raise AssertionError("an unfinished body must not be decided")

    pool = BodyPool(keep=0, keep_bytes=keep_bytes)
    sent = _through_intake(pool, chunks, length, handler, then=then)
    assert [message.get("status") for message in sent[:1]] == ([status] if status else [])
    assert segment_names() == []


def test_a_failing_handler_gives_its_segment_back() -> None:
    async def handler(scope: Scope, body: Any) -> tuple[int, bytes]:
        assert len(segment_names()) == 1
        raise RuntimeError("the decider broke")

    with pytest.raises(RuntimeError, match="the decider broke"):
        _through_intake(BodyPool(keep=0), [b"x" * 20, b"x" * 20], 40, handler)
    assert segment_names() == []


# -- the worker processes read the segments --------------------------------------------------


def test_a_killed_worker_is_replaced_and_the_segment_read_by_the_next(model: Strategy) -> None:
    matrix = _matrix(4, seed=3)
    encoded = _v1_body(matrix)
    decider = Decider(model, name="model", max_tracks=100)
    lanes = Lanes(decider, model, workers=1, processes=1, inline_below=0, process_above=0)
    pool = BodyPool(keep=1)
    body = pool.take(len(encoded))
    assert body.write(encoded)
    try:
        first = anyio.run(lanes.run, "v1", body)
        (killed,) = lanes._started
        killed.process.kill()
        killed.process.join(timeout=10)
        second = anyio.run(lanes.run, "v1", body)  # the same segment, a new worker
        assert lanes._started and killed not in lanes._started
    finally:
        lanes.close()
        pool.give_back(body)
        pool.close()
    for status, content in (first, second):
        assert status == 200
        assert [track["tags"] for track in json.loads(content)["tracks"]] == _tags(model, matrix)


# -- through real HTTP -----------------------------------------------------------------------


def _in_pieces(port: int, path: str, body: bytes, pieces: int = 4) -> tuple[int, Any]:
    """POST ``body`` in ``pieces`` sent 20 ms apart (so it arrives in several messages)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n\r\n"
        connection.sendall(head.encode())
        step = -(-len(body) // pieces)
        for start in range(0, len(body), step):
            connection.sendall(body[start : start + step])
            time.sleep(0.02)
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
            data.lower().partition(b"content-length: ")[2].split(b"\r\n")[0] or b"0"
        ):
            chunk = connection.recv(65536)
            assert chunk, "the server closed the connection"
            data += chunk
    head_text, _, answer = data.partition(b"\r\n\r\n")
    return int(head_text.split()[1]), json.loads(answer)


def test_bodies_sent_in_pieces_are_decided_from_shared_memory(model: Strategy) -> None:
    matrix = _matrix(120, seed=5)
    expected = _tags(model, matrix)
    app = create_app(model, name="tagger", process_above=1000)
    with serving(app) as url:
        port = int(url.rsplit(":", 1)[1])
        status, answer = _in_pieces(port, "/v1/decide", _v1_body(matrix))
        assert status == 200
        assert [track["tags"] for track in answer["tracks"]] == expected
        assert len(segment_names()) == 1  # kept for the next body
        status, answer = _in_pieces(port, "/v2/models/tagger/infer", _v2_body(matrix))
        assert status == 200
        decisions = np.array(answer["outputs"][0]["data"]).reshape(matrix.shape)
        assert [[TAGS[c] for c in np.flatnonzero(row)] for row in decisions] == expected
        bad = _v1_body(matrix).replace(b'"t7"', b'"t8"')
        status, answer = _in_pieces(port, "/v1/decide", bad)
        assert status == 422
        assert answer == {"detail": "duplicate track id(s) 't8'; ids must be unique"}
        with socket.create_connection(("127.0.0.1", port), timeout=20) as gone:
            gone.sendall(b"POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")
            gone.sendall(b'{"tracks": [' + b" " * 1500)
            time.sleep(0.2)
        status, _ = _in_pieces(port, "/v1/decide", _v1_body(matrix))
        assert status == 200
        assert len(segment_names()) <= 2  # the one left mid-body went back to the pool
    # the autouse fixture: nothing left once the server stopped
