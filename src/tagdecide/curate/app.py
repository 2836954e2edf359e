"""The curation page and its JSON API (FastAPI), served on loopback by ``tagdecide curate``.

``GET /``
    The page (plain HTML, CSS and JS from the package: no CDN, works offline).
``GET /api/session``
    Tags, their classes, the queue kind and its size.
``GET /api/next?client=C[&after=P]``
    The next unfinished track for browser ``C`` after queue position ``P`` (claimed for
    it, so two browsers get different tracks): ``{"track": {...}}`` or ``{"track": null}``.
``GET /api/tracks/{id}``
    One queued track: info, the tags given and near misses per class, the verdicts so far,
    its version.
``POST /api/tracks/{id}/verdicts`` ``{"tag": "rock", "present": 1, "version": 3}``
``POST /api/tracks/{id}/undo`` ``{"version": 4}``
``POST /api/tracks/{id}/done`` ``{"version": 4}``
    Each one click, one transaction; ``curator`` (optional) names who clicked. A
    ``version`` older than the track's gets 409 with the track as it is now.
``GET /api/progress``
    Tracks done of the budget and the model's figures on them per class.
``GET /audio/{id}``
    The track's local audio file, when ``--tracks-info`` names one.

Bad requests get a 4xx with ``{"detail": "one line naming the field"}``, never a 500.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tagdecide.curate.session import Session
from tagdecide.curate.store import ConflictError, UnknownTrackError
from tagdecide.errors import TagdecideError
from tagdecide.service._intake import Intake

__all__ = ["create_curation_app"]

#: A click is a few dozen bytes; anything much larger is not from the page.
MAX_BODY_BYTES = 16 * 1024
#: A ChallengeID: what SQLite's INTEGER holds.
TrackId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]
_STATIC = {"curate.css": "text/css", "curate.js": "text/javascript"}


class _Write(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: StrictInt = Field(
        ge=0, le=2**62, description="The track's version this click was made on."
    )
    curator: StrictStr | None = Field(None, max_length=100, description="Who clicked.")


class VerdictIn(_Write):
    """A tag belongs to the track (``present`` 1) or not (0)."""

    tag: StrictStr = Field(max_length=500)
    present: StrictInt = Field(ge=0, le=1)


class WriteIn(_Write):
    """An undo or "track done"."""


def _detail(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        if item.get("type") == "json_invalid":
            parts.append("body: not valid JSON")
            continue
        if item.get("type") == "extra_forbidden":
            parts.append(f"{where}: unknown field")
            continue
        message = str(item.get("msg", "invalid"))
        if "input" in item and item.get("type") != "missing":
            text = repr(item["input"])
            message += f", got {text if len(text) <= 40 else text[:37] + '...'}"
        parts.append(f"{where}: {message}")
    return "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")


def _static(name: str) -> bytes:
    return (resources.files("tagdecide.curate") / "static" / name).read_bytes()


def create_curation_app(session: Session) -> Any:
    """The curation page's application (an ASGI app) for ``session``."""
    app = FastAPI(title="tagdecide curate", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def refuse_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _detail(error)}, status_code=422)

    @app.exception_handler(UnknownTrackError)
    async def refuse_unknown(request: Request, error: UnknownTrackError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(ConflictError)
    async def refuse_stale(request: Request, error: ConflictError) -> JSONResponse:
        current = session.track_view(session.store.state(error.track))
        return JSONResponse({"detail": str(error), "track": current}, status_code=409)

    @app.exception_handler(TagdecideError)
    async def refuse_bad(request: Request, error: TagdecideError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(_static(name), media_type=_STATIC[name] + "; charset=utf-8")

    @app.get("/api/session")
    def describe() -> dict[str, Any]:
        return session.describe()

    @app.get("/api/next")
    def next_track(
        client: str = Query(min_length=1, max_length=100),
        after: int | None = Query(None, ge=-1, le=2**62),
    ) -> dict[str, Any]:
        track = session.store.next_track(client, after=after)
        if track is None:
            return {"track": None}
        return {"track": session.track_view(session.store.state(track))}

    @app.get("/api/tracks/{track}")
    def track_view(track: TrackId) -> dict[str, Any]:
        return session.track_view(session.store.state(track))

    @app.post("/api/tracks/{track}/verdicts")
    def verdict(track: TrackId, body: VerdictIn) -> dict[str, Any]:
        state = session.store.add_verdict(
            track, body.tag, body.present, version=body.version, curator=body.curator
        )
        return session.track_view(state)

    @app.post("/api/tracks/{track}/undo")
    def undo(track: TrackId, body: WriteIn) -> dict[str, Any]:
        state = session.store.undo(track, version=body.version, curator=body.curator)
        return session.track_view(state)

    @app.post("/api/tracks/{track}/done")
    def done(track: TrackId, body: WriteIn) -> dict[str, Any]:
        state = session.store.mark_done(track, version=body.version, curator=body.curator)
        return session.track_view(state)

    @app.get("/api/progress")
    def progress() -> dict[str, Any]:
        return session.progress()

    @app.get("/audio/{track}", include_in_schema=False)
    def audio(track: TrackId) -> Response:
        info = session.info.get(track)
        local = info.local_audio if info is not None else None
        if local is None:
            raise HTTPException(404, f"track {track}: no local audio file in --tracks-info")
        if not local.is_file():
            raise HTTPException(404, f"track {track}: audio file {local} does not exist")
        return FileResponse(local)

    # The service's intake: bodies over the limit (413) or stalled (408) never reach a route.
    return Intake(app, max_bytes=MAX_BODY_BYTES, body_timeout=10.0, capacity=64)
