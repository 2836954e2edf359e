"""Labelled sets: scores and truth (and groups) read together, matched by track."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tagdecide._validation import normalisation_note
from tagdecide.data import ID_COLUMN, LabelledSet
from tagdecide.errors import InputError, TagdecideWarning, list_some
from tagdecide.io.formats import read_columns
from tagdecide.io.groups import read_groups
from tagdecide.io.scores import read_scores
from tagdecide.io.truth import read_truth
from tagdecide.taxonomy import Taxonomy

__all__ = ["read_labelled"]


def read_labelled(
    scores_path: str | Path,
    truth_path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    groups_path: str | Path | None = None,
    group_by: str | None = None,
    require_categories: bool = False,
) -> LabelledSet:
    """Read scores and truth (and optionally groups), matched by ``ChallengeID``.

    The tags are the truth's columns, in the truth's order. With a taxonomy, every taxonomy
    tag must be in the truth (other truth columns are ignored with a warning) and the
    taxonomy's category columns are read from the scores when present.
    """
    truth_columns = [name for name in read_columns(truth_path) if name != ID_COLUMN]
    if taxonomy is None:
        tag_names = truth_columns
        category_names: tuple[str, ...] = ()
    else:
        missing = [tag for tag in taxonomy.tags if tag not in set(truth_columns)]
        if missing:
            raise InputError(
                f"{truth_path}: {len(missing)} taxonomy tag(s) missing: {list_some(missing)}"
                + normalisation_note(missing, truth_columns)
            )
        tag_names = [name for name in truth_columns if name in taxonomy]
        unknown = [
            name
            for name in truth_columns
            if name not in taxonomy and name not in taxonomy.categories
        ]
        if unknown:
            warnings.warn(
                f"{truth_path}: ignoring {len(unknown)} column(s) not in the taxonomy: "
                f"{list_some(unknown)}",
                TagdecideWarning,
                stacklevel=2,
            )
        category_names = taxonomy.categories
    if not tag_names:
        raise InputError(f"{truth_path}: no tag columns besides {ID_COLUMN}")
    # The two files parse in parallel (Arrow releases the GIL); the truth's errors come first.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reading_scores = pool.submit(
            read_scores,
            scores_path,
            tag_names,
            category_names,
            require_categories=require_categories,
        )
        truth = read_truth(truth_path, tag_names)
        scores = reading_scores.result()
    aligned = truth.align_to(scores.ids, other_source=str(scores_path))
    groups = None
    if groups_path is not None:
        groups = read_groups(
            groups_path, scores.ids, ids_source=str(scores_path), group_by=group_by
        )
    return LabelledSet(scores=scores, truth=aligned, groups=groups, taxonomy=taxonomy)
