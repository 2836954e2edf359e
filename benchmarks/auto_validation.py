"""`auto` choosing on a labelled validation set of out-of-sample tracks, on the synthetic
catalogue: fit on train (the networks' in-sample scores), choose on a labelled sample of
the test albums, score on the other half of the test albums (new albums both).

The sample is half of the test albums (about 1,000 tracks) or, with --sample-tracks N,
its first N tracks in album order (a smaller labelling effort).

With --real, the same on the Jamendo networks (5 splits each): training half, a
validation quarter, a scored quarter; "new artists" splits by artist (groups given),
"known artists" by track. Both the default rule on a validation set (one strategy for
every tag, or thresholds) and the per-tag fallback (rule="global-or-tag") are shown.

Usage: python benchmarks/auto_validation.py [--seeds 0 1 2] [--sample-tracks 250 500] [--real]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import JAMENDO, NETWORKS, read_jamendo

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.synth import make_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sample-tracks", type=int, nargs="*", default=[])
    parser.add_argument("--real", action="store_true", help="the Jamendo splits instead")
    args = parser.parse_args()
    if args.real:
        real(n_splits=5)
        return
    print("weighted F1 on the scored half of the test albums (points vs thresholds)")
    for seed in args.seeds:
        catalogue = make_catalogue(seed=seed)
        train = split_scores(catalogue, catalogue.train)
        test = split_scores(catalogue, catalogue.test)
        albums = np.unique(catalogue.test.albums)
        np.random.default_rng(seed).shuffle(albums)
        in_validation = np.isin(catalogue.test.albums, albums[: albums.size // 2])
        validation = np.flatnonzero(in_validation)
        # Whole albums first: a sample of N tracks holds the first albums of the shuffled half.
        album_rank = {album: rank for rank, album in enumerate(albums)}
        validation = validation[
            np.argsort([album_rank[a] for a in catalogue.test.albums[validation]], kind="stable")
        ]
        scored = np.flatnonzero(~in_validation)
        common = {"groups": catalogue.train.albums, "taxonomy": catalogue.taxonomy}
        samples = {
            f"auto (validation, {size} tracks)": validation[:size] for size in args.sample_tracks
        }
        samples[f"auto (validation, {validation.size} tracks)"] = validation
        results = {}
        runs: list[tuple[str, dict | None]] = [
            ("thresholds", None),
            ("auto (cross-validation)", {}),
        ]
        runs += [
            (label, {"validation": (test.subset(sample), catalogue.test.truth[sample])})
            for label, sample in samples.items()
        ]
        for label, options in runs:
            started = time.perf_counter()
            if options is None:
                model = make_strategy("thresholds").fit(train, catalogue.train.truth, **common)
            else:
                model = make_strategy("auto").fit(train, catalogue.train.truth, **common, **options)
            seconds = time.perf_counter() - started
            f1 = weighted_f1_score(catalogue.test.truth[scored], model.predict(test.subset(scored)))
            results[label] = (f1, seconds)
        baseline = results["thresholds"][0]
        cells = [
            f"{label} {f1:.4f} ({100 * (f1 - baseline):+.1f}, {seconds:.0f}s)"
            for label, (f1, seconds) in results.items()
        ]
        print(f"seed {seed}: " + " | ".join(cells), flush=True)


def real(n_splits: int) -> None:
    if not JAMENDO.is_dir():
        raise SystemExit(f"needs {JAMENDO}")
    print("auto (validation) - thresholds on the scored quarter, points: mean [min, max]")
    for network in NETWORKS:
        data = read_jamendo(network)
        X, Y, artists_of = data.scores, data.truth, data.groups
        assert artists_of is not None
        for scenario in ("known artists", "new artists"):
            gains: dict[str, list[float]] = {"default (global)": [], "global-or-tag": []}
            for split in range(n_splits):
                rng = np.random.default_rng(split)
                if scenario == "new artists":
                    artists = rng.permutation(np.unique(artists_of))
                    quarter = artists.size // 4
                    part = np.select(
                        [
                            np.isin(artists_of, artists[: 2 * quarter]),
                            np.isin(artists_of, artists[2 * quarter : 3 * quarter]),
                        ],
                        [0, 1],
                        2,
                    )
                    groups = artists_of
                else:
                    quarter_of = rng.permutation(X.n_tracks) * 4 // X.n_tracks
                    part = np.array([0, 0, 1, 2])[quarter_of]
                    groups = None
                train, valid, scored = (np.flatnonzero(part == k) for k in range(3))
                train_groups = None if groups is None else groups[train]
                baseline = make_strategy("thresholds").fit(X.subset(train), Y[train])
                base_f1 = weighted_f1_score(Y[scored], baseline.predict(X.subset(scored)))
                for label, rule in (("default (global)", None), ("global-or-tag", "global-or-tag")):
                    model = make_strategy("auto", rule=rule).fit(
                        X.subset(train),
                        Y[train],
                        groups=train_groups,
                        validation=(X.subset(valid), Y[valid]),
                    )
                    f1 = weighted_f1_score(Y[scored], model.predict(X.subset(scored)))
                    gains[label].append(100 * (f1 - base_f1))
            cells = [
                f"{label} {np.mean(values):+.2f} [{min(values):+.2f}, {max(values):+.2f}]"
                for label, values in gains.items()
            ]
            print(f"{network:<9} {scenario:<14} " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
