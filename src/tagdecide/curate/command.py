"""``tagdecide curate``: the curation page, and ``tagdecide curate export``.

A click group whose default action serves the page: ``tagdecide curate MODEL X ...``
runs ``serve``; ``tagdecide curate export --db ... --out ...`` writes the truth file.
Register it on the main command line with ``cli.add_command(curate)``.
"""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import out_option

__all__ = ["curate"]


class _DefaultGroup(click.Group):
    """A group that runs ``serve`` when the first argument is not a subcommand's name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup)
def curate() -> None:
    """Curate MODEL's doubtful decisions in the browser; export the verdicts as truth.

    \b
    tagdecide curate MODEL X [--db curation.sqlite] [--tracks-info info.csv]
                             [--queue sample|review] [--n 200] [--port 8000]
    tagdecide curate export --db curation.sqlite --out val_y.csv
    """


@curate.command("serve")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    default=Path("curation.sqlite"),
    show_default=True,
    help="SQLite file of the verdicts (created, or continued when it exists).",
)
@click.option(
    "--tracks-info",
    type=click.Path(path_type=Path),
    help="CSV with ChallengeID and any of title, artist, album, url (http(s) or a local "
    "audio file, relative to the CSV).",
)
@click.option(
    "--queue",
    type=click.Choice(["sample", "review"]),
    default="sample",
    show_default=True,
    help="sample: the tracks whose labels say most (as `sample`); review: the tracks of the "
    "most doubtful decisions (as `review`).",
)
@click.option("--n", "n_tracks", type=int, default=200, show_default=True, help="Tracks to curate.")
@click.option(
    "--groups",
    type=click.Path(path_type=Path),
    help="Album/artist of each track of X (as `sample --groups`): the sample spreads over them.",
)
@click.option("--group-by", help="Which group column of --groups to use when it has several.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option("--quiet", "-q", is_flag=True, help="No notes on stderr (errors are still shown).")
def serve(
    model_path: Path,
    x_path: Path,
    db_path: Path,
    tracks_info: Path | None,
    queue: str,
    n_tracks: int,
    groups: Path | None,
    group_by: str | None,
    host: str,
    port: int,
    quiet: bool,
) -> None:
    """Serve the curation page for MODEL's decisions on X (Ctrl+C stops; nothing is lost).

    \b
    One track at a time: the tags MODEL gives and the near misses of each class, with
    score, threshold and margin; accept (a), reject (r), add a tag (t), undo (u),
    skip (s), track done (d). Every click is saved at once in --db.
    """
    import uvicorn

    from tagdecide._files import check_output
    from tagdecide.curate.app import create_curation_app
    from tagdecide.curate.session import open_session, read_tracks_info
    from tagdecide.curate.store import CurationStore
    from tagdecide.engines.local import read_scores_for
    from tagdecide.errors import InputError
    from tagdecide.io import read_groups
    from tagdecide.listening import listening_socket
    from tagdecide.model_file import load_model

    if n_tracks < 1:
        raise InputError(f"--n must be at least 1; got {n_tracks}")
    check_output(
        db_path,
        [model_path, x_path, tracks_info, groups],
        option="--db",
        suffixes=[".sqlite", ".sqlite3", ".db"],
        writes="SQLite databases (.sqlite, .sqlite3, .db)",
    )
    # Bound first: a port in use is said at once, before any work and before --db is made.
    listening = listening_socket(host, port, backlog=128)
    with listening:  # closed on any refusal below
        model = load_model(model_path)
        scores = read_scores_for(model, x_path)
        info = read_tracks_info(tracks_info) if tracks_info is not None else {}
        group_labels = None
        if groups is not None:
            group_labels = read_groups(
                groups, scores.ids, ids_source=str(x_path), group_by=group_by
            )
        store = CurationStore(db_path)
        session = open_session(
            model,
            scores,
            store,
            queue=queue,  # type: ignore[arg-type]
            n=n_tracks,
            groups=group_labels,
            info=info,
            model_label=f"{model.name} ({model_path.name})",
        )
        notes = list(session.notes)
        if host not in ("127.0.0.1", "localhost", "::1"):
            notes.append(f"--host {host}: the page has no login; anyone who reaches it can curate")
        for note in [] if quiet else notes:
            click.echo(f"tagdecide: note: {note}", err=True)
        shown = f"[{host}]" if ":" in host else host
        done, budget = store.progress()
        if not quiet:
            click.echo(
                f"curating {budget} tracks ({done} done) of {x_path} with {model_path}, "
                f"verdicts in {db_path}: open http://{shown}:{listening.getsockname()[1]}/",
                err=True,
            )
        server = uvicorn.Server(uvicorn.Config(create_curation_app(session), log_level="warning"))
        server.run(sockets=[listening])


@curate.command("export")
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The curation database.",
)
@out_option("Truth file to write (CSV or Parquet); the tracks' scores go beside it (NAME.X.csv).")
@click.option(
    "--quiet", "-q", is_flag=True, help="No summary line on stderr (errors are still shown)."
)
def export(db_path: Path, out_path: Path, quiet: bool) -> None:
    """Write the tracks marked done as a truth file, for `fit --validate-x/--validate-y`.

    \b
    OUT: ChallengeID, then one 0/1 column per tag in the model's order (the curators'
    verdicts; the model's decision for tags nobody touched). OUT's name with .X: those
    tracks' scores. Then: fit TRAIN_X TRAIN_Y --strategy auto --validate-x OUT.X.csv
    --validate-y OUT.csv --out model.json
    """
    from tagdecide.curate.export import export_verdicts

    scores_out, n_tracks = export_verdicts(db_path, out_path)
    if quiet:
        return
    click.echo(
        f"wrote {n_tracks} curated tracks to {out_path} and their scores to {scores_out}; "
        f"then: fit ... --strategy auto --validate-x {scores_out} --validate-y {out_path}",
        err=True,
    )
