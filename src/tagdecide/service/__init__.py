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
``/v2/...``
    The Open Inference Protocol (KServe v2): ``GET /v2/health/live``, ``/v2/health/ready``,
    ``/v2``, ``/v2/models/{name}`` (metadata), ``/v2/models/{name}/ready`` and
    ``POST /v2/models/{name}/infer`` with one ``[n_tracks, n_columns]`` FP32/FP64 tensor
    named ``scores`` (columns as the metadata's ``parameters.columns``), answered by a UINT8
    tensor ``decisions`` of 0/1 (its ``parameters.columns`` names the tags).

Bad requests get a 4xx status and one line naming the culprit (``{"detail": ...}`` on
``/v1``, ``{"error": ...}`` on ``/v2``); a body over the size limit is refused (413) before
it is parsed, one that stops arriving is refused (408), and when ``workers + max_queued``
requests are in progress another gets 503 with ``Retry-After``. A few tracks are decided on
the event loop at once; more in threads, and bodies over 1 MiB in worker processes, which
read them from shared memory written as they arrive (:mod:`tagdecide.service._shared`), so
``/health`` answers while a large request is decided; a ``/v1/decide`` body of 2 to 16 MiB
that arrives while both workers and two cores are idle is decided by both, a run of
tracks each (:mod:`tagdecide.service._lanes`). The hot paths are answered in front
of FastAPI (see :mod:`tagdecide.service._intake`). ``/docs`` (Swagger UI) and ``/redoc``
need no network.

Examples
--------
>>> import uvicorn  # doctest: +SKIP
>>> from tagdecide import load_model
>>> from tagdecide.service import create_app
>>> uvicorn.run(create_app(load_model("model.json"), name="model"), port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from tagdecide._version import __version__
from tagdecide.errors import TagdecideError
from tagdecide.model_file import FORMAT_NAME, FORMAT_VERSION
from tagdecide.service._decide import MAX_ID_LENGTH, MODEL_VERSION, Decider, short
from tagdecide.service._intake import BODY, Intake, Receive, Scope, Send
from tagdecide.service._lanes import (
    DEFAULT_INLINE_BELOW,
    DEFAULT_PROCESS_ABOVE,
    DEFAULT_PROCESSES,
    DEFAULT_SPLIT_ABOVE,
    Lanes,
)
from tagdecide.service._schema import (
    DecideRequest,
    DecideResponse,
    Detail,
    Health,
    InferenceErrorResponse,
    InferenceRequest,
    InferenceResponse,
    LiveResponse,
    MetadataModelResponse,
    MetadataServerResponse,
    ModelInfo,
    ModelReadyResponse,
    ReadyResponse,
    RegimeInfo,
    StrategyInfo,
)
from tagdecide.service._shared import BodyPool, SharedBody
from tagdecide.strategies import Strategy

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_MAX_TRACKS",
    "DEFAULT_WORKERS",
    "MAX_ID_LENGTH",
    "DecideRequest",
    "DecideResponse",
    "ModelInfo",
    "create_app",
]

DEFAULT_MAX_TRACKS = 10_000
#: 10,000 tracks of the demo catalogue's 289 scores take about 75 MB of JSON.
DEFAULT_MAX_BODY_BYTES = 128 * 2**20
#: Seconds a client may go without sending any of its body.
DEFAULT_BODY_TIMEOUT = 10.0
#: Requests decided at once (threads), and how many more may wait before 503.
DEFAULT_WORKERS = 2
DEFAULT_MAX_QUEUED = 16

_JSON = "application/json"
_ASSETS = "/docs-assets"
_HEALTH = b'{"status":"ok"}'
_LIVE = b'{"live":true}'
_READY = b'{"ready":true}'
_BINARY_REFUSED = msgspec.json.encode(
    {
        "error": "binary tensor data is not supported; send the tensor's data as JSON "
        "(tritonclient: binary_data=False)"
    }
)


class _Service(FastAPI):
    """FastAPI behind the intake (:mod:`tagdecide.service._intake`), which answers the hot
    paths itself and hands every other request on: in front of FastAPI's own layers, not
    among its middleware, as those cost a fifth of a 1-track request (its telemetry check,
    the error middleware), measured."""

    intake: Intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.intake(scope, receive, send)


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=_JSON)


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body of ``model`` (parsed by hand)."""
    return {
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


def _model_info(decider: Decider) -> ModelInfo:
    model = decider.model
    return ModelInfo(
        name=decider.name,
        strategy=StrategyInfo(
            name=model.name, params=model.params_to_json(), choice=model.choice_summary()
        ),
        tags=list(decider.tag_names),
        categories=list(decider.category_names),
        ignored_categories=list(decider.ignored_categories),
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
    name: str = "model",
    max_tracks: int = DEFAULT_MAX_TRACKS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
    max_queued: int = DEFAULT_MAX_QUEUED,
    processes: int = DEFAULT_PROCESSES,
    inline_below: int = DEFAULT_INLINE_BELOW,
    process_above: int = DEFAULT_PROCESS_ABOVE,
    split_above: int | None = DEFAULT_SPLIT_ABOVE,
    spawn_at_start: bool = True,
) -> FastAPI:
    """A FastAPI application that decides tracks' tags with a fitted ``model``.

    Parameters
    ----------
    model : Strategy
        A fitted strategy, e.g. from :func:`~tagdecide.model_file.load_model`.
    name : str
        The model's name in the Open Inference Protocol's paths (``/v2/models/{name}``).
    max_tracks : int
        Most tracks in one request; more get status 413.
    max_body_bytes : int
        Largest request body; a larger one gets status 413 before it is parsed.
    body_timeout : float
        Seconds a client may send nothing while its body is incomplete (then 408).
    workers : int
        Requests decided at once in threads (bodies between ``inline_below`` and
        ``process_above`` bytes).
    max_queued : int
        Requests that may wait for a thread or process; beyond them a request gets 503.
    processes : int
        Worker processes deciding the bodies larger than ``process_above`` bytes (their
        parsing cannot hold up ``/health``, and they decide in parallel).
    inline_below : int
        Bodies up to this many bytes (a few tracks) are decided on the event loop at once.
    process_above : int
        Bodies larger than this many bytes are decided in a worker process.
    split_above : int or None
        A ``/v1/decide`` or infer body larger than this many bytes (and than
        ``process_above``) that arrives while every worker process is idle is decided by
        all of them, a run of its tracks (or of its tensor's rows) each (None: never).
    spawn_at_start : bool
        Start the worker processes when the server starts (else at the first such body).

    Returns
    -------
    FastAPI
        Serve it with ``uvicorn.run(app)``; OpenAPI docs at ``/docs``.
    """
    if not hasattr(model, "tag_names_"):
        raise TagdecideError("cannot serve an unfitted strategy")
    if not name or "/" in name or name != name.strip():
        raise TagdecideError(f"model name {short(name)}: give a non-empty name without '/'")
    decider = Decider(model, name=name, max_tracks=max_tracks)
    lanes = Lanes(
        decider,
        model,
        workers=workers,
        processes=processes,
        inline_below=inline_below,
        process_above=process_above,
        split_above=split_above,
    )
    encode = msgspec.json.encode
    model_info = _model_info(decider).model_dump_json().encode()
    metadata = encode(decider.metadata())

    pool = BodyPool()  # shared memory for the bodies the worker processes read

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if spawn_at_start:
            lanes.start()  # the worker processes, ready before the first large body
        yield
        lanes.close()
        pool.close()

    app = _Service(
        title="tagdecide",
        version=__version__,
        description=f"Tag decisions by a fitted {model.name!r} model "
        f"({len(decider.tag_names)} tags), named {name!r} in the Open Inference Protocol.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    _offline_docs(app)

    async def decide_body(scope: Scope, body: bytes | bytearray | SharedBody) -> tuple[int, bytes]:
        return await lanes.run("v1", body)

    async def infer_body(scope: Scope, body: bytes | bytearray | SharedBody) -> tuple[int, bytes]:
        for header, _ in scope["headers"]:
            if header == b"inference-header-content-length":
                return 400, _BINARY_REFUSED
        return await lanes.run("v2", body)

    @app.post(
        "/v1/decide",
        response_model=DecideResponse,
        responses={422: {"model": Detail}, 413: {"model": Detail}, 503: {"model": Detail}},
        openapi_extra=_body_schema(DecideRequest),
    )
    async def decide(request: Request) -> Response:
        """Decide the tags of each track from its scores (one vectorised call per request)."""
        status, content = await decide_body(request.scope, request.scope[BODY])
        return _json(content, status)

    @app.get("/v1/model", response_model=ModelInfo)
    def describe_model() -> Response:
        """The served model: tags, categories, strategy, versions, training size."""
        return _json(model_info)

    @app.get("/health", response_model=Health)
    async def health() -> Response:
        """Liveness check."""
        return _json(_HEALTH)

    # -- the Open Inference Protocol (KServe v2) ------------------------------------------

    def unknown_model(asked: str, version: str | None) -> Response | None:
        if asked != name:
            message = f"unknown model {short(asked)}; this server serves {name!r}"
        elif version is not None and version != MODEL_VERSION:
            message = f"model {name!r} has no version {short(version)}; it has {MODEL_VERSION!r}"
        else:
            return None
        return _json(encode({"error": message}), 404)

    not_found: dict[int | str, dict[str, Any]] = {404: {"model": InferenceErrorResponse}}
    infer_errors: dict[int | str, dict[str, Any]] = {
        400: {"model": InferenceErrorResponse},
        **not_found,
    }

    @app.get("/v2/health/live", response_model=LiveResponse, tags=["v2"])
    async def server_live() -> Response:
        """The server answers."""
        return _json(_LIVE)

    @app.get("/v2/health/ready", response_model=ReadyResponse, tags=["v2"])
    async def server_ready() -> Response:
        """The server is ready to decide (its one model is loaded)."""
        return _json(_READY)

    @app.get("/v2", response_model=MetadataServerResponse, tags=["v2"])
    async def server_metadata() -> Response:
        """The server's name, version and protocol extensions (none)."""
        return _json(encode({"name": "tagdecide", "version": __version__, "extensions": []}))

    @app.get("/v2/models/{model_name}", response_model=MetadataModelResponse, tags=["v2"])
    @app.get(
        "/v2/models/{model_name}/versions/{version}",
        response_model=MetadataModelResponse,
        responses=not_found,
        tags=["v2"],
    )
    async def model_metadata(model_name: str, version: str | None = None) -> Response:
        """The model's input and output tensors; ``parameters.columns`` orders the input."""
        return unknown_model(model_name, version) or _json(metadata)

    @app.get("/v2/models/{model_name}/ready", response_model=ModelReadyResponse, tags=["v2"])
    @app.get(
        "/v2/models/{model_name}/versions/{version}/ready",
        response_model=ModelReadyResponse,
        responses=not_found,
        tags=["v2"],
    )
    async def model_ready(model_name: str, version: str | None = None) -> Response:
        """The model is loaded and ready."""
        return unknown_model(model_name, version) or _json(encode({"name": name, "ready": True}))

    @app.post(
        "/v2/models/{model_name}/infer",
        response_model=InferenceResponse,
        responses=infer_errors,
        openapi_extra=_body_schema(InferenceRequest),
        tags=["v2"],
    )
    @app.post(
        "/v2/models/{model_name}/versions/{version}/infer",
        response_model=InferenceResponse,
        responses=infer_errors,
        openapi_extra=_body_schema(InferenceRequest),
        tags=["v2"],
    )
    async def infer(request: Request, model_name: str, version: str | None = None) -> Response:
        """Decide a ``[n_tracks, n_columns]`` tensor of scores: 0/1 per track and tag."""
        refused = unknown_model(model_name, version)
        if refused is not None:
            return refused
        status, content = await infer_body(request.scope, request.scope[BODY])
        return _json(content, status)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, plus the request bodies that are parsed by hand."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for body_model in (DecideRequest, InferenceRequest):
                definition = body_model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                components.update(definition.pop("$defs", {}))
                components[body_model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # The hot paths are answered in front of FastAPI (which still declares them, above).
    app.intake = Intake(
        super(_Service, app).__call__,
        max_bytes=max_body_bytes,
        body_timeout=body_timeout,
        capacity=workers + max_queued,
        ready={"/health": _HEALTH, "/v2/health/live": _LIVE, "/v2/health/ready": _READY},
        routes={"/v1/decide": decide_body, f"/v2/models/{name}/infer": infer_body},
        shared_above=process_above,  # those bodies go to a worker process: no pipe copy
        pool=pool,
    )
    return app


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from the files fastapi-offline ships:
    no page loads anything from another host."""
    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount(_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
