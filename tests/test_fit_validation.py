"""``validation`` in the shared ``fit`` signature: checked by the base, refused by the
strategies that cannot use one (every one but ``auto``), never silently ignored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies import available_strategies, make_strategy, strategy_class

TAGS = ("a", "b", "c")
CATEGORIES = ("ab", "c-only")


def data(n_tracks: int = 120, seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.random((n_tracks, 3)) < [0.3, 0.2, 0.4]).astype(np.uint8)
    scores = np.clip(0.2 + 0.5 * truth + rng.normal(0, 0.2, truth.shape), 0, 1)
    categories = np.clip(rng.random((n_tracks, 2)), 0, 1)
    ids = np.arange(500 + 1000 * seed, 500 + 1000 * seed + n_tracks)
    return TrackScores(ids, TAGS, scores, CATEGORIES, categories), truth


def fit_auto_with(validation: object) -> None:
    X, Y = data()
    make_strategy("auto", candidates="thresholds").fit(X, Y, validation=validation)  # type: ignore[arg-type]


def test_only_auto_uses_a_validation_set() -> None:
    users = [name for name in available_strategies() if strategy_class(name).uses_validation]
    assert users == ["auto"]


@pytest.mark.parametrize("name", sorted(set(available_strategies()) - {"auto"}))
def test_strategies_that_cannot_use_a_validation_set_refuse_one(name: str) -> None:
    X, Y = data()
    valid = data(seed=1)
    with pytest.raises(
        InputError, match=f"strategy '{name}' cannot use a validation set; auto can"
    ):
        make_strategy(name).fit(X, Y, validation=valid)
    # The refusal comes before any work, and the class says it without data.
    with pytest.raises(InputError, match="cannot use a validation set"):
        strategy_class(name).check_validation_use()
    strategy_class("auto").check_validation_use()


def test_auto_chooses_on_the_validation_set_and_keeps_no_copy_of_it() -> None:
    X, Y = data()
    model = make_strategy("auto", candidates="thresholds,shrunk").fit(X, Y, validation=data(seed=1))
    assert model.chosen_on_ == "validation"  # type: ignore[attr-defined]
    assert not [key for key in vars(model) if "validation" in key and not key.endswith("_")]


def test_validation_must_be_a_pair() -> None:
    X, _ = data(seed=1)
    with pytest.raises(InputError, match=r"validation must be a pair \(scores, truth\); got list"):
        fit_auto_with([X])
    # An array is read as predict reads one: the training columns (5: tags, categories).
    with pytest.raises(
        InputError, match=r"^validation scores has 3 features, but \w+ is expecting 5 features"
    ):
        fit_auto_with((X.tag_scores, np.zeros((120, 3))))


def _model_json(model: object) -> str:
    from tagdecide.model_file import model_to_dict

    document = model_to_dict(model)
    document.pop("created", None)
    return json.dumps(document, sort_keys=True)


def test_validation_in_any_form_predict_takes_gives_the_same_choice() -> None:
    """DataFrames (pandas and polars, columns by name, in another order) and arrays (the
    training column order) choose as TrackScores do: the same model file."""
    pandas = pytest.importorskip("pandas")
    polars = pytest.importorskip("polars")
    X, Y = data()
    valid_X, valid_Y = data(seed=1)

    def fitted(validation: object) -> str:
        model = make_strategy("auto", candidates="thresholds,shrunk")
        return _model_json(model.fit(X, Y, validation=validation))  # type: ignore[arg-type]

    expected = fitted((valid_X, valid_Y))
    matrix = np.hstack([valid_X.tag_scores, valid_X.category_scores])
    columns = [*TAGS, *CATEGORIES]
    frame = pandas.DataFrame(matrix, columns=columns)[[*CATEGORIES, "c", "a", "b"]]
    truth = pandas.DataFrame(valid_Y, columns=TAGS)[["b", "c", "a"]]
    assert fitted((frame, truth)) == expected
    assert fitted((polars.from_pandas(frame), polars.from_pandas(truth))) == expected
    assert fitted((matrix, valid_Y)) == expected
    assert fitted([matrix, valid_Y.tolist()]) == expected


def test_validation_frames_are_checked_like_predicts_input() -> None:
    pandas = pytest.importorskip("pandas")
    valid_X, valid_Y = data(seed=1)
    frame = pandas.DataFrame(
        np.hstack([valid_X.tag_scores, valid_X.category_scores]), columns=[*TAGS, *CATEGORIES]
    )
    with pytest.raises(InputError, match=r"^validation scores: missing column\(s\) 'c'$"):
        fit_auto_with((frame.drop(columns="c"), valid_Y))
    with pytest.raises(InputError, match=r"^validation scores: column\(s\) not seen in fit 'd'"):
        fit_auto_with((frame.assign(d=0.5), valid_Y))
    broken = frame.copy()
    broken.loc[7, "b"] = 1.5
    with pytest.raises(InputError, match=r"^validation scores: .*'b'.*1\.5"):
        fit_auto_with((broken, valid_Y))
    with pytest.raises(InputError, match="^Y: missing tag column"):
        fit_auto_with((frame, pandas.DataFrame(valid_Y[:, :2], columns=TAGS[:2])))
    # A refused validation set leaves the strategy unfitted.
    model = make_strategy("auto", candidates="thresholds")
    X, Y = data()
    with pytest.raises(InputError):
        model.fit(X, Y, validation=(frame.drop(columns="c"), valid_Y))
    assert not hasattr(model, "tag_names_")


def test_validation_tags_must_be_the_training_tags_in_order() -> None:
    X, Y = data(seed=1)
    reordered = TrackScores(X.ids, ("b", "a", "c"), X.tag_scores, CATEGORIES, X.category_scores)
    with pytest.raises(InputError, match="tag columns differ .*: the same names in another order"):
        fit_auto_with((reordered, Y))
    fewer = TrackScores(X.ids, ("a", "b"), X.tag_scores[:, :2], CATEGORIES, X.category_scores)
    with pytest.raises(
        InputError, match="tag columns differ from the training scores': missing 'c'"
    ):
        fit_auto_with((fewer, Y[:, :2]))


def test_validation_needs_the_category_columns_of_a_strategy_that_reads_them() -> None:
    X, Y = data(seed=1)
    without = TrackScores(X.ids, TAGS, X.tag_scores)
    with pytest.raises(
        InputError, match="validation scores have no category columns; the training"
    ):
        fit_auto_with((without, Y))
    renamed = TrackScores(X.ids, TAGS, X.tag_scores, ("ab", "other"), X.category_scores)
    with pytest.raises(
        InputError, match="category columns differ .*: missing 'c-only'; not in training 'other'"
    ):
        fit_auto_with((renamed, Y))


def test_validation_truth_must_have_one_row_per_track_and_a_column_per_tag() -> None:
    X, Y = data(seed=1)
    with pytest.raises(InputError, match=r"validation truth has shape \(119, 3\) but its scores"):
        fit_auto_with((X, Y[1:]))


def test_validation_truth_must_be_zero_or_one_naming_the_culprit() -> None:
    X, Y = data(seed=1)
    Y = Y.astype(np.int64)
    Y[4, 1] = 2
    with pytest.raises(
        InputError, match="validation truth: column 'b', ChallengeID 1504: value 2; truth must be 0"
    ):
        fit_auto_with((X, Y))


@pytest.mark.parametrize(("where", "column"), [("tag", "c"), ("category", "ab")])
def test_validation_scores_must_be_in_the_unit_interval_naming_the_culprit(
    where: str, column: str
) -> None:
    X, Y = data(seed=1)
    tags, categories = X.tag_scores.copy(), X.category_scores.copy()  # type: ignore[union-attr]
    (tags if where == "tag" else categories)[7, 2 if where == "tag" else 0] = 1.5
    bad = TrackScores(X.ids, TAGS, tags, CATEGORIES, categories)
    with pytest.raises(InputError, match=f"validation scores: column '{column}', ChallengeID 1507"):
        fit_auto_with((bad, Y))
