"""An HTTP service that decides tracks' tags with a fitted model (FastAPI).

Endpoints:

``POST /v1/decide``
    ``{"tracks": [{"id": "t1", "scores": {"blues-rock": 0.31, ...}}]}`` ->
    ``{"tracks": [{"id": "t1", "tags": ["blues-rock", ...]}]}``. Every track's ``scores``
    holds a score in [0, 1] for each of the model's tags and required categories, keyed by
    name; the taxonomy's other categories may be present and are ignored; any other key is
    refused. One request is one call of the model's ``predict``.
``GET /v1/model``
    What the model decides and needs: tags, categories, strategy, versions.
``GET /health``
    ``{"status": "ok"}``.

Bad requests get a 4xx status and ``{"detail": "one line naming the culprit"}``; a body
over the size limit is refused (413) before it is parsed.

Examples
--------
>>> import uvicorn  # doctest: +SKIP
>>> from tagdecide import load_model
>>> from tagdecide.service import create_app
>>> uvicorn.run(create_app(load_model("model.json")), port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictFloat, StrictStr

from tagdecide._validation import bad_score_cells
from tagdecide._version import __version__
from tagdecide.data import TrackScores
from tagdecide.errors import TagdecideError, list_some
from tagdecide.model_file import FORMAT_NAME, FORMAT_VERSION
from tagdecide.strategies import Strategy

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_TRACKS",
    "DecideRequest",
    "DecideResponse",
    "ModelInfo",
    "create_app",
]

DEFAULT_MAX_TRACKS = 10_000
#: 10,000 tracks of the demo catalogue's 289 scores take about 75 MB of JSON.
DEFAULT_MAX_BODY_BYTES = 128 * 2**20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TrackIn(BaseModel):
    """One track's scores, keyed by tag or category name."""

    id: StrictStr = Field(description="The track's id (any string; unique in a request).")
    scores: dict[str, StrictFloat] = Field(
        description="Score in [0, 1] of every tag (and required category) of the model."
    )


class DecideRequest(BaseModel):
    """Tracks to decide."""

    tracks: list[TrackIn]


class TrackOut(BaseModel):
    """One track's decisions: the tags it gets, in the model's tag order."""

    id: str
    tags: list[str]


class DecideResponse(BaseModel):
    """Decisions, in the order of the request's tracks."""

    tracks: list[TrackOut]


class StrategyInfo(BaseModel):
    name: str
    params: dict[str, Any]
    choice: str | None = Field(
        None, description="For auto: what it chose on, how, and how many tags follow each."
    )


class RegimeInfo(BaseModel):
    """The in-sample test of the training scores (see ``tagdecide diagnose``)."""

    verdict: str = Field(description="in-sample, out-of-sample or unknown.")
    statistic: float | None = Field(description="Median score-test statistic over tags.")
    threshold: float = Field(description="Statistics below it say in-sample.")
    margin: float | None = Field(description="How far from the threshold, as a ratio.")
    per_network: dict[str, float | None]
    n_tags: int
    explanation: str


class ModelInfo(BaseModel):
    """What the served model decides and what it needs."""

    strategy: StrategyInfo
    tags: list[str] = Field(description="Tags decided; each track needs a score for each.")
    categories: list[str] = Field(description="Categories each track needs a score for.")
    ignored_categories: list[str] = Field(
        description="The taxonomy's other categories: accepted in scores and ignored."
    )
    format: str
    format_version: int
    package_version: str
    training_n_tracks: int
    regime: RegimeInfo | None = Field(
        description="Whether the training scores looked in-sample for the networks "
        "(null: not tested, e.g. a model file written before the test existed)."
    )


class Health(BaseModel):
    status: str


class _BodyLimit:
    """ASGI middleware: refuse (413) a request body over ``max_bytes`` before it is parsed.

    The body is read here, so a declared ``Content-Length`` and the bytes actually sent are
    both checked; the application then receives it in one piece.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _refuse(scope, receive, send, 400, "Content-Length is not a number")
                return
            if length > self.max_bytes:
                await _refuse(scope, receive, send, 413, self._too_large(f"{length} bytes"))
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(
                    scope, receive, send, 413, self._too_large(f"over {self.max_bytes} bytes")
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: str) -> str:
        return f"request body too large: {size}; at most {self.max_bytes} bytes"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


def _validation_detail(error: RequestValidationError) -> str:
    """Pydantic's errors as one line: where (track id and field), what, and how many more."""
    body = getattr(error, "body", None)
    parts = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        where = ".".join(location) or "body"
        loc = [part for part in item.get("loc", ()) if part != "body"]
        if len(loc) >= 2 and loc[0] == "tracks" and isinstance(loc[1], int):
            where = f"tracks[{loc[1]}]" + "".join(f".{part}" for part in loc[2:])
            track_id = _track_id(body, loc[1])
            if track_id is not None:
                where = f"track {track_id!r} ({where})"
        message = str(item.get("msg", "invalid"))
        if item.get("type") == "json_invalid":
            reason = (item.get("ctx") or {}).get("error", "")
            parts.append(f"body: not valid JSON: {reason} at character {loc[-1] if loc else 0}")
            continue
        if "input" in item and item.get("type") != "missing":
            message += f", got {_short(item['input'])}"
        parts.append(f"{where}: {message}")
    shown = "; ".join(parts[:3])
    rest = len(parts) - 3
    return shown + (f"; and {rest} more errors" if rest > 0 else "")


def _track_id(body: object, index: int) -> str | None:
    try:
        track_id = body["tracks"][index]["id"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return None
    return track_id if isinstance(track_id, str) else None


def _short(value: object, most: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def _bad_request(detail: str, status: int = 422) -> HTTPException:
    return HTTPException(status_code=status, detail=detail)


class _Decider:
    """Turns requests into one :class:`TrackScores`, and decisions back into tag lists."""

    def __init__(self, model: Strategy, max_tracks: int) -> None:
        self.model, self.max_tracks = model, max_tracks
        self.tag_names = tuple(model.tag_names_)
        self.category_names = tuple(model.required_categories)
        taxonomy = model.taxonomy_
        other = taxonomy.categories if taxonomy is not None else ()
        self.ignored_categories = tuple(name for name in other if name not in self.category_names)
        self.columns = self.tag_names + self.category_names
        self.known = frozenset(self.columns) | frozenset(self.ignored_categories)
        self.is_tag = frozenset(self.tag_names)

    def decide(self, request: DecideRequest) -> DecideResponse:
        tracks = request.tracks
        if not tracks:
            raise _bad_request("tracks: empty list; give at least one track")
        if len(tracks) > self.max_tracks:
            raise _bad_request(
                f"tracks: {len(tracks)} tracks in one request; at most {self.max_tracks}",
                status=413,
            )
        ids = [track.id for track in tracks]
        self._check_encodable(ids)
        self._check_unique(ids)
        matrix = self._matrix(tracks)
        self._check_range(matrix, ids)
        n_tags = len(self.tag_names)
        scores = TrackScores(
            ids=np.arange(len(tracks)),
            tag_names=self.tag_names,
            tag_scores=matrix[:, :n_tags],
            category_names=self.category_names,
            category_scores=matrix[:, n_tags:] if self.category_names else None,
        )
        try:
            decisions = self.model.predict(scores)
        except TagdecideError as error:
            raise _bad_request(str(error)) from None
        rows, columns = np.nonzero(decisions)
        tags: list[list[str]] = [[] for _ in tracks]
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            tags[row].append(self.tag_names[column])
        return DecideResponse(
            tracks=[
                TrackOut(id=track_id, tags=given) for track_id, given in zip(ids, tags, strict=True)
            ]
        )

    def _check_encodable(self, ids: Sequence[str]) -> None:
        """JSON allows lone surrogates (``"\\ud800"``) in strings; an answer can't hold them."""
        try:
            "".join(ids).encode("utf-8")
        except UnicodeEncodeError:
            for index, track_id in enumerate(ids):
                try:
                    track_id.encode("utf-8")
                except UnicodeEncodeError:
                    raise _bad_request(
                        f"tracks[{index}].id: {track_id!r} is not valid Unicode (lone surrogate)"
                    ) from None

    def _check_unique(self, ids: Sequence[str]) -> None:
        if len(set(ids)) == len(ids):
            return
        seen: set[str] = set()
        repeated: list[str] = []
        for track_id in ids:
            if track_id in seen and track_id not in repeated:
                repeated.append(track_id)
            seen.add(track_id)
        raise _bad_request(f"duplicate track id(s) {list_some(repeated)}; ids must be unique")

    def _matrix(self, tracks: Sequence[TrackIn]) -> np.ndarray:
        columns = self.columns
        matrix = np.empty((len(tracks), len(columns)), dtype=np.float64)
        for row, track in enumerate(tracks):
            scores = track.scores
            try:
                matrix[row] = [scores[name] for name in columns]
            except KeyError:
                self._refuse_missing(track)
            if len(scores) != len(columns) and not self.known.issuperset(scores):
                unknown = [name for name in scores if name not in self.known]
                raise _bad_request(
                    f"track {track.id!r}: unknown score name(s) {list_some(unknown)}; "
                    f"expected the model's tags and categories (see GET /v1/model)"
                )
        return matrix

    def _refuse_missing(self, track: TrackIn) -> None:
        missing = [name for name in self.columns if name not in track.scores]
        tags = [name for name in missing if name in self.is_tag]
        categories = [name for name in missing if name not in self.is_tag]
        parts = []
        for kind, names in (("tag", tags), ("category", categories)):
            if len(names) == 1:
                parts.append(f"missing score for {kind} {names[0]!r}")
            elif names:
                kinds = "categories" if kind == "category" else "tags"
                parts.append(f"missing scores for {len(names)} {kinds}: {list_some(names)}")
        raise _bad_request(f"track {track.id!r}: " + "; ".join(parts))

    def _check_range(self, matrix: np.ndarray, ids: Sequence[str]) -> None:
        """The rule of :func:`~tagdecide._validation.check_scores` in the service's words:
        up to three offenders by their request ids (``predict`` only knows row numbers)."""
        bad = bad_score_cells(matrix)
        if bad is None:
            return
        rows, columns = np.nonzero(bad)
        offenders = [
            f"track {ids[row]!r} {self.columns[column]!r} = {float(matrix[row, column])!r}"
            for row, column in zip(rows[:3].tolist(), columns[:3].tolist(), strict=True)
        ]
        rest = len(rows) - len(offenders)
        raise _bad_request(
            "scores must be numbers in [0, 1]: "
            + ", ".join(offenders)
            + (f" and {rest} more" if rest > 0 else "")
        )

    def info(self) -> ModelInfo:
        model = self.model
        return ModelInfo(
            strategy=StrategyInfo(
                name=model.name,
                params=model.get_params(),
                choice=model.choice_summary(),
            ),
            tags=list(self.tag_names),
            categories=list(self.category_names),
            ignored_categories=list(self.ignored_categories),
            format=FORMAT_NAME,
            format_version=FORMAT_VERSION,
            package_version=__version__,
            training_n_tracks=int(model.n_tracks_),
            regime=None
            if model.regime_ is None
            else RegimeInfo(**model.regime_.to_dict(), explanation=model.regime_.explanation()),
        )


def create_app(
    model: Strategy,
    *,
    max_tracks: int = DEFAULT_MAX_TRACKS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """A FastAPI application that decides tracks' tags with a fitted ``model``.

    Parameters
    ----------
    model : Strategy
        A fitted strategy, e.g. from :func:`~tagdecide.model_file.load_model`.
    max_tracks : int
        Most tracks in one request; more get status 413.
    max_body_bytes : int
        Largest request body; a larger one gets status 413 before it is parsed.

    Returns
    -------
    FastAPI
        Serve it with ``uvicorn.run(app)``; OpenAPI docs at ``/docs``.
    """
    if not hasattr(model, "tag_names_"):
        raise TagdecideError("cannot serve an unfitted strategy")
    decider = _Decider(model, max_tracks)
    model_info = decider.info()
    app = FastAPI(
        title="tagdecide",
        version=__version__,
        description=f"Tag decisions by a fitted {model.name!r} model "
        f"({len(decider.tag_names)} tags).",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_detail(error)}, status_code=422)

    @app.post("/v1/decide", response_model=DecideResponse)
    def decide(request: DecideRequest) -> DecideResponse:
        """Decide the tags of each track from its scores (one vectorised call per request)."""
        return decider.decide(request)

    @app.get("/v1/model", response_model=ModelInfo)
    def describe_model() -> ModelInfo:
        """The served model: tags, categories, strategy, versions, training size."""
        return model_info

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness check."""
        return Health(status="ok")

    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes)
    return app
