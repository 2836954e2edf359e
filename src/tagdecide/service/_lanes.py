"""Where decisions run: never on the event loop, at most a few at a time.

A body up to ``process_above`` bytes is decided in one of ``workers`` threads: parsing it
holds the interpreter lock for tens of milliseconds at most, so ``/health`` still answers.
A larger body (up to the body limit) is decided in a worker process, whose parsing cannot
hold this process's lock at all.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection

import anyio
import anyio.to_thread

from tagdecide.service._decide import Decider
from tagdecide.strategies import Strategy

#: Bodies above this many bytes are decided in the worker process.
DEFAULT_PROCESS_ABOVE = 16 * 2**20


def _serve_in_worker(connection: Connection, model: Strategy, name: str, max_tracks: int) -> None:
    """The worker process: bodies in, answers out, until the pipe closes."""
    decider = Decider(model, name=name, max_tracks=max_tracks)
    while True:
        try:
            kind = connection.recv()
            body = connection.recv_bytes()
        except EOFError:
            return
        answer = decider.decide(body) if kind == "v1" else decider.infer(body)
        connection.send(answer)


class _Worker:
    """One spawned process and the pipe to it; one body at a time.

    The body goes down the pipe as it is (``send_bytes`` writes the buffer without
    copying or pickling it, and releases the interpreter lock while writing), so handing
    over 100 MB costs this process almost nothing.
    """

    def __init__(self, model: Strategy, name: str, max_tracks: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve_in_worker,
            args=(child, model, name, max_tracks),
            name="tagdecide-worker",
            daemon=True,
        )
        self.process.start()
        child.close()

    def ask(self, kind: str, body: bytes | bytearray) -> tuple[int, bytes]:
        self.connection.send(kind)
        self.connection.send_bytes(body)
        status, content = self.connection.recv()
        return int(status), content

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.join(timeout=5)


class Lanes:
    """Runs :class:`Decider` calls off the event loop: threads, or a process for big bodies."""

    def __init__(
        self, decider: Decider, model: Strategy, *, workers: int, process_above: int
    ) -> None:
        self.decider, self.model = decider, model
        self.process_above = process_above
        self.threads = anyio.CapacityLimiter(workers)
        self._to_worker = anyio.CapacityLimiter(1)
        self._worker: _Worker | None = None

    def start(self) -> None:
        """Spawn the worker process now (it loads in the background)."""
        self._live_worker()

    async def run(self, kind: str, body: bytes | bytearray) -> tuple[int, bytes]:
        """``decider.decide(body)`` (``kind="v1"``) or ``decider.infer(body)`` (``"v2"``)."""
        if len(body) > self.process_above:
            return await anyio.to_thread.run_sync(
                self._in_worker, kind, body, limiter=self._to_worker
            )
        call: Callable[[bytes | bytearray], tuple[int, bytes]] = (
            self.decider.decide if kind == "v1" else self.decider.infer
        )
        return await anyio.to_thread.run_sync(call, body, limiter=self.threads)

    def _in_worker(self, kind: str, body: bytes | bytearray) -> tuple[int, bytes]:
        try:
            return self._live_worker().ask(kind, body)
        except (EOFError, OSError):  # the worker died (killed, out of memory): start anew
            self.close()
            key = "detail" if kind == "v1" else "error"
            return 500, b'{"%s":"the worker process stopped; try again"}' % key.encode()

    def _live_worker(self) -> _Worker:
        if self._worker is None or not self._worker.process.is_alive():
            self._worker = _Worker(self.model, self.decider.name, self.decider.max_tracks)
        return self._worker

    def close(self) -> None:
        """Stop the worker process at once: it holds nothing worth waiting for."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
