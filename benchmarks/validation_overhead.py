"""What the value checks of ``Strategy.fit`` and ``Strategy.predict`` cost.

Scores of 100,000 tracks x 248 tags + 41 categories (289 columns, column-major like the
readers give them). For each strategy: ``predict`` as a whole, ``predict`` without the
value check (as it was before), the check (``check_track_scores``) alone and its share;
then ``fit``'s checks (truth and scores) against a whole fit of ``thresholds``. Best of
several runs (the machine may be busy).

    python benchmarks/validation_overhead.py [--tracks N] [--repeat K]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from tagdecide._validation import check_track_scores, check_truth
from tagdecide.data import TrackScores
from tagdecide.strategies import Strategy, make_strategy
from tagdecide.taxonomy import Taxonomy

N_TAGS, N_CATEGORIES = 248, 41


def best_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    tags = tuple(f"tag-{j:03d}" for j in range(N_TAGS))
    categories = tuple(f"category-{j:02d}" for j in range(N_CATEGORIES))
    taxonomy = Taxonomy(tags, [categories[j % N_CATEGORIES] for j in range(N_TAGS)], ["C"] * N_TAGS)
    truth = (rng.random((args.tracks, N_TAGS)) < 0.05).astype(np.uint8)
    tag_scores = np.asfortranarray(np.clip(0.4 * truth + 0.6 * rng.random(truth.shape), 0, 1))
    category_scores = np.asfortranarray(rng.random((args.tracks, N_CATEGORIES)))
    X = TrackScores(np.arange(args.tracks), tags, tag_scores, categories, category_scores)

    print(f"{args.tracks:,} tracks x {N_TAGS} tags + {N_CATEGORIES} categories\n")
    print(f"{'strategy':<12} {'predict ms':>11} {'unchecked ms':>13} {'check ms':>9} {'share':>6}")
    n_fit = min(args.tracks, 20_000)  # fitting is not what is measured here
    for name in ("constant", "thresholds", "rowwise", "stacked"):
        strategy = make_strategy(name).fit(
            X.subset(slice(0, n_fit)), truth[:n_fit], taxonomy=taxonomy
        )
        reads = bool(strategy.required_categories)

        def unchecked(strategy: Strategy = strategy) -> object:
            """``predict`` as it was before the value check."""
            strategy._check_input(X)
            return strategy._predict(X).astype(np.uint8, copy=False)

        predict = best_ms(lambda strategy=strategy: strategy.predict(X), args.repeat)
        bare = best_ms(unchecked, args.repeat)
        check = best_ms(lambda reads=reads: check_track_scores(X, categories=reads), args.repeat)
        print(f"{name:<12} {predict:>11.1f} {bare:>13.1f} {check:>9.1f} {check / predict:>6.0%}")

    fit_checks = best_ms(
        lambda: (
            check_truth(truth, names=tags, ids=X.ids),
            check_track_scores(X, categories=True),
        ),
        args.repeat,
    )
    fit = best_ms(lambda: make_strategy("thresholds").fit(X, truth), 2)
    share = fit_checks / fit
    print(f"\nfit's checks {fit_checks:.1f} ms; thresholds fit {fit:.0f} ms ({share:.1%})")


if __name__ == "__main__":
    main()
