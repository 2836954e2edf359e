"""``tagdecide synth``: write a synthetic catalogue in the reference format."""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import quiet_option, say

__all__ = ["synth"]


@click.command("synth")
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write the catalogue into.",
)
@click.option("--tracks", type=int, default=None, help="Total tracks (default: built-in size).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option(
    "--training-scores",
    default="in-sample",
    show_default=True,
    # A plain string: the library's InputError gives one line and exit 2 for a bad value.
    help="in-sample or cross-fitted: score training tracks with the networks trained on "
    "them (in-sample) or out-of-fold, 5 folds by artist/album (cross-fitted).",
)
@click.option(
    "--artists",
    is_flag=True,
    help="Group albums into artists with their own tag propensities; the test split "
    "holds new artists, and the groups files get an artist column.",
)
@click.option(
    "--artist-strength",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale of the artist effects (with --artists): tag propensities, audio "
    "signature and albums per artist.",
)
@quiet_option
def synth(
    out_dir: Path,
    tracks: int | None,
    seed: int,
    training_scores: str,
    artists: bool,
    artist_strength: float,
    quiet: bool,
) -> None:
    """Write a synthetic catalogue in the reference format.

    \b
    train_X.csv, train_y.csv, test_X.csv, test_y.csv, labels.csv,
    train_groups.csv and test_groups.csv (each track's album, and artist with --artists).
    """
    from tagdecide._files import check_output
    from tagdecide.demo import write_catalogue
    from tagdecide.synth import DEFAULT_N_TRACKS, make_catalogue

    check_output(out_dir, [], folder=True)
    catalogue = make_catalogue(
        DEFAULT_N_TRACKS if tracks is None else tracks,
        seed=seed,
        training_scores=training_scores,
        artists=artists,
        artist_strength=artist_strength,
    )
    for path in write_catalogue(catalogue, out_dir):
        say(quiet, f"wrote {path}")
