"""The taxonomy: which category and class each tag belongs to.

On disk it is the reference data set's three-line ``labels.csv``: line 1 an empty cell then
the tag names, line 2 ``category`` then each tag's category, line 3 ``class`` then each
tag's class.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tagdecide._files import atomic_path
from tagdecide.errors import InputError, list_some

__all__ = [
    "ALL_TAGS",
    "UNCLASSIFIED",
    "Taxonomy",
    "group_tag_columns",
    "read_taxonomy",
    "write_taxonomy",
]

#: The one group of :func:`group_tag_columns` when there is no taxonomy.
ALL_TAGS = "all"
#: The group of :func:`group_tag_columns` of the tags that the taxonomy does not know.
UNCLASSIFIED = "(not in the taxonomy)"


@dataclass(frozen=True)
class Taxonomy:
    """Tags grouped into categories, and categories into classes.

    Parameters
    ----------
    tags : sequence of str
        Tag names, unique.
    tag_categories : sequence of str
        The category of each tag (same length as ``tags``).
    tag_classes : sequence of str
        The class of each tag (same length as ``tags``). All tags of one category must
        share a class.

    Examples
    --------
    >>> taxonomy = Taxonomy(["blues-rock", "punk", "cello"], ["rock", "rock", "strings"],
    ...                     ["Genres", "Genres", "Instruments"])
    >>> taxonomy.categories
    ('rock', 'strings')
    >>> taxonomy.category_of("punk")
    'rock'
    """

    tags: tuple[str, ...]
    tag_categories: tuple[str, ...]
    tag_classes: tuple[str, ...]
    _tag_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        tags: Sequence[str],
        tag_categories: Sequence[str],
        tag_classes: Sequence[str],
        *,
        source: str = "taxonomy",
    ) -> None:
        tags, tag_categories, tag_classes = tuple(tags), tuple(tag_categories), tuple(tag_classes)
        if not tags:
            raise InputError(f"{source}: no tags")
        if not len(tags) == len(tag_categories) == len(tag_classes):
            raise InputError(
                f"{source}: {len(tags)} tags but {len(tag_categories)} categories and "
                f"{len(tag_classes)} classes; each tag needs exactly one category and one class"
            )
        empty = [i + 2 for i, name in enumerate(tags) if not name]
        if empty:
            raise InputError(f"{source}: empty tag name in column(s) {list_some(empty)}")
        for kind, names in (("category", tag_categories), ("class", tag_classes)):
            missing = [tag for tag, name in zip(tags, names, strict=True) if not name]
            if missing:
                raise InputError(f"{source}: no {kind} for tag(s) {list_some(missing)}")
        if len(set(tags)) != len(tags):
            duplicated = sorted({tag for tag in tags if tags.count(tag) > 1})
            raise InputError(f"{source}: tag(s) listed twice: {list_some(duplicated)}")
        # The id column's name: as a tag or category column it would be read as scores.
        for kind, names in (("tag", tags), ("category", tag_categories)):
            if "ChallengeID" in names:
                position = names.index("ChallengeID")
                where = "" if kind == "tag" else f" (of tag {tags[position]!r})"
                raise InputError(
                    f"{source}: a {kind} is named 'ChallengeID'{where}; that name is the "
                    "track id column"
                )
        clash = set(tags) & set(tag_categories)
        if clash:
            raise InputError(
                f"{source}: name(s) used both as a tag and as a category: "
                f"{list_some(sorted(clash))}"
            )
        category_class: dict[str, str] = {}
        for tag, category, klass in zip(tags, tag_categories, tag_classes, strict=True):
            known = category_class.setdefault(category, klass)
            if known != klass:
                raise InputError(
                    f"{source}: category {category!r} is in class {known!r} but tag {tag!r} "
                    f"puts it in class {klass!r}"
                )
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "tag_categories", tag_categories)
        object.__setattr__(self, "tag_classes", tag_classes)
        object.__setattr__(self, "_tag_index", {tag: i for i, tag in enumerate(tags)})

    @property
    def categories(self) -> tuple[str, ...]:
        """Category names, in order of first appearance."""
        return tuple(dict.fromkeys(self.tag_categories))

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, in order of first appearance."""
        return tuple(dict.fromkeys(self.tag_classes))

    def category_of(self, tag: str) -> str:
        """The category of ``tag``."""
        return self.tag_categories[self._tag_index[tag]]

    def class_of(self, tag: str) -> str:
        """The class of ``tag``."""
        return self.tag_classes[self._tag_index[tag]]

    def class_of_category(self, category: str) -> str:
        """The class of ``category``."""
        return self.tag_classes[self.tag_categories.index(category)]

    def __contains__(self, tag: object) -> bool:
        return tag in self._tag_index

    def membership(self, tag_names: Sequence[str]) -> np.ndarray:
        """0/1 matrix of shape ``(n_tags, n_categories)``: tag ``i`` is in category ``j``.

        Rows follow ``tag_names`` (any order, all must be in the taxonomy), columns follow
        :attr:`categories`.
        """
        categories = self.categories
        column = {category: j for j, category in enumerate(categories)}
        matrix = np.zeros((len(tag_names), len(categories)), dtype=np.uint8)
        for i, tag in enumerate(tag_names):
            matrix[i, column[self.category_of(tag)]] = 1
        return matrix

    def category_truth(self, truth: np.ndarray, tag_names: Sequence[str]) -> np.ndarray:
        """Category-level truth: a category is positive when any of its tags is.

        Parameters
        ----------
        truth : ndarray of shape (n_tracks, n_tags)
            0/1 tag truth whose columns follow ``tag_names``.
        tag_names : sequence of str

        Returns
        -------
        ndarray of shape (n_tracks, n_categories), dtype uint8
        """
        counts = np.asarray(truth, dtype=np.int64) @ self.membership(tag_names).astype(np.int64)
        return (counts > 0).astype(np.uint8)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (used inside model files)."""
        return {
            "tags": list(self.tags),
            "tag_categories": list(self.tag_categories),
            "tag_classes": list(self.tag_classes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "taxonomy") -> Taxonomy:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(data["tags"], data["tag_categories"], data["tag_classes"], source=source)
        except (KeyError, TypeError) as error:
            raise InputError(f"{source}: malformed taxonomy ({error})") from None


def group_tag_columns(
    tag_names: Sequence[str],
    taxonomy: Taxonomy | None,
    *,
    by: Literal["class", "category"] = "class",
) -> dict[str, np.ndarray]:
    """Column indices of ``tag_names`` grouped by each tag's class (or category).

    The one way tags are grouped by network (class) or category: row-wise statistics, the
    shrinkage reference, the in-sample test, the siblings of ``hierarchical`` and the
    per-class figures all use it.

    Parameters
    ----------
    tag_names : sequence of str
        The columns, in order.
    taxonomy : Taxonomy or None
        Without one, every column is one group, :data:`ALL_TAGS`.
    by : {"class", "category"}

    Returns
    -------
    dict of str to ndarray
        Group name -> ascending column indices, groups in order of their first column.
        Tags the taxonomy does not know form one group, :data:`UNCLASSIFIED`.

    Examples
    --------
    >>> taxonomy = Taxonomy(["grunge", "cello", "punk"], ["rock", "strings", "rock"],
    ...                     ["Genres", "Instruments", "Genres"])
    >>> group_tag_columns(["grunge", "cello", "punk", "kazoo"], taxonomy)
    {'Genres': array([0, 2]), 'Instruments': array([1]), '(not in the taxonomy)': array([3])}
    >>> group_tag_columns(["grunge", "cello"], None)
    {'all': array([0, 1])}
    """
    if taxonomy is None:
        return {ALL_TAGS: np.arange(len(tag_names))}
    if by not in ("class", "category"):
        raise InputError(f"by must be 'class' or 'category', not {by!r}")
    group_of = taxonomy.class_of if by == "class" else taxonomy.category_of
    members: dict[str, list[int]] = {}
    for column, tag in enumerate(tag_names):
        members.setdefault(group_of(tag) if tag in taxonomy else UNCLASSIFIED, []).append(column)
    return {group: np.array(columns, dtype=np.intp) for group, columns in members.items()}


def read_taxonomy(path: str | Path) -> Taxonomy:
    """Read a three-line ``labels.csv`` (tags; each tag's category; each tag's class)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a taxonomy file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: not a readable CSV taxonomy ({error})") from None
    if not rows:
        raise InputError(f"{path}: empty file; expected three lines (tags, category, class)")
    if len(rows) != 3:
        raise InputError(
            f"{path}: {len(rows)} non-empty lines; expected three (tags, category, class)"
        )
    header, categories, classes = rows
    for line, row, label in ((2, categories, "category"), (3, classes, "class")):
        if row[0].strip().lower() != label:
            raise InputError(f"{path}: line {line} should start with {label!r}, not {row[0]!r}")
        if len(row) != len(header):
            raise InputError(
                f"{path}: line {line} has {len(row) - 1} {label} cells for {len(header) - 1} tags"
            )
    return Taxonomy(
        [cell.strip() for cell in header[1:]],
        [cell.strip() for cell in categories[1:]],
        [cell.strip() for cell in classes[1:]],
        source=str(path),
    )


def write_taxonomy(taxonomy: Taxonomy, path: str | Path) -> None:
    """Write ``taxonomy`` as a three-line ``labels.csv``."""
    with atomic_path(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["", *taxonomy.tags])
        writer.writerow(["category", *taxonomy.tag_categories])
        writer.writerow(["class", *taxonomy.tag_classes])
