"""ASGI middleware in front of the application: admission, body size and body time limits.

A ``POST`` is admitted only while fewer than ``capacity`` are in progress (else 503 with
``Retry-After``, before its body is read); every body is read here in full, refused (413)
past ``max_bytes`` and (408) when the client sends nothing for ``body_timeout`` seconds,
then handed to the application in one piece, and also as ``scope[BODY]``: a body with a
``Content-Length`` is written into one buffer as it arrives, so a 100 MB body is never
joined (copied) in one go while the event loop waits. A hot path's body over
``shared_above`` bytes (one a worker process will decide) is written into shared memory
from ``pool`` instead, which the worker reads in place (:mod:`tagdecide.service._shared`);
its segment goes back to the pool when the request ends, however it ends.

The hot paths skip the web framework: a ``GET`` of a path in ``ready`` is answered with its
bytes as they are, and a ``POST`` to a path in ``routes`` is answered by its handler
(``(status, JSON)`` from the body). Routing, dependency injection and response objects
cost more than deciding a track; the framework still declares these paths (for the
OpenAPI schema) and serves every other one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from tagdecide.service._shared import BodyPool, SharedBody

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A hot path's handler: the request's scope and whole body to ``(status, JSON body)``.
Handler = Callable[[Scope, "bytes | bytearray | SharedBody"], Awaitable[tuple[int, bytes]]]

#: The scope key holding the request's whole body (bytes or bytearray).
BODY = "tagdecide.body"


async def refuse(
    scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    """Answer ``status`` in the error form of the path's protocol."""
    key = "error" if str(scope.get("path", "")).startswith("/v2") else "detail"
    body = msgspec.json.encode({key: message})
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw_headers += [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def answer(send: Send, status: int, body: bytes) -> None:
    """A JSON answer, sent in two messages without any framework object."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Intake:
    """See the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        body_timeout: float,
        capacity: int,
        ready: dict[str, bytes] | None = None,
        routes: dict[str, Handler] | None = None,
        shared_above: int | None = None,
        pool: BodyPool | None = None,
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.shared_above = shared_above
        self.pool = pool
        self.body_timeout, self.capacity = body_timeout, capacity
        self.ready = ready or {}
        self.routes = routes or {}
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "GET" and scope["path"] in self.ready:
            await answer(send, 200, self.ready[scope["path"]])
            return
        admitted = method == "POST"
        if admitted:
            if self.in_progress >= self.capacity:
                await refuse(
                    scope,
                    send,
                    503,
                    f"busy: {self.in_progress} requests in progress; retry in a second",
                    {"retry-after": "1"},
                )
                return
            self.in_progress += 1
        handler = self.routes.get(scope["path"]) if admitted else None
        body: bytes | bytearray | SharedBody | None = None
        try:
            body = await self._read_body(scope, receive, send, handler is not None)
            if body is None:
                return
            if handler is not None:
                status, content = await handler(scope, body)
                await answer(send, status, content)
                return
            assert not isinstance(body, SharedBody)  # only a handler's body is shared
            whole = body
            scope[BODY] = whole
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": whole, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        finally:
            if admitted:
                self.in_progress -= 1
            await self._give_back(body)

    async def _read_body(
        self, scope: Scope, receive: Receive, send: Send, shareable: bool
    ) -> bytes | bytearray | SharedBody | None:
        """The whole body, or None once the request was answered (refused or abandoned).

        A ``shareable`` body whose ``Content-Length`` is over ``shared_above`` bytes is
        written into shared memory as it arrives (and released here unless returned).
        """
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        length = None
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await refuse(scope, send, 400, "Content-Length is not a number")
                return None
            if length > self.max_bytes:
                await refuse(scope, send, 413, self._too_large(f"{length} bytes"))
                return None
        share = shareable and self.shared_above is not None and (length or 0) > self.shared_above
        pool = self.pool if share else None
        buffer: bytearray | SharedBody | None = None
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        try:
            # One timeout per request, pushed back at each message (cheaper than one each).
            async with asyncio.timeout(self.body_timeout) as deadline:
                while True:
                    message = await receive()
                    deadline.reschedule(loop.time() + self.body_timeout)
                    if message["type"] != "http.request":  # the client went away
                        return None
                    chunk = message.get("body", b"")
                    more = message.get("more_body", False)
                    if size == 0 and not more and len(chunk) <= self.max_bytes:
                        return chunk  # the whole body in one message: nothing to join
                    if size + len(chunk) > self.max_bytes:
                        await refuse(
                            scope, send, 413, self._too_large(f"over {self.max_bytes} bytes")
                        )
                        return None
                    if size == 0 and length:
                        buffer = pool.take(length) if pool is not None else bytearray(length)
                    if isinstance(buffer, SharedBody) and buffer.write(chunk):
                        pass
                    elif isinstance(buffer, bytearray) and size + len(chunk) <= len(buffer):
                        buffer[size : size + len(chunk)] = chunk
                    else:  # no Content-Length (chunked), or the server let more through
                        if buffer is not None:
                            chunks.append(_head(buffer, size))
                            await self._give_back(buffer)
                            buffer = None
                        chunks.append(chunk)
                    size += len(chunk)
                    if not more:
                        if isinstance(buffer, SharedBody):
                            returned, buffer = buffer, None  # the caller releases it
                            return returned
                        if buffer is not None:
                            return buffer if size == len(buffer) else buffer[:size]
                        return b"".join(chunks)
        except TimeoutError:
            await refuse(
                scope,
                send,
                408,
                f"request body: nothing received for {self.body_timeout:g} s "
                f"after {size} bytes; send the whole body at once",
            )
            return None
        finally:
            await self._give_back(buffer)

    async def _give_back(self, buffer: bytes | bytearray | SharedBody | None) -> None:
        """Give a segment back to the pool; one of its own is unlinked in a thread (freeing
        a 100 MB segment takes 25-40 ms, which would stall the event loop)."""
        if not isinstance(buffer, SharedBody) or self.pool is None:
            return
        if buffer.pooled:
            self.pool.give_back(buffer)
        else:  # the thread runs to its end even if this task is cancelled meanwhile
            await asyncio.to_thread(self.pool.give_back, buffer)

    def _too_large(self, size: str) -> str:
        return f"request body too large: {size}; at most {self.max_bytes} bytes"


def _head(buffer: bytearray | SharedBody, size: int) -> bytes:
    """The first ``size`` bytes written to ``buffer``."""
    return buffer.tobytes() if isinstance(buffer, SharedBody) else bytes(buffer[:size])
