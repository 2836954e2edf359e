"""``tagdecide sample``: choose tracks worth labelling, for ``fit --validate-x/--validate-y``."""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import group_by_option, out_option, quiet_option, say

__all__ = ["sample"]


@click.command("sample")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option("--n", "n_tracks", type=int, default=200, show_default=True, help="Tracks to label.")
@out_option("Truth template to write (CSV); the chosen tracks' scores go beside it (.X.csv).")
@click.option(
    "--groups",
    type=click.Path(path_type=Path),
    help="CSV/Parquet with ChallengeID and a group column (album, artist or label); "
    "the sample takes few tracks per group.",
)
@group_by_option
@click.option("--seed", type=int, default=0, show_default=True, help="Tie-breaking seed.")
@quiet_option
def sample(
    model_path: Path,
    x_path: Path,
    n_tracks: int,
    out_path: Path,
    groups: Path | None,
    group_by: str | None,
    seed: int,
    quiet: bool,
) -> None:
    """Choose N tracks of X to label, for `fit --strategy auto --validate-x/--validate-y`.

    \b
    Prefers tracks that cover rare tags, lie near MODEL's thresholds, or on which an auto
    model's members disagree; with --groups, spread over many albums/artists.
    Writes OUT: ChallengeID + one 0/1 column per tag, prefilled with MODEL's decisions
    (correct them: that is the truth); and OUT's name with .X.csv: those tracks' scores.
    """
    from tagdecide._files import check_output
    from tagdecide._validation import check_seed
    from tagdecide.engines.local import read_scores_for
    from tagdecide.errors import InputError
    from tagdecide.io import read_groups, write_matrix
    from tagdecide.model_file import load_model
    from tagdecide.sampling import choose_tracks_to_label

    if n_tracks < 1:
        raise InputError(f"--n must be at least 1; got {n_tracks}")
    check_seed(seed, name="--seed")  # before reading the data, not after
    scores_out = out_path.with_name(out_path.stem + ".X.csv")
    for output in (out_path, scores_out):
        check_output(
            output,
            [model_path, x_path, groups],
            suffixes=[".csv"],
            writes="a CSV truth template (NAME.csv) and its scores (NAME.X.csv)",
        )
    if out_path.suffix.lower() != ".csv":
        # A device passes the checks above; refused before the scores file beside it is written.
        raise InputError(f"{out_path}: the truth template is a CSV file; name it NAME.csv")
    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    group_labels = None
    if groups is not None:
        group_labels = read_groups(groups, scores.ids, ids_source=str(x_path), group_by=group_by)
    chosen = choose_tracks_to_label(model, scores, n_tracks, groups=group_labels, seed=seed)
    for note in chosen.notes:
        say(quiet, f"note: {note}")
    picked = scores.subset(chosen.rows)
    write_matrix(
        scores_out,
        picked.ids,
        [*picked.tag_names, *picked.category_names],
        picked.all_scores(),
    )
    write_matrix(out_path, chosen.ids, model.tag_names_, chosen.decisions)
    say(
        quiet,
        f"chose {chosen.ids.size} tracks: truth template {out_path} (prefilled with the "
        f"model's decisions: correct every cell to 0/1), their scores {scores_out}; then "
        f"fit ... --strategy auto --validate-x {scores_out} --validate-y {out_path}",
    )
