"""``tagdecide serve``: serve a model over HTTP."""

from __future__ import annotations

import gc
from pathlib import Path

import click

from tagdecide.cli._common import quiet_option, say

__all__ = ["serve"]


@click.command("serve")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--name", default=None, help="The model's name in /v2/models/NAME (default: MODEL's stem)."
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
    help="uvicorn's log level; info and debug print an access log line per request.",
)
@quiet_option
def serve(
    model_path: Path, host: str, port: int, name: str | None, log_level: str, quiet: bool
) -> None:
    """Serve MODEL over HTTP: /v1/decide, /v1/model, /health, the Open Inference Protocol
    (KServe v2) under /v2/models/NAME, docs at /docs.

    \b
    POST /v1/decide {"tracks": [{"id": "t1", "scores": {"blues-rock": 0.31, ...}}]}
    answers {"tracks": [{"id": "t1", "tags": ["blues-rock", ...]}]}. Ctrl+C stops.
    """
    import uvicorn

    from tagdecide.listening import listening_socket
    from tagdecide.model_file import load_model
    from tagdecide.service import create_app

    model = load_model(model_path)
    name = model_path.stem if name is None else name
    app = create_app(model, name=name)
    # Bound before "serving at" is said: a port in use or a bad --host is one line.
    listening = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    say(
        quiet,
        f"serving {model.name!r} model {model_path} as {name!r} ({len(model.tag_names_)} tags) "
        f"at "
        f"http://{shown}:{port} (docs: /docs)",
    )
    # What is loaded now lives as long as the server: out of the collector's sight, so
    # that a full collection does not walk it (about 20 ms on the event loop).
    gc.collect()
    gc.freeze()
    access_log = log_level in ("info", "debug")  # else uvicorn formats each line unprinted
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=access_log)
    with listening:
        uvicorn.Server(config).run(sockets=[listening])
