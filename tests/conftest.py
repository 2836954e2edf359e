"""Shared fixtures: a small random labelled data set on disk and a CLI runner."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagdecide.cli import main

ID = "ChallengeID"
TAGS = ("blues-rock", "punk", "happy", "sad", "calm")
TAG_CATEGORIES = ("rock", "rock", "mood", "mood", "mood")
TAG_CLASSES = ("Genres", "Genres", "Moods", "Moods", "Moods")
CATEGORIES = ("rock", "mood")
N_TRACKS = 60
N_ALBUMS = 12

#: Columns as name -> cells (strings, as they appear in a CSV), the id column first.
Columns = dict[str, list[str]]


def write_csv(path: Path, columns: Columns, order: Sequence[str] | None = None) -> Path:
    """Write ``columns`` as a CSV; ``order`` picks and orders the columns."""
    names = list(order) if order is not None else list(columns)
    n_rows = len(columns[names[0]])
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in range(n_rows):
            writer.writerow([columns[name][row] for name in names])
    return path


def write_parquet(path: Path, columns: Columns, order: Sequence[str] | None = None) -> Path:
    """Write ``columns`` as Parquet: the id as int64, every other column as float64."""
    names = list(order) if order is not None else list(columns)
    arrays = [
        pa.array([int(cell) for cell in columns[name]], type=pa.int64())
        if name == ID
        else pa.array([float(cell) for cell in columns[name]], type=pa.float64())
        for name in names
    ]
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path)
    return path


def reorder_rows(columns: Columns, order: Sequence[int]) -> Columns:
    """The same table with its rows in ``order``."""
    return {name: [cells[row] for row in order] for name, cells in columns.items()}


@dataclass
class Dataset:
    """A labelled sample: scores X (tags + category columns), truth Y, taxonomy, groups."""

    folder: Path
    ids: np.ndarray  # (n_tracks,) int64, not sorted
    scores: np.ndarray  # (n_tracks, n_tags) rounded to 4 decimals
    category_scores: np.ndarray  # (n_tracks, n_categories)
    truth: np.ndarray  # (n_tracks, n_tags) uint8
    albums: list[str]
    x_csv: Path
    y_csv: Path
    labels: Path
    groups: Path

    @property
    def n_tracks(self) -> int:
        return len(self.ids)

    def x_columns(self) -> Columns:
        """A fresh copy of X's cells: ChallengeID, the tags, then the categories."""
        columns: Columns = {ID: [str(int(value)) for value in self.ids]}
        for j, tag in enumerate(TAGS):
            columns[tag] = [f"{value:.4f}" for value in self.scores[:, j]]
        for j, category in enumerate(CATEGORIES):
            columns[category] = [f"{value:.4f}" for value in self.category_scores[:, j]]
        return columns

    def y_columns(self) -> Columns:
        """A fresh copy of the truth's cells: ChallengeID then the tags."""
        columns: Columns = {ID: [str(int(value)) for value in self.ids]}
        for j, tag in enumerate(TAGS):
            columns[tag] = [str(int(value)) for value in self.truth[:, j]]
        return columns

    def groups_columns(self) -> Columns:
        return {ID: [str(int(value)) for value in self.ids], "album": list(self.albums)}

    def path(self, name: str) -> Path:
        return self.folder / name


def make_dataset(folder: Path, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(1000, 10_000), size=N_TRACKS, replace=False).astype(np.int64)
    prevalence = np.array([0.3, 0.2, 0.4, 0.25, 0.15])
    truth = (rng.uniform(size=(N_TRACKS, len(TAGS))) < prevalence).astype(np.uint8)
    truth[0, :] = 1  # every tag has positives
    truth[1, :] = 0  # a track with no tags
    scores = np.round(np.clip(0.4 * truth + rng.uniform(0.0, 0.6, truth.shape), 0, 1), 4)
    category_scores = np.round(rng.uniform(size=(N_TRACKS, len(CATEGORIES))), 4)
    albums = [f"album-{row % N_ALBUMS}" for row in range(N_TRACKS)]
    dataset = Dataset(
        folder=folder,
        ids=ids,
        scores=scores,
        category_scores=category_scores,
        truth=truth,
        albums=albums,
        x_csv=folder / "train_X.csv",
        y_csv=folder / "train_y.csv",
        labels=folder / "labels.csv",
        groups=folder / "groups.csv",
    )
    write_csv(dataset.x_csv, dataset.x_columns())
    write_csv(dataset.y_csv, dataset.y_columns())
    write_csv(dataset.groups, dataset.groups_columns())
    with dataset.labels.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["", *TAGS])
        writer.writerow(["category", *TAG_CATEGORIES])
        writer.writerow(["class", *TAG_CLASSES])
    return dataset


@pytest.fixture
def no_segment_left() -> Iterator[None]:
    """The service's shared memory segments: none before the test, none left after it
    (for ``pytest.mark.usefixtures`` in the modules that make them)."""
    from tagdecide.service._shared import segment_names

    assert segment_names() == []
    yield
    assert segment_names() == [], "a shared memory segment outlived its test"


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    """60 tracks x 5 tags as CSV in ``tmp_path/data``, with a 2-category taxonomy."""
    folder = tmp_path / "data"
    folder.mkdir()
    return make_dataset(folder)


RunCli = Callable[[Sequence[object]], tuple[int, str, str]]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``tagdecide.cli.main`` on ``args``; return (exit code, stdout, stderr)."""

    def run(args: Sequence[object]) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
