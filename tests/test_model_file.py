"""Tests of model files (``tagdecide.model_file``)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tagdecide._version import __version__
from tagdecide.data import TrackScores
from tagdecide.errors import InputError, ModelFileError
from tagdecide.model_file import FORMAT_NAME, FORMAT_VERSION, load_model, save_model
from tagdecide.strategies import ConstantThreshold, PerTagThresholds, Strategy, make_strategy
from tagdecide.taxonomy import Taxonomy

TAG_NAMES = ("rock", "punk", "cello", "happy")
TAXONOMY = Taxonomy(TAG_NAMES, ["guitar", "guitar", "strings", "mood"], ["G", "G", "I", "M"])


def make_data(n_tracks: int = 60, seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.random((n_tracks, len(TAG_NAMES))) < [0.4, 0.2, 0.0, 0.3]).astype(np.uint8)
    scores = np.clip(0.1 + 0.45 * truth + rng.normal(0, 0.2, truth.shape), 0, 1)
    return TrackScores(np.arange(n_tracks), TAG_NAMES, scores), truth


def fitted(name: str, **params: Any) -> Strategy:
    X, Y = make_data()
    return make_strategy(name, **params).fit(X, Y, taxonomy=TAXONOMY)


def saved_dict(tmp_path: Path, name: str = "thresholds") -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "model.json"
    save_model(fitted(name), path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def rewrite(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "params"), [("constant", {}), ("constant", {"threshold": 0.35}), ("thresholds", {})]
)
def test_round_trip_gives_identical_predictions(
    tmp_path: Path, name: str, params: dict[str, Any]
) -> None:
    strategy = fitted(name, **params)
    path = tmp_path / "model.json"
    save_model(strategy, path)
    loaded = load_model(path)
    assert type(loaded) is type(strategy)
    assert loaded.get_params() == strategy.get_params()
    np.testing.assert_array_equal(loaded.thresholds_, strategy.thresholds_)
    assert loaded.tag_names_ == strategy.tag_names_
    assert loaded.taxonomy_ == TAXONOMY
    assert loaded.n_tracks_ == strategy.n_tracks_
    np.testing.assert_array_equal(loaded.n_positives_, strategy.n_positives_)
    X_new, _ = make_data(n_tracks=40, seed=9)
    # Scores exactly at each threshold must decide the same way after the round trip.
    finite = np.where(np.isfinite(strategy.thresholds_), strategy.thresholds_, 0.5)
    at_threshold = TrackScores(np.array([1]), TAG_NAMES, finite[None, :])
    for X in (X_new, at_threshold):
        np.testing.assert_array_equal(loaded.predict(X), strategy.predict(X))


def test_never_predicted_tag_is_stored_as_null(tmp_path: Path) -> None:
    strategy = fitted("thresholds")
    assert np.isposinf(strategy.thresholds_[2])  # "cello" has no training positives
    path, data = saved_dict(tmp_path)
    stored = data["state"]["thresholds"]
    assert stored[2] is None
    assert all(isinstance(value, float) for j, value in enumerate(stored) if j != 2)
    assert "Infinity" not in path.read_text(encoding="utf-8")
    loaded = load_model(path)
    assert np.isposinf(loaded.thresholds_[2])
    ones = TrackScores(np.array([1]), TAG_NAMES, np.ones((1, 4)))
    assert loaded.predict(ones)[0, 2] == 0


def test_file_layout(tmp_path: Path) -> None:
    _, data = saved_dict(tmp_path)
    assert data["format"] == FORMAT_NAME == "tagdecide-model"
    assert data["format_version"] == FORMAT_VERSION
    assert data["package_version"] == __version__
    assert data["tags"] == list(TAG_NAMES)
    assert data["strategy"] == {"name": "thresholds", "params": {}}
    _, Y = make_data()
    assert data["training"] == {
        "n_tracks": 60,
        "positives": {tag: int(Y[:, j].sum()) for j, tag in enumerate(TAG_NAMES)},
    }
    assert data["taxonomy"] == TAXONOMY.to_dict()
    _, constant = saved_dict(tmp_path, "constant")
    assert constant["strategy"] == {"name": "constant", "params": {"threshold": 0.5}}


def test_file_holds_no_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, data = saved_dict(tmp_path)
    raw = path.read_bytes()
    assert raw.lstrip().startswith(b"{")
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(raw)

    def only_plain_data(value: Any) -> None:
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value)
            for item in value.values():
                only_plain_data(item)
        elif isinstance(value, list):
            for item in value:
                only_plain_data(item)
        else:
            assert value is None or isinstance(value, str | int | float | bool), value
            # no encoded blobs hiding code
            assert not (isinstance(value, str) and len(value) > 200), value[:40]

    only_plain_data(data)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_model must not unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    load_model(path)


def test_saving_an_unfitted_strategy_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot save an unfitted strategy"):
        save_model(PerTagThresholds(), tmp_path / "model.json")
    assert list(tmp_path.iterdir()) == []


def test_saving_over_an_existing_file_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json"
    save_model(fitted("constant", threshold=0.2), path)
    save_model(fitted("thresholds"), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]
    assert isinstance(load_model(path), PerTagThresholds)
    before = path.read_bytes()

    def half_write(self: Path, text: str, *args: object, **kwargs: object) -> int:
        with self.open("w", encoding="utf-8") as out:
            out.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted("constant", threshold=0.9), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


# -- loader errors -----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"none\.json: no such model file"):
        load_model(tmp_path / "none.json")


@pytest.mark.parametrize("content", [b"not json at all", b"\x80\x04K\x01.", b'{"format": '])
def test_not_json(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(
        ModelFileError, match=r"model\.json: not a tagdecide model file \(not JSON\)"
    ):
        load_model(path)


@pytest.mark.parametrize(
    "data", [[1, 2, 3], {"hello": "world"}, {"format": "other-model", "format_version": 1}, "x"]
)
def test_other_json(tmp_path: Path, data: Any) -> None:
    path = rewrite(tmp_path / "model.json", data)
    with pytest.raises(ModelFileError, match="not a tagdecide model file \\(no 'format'"):
        load_model(path)


def test_newer_format_version(tmp_path: Path) -> None:
    path, data = saved_dict(tmp_path)
    data["format_version"] = FORMAT_VERSION + 1
    data["package_version"] = "9.9.9"
    rewrite(path, data)
    with pytest.raises(
        ModelFileError,
        match=rf"newer tagdecide \(model format {FORMAT_VERSION + 1}, package 9\.9\.9\).*upgrade",
    ):
        load_model(path)


@pytest.mark.parametrize("version", [0, -1, "1", None, 1.5])
def test_bad_format_version(tmp_path: Path, version: Any) -> None:
    path, data = saved_dict(tmp_path)
    data["format_version"] = version
    rewrite(path, data)
    with pytest.raises(ModelFileError, match="corrupt model file \\(format_version"):
        load_model(path)


def set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        data = data[key]
    if value is KeyError:
        del data[keys[-1]]
    else:
        data[keys[-1]] = value


@pytest.mark.parametrize(
    ("keys", "value", "message"),
    [
        (("state", "thresholds"), [0.5, 0.5], "expected 4 thresholds"),
        (("state", "thresholds"), "0.5", "expected 4 thresholds"),
        (
            ("state", "thresholds"),
            [0.5, "high", None, 0.2],
            r'state\.thresholds\[1\]: must be a finite number or null, not "high"',
        ),
        (
            ("state", "thresholds"),
            [0.5, [1], None, 0.2],
            r"state\.thresholds\[1\]: must be a finite number or null, not a list",
        ),
        (("state",), KeyError, "state: missing"),
        (("state",), [1, 2], "state: must be an object"),
        (("tags",), [], "tags: must name at least one tag"),
        (("tags",), [1, 2, 3, 4], r"tags\[0\]: must be a string, not 1"),
        (("tags",), KeyError, "tags: missing"),
        (("training",), KeyError, "training: missing"),
        (("training", "n_tracks"), "many", 'training.n_tracks: must be a whole number, not "many"'),
        (("strategy", "name"), "magic", "unknown strategy 'magic'"),
        (("strategy", "params"), {"cutoff": 2}, "bad parameters for strategy 'thresholds'"),
        (("taxonomy",), {"tags": ["a"]}, "taxonomy.tag_categories: missing"),
    ],
)
def test_corrupt_model_file(
    tmp_path: Path, keys: tuple[str, ...], value: Any, message: str
) -> None:
    path, data = saved_dict(tmp_path)
    set_path(data, keys, value)
    rewrite(path, data)
    with pytest.raises(ModelFileError, match=f"model\\.json: corrupt model file \\(.*{message}"):
        load_model(path)


def test_constant_model_with_bad_params(tmp_path: Path) -> None:
    path, data = saved_dict(tmp_path, "constant")
    data["strategy"]["params"] = {"threshold": 0.5, "extra": 1}
    rewrite(path, data)
    with pytest.raises(ModelFileError, match="bad parameters for strategy 'constant'"):
        load_model(path)


@pytest.mark.parametrize(
    ("key", "required"),
    [
        ("format", True),
        ("format_version", True),
        ("tags", True),
        ("training", True),
        ("strategy", True),
        ("state", True),
        ("created", False),
        ("package_version", False),
        ("categories", False),
        ("taxonomy", False),
    ],
)
def test_missing_key(tmp_path: Path, key: str, required: bool) -> None:
    path, data = saved_dict(tmp_path)
    del data[key]
    rewrite(path, data)
    if required:
        with pytest.raises(ModelFileError, match=r"model\.json: (not a tagdecide|corrupt)"):
            load_model(path)
    else:
        assert load_model(path).tag_names_ == TAG_NAMES


def test_loaded_constant_keeps_its_threshold(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save_model(fitted("constant", threshold=0.35), path)
    loaded = load_model(path)
    assert isinstance(loaded, ConstantThreshold)
    assert loaded.threshold == 0.35
    assert loaded.thresholds_.tolist() == [0.35] * 4
