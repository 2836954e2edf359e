"""Where decisions run: small ones at once, the others off the event loop, a few at a time.

Three lanes, by the body's size:

* up to ``inline_below`` bytes (a few tracks): decided on the event loop itself. A track
  costs about 0.1 ms; handing it to a thread and back would cost more than deciding it.
* up to ``process_above`` bytes: decided in one of ``workers`` threads. msgspec holds the
  interpreter lock while it decodes, so these bodies are kept small enough (about 1 MiB,
  5 ms) that the event loop is never held up for long.
* larger bodies: decided in one of ``processes`` worker processes (spawned when the server
  starts). Their parsing cannot hold this process's lock at all, and two of them decide in
  parallel on two cores, which threads sharing one lock cannot.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection

import anyio
import anyio.to_thread

from tagdecide.service._decide import Body, Decider
from tagdecide.service._shared import Mappings, SharedBody
from tagdecide.strategies import Strategy

#: Bodies up to this many bytes are decided on the event loop (a track is about 11 kB).
DEFAULT_INLINE_BELOW = 64 * 2**10
#: Bodies above this many bytes are decided in a worker process.
DEFAULT_PROCESS_ABOVE = 2**20
#: Worker processes for the large bodies.
DEFAULT_PROCESSES = 2

Answer = tuple[int, bytes]


#: Bytes a pipe to a worker holds (Linux's default most for any user): a 10 MB body goes
#: down in 10 writes instead of 160, each waiting for the worker to read (about a fifth
#: less time handing a 10 MB body over, here).
_PIPE_BYTES = 2**20


def _widen(connection: Connection) -> None:
    """Let the pipe hold ``_PIPE_BYTES`` where the system allows it (Linux)."""
    if sys.platform != "linux":
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _serve_in_worker(
    bodies: Connection, answers: Connection, model: Strategy, name: str, max_tracks: int
) -> None:
    """The worker process: bodies in, answers out, until the pipe closes.

    Each body is announced by ``(kind, segment, size, pooled)``: read from the shared
    memory ``segment`` in place, or (no segment) sent down the pipe next.
    """
    decider = Decider(model, name=name, max_tracks=max_tracks)
    mappings = Mappings()
    while True:
        try:
            kind, segment, size, pooled = bodies.recv()
            body = None if segment else bodies.recv_bytes()
        except EOFError:
            return
        call = decider.decide if kind == "v1" else decider.infer
        answer = call(body) if body is not None else mappings.read(segment, size, pooled, call)
        answers.send(answer)


class _Worker:
    """One spawned process and the pipes to it; one body at a time.

    A body in shared memory is announced by its segment's name (nothing else crosses); a
    body in this process's memory goes down the pipe as it is (``send_bytes`` writes the
    buffer without copying or pickling it, and releases the interpreter lock while writing).
    """

    def __init__(self, model: Strategy, name: str, max_tracks: int) -> None:
        context = multiprocessing.get_context("spawn")
        # Two one-way pipes rather than a socket pair: a pipe can be widened (_widen).
        bodies, self.bodies = context.Pipe(duplex=False)
        self.answers, answers = context.Pipe(duplex=False)
        _widen(self.bodies)
        _widen(self.answers)
        self.process = context.Process(
            target=_serve_in_worker,
            args=(bodies, answers, model, name, max_tracks),
            name="tagdecide-worker",
            daemon=True,
        )
        self.process.start()
        bodies.close()
        answers.close()

    def ask(self, kind: str, body: Body | SharedBody) -> Answer:
        if isinstance(body, SharedBody):
            self.bodies.send((kind, body.name, len(body), body.pooled))
        else:
            self.bodies.send((kind, None, 0, False))
            self.bodies.send_bytes(body)
        status, content = self.answers.recv()
        return int(status), content

    def stop(self) -> None:
        self.bodies.close()
        self.answers.close()
        self.process.terminate()
        self.process.join(timeout=5)


class Lanes:
    """Runs :class:`Decider` calls in the lane that suits the body (see the module)."""

    def __init__(
        self,
        decider: Decider,
        model: Strategy,
        *,
        workers: int,
        processes: int = DEFAULT_PROCESSES,
        inline_below: int = DEFAULT_INLINE_BELOW,
        process_above: int = DEFAULT_PROCESS_ABOVE,
    ) -> None:
        self.decider, self.model = decider, model
        self.inline_below, self.process_above = inline_below, process_above
        self.threads = anyio.CapacityLimiter(workers)
        self.n_processes = max(1, processes)
        self._to_process = anyio.CapacityLimiter(self.n_processes)
        self._idle: list[_Worker] = []  # started, waiting for a body
        self._started: list[_Worker] = []  # every live one, to stop them at the end

    def start(self) -> None:
        """Spawn the worker processes now (they load in the background)."""
        while len(self._started) < self.n_processes:
            self._idle.append(self._spawn())

    async def run(self, kind: str, body: Body | SharedBody) -> Answer:
        """``decider.decide(body)`` (``kind="v1"``) or ``decider.infer(body)`` (``"v2"``).

        A :class:`SharedBody` is decided in a worker process whatever its size (the intake
        puts only bodies larger than ``process_above`` there).
        """
        call: Callable[[Body], Answer] = self.decider.decide if kind == "v1" else self.decider.infer
        if not isinstance(body, SharedBody):
            if len(body) <= self.inline_below:
                return call(body)
            if len(body) <= self.process_above:
                return await anyio.to_thread.run_sync(call, body, limiter=self.threads)
        async with self._to_process:
            worker = self._idle.pop() if self._idle else None
            worker, answer = await anyio.to_thread.run_sync(self._in_worker, worker, kind, body)
            if worker is not None:
                self._idle.append(worker)
            return answer

    def _in_worker(
        self, worker: _Worker | None, kind: str, body: Body | SharedBody
    ) -> tuple[_Worker | None, Answer]:
        """The answer of ``worker`` (started here if need be), and the worker if it lives."""
        try:
            if worker is None or not worker.process.is_alive():
                if worker is not None:
                    self._stop(worker)
                worker = self._spawn()
            return worker, worker.ask(kind, body)
        except (EOFError, OSError):  # the worker died (killed, out of memory): start anew
            if worker is not None:
                self._stop(worker)
            key = "detail" if kind == "v1" else "error"
            return None, (500, b'{"%s":"the worker process stopped; try again"}' % key.encode())

    def _spawn(self) -> _Worker:
        worker = _Worker(self.model, self.decider.name, self.decider.max_tracks)
        self._started.append(worker)
        return worker

    def _stop(self, worker: _Worker) -> None:
        worker.stop()
        if worker in self._started:
            self._started.remove(worker)

    def close(self) -> None:
        """Stop the worker processes at once: they hold nothing worth waiting for."""
        for worker in list(self._started):
            self._stop(worker)
        self._idle.clear()
