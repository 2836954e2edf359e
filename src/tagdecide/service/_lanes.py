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

A ``/v1/decide`` body over ``split_above`` bytes (up to ``SPLIT_AT_MOST``) that arrives
while every worker process is idle, and as many cores are idle, is decided by all of them
at once, each a run of whole tracks of the same shared memory
(:meth:`~tagdecide.service._decide.Decider.part_ranges`); the parts' answers are joined in
track order. The parts cost a little more CPU than the whole (each copies its tracks
once), and on cores that other processes keep busy the answer waits for the slower part:
then the body is decided whole. Anything unusual in any part (a bad track, ids repeated
across parts) and the body is decided whole by one worker, so its answer, refusals
included, is the one it would get unsplit.

An infer body (``/v2/models/NAME/infer``) of that size is split the same way when it is the
plain case (:meth:`~tagdecide.service._decide.Decider.infer_parts`): one input, its data a
flat array of numbers; each worker decodes and decides a run of whole rows of it, and the
parts' 0/1 decisions are joined in row order into the answer the whole body would get.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable
from functools import partial
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
#: Bodies above this many bytes (both protocols) are decided in parts by the idle workers.
DEFAULT_SPLIT_ABOVE = 2 * 2**20
#: ... up to this many bytes (about 1,500 tracks of the demo catalogue): a larger body in
#: parts would hold every worker and both cores for a second or more, while the event loop
#: (``/health``) waits for a core and every other large body for a worker.
SPLIT_AT_MOST = 16 * 2**20

Answer = tuple[int, bytes]
#: A part's answer: status (200; 0 to decide the whole body; 500 the worker stopped),
#: the tracks' answers, their ids.
PartAnswer = tuple[int, bytes, list[str]]
#: A part to decide: its ``(start, end)`` bytes, and for an infer body ``(n_rows, datatype)``.
Part = tuple[int, int, tuple[int, str] | None]
_STOPPED = 500


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

    Each body is announced by ``(kind, segment, size, pooled, part)``: read from the shared
    memory ``segment`` in place, or (no segment) sent down the pipe next; ``part`` is None,
    or the ``(start, end)`` bytes of the tracks this worker decides (kind ``"v1 part"``),
    or ``(start, end, n_rows, datatype)`` of the rows of an infer body's data (``"v2 part"``).
    """
    decider = Decider(model, name=name, max_tracks=max_tracks)
    mappings = Mappings()
    scratch = _Scratch()
    # What is loaded now lives as long as the process: out of the collector's sight, a
    # full collection (every 60 or so 1,000-track bodies) takes under 1 ms instead of 19.
    gc.collect()
    gc.freeze()
    while True:
        try:
            kind, segment, size, pooled, part = bodies.recv()
            body = None if segment else bodies.recv_bytes()
        except EOFError:
            return
        call: Callable[[Body], tuple[object, ...]]
        if kind == "v1 part":
            start, end = part
            call = partial(_decide_part, decider, scratch, start, end)
        elif kind == "v2 part":
            start, end, n_rows, datatype = part
            call = partial(_infer_part, decider, scratch, start, end, n_rows, datatype)
        else:
            call = decider.decide if kind == "v1" else decider.infer
        answer = call(body) if body is not None else mappings.read(segment, size, pooled, call)
        answers.send(answer)


class _Scratch:
    """One buffer a worker reuses for the parts it decides: a new 5 MB buffer each time
    cost its pages' first-touch faults, about a third of the part's decoding time."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def bracketed(self, body: Body, start: int, end: int) -> memoryview:
        """``body[start:end]`` between ``[`` and ``]`` (release the view after use)."""
        size = end - start + 2
        if len(self.buffer) < size:
            self.buffer = bytearray(size)
        view = memoryview(self.buffer)[:size]
        view[0], view[-1] = ord("["), ord("]")
        with memoryview(body)[start:end] as tracks:
            view[1:-1] = tracks
        return view


def _decide_part(
    decider: Decider, scratch: _Scratch, start: int, end: int, body: Body
) -> tuple[object, ...]:
    """``decider.decide_part`` of ``body[start:end]`` (tracks and the commas between them)
    made a JSON list, in ``scratch``."""
    with scratch.bracketed(body, start, end) as part:
        return decider.decide_part(part)


def _infer_part(
    decider: Decider,
    scratch: _Scratch,
    start: int,
    end: int,
    n_rows: int,
    datatype: str,
    body: Body,
) -> tuple[object, ...]:
    """``decider.decide_infer_part`` of the ``n_rows`` rows of values in ``body[start:end]``
    made a JSON list, in ``scratch``."""
    with scratch.bracketed(body, start, end) as part:
        return decider.decide_infer_part(part, n_rows, datatype)


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
            self.bodies.send((kind, body.name, len(body), body.pooled, None))
        else:
            self.bodies.send((kind, None, 0, False, None))
            self.bodies.send_bytes(body)
        status, content = self.answers.recv()
        return int(status), content

    def ask_part(
        self, body: SharedBody, start: int, end: int, rows: tuple[int, str] | None = None
    ) -> PartAnswer:
        """The answer for the tracks in ``body``'s bytes ``start`` to ``end``, or with
        ``rows`` (``(n_rows, datatype)``), for those rows of an infer body's data."""
        if rows is None:
            self.bodies.send(("v1 part", body.name, len(body), body.pooled, (start, end)))
        else:
            part = (start, end, *rows)
            self.bodies.send(("v2 part", body.name, len(body), body.pooled, part))
        status, content, ids = self.answers.recv()
        return int(status), content, ids

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
        split_above: int | None = DEFAULT_SPLIT_ABOVE,
    ) -> None:
        self.decider, self.model = decider, model
        self.inline_below, self.process_above = inline_below, process_above
        self.split_above = split_above
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
        if isinstance(body, SharedBody) and self._may_split(body):
            parts: list[Part]
            if kind == "v1":
                ranges = self.decider.part_ranges(body.buffer[: len(body)], self.n_processes)
                if ranges is not None:
                    parts = [(start, end, None) for start, end in ranges]
                    return await self._in_parts("v1", body, parts, self.decider.join_parts)
            else:
                plan = self.decider.infer_parts(body.buffer[: len(body)], self.n_processes)
                if plan is not None:
                    parts = [
                        (start, end, (n_rows, plan.datatype)) for start, end, n_rows in plan.parts
                    ]
                    join = partial(self.decider.join_infer_parts, plan)
                    return await self._in_parts("v2", body, parts, join)
        async with self._to_process:
            return await self._in_one_worker(kind, body)

    def _may_split(self, body: SharedBody) -> bool:
        """Whether ``body`` is large enough to split, and every worker idle to take a part."""
        return (
            self.split_above is not None
            and self.split_above < len(body) <= SPLIT_AT_MOST
            and self.n_processes > 1
            and self._to_process.available_tokens == self.n_processes
            and idle_cores() >= self.n_processes
        )

    async def _in_one_worker(self, kind: str, body: Body | SharedBody) -> Answer:
        """The answer of an idle worker (the caller holds a ``_to_process`` token)."""
        worker = self._idle.pop() if self._idle else None
        worker, answer = await anyio.to_thread.run_sync(self._in_worker, worker, kind, body)
        if worker is not None:
            self._idle.append(worker)
        return answer

    async def _in_parts(
        self,
        kind: str,
        body: SharedBody,
        ranges: list[Part],
        join: Callable[[list[PartAnswer]], bytes | None],
    ) -> Answer:
        """``body`` decided by every worker at once, a part each (``(start, end, rows)``, as
        :meth:`_Worker.ask_part` takes them), the answers joined by ``join``; decided whole
        by one if a part is unusual (see the module)."""
        borrowers = [object() for _ in ranges]  # a token each: no other body gets a worker
        for borrower in borrowers:
            self._to_process.acquire_on_behalf_of_nowait(borrower)
        try:
            answers: list[PartAnswer] = [(0, b"", [])] * len(ranges)

            async def decide(
                index: int, start: int, end: int, rows: tuple[int, str] | None
            ) -> None:
                worker = self._idle.pop() if self._idle else None
                worker, answers[index] = await anyio.to_thread.run_sync(
                    self._part_in_worker, worker, kind, body, start, end, rows
                )
                if worker is not None:
                    self._idle.append(worker)

            async with anyio.create_task_group() as group:
                for index, (start, end, rows) in enumerate(ranges):
                    group.start_soon(decide, index, start, end, rows)
            for status, content, _ in answers:
                if status == _STOPPED:  # as an unsplit body's answer would say
                    return status, content
            joined = join(answers)
            if joined is not None:
                return 200, joined
            return await self._in_one_worker(kind, body)
        finally:
            for borrower in borrowers:
                self._to_process.release_on_behalf_of(borrower)

    def _in_worker(
        self, worker: _Worker | None, kind: str, body: Body | SharedBody
    ) -> tuple[_Worker | None, Answer]:
        """The answer of ``worker`` (started here if need be), and the worker if it lives."""
        try:
            worker = self._alive(worker)
            return worker, worker.ask(kind, body)
        except (EOFError, OSError):  # the worker died (killed, out of memory): start anew
            if worker is not None:
                self._stop(worker)
            return None, _stopped(kind)

    def _part_in_worker(
        self,
        worker: _Worker | None,
        kind: str,
        body: SharedBody,
        start: int,
        end: int,
        rows: tuple[int, str] | None,
    ) -> tuple[_Worker | None, PartAnswer]:
        """Like :meth:`_in_worker`, for one part."""
        try:
            worker = self._alive(worker)
            return worker, worker.ask_part(body, start, end, rows)
        except (EOFError, OSError):
            if worker is not None:
                self._stop(worker)
            return None, (*_stopped(kind), [])

    def _alive(self, worker: _Worker | None) -> _Worker:
        """``worker``, or a new one if there is none or it died while idle."""
        if worker is None or not worker.process.is_alive():
            if worker is not None:
                self._stop(worker)
            worker = self._spawn()
        return worker

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


def idle_cores() -> int:
    """Cores this process may use that no other thread is running on now: on Linux from
    ``/proc/loadavg``'s count of runnable threads (less the one reading it); elsewhere all.

    >>> 0 <= idle_cores() <= (os.cpu_count() or 1)
    True
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        with open("/proc/loadavg", "rb") as load:
            running = int(load.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return cores or 1
    return max(0, (cores or 1) - (running - 1))


def _stopped(kind: str) -> Answer:
    """The answer when a worker process died (killed, out of memory) while deciding."""
    key = "detail" if kind == "v1" else "error"
    return _STOPPED, b'{"%s":"the worker process stopped; try again"}' % key.encode()
