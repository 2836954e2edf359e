"""The service over real HTTP in the tests: an app served by uvicorn in a background thread,
the small model (five tags) that the shared-memory and split tests decide with, and a
worker process killed as it is given a part of a split body."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

import tagdecide
from tagdecide.data import TrackScores
from tagdecide.service._lanes import _Worker
from tagdecide.strategies import Strategy

#: The five tags of :func:`five_tag_model`.
TAGS = ("blues-rock", "punk", "happy", "sad", "calm")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a background thread (its lifespan run: a failing start
    fails the test); yield its URL; stop it, and check that it stopped."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert not thread.is_alive(), "uvicorn did not stop"


def five_tag_model(n_tracks: int = 60) -> Strategy:
    """``thresholds`` fitted on ``n_tracks`` random tracks of :data:`TAGS` (every tag has
    positives: the first track has them all)."""
    rng = np.random.default_rng(0)
    truth = (rng.uniform(size=(n_tracks, len(TAGS))) < 0.3).astype(np.uint8)
    truth[0] = 1
    scores = np.clip(0.4 * truth + rng.uniform(0, 0.6, truth.shape), 0, 1)
    return tagdecide.make_strategy("thresholds").fit(
        TrackScores(np.arange(n_tracks), TAGS, scores), truth
    )


def kill_a_worker_at_its_part(
    monkeypatch: pytest.MonkeyPatch, *, after_byte: int, infer: bool = False
) -> list[_Worker]:
    """Kill, once, the worker process given a part that starts past ``after_byte`` of the
    body (of an infer body's data with ``infer``), just before it is asked to decide it;
    the list returned holds the killed worker once it happened."""
    original = _Worker.ask_part
    killed: list[_Worker] = []

    def ask_part(self: _Worker, body: Any, start: int, end: int, rows: Any = None) -> Any:
        if (rows is not None or not infer) and start > after_byte and not killed:
            killed.append(self)
            self.process.kill()
            self.process.join(timeout=10)
        return original(self, body, start, end, rows)

    monkeypatch.setattr(_Worker, "ask_part", ask_part)
    return killed
