"""The artist corner: in-sample training scores and artist fingerprints that do not transfer.

On the real networks' scores (MTG-Jamendo) ``stacked`` gains for new tracks of known artists
and loses 4-6 points for new artists. ``auto`` takes ``stacked`` for every tag whenever the
training scores look in-sample, so the risky corner is in-sample scores plus strong artist
effects. For each artist strength (``make_catalogue(..., artists=True, artist_strength=)``),
training scores and seed, a catalogue; fitted on train (artists as groups), scored on test
(new artists): weighted F1 of ``thresholds`` and, in points over it, ``stacked``,
``stacked`` with ``alpha=1000, row_zscores=True`` (auto's in-sample choice) and ``auto``,
with auto's in-sample statistic and what it chose. ``known``: ``stacked`` minus
``thresholds`` for known artists (fit on a random half of the training tracks, no groups,
scored on the other half).

Usage: python benchmarks/artist_corner.py [--strengths 1 3 6] [--seeds 0 1] [--tracks 6000]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.synth import TRAINING_SCORES, make_catalogue

CANDIDATES = {
    "stacked": {},
    "stacked(1000,z)": {"alpha": 1000.0, "row_zscores": True},
}


def corner(n_tracks: int, seed: int, training_scores: str, strength: float) -> dict[str, object]:
    catalogue = make_catalogue(
        n_tracks,
        seed=seed,
        training_scores=training_scores,
        artists=True,
        artist_strength=strength,
    )
    train, test, taxonomy = catalogue.train, catalogue.test, catalogue.taxonomy
    train_scores, test_scores = split_scores(catalogue, train), split_scores(catalogue, test)

    def test_f1(name: str, **params: object) -> tuple[float, object]:
        strategy = make_strategy(name, **params).fit(
            train_scores, train.truth, groups=train.artists, taxonomy=taxonomy
        )
        return weighted_f1_score(test.truth, strategy.predict(test_scores)), strategy

    base, _ = test_f1("thresholds")
    figures: dict[str, object] = {"thresholds": base}
    for label, params in CANDIDATES.items():
        figures[label] = test_f1("stacked", **params)[0] - base
    auto_f1, auto = test_f1("auto")
    figures["auto"] = auto_f1 - base
    figures["statistic"] = auto.regime_.statistic  # type: ignore[attr-defined]
    figures["chosen on"] = auto.chosen_on_  # type: ignore[attr-defined]
    counts = Counter(auto.choice_)  # type: ignore[attr-defined]
    figures["choice"] = ", ".join(f"{name} {count}" for name, count in counts.most_common())

    # Known artists: the same artists on both sides, no groups.
    order = np.random.default_rng(seed).permutation(len(train.ids))
    half = len(order) // 2
    fit_rows, score_rows = np.sort(order[:half]), np.sort(order[half:])
    known = {}
    for name in ("thresholds", "stacked"):
        strategy = make_strategy(name).fit(
            train_scores.subset(fit_rows), train.truth[fit_rows], taxonomy=taxonomy
        )
        known[name] = weighted_f1_score(
            train.truth[score_rows], strategy.predict(train_scores.subset(score_rows))
        )
    figures["known"] = known["stacked"] - known["thresholds"]
    figures["artists"] = f"{len(np.unique(train.artists))}/{len(np.unique(test.artists))}"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strengths", type=float, nargs="+", default=[1.0, 3.0, 6.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tracks", type=int, default=6000)
    args = parser.parse_args()
    print(
        "weighted F1 on test (new artists) of thresholds; the others in points over it; "
        "known: stacked - thresholds for known artists (random halves of train, no groups)"
    )
    print(
        f"{'strength':>8} {'training':<12} {'seed':>4} {'artists':>7} {'thresh':>7} "
        f"{'stacked':>7} {'st1000z':>7} {'auto':>6} {'known':>6} {'stat':>6} "
        f"{'chosen on':<16} choice"
    )
    for strength in args.strengths:
        for training_scores in TRAINING_SCORES:
            for seed in args.seeds:
                f = corner(args.tracks, seed, training_scores, strength)
                print(
                    f"{strength:>8g} {training_scores:<12} {seed:>4} {f['artists']:>7} "
                    f"{f['thresholds']:>7.4f} {100 * f['stacked']:>+7.1f} "  # type: ignore[operator]
                    f"{100 * f['stacked(1000,z)']:>+7.1f} {100 * f['auto']:>+6.1f} "  # type: ignore[operator]
                    f"{100 * f['known']:>+6.1f} {f['statistic']:>6.2f} "  # type: ignore[operator]
                    f"{f['chosen on']:<16} {f['choice']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
