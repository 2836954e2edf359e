"""``tagdecide predict``: decide every track of a scores file (or folder) with a model."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tagdecide.cli._common import progress, quiet_option, say

__all__ = ["predict"]

#: glibc's malloc maps blocks this large or larger afresh (unmapping them when freed), and
#: gives free memory beyond _TRIM_THRESHOLD at the top of its heap back to the system.
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20
#: mallopt's parameter numbers for them (glibc's malloc.h).
_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD = -3, -1


def _reuse_freed_memory() -> None:
    """Let glibc's malloc reuse the blocks of a few MB that every batch frees.

    Each batch allocates arrays of a few MB (4 MB of text, a 3 MB matrix, the decisions'
    bytes). By default glibc maps each afresh and unmaps it when freed, so the kernel
    faults in and zeroes its pages again for every batch: on 100,000 tracks, 57,000 page
    faults and 2.3-2.4 s of CPU against 31,000 and 2.0 s when the blocks stay in the heap
    (10 MB more memory). Set for this command's process only (a library does not tune
    its host's allocator), and only on Linux with glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a C library without mallopt (musl)
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _infer_format(path: Path, given: str | None) -> str:
    """The output format: ``--format`` when given, else from ``--out``'s extension."""
    if given is not None:
        return given
    suffix = path.suffix.lower()
    return {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}.get(suffix, "csv")


@click.command("predict")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
# Strings, not Paths: with --engine dask they may be URLs (s3://...), which Path would mangle.
@click.argument("x_arg", metavar="X", type=click.Path(path_type=str))
@click.option(
    "--out",
    "-o",
    "out_arg",
    type=click.Path(path_type=str),
    required=True,
    help="Decisions file to write; - for standard output (csv, jsonl); a folder with "
    "--engine dask.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "parquet", "jsonl"]),
    default=None,
    help="Output format (default: from --out's extension, else csv).",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1, max=10_000_000),
    default=10_000,
    show_default=True,
    help="Tracks per batch (Parquet input); bounds memory.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: X and --out are folders of Parquet files, decided on a Dask cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    help="With --engine dask: the cluster's scheduler (tcp://host:8786); default: a local one.",
)
@click.option(
    "--with-scores",
    is_flag=True,
    help="Beside each tag's 0/1 column, TAG:value (what the strategy compared with the "
    "tag's threshold) and TAG:margin (value minus threshold: >= 0 exactly where the tag is "
    "given; empty for a tag never predicted). Not with --engine dask.",
)
@quiet_option
def predict(
    model_path: Path,
    x_arg: str,
    out_arg: str,
    output_format: str | None,
    batch_rows: int,
    engine: str,
    scheduler: str | None,
    with_scores: bool,
    quiet: bool,
) -> None:
    """Decide every track of scores file X with MODEL; write DECISIONS.

    \b
    csv/parquet: ChallengeID then one 0/1 column per tag (the training truth's order);
    jsonl: one line per track, {"ChallengeID": 12, "tags": ["blues-rock", "happy"]}.
    With --engine dask, X and --out are folders of Parquet files (output: parquet only).
    --with-scores: per tag TAG, TAG:value, TAG:margin (jsonl: "values" and "margins").
    """
    from tagdecide._files import check_output
    from tagdecide.errors import InputError
    from tagdecide.io import DECISION_SUFFIXES
    from tagdecide.model_file import load_model

    if engine == "local" and scheduler is not None:
        raise InputError("--scheduler needs --engine dask")
    if engine == "dask":
        if with_scores:
            raise InputError(
                "--with-scores is not available with --engine dask (it writes 0/1 decisions "
                "only); use --engine local, which streams any size of file"
            )
        if output_format not in (None, "parquet"):
            raise InputError(f"--engine dask writes parquet only, not --format {output_format}")
        check_output(out_arg, [model_path, x_arg], folder=True)
        from tagdecide.engines.dask import predict_parquet_folder

        model = load_model(model_path)
        n_tracks = predict_parquet_folder(model, x_arg, out_arg, scheduler=scheduler)
        say(quiet, f"decided {n_tracks} tracks x {len(model.tag_names_)} tags; wrote {out_arg}")
        return

    from tagdecide.engines.local import predict_file

    x_path, out_path = Path(x_arg), Path(out_arg)
    formats = [output_format] if output_format else list(DECISION_SUFFIXES)
    suffixes = [suffix for name in formats for suffix in DECISION_SUFFIXES[name]]
    check_output(
        out_arg,
        [model_path, x_arg],
        # With --format given, a name without an extension is clear enough.
        suffixes=suffixes + ([""] if output_format else []),
        writes=f"{', '.join(suffixes)} files, or - (standard output)",
        stdout=True,
    )
    _reuse_freed_memory()
    model = load_model(model_path)
    shift_lines: list[str] = []
    with progress(quiet, "predicting", None) as advance:
        n_tracks = predict_file(
            model,
            x_path,
            out_path,
            format=_infer_format(out_path, output_format),  # type: ignore[arg-type]
            batch_rows=batch_rows,
            on_batch=advance,
            # Only shifted classes are worth a line; --quiet skips the check altogether.
            on_shift=None
            if quiet
            else lambda report: shift_lines.extend(report.lines(only_shifted=True)),
            with_scores=with_scores,
        )
    wrote = "standard output" if out_arg == "-" else out_path
    say(quiet, f"decided {n_tracks} tracks x {len(model.tag_names_)} tags; wrote {wrote}")
    for line in shift_lines:
        say(quiet, line)
