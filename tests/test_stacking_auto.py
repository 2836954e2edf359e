"""``stacked`` (out-of-fold ridge stacking) and ``auto`` (per-tag choice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagdecide import load_model, make_strategy, save_model, weighted_f1_score
from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies.stacking import _ridge_solutions

TAGS = ("a", "b", "c", "d", "e", "f")


def correlated_data(
    n_tracks: int = 600, seed: int = 0, own_noise: float = 1.5
) -> tuple[TrackScores, np.ndarray, np.ndarray]:
    """Tags driven by two latent factors; each tag's own score is very noisy, the others
    carry the same factor, so reading the whole score vector helps."""
    rng = np.random.default_rng(seed)
    n_albums = n_tracks // 10
    album_style = rng.normal(size=(n_albums, 2))
    albums = np.repeat(np.arange(n_albums), 10)[:n_tracks]
    latent = album_style[albums] + 0.5 * rng.normal(size=(n_tracks, 2))
    loading = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], dtype=float)
    truth = (latent @ loading.T + 0.3 * rng.normal(size=(n_tracks, 6)) > 0.8).astype(np.uint8)
    logits = 2.0 * (latent @ loading.T) - 1.5 + own_noise * rng.normal(size=(n_tracks, 6))
    scores = 1 / (1 + np.exp(-logits))
    return TrackScores(np.arange(n_tracks), TAGS, scores), truth, albums


def test_ridge_matches_the_normal_equations() -> None:
    rng = np.random.default_rng(1)
    features, targets = rng.normal(size=(80, 5)), rng.normal(size=(80, 3))
    alphas = np.array([0.5, 20.0])
    coefs, intercepts = _ridge_solutions(features, targets, alphas)
    centred = features - features.mean(axis=0)
    for a, alpha in enumerate(alphas):
        expected = np.linalg.solve(
            centred.T @ centred + alpha * np.eye(5), centred.T @ (targets - targets.mean(axis=0))
        )
        np.testing.assert_allclose(coefs[a], expected, atol=1e-10)
        prediction = features @ coefs[a] + intercepts[a]
        np.testing.assert_allclose(prediction.mean(axis=0), targets.mean(axis=0), atol=1e-10)


def test_stacked_beats_own_thresholds_when_other_scores_carry_the_signal() -> None:
    X, Y, albums = correlated_data(seed=0)
    X_new, Y_new, _ = correlated_data(seed=1)
    own = make_strategy("thresholds").fit(X, Y)
    stacked = make_strategy("stacked").fit(X, Y, groups=albums)
    assert (
        weighted_f1_score(Y_new, stacked.predict(X_new))
        > weighted_f1_score(Y_new, own.predict(X_new)) + 0.02
    )


def test_stacked_keeps_rare_tags_on_their_own_score() -> None:
    X, Y, albums = correlated_data()
    Y = Y.copy()
    Y[:, 0] = 0
    Y[:3, 0] = 1  # three positives: below min_positives
    model = make_strategy("stacked", min_positives=5).fit(X, Y, groups=albums)
    assert model.blend_[0] == 0.0
    assert (model.blend_[1:] == 1.0).all()


def test_stacked_blend_none_chooses_weights_in_the_grid() -> None:
    X, Y, albums = correlated_data()
    model = make_strategy("stacked", blend=None).fit(X, Y, groups=albums)
    assert set(np.unique(model.blend_)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_stacked_rejects_a_blend_outside_zero_one() -> None:
    X, Y, albums = correlated_data(n_tracks=100)
    with pytest.raises(InputError, match="blend must be in"):
        make_strategy("stacked", blend=1.5).fit(X, Y, groups=albums)


def test_stacked_uses_category_scores_when_present_and_then_needs_them() -> None:
    X, Y, albums = correlated_data()
    categories = np.stack([X.tag_scores[:, :3].max(axis=1), X.tag_scores[:, 3:].max(axis=1)], 1)
    with_categories = TrackScores(X.ids, TAGS, X.tag_scores, ("ab", "de"), categories)
    model = make_strategy("stacked").fit(with_categories, Y, groups=albums)
    assert model.required_categories == ("ab", "de")
    assert model.coef_.shape == (8, 6)
    with pytest.raises(InputError, match="category columns"):
        model.predict(X)


@pytest.mark.parametrize("name", ["stacked", "auto"])
def test_model_file_round_trip_gives_identical_decisions(name: str, tmp_path: Path) -> None:
    X, Y, albums = correlated_data(n_tracks=300)
    model = make_strategy(name).fit(X, Y, groups=albums)
    save_model(model, tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_auto_falls_back_to_thresholds_when_nothing_clearly_helps() -> None:
    # Independent tags: other scores carry no information, so every tag stays on thresholds.
    rng = np.random.default_rng(2)
    truth = (rng.random((400, 6)) < 0.3).astype(np.uint8)
    scores = np.clip(0.3 * truth + rng.random((400, 6)) * 0.7, 0, 1)
    X = TrackScores(np.arange(400), TAGS, scores)
    model = make_strategy("auto", candidates="thresholds,stacked").fit(X, truth)
    baseline = make_strategy("thresholds").fit(X, truth)
    assert model.choice_ == ["thresholds"] * 6
    np.testing.assert_array_equal(model.predict(X), baseline.predict(X))


def test_auto_switches_tags_where_a_candidate_wins_clearly_out_of_fold() -> None:
    X, Y, albums = correlated_data(n_tracks=1000, own_noise=2.0)
    model = make_strategy("auto", candidates="thresholds,stacked", rule="tag").fit(
        X, Y, groups=albums
    )
    assert model.rule_ == "tag"
    assert model.chosen_counts().get("stacked", 0) >= 3
    for name, f1 in model.oof_f1_.items():
        assert f1.shape == (6,), name
    chosen = np.asarray(model.choice_) == "stacked"
    gain = model.oof_f1_["stacked"] - model.oof_f1_["thresholds"]
    assert (gain[chosen] >= model.margin).all()


def test_auto_skips_candidates_that_need_a_taxonomy() -> None:
    X, Y, albums = correlated_data(n_tracks=300)
    model = make_strategy("auto", candidates="thresholds,hierarchical").fit(X, Y, groups=albums)
    assert set(model.oof_f1_) == {"thresholds"}


def test_auto_rejects_itself_and_unknown_candidates() -> None:
    X, Y, _ = correlated_data(n_tracks=200)
    with pytest.raises(InputError, match="own candidate"):
        make_strategy("auto", candidates="thresholds,auto").fit(X, Y)
    with pytest.raises(InputError, match="unknown strategy 'nope'"):
        make_strategy("auto", candidates="nope").fit(X, Y)


def test_auto_with_validation_chooses_on_out_of_sample_tracks(tmp_path: Path) -> None:
    # Training scores are "in-sample": the own score is nearly clean, so cross-validation
    # on them sees no gain in stacking. New tracks' own scores are noisy, where reading the
    # other scores pays; a validation set of such tracks shows it.
    X, Y, albums = correlated_data(n_tracks=800, seed=0, own_noise=0.3)
    X_valid, Y_valid, _ = correlated_data(n_tracks=800, seed=1, own_noise=2.0)
    X_new, Y_new, _ = correlated_data(n_tracks=800, seed=2, own_noise=2.0)
    by_cv = make_strategy("auto", candidates="thresholds,stacked").fit(X, Y, groups=albums)
    by_validation = make_strategy("auto", candidates="thresholds,stacked", rule="tag").fit(
        X, Y, groups=albums, validation=(X_valid, Y_valid)
    )
    assert by_cv.chosen_on_ == "cross-validation"
    assert by_validation.chosen_on_ == "validation"
    gain = by_validation.oof_f1_["stacked"] - by_validation.oof_f1_["thresholds"]
    chosen = np.asarray(by_validation.choice_) == "stacked"
    assert chosen.any() and (gain[chosen] >= by_validation.margin).all()
    assert weighted_f1_score(Y_new, by_validation.predict(X_new)) > weighted_f1_score(
        Y_new, by_cv.predict(X_new)
    )
    save_model(by_validation, tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    assert loaded.chosen_on_ == "validation"  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.predict(X_new), by_validation.predict(X_new))


def test_auto_validation_must_have_the_training_tags() -> None:
    X, Y, _ = correlated_data(n_tracks=200)
    other = TrackScores(X.ids, ("a", "b", "c", "d", "e", "z"), X.tag_scores)
    with pytest.raises(
        InputError,
        match="validation scores' tag columns differ from the training scores': missing 'f'; "
        "not in training 'z'",
    ):
        make_strategy("auto").fit(X, Y, validation=(other, Y))


def test_auto_gives_every_tag_the_strategy_that_wins_overall_in_most_folds() -> None:
    X, Y, albums = correlated_data(n_tracks=1000, own_noise=2.0)
    model = make_strategy("auto", candidates="thresholds,stacked").fit(X, Y, groups=albums)
    assert model.rule_ == "global"
    assert model.choice_ == ["stacked"] * 6
    gain = model.oof_weighted_f1_["stacked"] - model.oof_weighted_f1_["thresholds"]
    assert gain >= model.global_margin
    # The same out-of-fold figures, weighted by the training supports.
    support = Y.sum(axis=0)
    expected = (support * model.oof_f1_["stacked"]).sum() / support.sum()
    assert model.oof_weighted_f1_["stacked"] == pytest.approx(expected)
    stacked = make_strategy("stacked").fit(X, Y, groups=albums)
    np.testing.assert_array_equal(model.predict(X), stacked.predict(X))


@pytest.mark.parametrize(
    "impossible", [{"global_margin": 1.0}, {"global_win_share": 1.01}], ids=["margin", "folds"]
)
def test_auto_global_rule_needs_its_margin_and_its_share_of_folds(
    impossible: dict[str, float],
) -> None:
    X, Y, albums = correlated_data(n_tracks=1000, own_noise=2.0)
    # No candidate qualifies, so "global" keeps every tag on thresholds while
    # "global-or-tag" falls back to choosing per tag.
    strict = {"candidates": "thresholds,stacked", **impossible}
    only_global = make_strategy("auto", rule="global", **strict).fit(X, Y, groups=albums)
    assert only_global.rule_ == "global" and only_global.choice_ == ["thresholds"] * 6
    fallback = make_strategy("auto", **strict).fit(X, Y, groups=albums)
    assert fallback.rule_ == "tag" and "stacked" in fallback.choice_


def test_auto_global_rule_keeps_thresholds_when_nothing_helps() -> None:
    rng = np.random.default_rng(3)
    truth = (rng.random((400, 6)) < 0.3).astype(np.uint8)
    scores = np.clip(0.3 * truth + rng.random((400, 6)) * 0.7, 0, 1)
    X = TrackScores(np.arange(400), TAGS, scores)
    model = make_strategy("auto", candidates="thresholds,stacked,shrunk", rule="global").fit(
        X, truth
    )
    assert model.choice_ == ["thresholds"] * 6


def test_auto_rejects_an_unknown_rule() -> None:
    X, Y, _ = correlated_data(n_tracks=200)
    with pytest.raises(InputError, match="rule must be one of global-or-tag, tag, global"):
        make_strategy("auto", candidates="thresholds", rule="sometimes").fit(X, Y)


def test_auto_rule_and_overall_figures_survive_the_model_file(tmp_path: Path) -> None:
    X, Y, albums = correlated_data(n_tracks=1000, own_noise=2.0)
    model = make_strategy("auto", candidates="thresholds,stacked").fit(X, Y, groups=albums)
    save_model(model, tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    assert loaded.rule_ == model.rule_ == "global"  # type: ignore[attr-defined]
    assert loaded.oof_weighted_f1_ == model.oof_weighted_f1_  # type: ignore[attr-defined]


def test_auto_with_validation_takes_one_strategy_only_when_resamples_agree() -> None:
    X, Y, albums = correlated_data(n_tracks=800, seed=0, own_noise=0.3)
    X_valid, Y_valid, _ = correlated_data(n_tracks=800, seed=1, own_noise=2.0)
    model = make_strategy("auto", candidates="thresholds,stacked").fit(
        X, Y, groups=albums, validation=(X_valid, Y_valid)
    )
    assert model.rule_ == "global" and model.choice_ == ["stacked"] * 6
    # Validation tracks that carry no signal: no bootstrap agreement, no global choice,
    # and (by default, on a validation set) no choice per tag either.
    noise = TrackScores(X_valid.ids, TAGS, np.random.default_rng(4).random((800, 6)))
    model = make_strategy("auto", candidates="thresholds,stacked").fit(
        X, Y, groups=albums, validation=(noise, Y_valid)
    )
    assert model.rule_ == "global" and model.choice_ == ["thresholds"] * 6


def test_bootstrap_win_shares_count_resamples_won_overall_and_per_tag() -> None:
    from tagdecide.strategies.auto import _bootstrap_win_shares

    rng = np.random.default_rng(5)
    truth = (rng.random((300, 4)) < 0.3).astype(np.uint8)
    baseline = (rng.random((300, 4)) < 0.3).astype(np.uint8)
    better_on_first = baseline.copy()
    better_on_first[:, 0] = truth[:, 0]
    shares = _bootstrap_win_shares(
        truth,
        {"thresholds": baseline, "perfect": truth, "same": baseline.copy(), "one": better_on_first},
        seed=0,
    )
    assert shares["perfect"][0] == 1.0 and (shares["perfect"][1] == 1.0).all()
    assert shares["same"][0] == 0.0 and (shares["same"][1] == 0.0).all()
    assert shares["thresholds"][0] == 0.0
    assert shares["one"][0] == 1.0
    np.testing.assert_array_equal(shares["one"][1], [1.0, 0.0, 0.0, 0.0])


def test_fit_command_says_when_auto_took_one_strategy_for_every_tag(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tagdecide.io import write_matrix

    X, Y, albums = correlated_data(n_tracks=1000, own_noise=2.0)
    write_matrix(tmp_path / "x.csv", X.ids, list(TAGS), X.tag_scores, decimals=6)
    write_matrix(tmp_path / "y.csv", X.ids, list(TAGS), Y, decimals=0)
    (tmp_path / "groups.csv").write_text(
        "ChallengeID,album\n" + "".join(f"{i},{a}\n" for i, a in zip(X.ids, albums, strict=True))
    )
    code, _, err = run_cli(
        ["fit", tmp_path / "x.csv", tmp_path / "y.csv", "--groups", tmp_path / "groups.csv",
         "--out", tmp_path / "model.json"]
    )  # fmt: skip
    assert code == 0, err
    assert (
        "auto (cross-validation, one strategy for every tag): tags per strategy: stacked 6" in err
    )
