"""A labelling budget on the synthetic catalogue: tracks chosen by `tagdecide sample` vs
tracks drawn uniformly at random, as the validation set `auto` chooses on.

Per seed: `auto` is fitted on train (cross-validation, albums as groups) and is the model
the sampler reads; the test albums are cut in two halves, a pool and an evaluation half;
n tracks of the pool are chosen by the sampler (albums as groups) or at random (mean of
--draws draws); `auto` fitted with validation=(those tracks) is scored on the evaluation
half. Points are over `thresholds` fitted on train.

Speed: every candidate strategy is fitted on train once per seed and reused by each
validation fit (what `auto` would refit identically each time: same data, same seed).

Usage: python benchmarks/sample_budget.py [--seeds 0 1 2] [--sizes 50 100 200] [--draws 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import tagdecide.strategies.auto as auto_module
from tagdecide import choose_tracks_to_label, make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.synth import make_catalogue


class _Fitted:
    """Stands in for make_strategy(name): its fit returns the model fitted once."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        return self.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        started = time.perf_counter()
        rows += run_seed(seed, args.sizes, args.draws)
        print(f"seed {seed} done in {time.perf_counter() - started:.0f} s", flush=True)
    print_table(rows, args.draws)


def run_seed(seed: int, sizes: list[int], draws: int) -> list[tuple[Any, ...]]:
    """One catalogue: a row per sample size."""
    rows = []
    catalogue = make_catalogue(8000, seed=seed)
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    common = {"groups": catalogue.train.albums, "taxonomy": catalogue.taxonomy}
    albums = np.unique(catalogue.test.albums)
    np.random.default_rng(seed).shuffle(albums)
    in_pool = np.isin(catalogue.test.albums, albums[: albums.size // 2])
    pool, scored = np.flatnonzero(in_pool), np.flatnonzero(~in_pool)
    truth = catalogue.test.truth

    def score(model: Any) -> float:
        return weighted_f1_score(truth[scored], model.predict(test.subset(scored)))

    baseline = score(make_strategy("thresholds").fit(train, catalogue.train.truth, **common))
    cv_model = make_strategy("auto").fit(train, catalogue.train.truth, **common)
    names = cv_model._usable_candidates(train)
    fitted = {
        name: make_strategy(name).fit(train, catalogue.train.truth, **common) for name in names
    }
    original = auto_module.make_strategy
    auto_module.make_strategy = lambda name, **_: _Fitted(fitted[name])  # type: ignore[assignment]
    try:

        def with_sample(rows_: np.ndarray) -> tuple[float, str]:
            validation = (test.subset(rows_), truth[rows_])
            model = make_strategy("auto").fit(
                train, catalogue.train.truth, **common, validation=validation
            )
            chosen = max(model.chosen_counts(), key=model.chosen_counts().__getitem__)
            return score(model), chosen

        whole_f1, _ = with_sample(pool)
        for size in sizes:
            sampled = choose_tracks_to_label(
                cv_model,
                test.subset(pool),
                size,
                groups=catalogue.test.albums[pool],
                seed=seed,
            )
            sampler_f1, sampler_choice = with_sample(pool[sampled.rows])
            rng = np.random.default_rng(1000 + seed)
            random_runs = [with_sample(rng.choice(pool, size, replace=False)) for _ in range(draws)]
            random_f1 = [f1 for f1, _ in random_runs]
            stacked_share = sum(choice != "thresholds" for _, choice in random_runs)
            rows.append(
                (
                    seed,
                    size,
                    baseline,
                    score(cv_model),
                    sampler_f1,
                    sampler_choice,
                    float(np.mean(random_f1)),
                    min(random_f1),
                    max(random_f1),
                    stacked_share,
                    whole_f1,
                )
            )
    finally:
        auto_module.make_strategy = original
    return rows


def print_table(rows: list[tuple[Any, ...]], draws: int) -> None:
    """The markdown table of every seed and size."""
    print(
        "\nweighted F1 on the evaluation half of the test albums; points over thresholds; "
        f"random: mean [min, max] of {draws} draws"
    )
    print(
        "| seed | n | thresholds | auto (CV) | sampler | sampler's choice | random | "
        "random draws leaving thresholds | whole pool |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (
        seed,
        size,
        base,
        cv_f1,
        sampler_f1,
        choice,
        mean_f1,
        low,
        high,
        moved,
        whole,
    ) in rows:

        def points(value: float, base: float = base) -> str:
            return f"{100 * (value - base):+.1f}"

        print(
            f"| {seed} | {size} | {base:.4f} | {points(cv_f1)} | {points(sampler_f1)} | "
            f"{choice} | {points(mean_f1)} [{points(low)}, {points(high)}] | "
            f"{moved} of {draws} | {points(whole)} |"
        )


if __name__ == "__main__":
    main()
