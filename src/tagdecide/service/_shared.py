"""Request bodies in shared memory: written as they arrive, read in place by a worker process.

A large body bound for a worker process is written, chunk by chunk as the client sends it,
into a POSIX shared memory segment; the worker opens the segment by name and decodes
straight from it. Nothing goes down a pipe (a 10 MB body took 15-20 ms to hand over that
way, and 4-6 ms through a new segment).

Segments up to ``keep_bytes`` (16 MiB: about 1,500 tracks of the demo catalogue) are
kept, a few of them, and reused, and the workers keep them mapped: the pages of a new
segment cost a fault each to write in this process and again to read in the worker (10 ms
for 10 MB), those of a reused one nothing (under 1 ms to write and hand over 10 MB). A
kept segment is created at ``keep_bytes`` (only the pages written take memory), so any
body up to that size fits it. Larger bodies get a segment of their size, unlinked after use.

Lifetime: the server creates and unlinks every segment. The intake gives a body's segment
back when its request ends, however it ends (answered, refused, timed out, the client
gone, the worker killed); it is then kept or unlinked; :meth:`BodyPool.close` unlinks the
kept ones when the server stops. Workers only open and close segments. A segment left
behind by a killed server is unlinked by :mod:`multiprocessing`'s resource tracker, which
every segment is registered with.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from multiprocessing import shared_memory
from typing import TypeVar

#: Segments are named ``tagdecide-<server's pid>-<random>`` (``/dev/shm/tagdecide-...`` on
#: Linux), so that leftovers say whose they are.
PREFIX = "tagdecide-"

Result = TypeVar("Result")


def segment_names(pid: int | None = None) -> list[str]:
    """The names of this process's (or ``pid``'s) segments that exist now (Linux only: an
    empty list where ``/dev/shm`` does not exist).

    >>> body = SharedBody(10)
    >>> body.name in segment_names()
    True
    >>> body.release()
    >>> body.name in segment_names()
    False
    """
    start = f"{PREFIX}{os.getpid() if pid is None else pid}-"
    with contextlib.suppress(OSError):
        return sorted(name for name in os.listdir("/dev/shm") if name.startswith(start))
    return []


class SharedBody:
    """A request body of at most ``capacity`` bytes in a new shared memory segment.

    Parameters
    ----------
    capacity : int
        The body's declared length (``Content-Length``); the segment's size.

    Examples
    --------
    >>> body = SharedBody(5)
    >>> body.write(b"abc"), body.write(b"de"), body.write(b"f")
    (True, True, False)
    >>> len(body), body.tobytes()
    (5, b'abcde')
    >>> body.release()
    """

    def __init__(self, capacity: int, *, pooled: bool = False) -> None:
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        self.memory = shared_memory.SharedMemory(name=name, create=True, size=max(1, capacity))
        buffer = self.memory.buf
        assert buffer is not None  # open until released
        self.buffer: memoryview = buffer
        self.name = name
        self.capacity = self.limit = capacity
        self.pooled = pooled  # kept for reuse (and kept mapped by the workers)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def write(self, chunk: bytes) -> bool:
        """Append ``chunk``; False (and nothing written) if it would pass ``limit``."""
        end = self.size + len(chunk)
        if end > self.limit:
            return False
        self.buffer[self.size : end] = chunk
        self.size = end
        return True

    def tobytes(self) -> bytes:
        """A copy of the body written so far."""
        return bytes(self.buffer[: self.size])

    def reuse(self, limit: int) -> None:
        """Start a new body of at most ``limit`` bytes (at most ``capacity``)."""
        self.size, self.limit = 0, min(limit, self.capacity)

    def release(self) -> None:
        """Unmap and unlink the segment (again: nothing happens)."""
        self.buffer = memoryview(b"")
        with contextlib.suppress(BufferError):
            self.memory.close()
        with contextlib.suppress(FileNotFoundError):
            self.memory.unlink()


class BodyPool:
    """Segments for bodies: up to ``keep`` of ``keep_bytes`` kept for reuse (see the module).

    Used from the event loop's thread only.

    Examples
    --------
    >>> pool = BodyPool(keep=1, keep_bytes=100)
    >>> first = pool.take(60)
    >>> first.pooled, first.write(b"x" * 60), first.write(b"x")
    (True, True, False)
    >>> pool.give_back(first)
    >>> pool.take(80) is first, len(first)
    (True, 0)
    >>> pool.take(200).pooled
    False
    >>> pool.give_back(first)
    >>> pool.close()
    >>> first.name in segment_names()
    False
    """

    def __init__(self, *, keep: int = 4, keep_bytes: int = 16 * 2**20) -> None:
        self.keep, self.keep_bytes = keep, keep_bytes
        self.idle: list[SharedBody] = []
        self.closed = False

    def take(self, size: int) -> SharedBody:
        """A segment for a body of ``size`` bytes, kept or new."""
        if size > self.keep_bytes:
            return SharedBody(size)
        body = self.idle.pop() if self.idle else SharedBody(self.keep_bytes, pooled=True)
        body.reuse(size)
        return body

    def give_back(self, body: SharedBody) -> None:
        """Keep ``body``'s segment for the next body, or unlink it."""
        if body.pooled and not self.closed and len(self.idle) < self.keep:
            self.idle.append(body)
        else:
            body.release()

    def close(self) -> None:
        """Unlink the kept segments; segments given back later are unlinked at once."""
        self.closed = True
        while self.idle:
            self.idle.pop().release()


class Mappings:
    """A worker process's side: segments opened by name; the ``keep`` last pooled ones
    stay mapped (their pages are then already in this process's page table)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.open: dict[str, shared_memory.SharedMemory] = {}

    def read(
        self, name: str, size: int, pooled: bool, call: Callable[[memoryview], Result]
    ) -> Result:
        """``call`` on the first ``size`` bytes of the segment ``name``."""
        memory = self.open.pop(name, None) or shared_memory.SharedMemory(name=name)
        try:
            with _view(memory, size) as view:
                return call(view)
        finally:
            if pooled:
                self.open[name] = memory  # the most recent last
                while len(self.open) > self.keep:
                    _close(self.open.pop(next(iter(self.open))))
            else:
                _close(memory)


def _close(memory: shared_memory.SharedMemory) -> None:
    with contextlib.suppress(BufferError):  # a value still refers to it: unmapped at GC
        memory.close()


@contextlib.contextmanager
def _view(memory: shared_memory.SharedMemory, size: int) -> Iterator[memoryview]:
    buffer = memory.buf
    assert buffer is not None  # an open segment
    view = buffer[:size]
    try:
        yield view
    finally:
        with contextlib.suppress(BufferError):
            view.release()
