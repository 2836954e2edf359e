"""Shared helpers for the benchmark scripts: large synthetic files, process measurement and
the shared Jamendo development data."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from tagdecide import LabelledSet, read_labelled
from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.synth import SyntheticCatalogue, make_catalogue
from tagdecide.taxonomy import Taxonomy

#: The real networks' scores with truth and artists (beside this repository, in ../shared).
JAMENDO = Path(__file__).resolve().parents[2] / "shared" / "data" / "jamendo-moodtheme"
NETWORKS = ("vggish", "amlag", "ylutokyo")

N_TAGS, N_CATEGORIES = 248, 41
TAGS = [f"tag-{j:03d}" for j in range(N_TAGS)]
CATEGORIES = [f"category-{j:02d}" for j in range(N_CATEGORIES)]

_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, "code": done.returncode,
                  "stderr": done.stderr.decode()[-500:]}))
"""


def measure(command: list[str]) -> dict[str, float]:
    """Wall time, CPU time (user + system, all threads) and peak RSS of ``command`` as a
    whole process (fresh interpreter)."""
    output = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result['stderr']}")
    return result


def write_large_catalogue(folder: Path, n_tracks: int, seed: int = 0) -> tuple[Path, Path]:
    """Random scores (248 tags + 41 categories, 6 decimals) and truth, written in chunks."""
    folder.mkdir(parents=True, exist_ok=True)
    x_path, y_path = folder / f"X_{n_tracks}.csv", folder / f"y_{n_tracks}.csv"
    if x_path.exists() and y_path.exists():
        return x_path, y_path
    rng = np.random.default_rng(seed)
    prevalence = np.clip(rng.pareto(1.2, N_TAGS) * 0.01, 0.0005, 0.3)
    chunk = 100_000
    with x_path.open("wb") as x_out, y_path.open("wb") as y_out:
        x_out.write(",".join(["ChallengeID", *TAGS, *CATEGORIES]).encode() + b"\n")
        y_out.write(",".join(["ChallengeID", *TAGS]).encode() + b"\n")
        for start in range(0, n_tracks, chunk):
            size = min(chunk, n_tracks - start)
            ids = np.arange(start, start + size, dtype=np.int64)
            truth = (rng.random((size, N_TAGS)) < prevalence).astype(np.int8)
            logits = rng.normal(-2.0, 1.0, (size, N_TAGS)) + 2.5 * truth
            tag_scores = np.round(1 / (1 + np.exp(-logits)), 6)
            category_scores = np.round(rng.random((size, N_CATEGORIES)), 6)
            names = ["ChallengeID", *TAGS, *CATEGORIES]
            columns = [ids, *tag_scores.T, *category_scores.T]
            table = pa.Table.from_arrays([pa.array(c) for c in columns], names=names)
            pa_csv.write_csv(table, x_out, pa_csv.WriteOptions(include_header=False))
            truth_table = pa.Table.from_arrays(
                [pa.array(ids), *[pa.array(c) for c in truth.T]], names=["ChallengeID", *TAGS]
            )
            pa_csv.write_csv(truth_table, y_out, pa_csv.WriteOptions(include_header=False))
    return x_path, y_path


def read_jamendo(network: str, folder: Path = JAMENDO) -> LabelledSet:
    """One network's Jamendo scores, the truth, and each track's artist as its group."""
    return read_labelled(
        folder / f"X_{network}.csv",
        folder / "y.csv",
        groups_path=folder / "groups.csv",
        group_by="artist",
    )


@dataclass(frozen=True)
class Split:
    """A labelled set cut in two: fit on the training part, score on the test part."""

    train: TrackScores
    train_truth: np.ndarray
    test: TrackScores
    test_truth: np.ndarray
    groups: np.ndarray | None  # of the training tracks, for grouped cross-validation
    taxonomy: Taxonomy | None = None


def synthetic_split(seed: int) -> Split:
    """The built-in synthetic catalogue: train (albums as groups) and test (new albums)."""
    return catalogue_split(make_catalogue(seed=seed))


def catalogue_split(catalogue: SyntheticCatalogue) -> Split:
    """A synthetic catalogue's train -> test split, its artists as groups (each album is
    its own artist without ``artists=True``, so that is albums then)."""
    return Split(
        split_scores(catalogue, catalogue.train),
        catalogue.train.truth,
        split_scores(catalogue, catalogue.test),
        catalogue.test.truth,
        catalogue.train.artists,
        catalogue.taxonomy,
    )


def _cut(data: LabelledSet, train: np.ndarray, test: np.ndarray, grouped: bool) -> Split:
    groups = data.groups[train] if grouped and data.groups is not None else None
    return Split(
        data.scores.subset(train),
        data.truth[train],
        data.scores.subset(test),
        data.truth[test],
        groups,
    )


def known_artists_split(data: LabelledSet, seed: int | None = None) -> Split:
    """Tracks of the same artists on both sides, no groups: even rows -> odd rows, or
    (with ``seed``) a random half of the tracks -> the other half."""
    n = data.scores.n_tracks
    if seed is None:
        return _cut(data, np.arange(0, n, 2), np.arange(1, n, 2), grouped=False)
    order = np.random.default_rng(100 + seed).permutation(n)
    return _cut(data, np.sort(order[: n // 2]), np.sort(order[n // 2 :]), grouped=False)


def new_artists_split(data: LabelledSet, seed: int = 0) -> Split:
    """Artist-disjoint halves (artists shuffled with ``seed``), the training half's
    artists given as groups."""
    assert data.groups is not None
    artists = np.unique(data.groups)
    np.random.default_rng(seed).shuffle(artists)
    in_train = np.isin(data.groups, artists[: artists.size // 2])
    return _cut(data, np.flatnonzero(in_train), np.flatnonzero(~in_train), grouped=True)
