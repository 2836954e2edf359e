"""`tagdecide curate`: the page's round trip per keyboard action in headless Chromium, the
database's size per 1,000 verdicts, and the weighted-F1 gain of `auto` choosing on curated
tracks (simulated by answering from the truth) over `auto` without validation.

Round trip: the synthetic catalogue's test split and a `thresholds` model fitted on train
(248 tags, 41 categories); per track the keys r, a, a, u, a, then d (done: to the next
track shown); each timed in the page from the key to the updated page.

Database size: a queue of 200 tracks (their 289 scores each), then 1,000 verdicts with a
curator name; the file's growth after a WAL checkpoint.

F1 gain (per seed, as benchmarks/sample_budget.py): `auto` fitted on train (cross-validated,
albums as groups) is the model curated; the test albums are cut into a pool and an
evaluation half; the queue is the sample of n pool tracks (`--queue sample`, albums as
groups). The curator answers from the truth and marks each track done, through the store
and `curate export`: "every tag" answers all 248 tags; "shown tags" only the tags the page
shows (given ones and the 5 nearest misses per class), the rest staying as the model
decided. `auto` then chooses with validation=(exported scores, exported truth) and is
scored on the evaluation half; points over `auto` without validation.

Usage: python benchmarks/curate_figures.py [--tracks 20] [--seeds 0] [--sizes 100 200]
       [--skip-browser] [--skip-f1]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import tagdecide.strategies.auto as auto_module
from tagdecide import choose_tracks_to_label, make_strategy, weighted_f1_score
from tagdecide.curate.export import export_verdicts, scores_path_for
from tagdecide.curate.session import open_session
from tagdecide.curate.store import CurationStore
from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.io import read_scores, read_truth, write_matrix
from tagdecide.model_file import save_model
from tagdecide.synth import make_catalogue

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20, help="Tracks curated in the browser.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-f1", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="curate-bench-"))
    print(f"files in {folder}", flush=True)
    database_size(folder)
    if not args.skip_browser:
        browser_round_trip(folder, args.tracks)
    if not args.skip_f1:
        rows = [row for seed in args.seeds for row in f1_gain(folder, seed, args.sizes)]
        print("\n| seed | n curated | thresholds | auto, no validation | auto on curated: "
              "every tag | auto on curated: shown tags | choice (every / shown) |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for seed, size, base, plain, every, shown, choices in rows:
            print(f"| {seed} | {size} | {base:.4f} | {plain:.4f} | {100 * (every - plain):+.1f} "
                  f"| {100 * (shown - plain):+.1f} | {choices} |")  # fmt: skip


def database_size(folder: Path) -> None:
    rng = np.random.default_rng(0)
    n_tracks, n_tags, n_columns = 200, 248, 289
    tags = [f"tag-{j:03d}" for j in range(n_tags)]
    path = folder / "size.sqlite"
    store = CurationStore(path)
    store.create_queue(
        tags=tags,
        score_columns=[*tags, *(f"category-{j:02d}" for j in range(n_columns - n_tags))],
        queue="sample",
        ids=np.arange(n_tracks) * 13 + 100_000,
        decisions=rng.integers(0, 2, (n_tracks, n_tags)),
        scores=rng.uniform(size=(n_tracks, n_columns)),
        model="thresholds (model.json)",
    )

    def size() -> int:
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size

    empty = size()
    started = time.perf_counter()
    versions = dict.fromkeys(store.queue_ids().tolist(), 0)
    ids = list(versions)
    for index in range(1000):
        track = ids[index % n_tracks]
        state = store.add_verdict(track, tags[(index * 7) % n_tags], index % 2,
                                  version=versions[track], curator="catalogue-manager")  # fmt: skip
        versions[track] = state.version
    seconds = time.perf_counter() - started
    grown = size() - empty
    print(f"\ndatabase: queue of {n_tracks} tracks x {n_columns} scores = {empty / 1024:.0f} KiB; "
          f"1,000 verdicts add {grown / 1024:.0f} KiB ({grown / 1000:.0f} bytes each); "
          f"{1000 * seconds / 1000:.2f} ms per verdict written (synchronous=FULL)")  # fmt: skip


def browser_round_trip(folder: Path, n_tracks: int) -> None:
    from test_curate_browser import CHROMIUM, Browser, curation_server, settle

    if not CHROMIUM.is_file():
        print("no /usr/bin/chromium: round trip not measured")
        return
    catalogue = make_catalogue(seed=0)
    train, test = split_scores(catalogue, catalogue.train), split_scores(catalogue, catalogue.test)
    model = make_strategy("thresholds").fit(train, catalogue.train.truth,
                                            taxonomy=catalogue.taxonomy)  # fmt: skip
    save_model(model, folder / "model.json")
    write_matrix(folder / "test_X.csv", test.ids, [*test.tag_names, *test.category_names],
                 test.all_scores())  # fmt: skip
    arguments = [str(folder / "model.json"), str(folder / "test_X.csv"), "--db",
                 str(folder / "browser.sqlite"), "--n", str(n_tracks + 1)]  # fmt: skip
    browser = Browser(folder / "profile")
    try:
        with curation_server(arguments, folder / "server.log") as (server, address):
            browser.page("Page.navigate", url=address + "/")
            settle(browser)
            outside = []
            for _ in range(n_tracks):
                for key in ("r", "a", "a", "u", "a", "d"):
                    started = time.perf_counter()
                    browser.press(key)
                    settle(browser)
                    outside.append(time.perf_counter() - started)
            timings = browser.evaluate("window.curateTimings")
            n_tags = browser.evaluate("document.querySelectorAll('tr.tag-row').length")
            os.kill(server.pid, signal.SIGKILL)
    finally:
        browser.close()
    print(f"\nround trip in the page, {n_tracks} tracks, {n_tags} tag rows on the last page:")
    print("| action | count | p50 | p99 |")
    print("|---|---|---|---|")
    for action in ("verdicts", "undo", "next"):
        values = np.array([t["ms"] for t in timings if t["action"] == action])
        name = {"verdicts": "accept / reject", "next": "done -> next track"}.get(action, action)
        print(f"| {name} | {values.size} | {np.percentile(values, 50):.1f} ms | "
              f"{np.percentile(values, 99):.1f} ms |")  # fmt: skip
    seconds = np.array(outside) * 1000
    print(
        f"| any key, seen from the driver (incl. CDP polling) | {seconds.size} | "
        f"{np.percentile(seconds, 50):.1f} ms | {np.percentile(seconds, 99):.1f} ms |"
    )


class _Fitted:
    """Stands in for make_strategy(name): its fit returns the model fitted once."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        return self.model


def _curate_from_truth(
    folder: Path,
    model: Any,
    pool: TrackScores,
    truth: np.ndarray,
    sample: Any,
    shown_only: bool,
    groups: np.ndarray,
    seed: int,
) -> tuple[TrackScores, np.ndarray]:
    """Answer the queue from the truth through the store; what `curate export` writes."""
    name = "shown" if shown_only else "every"
    database = folder / f"{name}-{len(sample.ids)}-{time.monotonic_ns()}.sqlite"
    store = CurationStore(database)
    session = open_session(
        model, pool, store, queue="sample", n=len(sample.ids), groups=groups, seed=seed
    )
    assert store.queue_ids().tolist() == sample.ids.tolist()  # the same sample
    tags = list(pool.tag_names)
    row_of = {int(track): row for row, track in enumerate(pool.ids.tolist())}
    for track in store.queue_ids().tolist():
        state = store.state(track)
        answers = truth[row_of[track]]
        looked_at = [entry.tag for entry in session._explanations(track)] if shown_only else tags
        for tag in looked_at:
            column = tags.index(tag)
            if answers[column] != state.decisions[column] or shown_only:
                state = store.add_verdict(track, tag, int(answers[column]), version=state.version)
        store.mark_done(track, version=state.version)
    out = folder / f"{database.stem}.csv"
    export_verdicts(database, out)
    scores = read_scores(scores_path_for(out), pool.tag_names, pool.category_names)
    exported = read_truth(out, pool.tag_names).align_to(scores.ids, other_source="X")
    return scores, exported


def f1_gain(folder: Path, seed: int, sizes: list[int]) -> list[tuple[Any, ...]]:
    started = time.perf_counter()
    catalogue = make_catalogue(8000, seed=seed)
    train, test = split_scores(catalogue, catalogue.train), split_scores(catalogue, catalogue.test)
    common = {"groups": catalogue.train.albums, "taxonomy": catalogue.taxonomy}
    albums = np.unique(catalogue.test.albums)
    np.random.default_rng(seed).shuffle(albums)
    in_pool = np.isin(catalogue.test.albums, albums[: albums.size // 2])
    pool_rows, scored = np.flatnonzero(in_pool), np.flatnonzero(~in_pool)
    truth = catalogue.test.truth
    pool = test.subset(pool_rows)

    def score(model: Any) -> float:
        return weighted_f1_score(truth[scored], model.predict(test.subset(scored)))

    baseline = score(make_strategy("thresholds").fit(train, catalogue.train.truth, **common))
    cv_model = make_strategy("auto").fit(train, catalogue.train.truth, **common)
    plain = score(cv_model)
    names = cv_model._usable_candidates(train)
    fitted = {name: make_strategy(name).fit(train, catalogue.train.truth, **common)
              for name in names}  # fmt: skip
    print(f"seed {seed}: catalogue and fits in {time.perf_counter() - started:.0f} s", flush=True)
    rows = []
    original = auto_module.make_strategy
    auto_module.make_strategy = lambda name, **_: _Fitted(fitted[name])  # type: ignore[assignment]
    try:
        for size in sizes:
            sample = choose_tracks_to_label(
                cv_model, pool, size, groups=catalogue.test.albums[pool_rows], seed=seed
            )
            figures, choices = [], []
            for shown_only in (False, True):
                scores, exported = _curate_from_truth(
                    folder, cv_model, pool, truth[pool_rows], sample, shown_only,
                    catalogue.test.albums[pool_rows], seed,
                )  # fmt: skip
                model = make_strategy("auto").fit(train, catalogue.train.truth, **common,
                                                  validation=(scores, exported))  # fmt: skip
                counts = model.chosen_counts()
                figures.append(score(model))
                choices.append(max(counts, key=counts.__getitem__))
            rows.append((seed, size, baseline, plain, *figures, " / ".join(choices)))
            print(f"seed {seed} n {size} done at {time.perf_counter() - started:.0f} s",
                  flush=True)  # fmt: skip
    finally:
        auto_module.make_strategy = original
    return rows


if __name__ == "__main__":
    main()
