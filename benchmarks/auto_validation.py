"""`auto` choosing on a labelled validation set of out-of-sample tracks, on the synthetic
catalogue: fit on train (the networks' in-sample scores), choose per tag on half of the
test albums, score on the other half (new albums both).

Usage: python benchmarks/auto_validation.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.synth import make_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("weighted F1 on the scored half of the test albums (points vs thresholds)")
    for seed in args.seeds:
        catalogue = make_catalogue(seed=seed)
        train = split_scores(catalogue, catalogue.train)
        test = split_scores(catalogue, catalogue.test)
        albums = np.unique(catalogue.test.albums)
        np.random.default_rng(seed).shuffle(albums)
        in_validation = np.isin(catalogue.test.albums, albums[: albums.size // 2])
        validation = np.flatnonzero(in_validation)
        scored = np.flatnonzero(~in_validation)
        common = {"groups": catalogue.train.albums, "taxonomy": catalogue.taxonomy}
        results = {}
        for label, options in (
            ("thresholds", None),
            ("auto (cross-validation)", {}),
            (
                "auto (validation)",
                {"validation": (test.subset(validation), catalogue.test.truth[validation])},
            ),
        ):
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


if __name__ == "__main__":
    main()
