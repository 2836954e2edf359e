"""Which decision family should ``auto`` use when the training scores are in-sample?

Cross-validation cannot answer on in-sample scores, so the candidates are measured where
the answer is known: fitted on the in-sample training side of the synthetic catalogue
(albums as groups, or artists with ``--artists``) and scored on its held-out albums or
artists. Prints each candidate's weighted F1 gain over ``thresholds`` in points, per seed,
and the mean and minimum over seeds. ``auto``'s in-sample choice is
``stacked alpha=1000 row_zscores``.

Usage: python benchmarks/in_sample_candidates.py [--seeds 0 1 2 3] [--artists]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import Split, catalogue_split

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.synth import make_catalogue

CANDIDATES: dict[str, dict[str, object]] = {
    "stacked": {},
    "stacked blend=None": {"blend": None},
    "stacked blend=0.75": {"blend": 0.75},
    "stacked alpha=1000": {"alpha": 1000.0},
    "stacked row_zscores": {"row_zscores": True},
    "stacked alpha=1000 row_zscores": {"alpha": 1000.0, "row_zscores": True},
    "hierarchical": {},
    "gated": {},
    "rowwise": {},
    "shrunk": {},
}


def split_for(seed: int, artists: bool) -> Split:
    return catalogue_split(make_catalogue(seed=seed, artists=artists))


def gains(split: Split) -> dict[str, float]:
    options = {"groups": split.groups, "taxonomy": split.taxonomy}

    def f1(name: str, params: dict[str, object]) -> float:
        model = make_strategy(name, **params).fit(split.train, split.train_truth, **options)
        return weighted_f1_score(split.test_truth, model.predict(split.test))

    baseline = f1("thresholds", {})
    return {
        label: 100 * (f1(label.split()[0], params) - baseline)
        for label, params in CANDIDATES.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--artists", action="store_true", help="artists held out, not albums")
    args = parser.parse_args()
    table: dict[str, list[float]] = {label: [] for label in CANDIDATES}
    for seed in args.seeds:
        for label, gain in gains(split_for(seed, args.artists)).items():
            table[label].append(gain)
        print(f"seed {seed} done", flush=True)
    held_out = "new artists" if args.artists else "new albums"
    print(f"gain over thresholds on {held_out}, weighted F1 points")
    print("| candidate | " + " | ".join(f"seed {seed}" for seed in args.seeds) + " | mean | min |")
    print("|---|" + "---|" * (len(args.seeds) + 2))
    for label, values in table.items():
        cells = " | ".join(f"{value:+.2f}" for value in values)
        print(f"| {label} | {cells} | {np.mean(values):+.2f} | {np.min(values):+.2f} |")


if __name__ == "__main__":
    main()
