"""tagdecide.inspection: every tag's rule, read from a fitted model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import TAG_CATEGORIES, TAG_CLASSES, TAGS, Dataset

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.inspection import ModelInspection, inspect_model
from tagdecide.io import read_labelled
from tagdecide.model_file import load_model, save_model
from tagdecide.strategies import AutoStrategy, make_strategy
from tagdecide.taxonomy import read_taxonomy


def _labelled(dataset: Dataset) -> LabelledSet:
    taxonomy = read_taxonomy(dataset.labels)
    return read_labelled(
        dataset.x_csv, dataset.y_csv, taxonomy=taxonomy, groups_path=dataset.groups
    )


def test_hand_computed_thresholds() -> None:
    # rock: the best cut keeps the two positives (0.8 and up); jazz has no positive.
    scores = TrackScores(
        np.arange(4), ("rock", "jazz"), np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.4], [0.1, 0.3]])
    )
    truth = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    found = inspect_model(make_strategy("thresholds").fit(scores, truth))
    rock, jazz = found.tags
    assert (rock.threshold, rock.n_positives, rock.compares) == (0.8, 2, "score")
    assert jazz.never_predicted and jazz.n_positives == 0
    assert (rock.category, rock.class_name) == ("", "")  # no taxonomy
    assert found.f1_source is None and found.choice is None and rock.oof_f1 is None
    assert found.n_tracks == 4 and found.strategy == "thresholds"
    assert jazz.cells()[4] == "never" and rock.cells()[4] == "0.8"


def test_taxonomy_and_training_positives(dataset: Dataset) -> None:
    data = _labelled(dataset)
    model = make_strategy("constant", threshold=0.3).fit(
        data.scores, data.truth, taxonomy=data.taxonomy
    )
    found = inspect_model(model)
    assert [rule.tag for rule in found.tags] == list(TAGS)
    assert [rule.category for rule in found.tags] == list(TAG_CATEGORIES)
    assert [rule.class_name for rule in found.tags] == list(TAG_CLASSES)
    assert [rule.n_positives for rule in found.tags] == data.truth.sum(axis=0).tolist()
    assert {rule.threshold for rule in found.tags} == {0.3}


@pytest.mark.parametrize(("name", "compares"), [("rowwise", "value"), ("shrunk", "score")])
def test_what_the_threshold_compares_with(dataset: Dataset, name: str, compares: str) -> None:
    data = _labelled(dataset)
    model = make_strategy(name).fit(data.scores, data.truth, taxonomy=data.taxonomy)
    found = inspect_model(model)
    assert {rule.compares for rule in found.tags} == {compares}
    assert [rule.threshold for rule in found.tags] == model.thresholds_.tolist()  # type: ignore[attr-defined]


def test_auto_per_tag_choice_threshold_and_out_of_fold_f1(dataset: Dataset) -> None:
    data = _labelled(dataset)
    model = AutoStrategy(
        candidates="thresholds,rowwise", cv=2, rule="tag", regime="out-of-sample"
    ).fit(data.scores, data.truth, groups=data.groups, taxonomy=data.taxonomy)
    found = inspect_model(model)
    assert found.f1_source == "cross-validation"
    assert found.choice == model.choice_summary()
    for index, rule in enumerate(found.tags):
        chosen = model.choice_[index]
        assert rule.strategy == chosen
        member = model.models_[chosen]
        assert rule.threshold == pytest.approx(float(member.thresholds_[index]))  # type: ignore[attr-defined]
        assert rule.oof_f1 == pytest.approx(float(model.oof_f1_[chosen][index]))


def test_json_form_has_no_infinity(tmp_path: Path) -> None:
    scores = TrackScores(np.arange(3), ("a", "b"), np.array([[0.9, 0.1], [0.2, 0.2], [0.1, 0.3]]))
    model = make_strategy("thresholds").fit(scores, np.array([[1, 0], [0, 0], [0, 0]]))
    output = inspect_model(model).to_dict()
    text = json.dumps(output, allow_nan=False)  # raises on inf or NaN
    assert json.loads(text)["tags"][1] == {
        "tag": "b",
        "category": "",
        "strategy": "thresholds",
        "threshold": None,
        "compares": "score",
        "n_positives": 0,
        "oof_f1": None,
        "class": "",
        "never_predicted": True,
    }


def test_same_from_the_model_file(dataset: Dataset, tmp_path: Path) -> None:
    data = _labelled(dataset)
    model = make_strategy("stacked").fit(data.scores, data.truth, taxonomy=data.taxonomy)
    path = tmp_path / "m.json"
    save_model(model, path)
    direct, loaded = inspect_model(model), inspect_model(load_model(path))
    assert [rule.to_dict() for rule in direct.tags] == [rule.to_dict() for rule in loaded.tags]
    assert {rule.compares for rule in loaded.tags} == {"value"}
    assert all(math.isfinite(rule.threshold) or rule.never_predicted for rule in loaded.tags)
    assert len(ModelInspection.COLUMNS) == len(loaded.rows()[0])
