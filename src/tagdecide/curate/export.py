"""Curated tracks as a truth file (and their scores beside it) for ``fit --validate-*``."""

from __future__ import annotations

from pathlib import Path

from tagdecide._files import check_output
from tagdecide.curate.store import CurationStore
from tagdecide.errors import InputError

__all__ = ["export_verdicts", "scores_path_for"]


def scores_path_for(out: str | Path) -> Path:
    """Where the exported tracks' scores go: ``val_y.csv`` -> ``val_y.X.csv``."""
    out = Path(out)
    return out.with_name(out.stem + ".X" + out.suffix)


def export_verdicts(database: str | Path, out: str | Path) -> tuple[Path, int]:
    """Write the fully curated ("done") tracks of ``database`` as truth to ``out``.

    ``out`` gets ``ChallengeID`` then one 0/1 column per model tag, in the model's order
    (a tag's latest verdict, the model's decision where the curator left it); the tracks'
    scores (as X had them) go to ``scores_path_for(out)``, so that ``fit --strategy auto
    --validate-x val_y.X.csv --validate-y val_y.csv`` reads exactly these tracks. Both are
    written atomically and never over an input. Returns the scores' path and the number of
    tracks.
    """
    database = Path(database)
    scores_out = scores_path_for(out)
    for output in (Path(out), scores_out):
        check_output(
            output,
            [database, Path(str(database) + "-wal"), Path(str(database) + "-shm")],
            suffixes=[".csv", ".parquet"],
            writes="a truth file (NAME.csv or .parquet) and its scores (NAME.X.csv)",
        )
    if not database.is_file():
        raise InputError(f"--db {database}: no such curation database")
    store = CurationStore(database)
    meta = store.meta()
    if "tags" not in meta:
        raise InputError(f"--db {database}: holds no curation queue yet")
    ids, truth, scores = store.done_truth()
    if ids.size == 0:
        raise InputError(
            f"--db {database}: no track is done yet (press 'd' on a curated track); "
            "nothing to export"
        )
    import json

    from tagdecide.io import write_matrix

    write_matrix(scores_out, ids, json.loads(meta["score_columns"]), scores)
    write_matrix(out, ids, store.tags(), truth)
    return scores_out, int(ids.size)
