"""Fit time of `auto` on 10,000 tracks x 289 scores, and its prediction speed.

Targets (issue "Beat the benchmark"): fit under 3 minutes on 2 cores; predict at least
20,000 tracks/s.

Usage: python benchmarks/auto_speed.py [--train-tracks 10000] [--predict-tracks 100000]
                                       [--members stacked,hierarchical,shrunk,rowwise]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tagdecide import load_model, make_strategy, predict_file, save_model
from tagdecide.demo import split_scores
from tagdecide.io import write_matrix
from tagdecide.synth import make_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-tracks", type=int, default=10_000)
    parser.add_argument("--predict-tracks", type=int, default=100_000)
    parser.add_argument(
        "--members", default="stacked,hierarchical,shrunk,rowwise", help="also timed alone"
    )
    args = parser.parse_args()
    catalogue = make_catalogue(int(args.train_tracks / 0.75) + 1, seed=0)
    train = split_scores(catalogue, catalogue.train)
    print(
        f"training tracks: {train.n_tracks}, scores per track: "
        f"{train.n_tags + len(train.category_names)}"
    )
    started = time.perf_counter()
    model = make_strategy("auto").fit(
        train, catalogue.train.truth, groups=catalogue.train.albums, taxonomy=catalogue.taxonomy
    )
    print(
        f"auto fit: {time.perf_counter() - started:.1f} s; tags per strategy: "
        f"{model.chosen_counts()}"
    )
    test = split_scores(catalogue, catalogue.test)
    repeats = -(-args.predict_tracks // test.n_tracks)
    rows = np.tile(np.arange(test.n_tracks), repeats)[: args.predict_tracks]
    # An auto model decides each tag with the strategy it chose; here it chose mostly
    # thresholds, so the members it may choose elsewhere (one strategy for every tag, on
    # other data) are timed as well: an auto model is as fast as its slowest member.
    models = {"auto": model}
    for name in args.members.split(","):
        if name:
            models[name] = make_strategy(name).fit(
                train,
                catalogue.train.truth,
                groups=catalogue.train.albums,
                taxonomy=catalogue.taxonomy,
            )
    with tempfile.TemporaryDirectory() as folder:
        x_path, model_path = Path(folder) / "X.csv", Path(folder) / "model.json"
        names = [*test.tag_names, *test.category_names]
        write_matrix(x_path, np.arange(rows.size), names, test.all_scores()[rows], decimals=6)
        for name, fitted in models.items():
            save_model(fitted, model_path)
            started = time.perf_counter()
            loaded = load_model(model_path)
            predict_file(loaded, x_path, Path(folder) / "decisions.csv")
            seconds = time.perf_counter() - started
            print(
                f"{name} predict: {rows.size} tracks CSV -> CSV in {seconds:.2f} s = "
                f"{rows.size / seconds:,.0f} tracks/s (load model, read, decide, write)"
            )


if __name__ == "__main__":
    main()
