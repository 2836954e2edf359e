"""Where decisions run: never on the event loop, at most a few at a time.

A body up to ``process_above`` bytes is decided in one of ``workers`` threads: parsing it
holds the interpreter lock for a few milliseconds at a time, so ``/health`` still answers.
A larger body (up to the body limit) is decided in a separate process, whose parsing cannot
hold this process's lock at all; the process is started (spawned) on the first such request.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import anyio
import anyio.to_thread

from tagdecide.service._decide import Decider
from tagdecide.strategies import Strategy

#: Bodies above this many bytes are decided in the worker process.
DEFAULT_PROCESS_ABOVE = 16 * 2**20

_worker_decider: Decider | None = None


def _start_worker(model: Strategy, name: str, max_tracks: int) -> None:
    global _worker_decider
    _worker_decider = Decider(model, name=name, max_tracks=max_tracks)


def _in_worker(kind: str, body: bytes | bytearray) -> tuple[int, bytes]:
    assert _worker_decider is not None, "the worker process was not started"
    if kind == "ping":
        return 200, b""
    return _worker_decider.decide(body) if kind == "v1" else _worker_decider.infer(body)


class Lanes:
    """Runs :class:`Decider` calls off the event loop: threads, or a process for big bodies."""

    def __init__(
        self, decider: Decider, model: Strategy, *, workers: int, process_above: int
    ) -> None:
        self.decider, self.model = decider, model
        self.process_above = process_above
        self.threads = anyio.CapacityLimiter(workers)
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the worker process now (it loads in the background)."""
        self._process_pool().submit(_in_worker, "ping", b"")

    async def run(self, kind: str, body: bytes | bytearray) -> tuple[int, bytes]:
        """``decider.decide(body)`` (``kind="v1"``) or ``decider.infer(body)`` (``"v2"``)."""
        if len(body) > self.process_above:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._process_pool(), _in_worker, kind, body)
        call: Callable[[bytes | bytearray], tuple[int, bytes]] = (
            self.decider.decide if kind == "v1" else self.decider.infer
        )
        return await anyio.to_thread.run_sync(call, body, limiter=self.threads)

    def _process_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.model, self.decider.name, self.decider.max_tracks),
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker process at once: it holds nothing worth waiting for, and a
        server asked to stop should not wait for a worker still importing numpy."""
        if self._pool is None:
            return
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        self._pool = None
