"""Checks on real networks' scores (MTG-Jamendo mood/theme, ``../shared/data``).

Skipped with a reason when the shared development data is not beside the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagdecide import make_strategy, read_labelled, weighted_f1_score

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "jamendo-moodtheme"

pytestmark = pytest.mark.skipif(
    not (DATA / "y.csv").is_file(), reason=f"the shared Jamendo data is not available at {DATA}"
)

# The data README's figures for per-tag thresholds fitted on even rows, scored on odd rows.
PUBLISHED_EVEN_ODD = {"vggish": 0.204, "amlag": 0.216, "ylutokyo": 0.232}


@pytest.mark.parametrize("network", sorted(PUBLISHED_EVEN_ODD))
def test_thresholds_reproduce_the_published_even_odd_figure(network: str) -> None:
    data = read_labelled(DATA / f"X_{network}.csv", DATA / "y.csv")
    even, odd = np.arange(0, data.scores.n_tracks, 2), np.arange(1, data.scores.n_tracks, 2)
    model = make_strategy("thresholds").fit(data.scores.subset(even), data.truth[even])
    score = weighted_f1_score(data.truth[odd], model.predict(data.scores.subset(odd)))
    assert score == pytest.approx(PUBLISHED_EVEN_ODD[network], abs=0.0015)
    constant = make_strategy("constant").fit(data.scores.subset(even), data.truth[even])
    assert weighted_f1_score(data.truth[odd], constant.predict(data.scores.subset(odd))) < 0.1


def test_auto_is_not_worse_than_thresholds_for_new_artists() -> None:
    data = read_labelled(
        DATA / "X_vggish.csv", DATA / "y.csv", groups_path=DATA / "groups.csv", group_by="artist"
    )
    assert data.groups is not None
    artists = np.unique(data.groups)
    np.random.default_rng(0).shuffle(artists)
    in_train = np.isin(data.groups, artists[: artists.size // 2])
    train, test = np.flatnonzero(in_train), np.flatnonzero(~in_train)
    scores = {}
    for name in ("thresholds", "auto"):
        model = make_strategy(name).fit(
            data.scores.subset(train), data.truth[train], groups=data.groups[train]
        )
        scores[name] = weighted_f1_score(data.truth[test], model.predict(data.scores.subset(test)))
    assert scores["auto"] >= scores["thresholds"] - 0.003
