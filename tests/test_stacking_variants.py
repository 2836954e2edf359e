"""``stacked`` with a fixed penalty and within-class z-scores (auto's in-sample choice)."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.model_file import load_model, save_model
from tagdecide.strategies import make_strategy, parse_params
from tagdecide.strategies.rowwise import within_class_zscores
from tagdecide.taxonomy import Taxonomy


def _data(seed: int = 0) -> tuple[TrackScores, np.ndarray, Taxonomy]:
    rng = np.random.default_rng(seed)
    tags = tuple(f"tag-{j}" for j in range(8))
    taxonomy = Taxonomy(
        tags=tags,
        tag_categories=tuple(f"cat-{j // 2}" for j in range(8)),
        tag_classes=tuple("A" if j < 4 else "B" for j in range(8)),
    )
    n = 600
    truth = (rng.random((n, 8)) < 0.15).astype(np.uint8)
    offset = rng.normal(0, 1, (n, 1))  # a per-track lift of every output
    logits = -2 + 2.5 * truth + offset + rng.normal(0, 1, (n, 8))
    scores = TrackScores(np.arange(n), tags, 1 / (1 + np.exp(-logits)))
    return scores, truth, taxonomy


def test_zscores_are_per_class_and_per_track() -> None:
    scores, _, taxonomy = _data()
    z = within_class_zscores(scores.tag_scores, scores.tag_names, taxonomy)
    np.testing.assert_allclose(z[:, :4].mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(z[:, 4:].std(axis=1), 1, atol=1e-9)
    # Lifting every logit of a track by the same amount leaves its z-scores alone.
    logits = np.log(scores.tag_scores / (1 - scores.tag_scores)) + 1.5
    lifted = within_class_zscores(1 / (1 + np.exp(-logits)), scores.tag_names, taxonomy)
    np.testing.assert_allclose(lifted, z, atol=1e-6)


def test_fixed_alpha_is_used_and_zscores_add_features(tmp_path) -> None:
    scores, truth, taxonomy = _data()
    model = make_strategy("stacked", alpha=1000.0, row_zscores=True)
    model.fit(scores, truth, taxonomy=taxonomy)
    assert model.alpha_ == pytest.approx(1000.0 * scores.n_tracks / 1000)
    assert model.coef_.shape == (16, 8)
    names = [name for name, _ in model.input_contributions(scores.subset(slice(0, 1)), 0)]
    assert names[8] == "tag-0 (z within class)" and len(names) == 16
    values, thresholds = model.decision_rule(scores)
    np.testing.assert_array_equal(model.predict(scores), values >= thresholds)
    path = tmp_path / "m.json"
    save_model(model, path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.decision_scores(scores), model.decision_scores(scores))
    np.testing.assert_array_equal(loaded.predict(scores), model.predict(scores))


def test_decision_scores_match_the_training_features() -> None:
    # The folded prediction path must equal standardise -> ridge -> standardise.
    scores, truth, taxonomy = _data(1)
    model = make_strategy("stacked", row_zscores=True).fit(scores, truth, taxonomy=taxonomy)
    features = (model._features(scores) - model.feature_mean_) / model.feature_scale_
    stacked = features @ model.coef_ + model.intercept_
    expected = (stacked - model.stack_mean_) / model.stack_scale_
    np.testing.assert_allclose(model.decision_scores(scores), expected, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("inf"), float("nan"), "10"])
def test_bad_alphas_are_refused(alpha) -> None:
    with pytest.raises(InputError, match="alpha must be a positive number"):
        make_strategy("stacked", alpha=alpha).check_params()


def test_boolean_parameters_from_the_command_line() -> None:
    assert parse_params("stacked", ["row_zscores=true"]) == {"row_zscores": True}
    assert parse_params("stacked", ["row_zscores=No"]) == {"row_zscores": False}
    with pytest.raises(InputError, match="expected true or false"):
        parse_params("stacked", ["row_zscores=maybe"])
