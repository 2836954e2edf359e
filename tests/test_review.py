"""The review queue (``tagdecide review``) and the decision rule it reads."""

from __future__ import annotations

import csv
from pathlib import Path

import _shared
import numpy as np
import pytest
from conftest import Dataset, RunCli

from tagdecide import make_strategy
from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.errors import InputError
from tagdecide.review import review_queue


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return _shared.catalogue(800, seed=5)  # test_explain reads the same one


@pytest.mark.parametrize(
    "name", ["constant", "thresholds", "shrunk", "rowwise", "stacked", "hierarchical"]
)
def test_decision_rule_reproduces_predict(name: str, catalogue) -> None:  # type: ignore[no-untyped-def]
    test = split_scores(catalogue, catalogue.test)
    model = _shared.fitted_on_train(name, 800, seed=5)
    values, thresholds = model.decision_rule(test)
    assert values.shape == (test.n_tracks, test.n_tags)
    assert thresholds.shape == (test.n_tags,)
    np.testing.assert_array_equal(model.predict(test), values >= thresholds)


def test_decision_rule_of_auto_reproduces_predict_across_its_members(catalogue) -> None:  # type: ignore[no-untyped-def]
    # Any gain moves a tag (margin 0, no share of folds needed), so the tags follow several
    # members, each with its own kind of values (scores, ratios, z-scores, stacked logits);
    # two outer folds, and no hierarchical (its own decision rule is checked above), keep
    # the choice quick.
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    model = make_strategy(
        "auto",
        candidates="thresholds,shrunk,rowwise,stacked",
        regime="out-of-sample",
        rule="tag",
        margin=0.0,
        min_win_share=0.0,
        cv=2,
    ).fit(train, catalogue.train.truth, groups=catalogue.train.albums, taxonomy=catalogue.taxonomy)
    assert len(model.member_strategies()) >= 3, model.chosen_counts()  # type: ignore[attr-defined]
    values, thresholds = model.decision_rule(test)
    assert values.shape == (test.n_tracks, test.n_tags)
    assert thresholds.shape == (test.n_tags,)
    np.testing.assert_array_equal(model.predict(test), values >= thresholds)


def small_model() -> tuple[TrackScores, object]:
    scores = np.array([[0.9, 0.2, 0.3], [0.52, 0.8, 0.1], [0.1, 0.45, 0.2], [0.47, 0.6, 0.4]])
    truth = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]])  # tag 2: no positives
    X = TrackScores(np.array([10, 11, 12, 13]), ("a", "b", "c"), scores)
    return X, make_strategy("thresholds").fit(X, truth)


def test_queue_is_sorted_by_distance_and_skips_never_predicted_tags() -> None:
    X, model = small_model()
    queue = review_queue(model, X, top=100)  # type: ignore[arg-type]
    assert len(queue) == 8  # 4 tracks x 2 tags; tag "c" is never predicted
    assert all(item.tag != "c" for item in queue)
    distances = [item.distance for item in queue]
    assert distances == sorted(distances)
    decisions = model.predict(X)  # type: ignore[attr-defined]
    for item in queue:
        row = list(X.ids).index(item.track)
        assert item.decision == decisions[row, X.tag_names.index(item.tag)]
        assert item.distance == pytest.approx(
            abs(item.value - item.threshold) / X.tag_scores[:, X.tag_names.index(item.tag)].std()
        )
    # The threshold itself is a decision exactly on the boundary.
    assert queue[0].distance == 0.0 and queue[0].decision == 1


def test_queue_is_cut_at_top_and_rejects_nonpositive_top() -> None:
    X, model = small_model()
    assert len(review_queue(model, X, top=3)) == 3  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least 1"):
        review_queue(model, X, top=0)  # type: ignore[arg-type]


def test_review_command_writes_the_queue(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    code, _, err = run_cli(["fit", "--strategy", "thresholds", dataset.x_csv, dataset.y_csv,
                            "--labels", dataset.labels, "--out", model, "-q"])  # fmt: skip
    assert code == 0, err
    queue = tmp_path / "queue.csv"
    code, _, err = run_cli(["review", model, dataset.x_csv, "--top", 7, "--out", queue])
    assert code == 0, err
    assert "warning" not in err  # the taxonomy's category columns are known columns
    with queue.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7
    assert [int(row["rank"]) for row in rows] == list(range(1, 8))
    distances = [float(row["distance"]) for row in rows]
    assert distances == sorted(distances)
    assert {row["tag"] for row in rows} <= {"blues-rock", "punk", "happy", "sad", "calm"}


def test_review_command_bad_input_leaves_the_old_queue(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    queue = tmp_path / "queue.csv"
    queue.write_bytes(b"old queue\n")
    not_a_model = tmp_path / "model.json"
    not_a_model.write_text("{}")
    code, _, err = run_cli(["review", not_a_model, dataset.x_csv, "--out", queue])
    assert code == 2
    assert err.startswith("tagdecide: error:") and "not a tagdecide model" in err
    assert queue.read_bytes() == b"old queue\n"
