"""Weighted F1 on test of thresholds, hierarchical (category scores as features) and the
gate (decide categories first, then tags inside selected ones), on the synthetic catalogue:
train -> test, albums as groups. MTG-Jamendo has no taxonomy, so the gate does not apply.

Usage: python benchmarks/hierarchical_gate.py [--seeds 0 1 2 3]
"""

from __future__ import annotations

import argparse

from _common import synthetic_split

from tagdecide import make_strategy, weighted_f1_score

VARIANTS = {
    "thresholds": ("thresholds", {}),
    "hierarchical": ("hierarchical", {}),
    "gated": ("gated", {"tag_search": "gated"}),
    "gated all": ("gated", {"tag_search": "all"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    print("seed | " + " | ".join(VARIANTS) + "   (weighted F1 on test; points vs thresholds)")
    for seed in args.seeds:
        split = synthetic_split(seed)
        cells = []
        for name, params in VARIANTS.values():
            model = make_strategy(name, **params)
            model.fit(split.train, split.train_truth, groups=split.groups, taxonomy=split.taxonomy)
            cells.append(weighted_f1_score(split.test_truth, model.predict(split.test)))
        print(
            f"{seed} | " + " | ".join(f"{f1:.4f} ({100 * (f1 - cells[0]):+.1f})" for f1 in cells),
            flush=True,
        )


if __name__ == "__main__":
    main()
