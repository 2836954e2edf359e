"""Tests of the shift check (``tagdecide.shift``), its model-file key, and where the CLI
uses it: ``predict``, ``fit --check-x`` and ``compare --test-x --test-y``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TAGS, Dataset, RunCli, make_dataset, write_csv
from scipy.stats import ks_2samp

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.engines.local import predict_file
from tagdecide.errors import InputError, ModelFileError
from tagdecide.evaluation import score_held_out
from tagdecide.io import read_labelled
from tagdecide.metrics import weighted_f1_score
from tagdecide.model_file import load_model, save_model
from tagdecide.shift import (
    KS_THRESHOLD,
    QUANTILE_LEVELS,
    ClassShift,
    ScoreHistogram,
    ScoreSummary,
    ShiftReport,
    compare_to,
)
from tagdecide.strategies import make_strategy
from tagdecide.taxonomy import Taxonomy, read_taxonomy

NAMES = ("a", "b", "c", "d")


def beta_scores(rng: np.random.Generator, n_tracks: int, n_tags: int = 4) -> np.ndarray:
    """Scores piled up near 0, like real networks' (means about 0.06 to 0.2)."""
    return rng.beta(
        np.linspace(1.0, 2.0, n_tags), np.linspace(8.0, 15.0, n_tags), (n_tracks, n_tags)
    )


# -- the summary ---------------------------------------------------------------------------


def test_summary_quantiles_are_numpys() -> None:
    scores = beta_scores(np.random.default_rng(0), 501)
    summary = ScoreSummary.from_scores(scores, NAMES)
    expected = np.quantile(scores, QUANTILE_LEVELS, axis=0).T
    np.testing.assert_allclose(summary.quantiles, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(summary.means, scores.mean(axis=0))
    assert summary.n_tracks == 501
    assert summary.levels[0] == 0.0 and summary.levels[-1] == 1.0


def test_summary_round_trip_through_json() -> None:
    scores = beta_scores(np.random.default_rng(1), 300)
    summary = ScoreSummary.from_scores(scores, NAMES)
    back = ScoreSummary.from_dict(json.loads(json.dumps(summary.to_dict(), allow_nan=False)))
    assert back.tag_names == NAMES
    assert back.n_tracks == 300
    assert back.levels == summary.levels
    np.testing.assert_allclose(back.quantiles, summary.quantiles, rtol=1e-5)
    np.testing.assert_allclose(back.means, summary.means, rtol=1e-5)


def test_summary_of_no_tracks_is_an_error() -> None:
    with pytest.raises(InputError, match="no tracks"):
        ScoreSummary.from_scores(np.empty((0, 2)), ("a", "b"))
    with pytest.raises(InputError, match=r"expected \(n_tracks, 3\)"):
        ScoreSummary.from_scores(np.zeros((5, 2)), ("a", "b", "c"))
    with pytest.raises(InputError, match="scores must be numbers; found NaN"):
        ScoreSummary.from_scores(np.array([[0.5], [np.nan]]), ("a",))
    with pytest.raises(InputError, match="scores must be numbers; found NaN"):
        ScoreHistogram.from_scores(np.array([[0.5], [np.nan]]))


def test_scores_outside_the_unit_interval_count_as_0_or_1() -> None:
    # Readers refuse them, but strategies (and so summaries) may be fitted on any numbers.
    scores = np.array([[-0.2, 0.5], [0.1, 1.4], [0.3, 0.9]])
    summary = ScoreSummary.from_scores(scores, ("a", "b"))
    assert summary.quantiles[:, 0].tolist() == [0.0, 0.5]
    assert summary.quantiles[:, -1].tolist() == [0.3, 1.0]
    histogram = ScoreHistogram.from_scores(scores)
    assert histogram.counts.sum(axis=1).tolist() == [3, 3]  # nothing spilled to another tag
    assert histogram.counts[0, 0] == 1 and histogram.counts[1, -1] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": [0.0, 1.0]}, "expected 2 means and 2 x 2 quantiles"),
        ({"levels": [0.1, 1.0]}, "levels must increase from 0 to 1"),
        ({"quantiles": [[0.0, 0.5, 0.2], [0.0, 0.1, 1.0]]}, "non-decreasing"),
        ({"quantiles": [[0.0, 0.5, 1.2], [0.0, 0.1, 1.0]]}, "in \\[0, 1\\]"),
        ({"tags": []}, "needs tag names"),
        ({"mean": "x"}, "score_summary: "),
    ],
)
def test_summary_from_bad_dict(change: dict[str, object], message: str) -> None:
    good = {
        "n_tracks": 10,
        "levels": [0.0, 0.5, 1.0],
        "tags": ["a", "b"],
        "mean": [0.2, 0.3],
        "quantiles": [[0.0, 0.1, 0.9], [0.0, 0.2, 1.0]],
    }
    ScoreSummary.from_dict(good)  # the unchanged dict is fine
    with pytest.raises(ModelFileError, match=message):
        ScoreSummary.from_dict({**good, **change})
    with pytest.raises(ModelFileError, match="must be an object"):
        ScoreSummary.from_dict([1, 2])


# -- the histogram and the KS approximation -------------------------------------------------


def test_histogram_in_batches_equals_whole() -> None:
    scores = beta_scores(np.random.default_rng(2), 1000)
    scores[:10] = 0.0
    scores[10:20] = 1.0
    scores[20:30] = 1e-9
    whole = ScoreHistogram.from_scores(scores)
    parts = ScoreHistogram(4)
    for start in (0, 7, 300, 1000):  # a tiny batch, large ones, an empty one
        stop = {0: 7, 7: 300, 300: 1000, 1000: 1000}[start]
        parts.add(np.asfortranarray(scores[start:stop]))
    np.testing.assert_array_equal(parts.counts, whole.counts)
    assert parts.n_tracks == whole.n_tracks == 1000
    np.testing.assert_allclose(parts.means, scores.mean(axis=0))
    assert whole.counts[:, 0].tolist() == [20] * 4  # exact zeros and tiny scores
    assert whole.counts[:, -1].tolist() == [10] * 4  # exact ones


def _in_batches(histogram: ScoreHistogram, scores: np.ndarray, sizes: list[int]) -> None:
    start = 0
    for size in sizes:
        histogram.add(scores[start : start + size])
        start += size
    histogram.add(scores[start:])


def test_sampled_histogram_counts_everything_up_to_the_census() -> None:
    scores = beta_scores(np.random.default_rng(3), 20_000)
    sampled = ScoreHistogram(4, sampled=True)
    _in_batches(sampled, np.asfortranarray(scores), [1, 999, 7_000, 6_543])
    exact = ScoreHistogram.from_scores(scores)
    np.testing.assert_array_equal(sampled.counts, exact.counts)
    assert sampled.n_counted == sampled.n_tracks == 20_000


@pytest.mark.parametrize("sizes", [[30_003], [19_999, 2, 5, 3, 997, 9_997], [1_641] * 18])
def test_sampled_histogram_takes_every_fourth_track_whatever_the_batches(
    sizes: list[int],
) -> None:
    scores = beta_scores(np.random.default_rng(4), 30_003)
    scores[25_000] = 1.0  # a sampled row (20,000 + 4 x 1,250): counts for 4
    scores[25_001] = 0.0  # not sampled: not counted
    sampled = ScoreHistogram(4, sampled=True)
    _in_batches(sampled, scores, sizes)
    # By hand: the first 20,000 rows, then rows 20,000, 20,004, ... 30,000, each for 4.
    census = ScoreHistogram.from_scores(scores[:20_000])
    rest = ScoreHistogram.from_scores(scores[20_000::4])
    np.testing.assert_array_equal(sampled.counts, census.counts + 4 * rest.counts)
    assert sampled.n_tracks == 30_003
    assert sampled.n_counted == 20_000 + 2_501
    np.testing.assert_allclose(sampled.means, scores.mean(axis=0))  # every track summed
    # Shares of the tracks counted (30,004 here): the CDF just below 1 leaves out exactly
    # the sampled row at 1 (weight 4), and is not pulled off by the total's rounding.
    total = 20_000 + 4 * 2_501
    assert sampled.counts.sum(axis=1).tolist() == [total] * 4
    np.testing.assert_allclose(sampled.cdf_points()[1][:, -2], 1 - 4 / total)


def test_sampled_histogram_buffers_codes_between_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    import tagdecide.shift as shift

    scores = beta_scores(np.random.default_rng(5), 3_000)
    monkeypatch.setattr(shift, "_PENDING_CODES", 1_000)  # a count every batch or so
    often = ScoreHistogram(4)
    _in_batches(often, scores, [100] * 20)
    monkeypatch.setattr(shift, "_PENDING_CODES", 10**9)  # one count at the end
    once = ScoreHistogram(4)
    _in_batches(once, scores, [100] * 20)
    np.testing.assert_array_equal(often.counts, once.counts)
    np.testing.assert_array_equal(once.counts, ScoreHistogram.from_scores(scores).counts)


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_sampled_histogram_gives_the_exact_verdict(factor: float) -> None:
    rng = np.random.default_rng(6)
    summary = ScoreSummary.from_scores(beta_scores(rng, 20_000), NAMES)
    new = factor * beta_scores(rng, 120_000)
    exact, sampled = ScoreHistogram(4), ScoreHistogram(4, sampled=True)
    _in_batches(exact, new, [1_600] * 74)
    _in_batches(sampled, new, [1_600] * 74)
    exact_report, sampled_report = compare_to(summary, exact), compare_to(summary, sampled)
    assert sampled_report.shifted == exact_report.shifted == (factor != 1.0)
    ks_exact = np.array([tag.ks for tag in exact_report.tags])
    ks_sampled = np.array([tag.ks for tag in sampled_report.tags])
    assert np.abs(ks_sampled - ks_exact).max() < 0.01
    assert sampled_report.n_new == 120_000
    assert sampled_report.noise_level > exact_report.noise_level  # fewer tracks counted


@pytest.mark.parametrize("seed", range(6))
def test_ks_close_to_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_reference, n_new = rng.integers(300, 3000, size=2)
    reference = beta_scores(rng, int(n_reference))
    # From no shift to a large one, in scale and in shape; one tag with 4-decimal scores.
    new = beta_scores(rng, int(n_new)) * np.array([1.0, 0.9, 0.7, 0.5])
    new[:, 1] = rng.beta(1.2, 6.0, int(n_new))
    reference[:, 3], new[:, 3] = np.round(reference[:, 3], 4), np.round(new[:, 3], 4)
    report = compare_to(ScoreSummary.from_scores(reference, NAMES), new)
    for j, tag in enumerate(report.tags):
        exact = ks_2samp(reference[:, j], new[:, j]).statistic
        assert tag.ks == pytest.approx(exact, abs=0.02), tag


def test_identical_scores_with_atoms_give_small_ks() -> None:
    rng = np.random.default_rng(3)
    scores = beta_scores(rng, 2000)
    scores[rng.random(scores.shape) < 0.3] = 0.0  # 30 % exactly 0: a jump in both CDFs
    scores[rng.random(scores.shape) < 0.01] = 1.0
    report = compare_to(ScoreSummary.from_scores(scores, NAMES), scores)
    # The summary knows the size of an atom only to the nearest stored level (0.05 apart).
    assert max(tag.ks for tag in report.tags) <= 0.05
    assert not report.shifted


def test_same_distribution_is_not_shifted() -> None:
    rng = np.random.default_rng(4)
    summary = ScoreSummary.from_scores(beta_scores(rng, 3000), NAMES)
    report = compare_to(summary, beta_scores(rng, 3000))
    assert not report.shifted
    [only] = report.classes
    assert only.name == "all" and only.n_tags == 4
    assert only.median_ks < 0.05
    assert report.threshold == KS_THRESHOLD
    assert report.lines(only_shifted=True) == []
    assert report.lines()[0].startswith("no shift: all: mean score ")


def test_shrunk_scores_are_shifted_downwards() -> None:
    rng = np.random.default_rng(5)
    summary = ScoreSummary.from_scores(beta_scores(rng, 3000), NAMES)
    report = compare_to(summary, 0.6 * beta_scores(rng, 2000))
    assert report.shifted
    [only] = report.classes
    assert only.shifted and only.share_above == 1.0
    assert only.mean_new < only.mean_reference
    assert only.mean_new == pytest.approx(0.6 * only.mean_reference, rel=0.05)
    assert all(tag.mean_new < tag.mean_reference for tag in report.tags)
    [line] = report.lines(only_shifted=True, new="test")
    assert line.startswith(f"shift: all: mean score {only.mean_reference:.3f} (training) vs ")
    assert f"(test), median KS {only.median_ks:.2f} over 4 tags (4 above 0.10)" in line
    assert line.endswith("-- decisions tuned on training scores may not transfer")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["shifted"] is True
    assert data["classes"][0]["shifted"] is True
    assert [tag["tag"] for tag in data["tags"]] == list(NAMES)


def test_small_samples_need_a_larger_gap() -> None:
    rng = np.random.default_rng(6)
    summary = ScoreSummary.from_scores(beta_scores(rng, 40), NAMES)
    report = compare_to(summary, beta_scores(rng, 40))
    # Two samples of 40 often differ by a KS of 0.15 by chance alone.
    assert report.threshold == pytest.approx(1.628 * np.sqrt(2 / 40), abs=1e-3)
    assert not report.shifted


def test_classes_from_the_taxonomy() -> None:
    taxonomy = Taxonomy(
        ["m1", "g1", "m2", "g2", "m3"],
        ["mood", "rock", "mood", "rock", "mood"],
        ["Moods", "Genres", "Moods", "Genres", "Moods"],
    )
    rng = np.random.default_rng(7)
    reference = beta_scores(rng, 2000, 5)
    new = beta_scores(rng, 2000, 5)
    new[:, [0, 2, 4]] *= 0.5  # only the moods shrink
    report = compare_to(ScoreSummary.from_scores(reference, taxonomy.tags), new, taxonomy)
    moods, genres = report.classes  # in the taxonomy's class order
    assert (moods.name, moods.n_tags, moods.shifted) == ("Moods", 3, True)
    assert (genres.name, genres.n_tags, genres.shifted) == ("Genres", 2, False)
    assert genres.mean_reference == pytest.approx(reference[:, [1, 3]].mean())
    assert moods.mean_new == pytest.approx(new[:, [0, 2, 4]].mean())
    assert [tag.class_name for tag in report.tags] == list(taxonomy.tag_classes)
    [line] = report.lines(only_shifted=True)
    assert line.startswith("shift: Moods: ")


def test_lines_format() -> None:
    report = ShiftReport(
        tags=[],
        classes=[ClassShift("Moods", 46, 0.1123, 0.0814, 0.1412, 31 / 46, True)],
        n_reference=6000,
        n_new=2000,
        threshold=0.1,
        noise_level=0.04,
    )
    assert report.lines() == [
        "shift: Moods: mean score 0.112 (training) vs 0.081 (these tracks), median KS 0.14 "
        "over 46 tags (31 above 0.10) -- decisions tuned on training scores may not transfer"
    ]


def test_compare_to_checks_columns() -> None:
    summary = ScoreSummary.from_scores(np.full((3, 2), 0.5), ("a", "b"))
    with pytest.raises(InputError, match="3 score columns for 2 summarised tags"):
        compare_to(summary, np.full((3, 3), 0.5))
    with pytest.raises(InputError, match="no tracks"):
        compare_to(summary, ScoreHistogram(2))


# -- model files and streaming prediction --------------------------------------------------


def fitted_model(n_tracks: int = 200) -> tuple[TrackScores, object]:
    rng = np.random.default_rng(8)
    truth = (rng.random((n_tracks, 4)) < 0.3).astype(np.uint8)
    scores = np.clip(0.3 * truth + beta_scores(rng, n_tracks), 0, 1)
    X = TrackScores(np.arange(n_tracks), NAMES, scores)
    return X, make_strategy("thresholds").fit(X, truth)


def test_fit_keeps_the_training_summary(tmp_path: Path) -> None:
    X, model = fitted_model()
    summary = model.score_summary_  # type: ignore[attr-defined]
    assert summary.tag_names == NAMES and summary.n_tracks == 200
    np.testing.assert_allclose(summary.means, X.tag_scores.mean(axis=0))
    path = tmp_path / "model.json"
    save_model(model, path)  # type: ignore[arg-type]
    data = json.loads(path.read_text())
    assert data["format_version"] == 1
    assert data["score_summary"]["tags"] == list(NAMES)
    loaded = load_model(path)
    assert loaded.score_summary_ is not None
    np.testing.assert_allclose(loaded.score_summary_.quantiles, summary.quantiles, rtol=1e-5)


def test_model_file_without_summary_loads(tmp_path: Path) -> None:
    X, model = fitted_model()
    path = tmp_path / "model.json"
    save_model(model, path)  # type: ignore[arg-type]
    data = json.loads(path.read_text())
    del data["score_summary"]  # as written before the key existed
    path.write_text(json.dumps(data))
    loaded = load_model(path)
    assert loaded.score_summary_ is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]
    save_model(loaded, tmp_path / "again.json")  # re-saved: the key is null, still loads
    assert json.loads((tmp_path / "again.json").read_text())["score_summary"] is None
    assert load_model(tmp_path / "again.json").score_summary_ is None
    # predict_file has nothing to compare with, so it reports nothing.
    x_csv = write_csv(
        tmp_path / "X.csv",
        {"ChallengeID": [str(i) for i in X.ids]}
        | {name: [f"{v:.6f}" for v in X.tag_scores[:, j]] for j, name in enumerate(NAMES)},
    )
    reports: list[ShiftReport] = []
    predict_file(loaded, x_csv, tmp_path / "d.csv", on_shift=reports.append)
    assert reports == []


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ({"n_tracks": 1}, "score_summary.tags: missing"),
        ("yes", 'score_summary: must be an object, not "yes"'),
    ],
)
def test_corrupt_summary_in_model_file(tmp_path: Path, summary: object, message: str) -> None:
    _, model = fitted_model()
    path = tmp_path / "model.json"
    save_model(model, path)  # type: ignore[arg-type]
    data = json.loads(path.read_text())
    data["score_summary"] = summary
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=f"corrupt model file \\({message}"):
        load_model(path)


def test_summary_tags_must_match_model_tags(tmp_path: Path) -> None:
    _, model = fitted_model()
    path = tmp_path / "model.json"
    save_model(model, path)  # type: ignore[arg-type]
    data = json.loads(path.read_text())
    data["score_summary"]["tags"] = ["w", "x", "y", "z"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="its tags differ from 'tags'"):
        load_model(path)


def test_predict_file_reports_shift_while_streaming(tmp_path: Path) -> None:
    X, model = fitted_model(400)
    columns = {"ChallengeID": [str(i) for i in X.ids]}
    for j, name in enumerate(NAMES):
        columns[name] = [f"{0.4 * v:.6f}" for v in X.tag_scores[:, j]]
    x_csv = write_csv(tmp_path / "X.csv", columns)
    reports: list[ShiftReport] = []
    predict_file(model, x_csv, tmp_path / "d.csv", on_shift=reports.append)  # type: ignore[arg-type]
    [report] = reports
    assert report.n_new == 400 and report.shifted
    expected = compare_to(model.score_summary_, 0.4 * X.tag_scores)  # type: ignore[attr-defined]
    assert [tag.ks for tag in report.tags] == pytest.approx([t.ks for t in expected.tags], abs=1e-3)


# -- held-out evaluation (library) ---------------------------------------------------------


def test_score_held_out_matches_a_manual_fit(dataset: Dataset, tmp_path: Path) -> None:
    taxonomy = read_taxonomy(dataset.labels)
    train = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=taxonomy)
    other = make_dataset(_folder(tmp_path, "test"), seed=1)
    test = read_labelled(other.x_csv, other.y_csv, taxonomy=taxonomy)
    strategies = [make_strategy("thresholds"), make_strategy("constant")]
    result = score_held_out(strategies, train, test)
    model = make_strategy("thresholds").fit(train.scores, train.truth, taxonomy=taxonomy)
    manual = weighted_f1_score(test.truth, model.predict(test.scores))
    assert result.weighted_f1["thresholds"] == pytest.approx(manual)
    assert set(result.per_class["constant"]) == {"Genres", "Moods"}
    assert result.n_tracks == other.n_tracks
    assert [item.name for item in result.shift.classes] == ["Genres", "Moods"]
    assert not result.shift.shifted  # the same generator: no shift

    # The held-out truth may list its tags in another order; a missing tag is an error.
    order = list(reversed(range(len(TAGS))))
    reordered = LabelledSet(
        TrackScores(
            test.scores.ids,
            tuple(TAGS[j] for j in order),
            test.scores.tag_scores[:, order],
            test.scores.category_names,
            test.scores.category_scores,
        ),
        test.truth[:, order],
        taxonomy=taxonomy,
    )
    again = score_held_out(strategies, train, reordered)
    assert again.weighted_f1 == result.weighted_f1
    fewer = LabelledSet(
        TrackScores(test.scores.ids, TAGS[:4], test.scores.tag_scores[:, :4]), test.truth[:, :4]
    )
    with pytest.raises(InputError, match=r"test_y.csv: 1 training tag\(s\) missing: 'calm'"):
        score_held_out(strategies, train, fewer, test_source="test_y.csv")


# -- command line --------------------------------------------------------------------------


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def shrunk_x(dataset: Dataset, factor: float) -> Path:
    """X with every tag score multiplied by ``factor`` (category scores unchanged)."""
    columns = dataset.x_columns()
    for tag in TAGS:
        columns[tag] = [f"{float(cell) * factor:.4f}" for cell in columns[tag]]
    return write_csv(dataset.path("shrunk_X.csv"), columns)


@pytest.fixture
def model_path(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--out", path]
    )
    assert code == 0, err
    return path


def test_predict_on_training_file_reports_no_shift(
    dataset: Dataset, model_path: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _, err = run_cli(["predict", model_path, dataset.x_csv, "--out", tmp_path / "d.csv"])
    assert code == 0, err
    assert err.splitlines() == [f"decided 60 tracks x 5 tags; wrote {tmp_path / 'd.csv'}"]


def test_predict_reports_shift(
    dataset: Dataset, model_path: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _, err = run_cli(
        ["predict", model_path, shrunk_x(dataset, 0.3), "--out", tmp_path / "d.csv"]
    )
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("decided 60 tracks")
    assert [line.split(":")[:2] for line in lines[1:]] == [
        ["shift", " Genres"],
        ["shift", " Moods"],
    ]
    assert "(training) vs " in lines[1] and "(these tracks)" in lines[1]
    assert lines[1].endswith("may not transfer")


def test_predict_quiet_says_nothing(
    dataset: Dataset, model_path: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _, err = run_cli(
        ["predict", model_path, shrunk_x(dataset, 0.3), "--out", tmp_path / "d.csv", "--quiet"]
    )
    assert code == 0
    assert err == ""


def test_fit_check_x(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    args = [
        "fit",
        "--strategy",
        "thresholds",
        dataset.x_csv,
        dataset.y_csv,
        "--labels",
        dataset.labels,
        "--no-estimate",  # the lines counted here are the shift check's
    ]
    code, _, err = run_cli([*args, "--out", tmp_path / "m.json"])
    assert code == 0
    assert "shift" not in err  # nothing about shift unless asked
    code, _, err = run_cli(
        [*args, "--out", tmp_path / "m.json", "--check-x", shrunk_x(dataset, 0.3)]
    )
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("fitted") and lines[1].startswith("training scores look")
    assert len(lines) == 4
    assert lines[2].startswith("shift: Genres: ") and "(shrunk_X.csv)" in lines[2]
    code, _, err = run_cli([*args, "--out", tmp_path / "m.json", "--check-x", dataset.x_csv])
    assert [line.split(":")[0] for line in err.splitlines()[2:]] == ["no shift", "no shift"]
    code, _, err = run_cli([*args, "--out", tmp_path / "m.json", "--check-x", tmp_path / "no.csv"])
    assert code == 2
    assert err.splitlines() == [f"tagdecide: error: {tmp_path / 'no.csv'}: no such file"]


def _compare_args(dataset: Dataset, test: Dataset) -> list[object]:
    return [
        "compare",
        dataset.x_csv,
        dataset.y_csv,
        "--labels",
        dataset.labels,
        "--groups",
        dataset.groups,
        "--folds",
        "2",
        "--strategies",
        "thresholds,constant",
        "--test-x",
        test.x_csv,
        "--test-y",
        test.y_csv,
    ]


def test_compare_with_held_out_set(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    test = make_dataset(_folder(tmp_path, "test"), seed=1)
    code, out, err = run_cli(_compare_args(dataset, test))
    assert code == 0, err
    assert "held-out" in out.splitlines()[2]  # the table's header row
    assert f"scored on the 60 tracks of {test.x_csv}" in out
    assert "no shift: Genres: " in out and "no shift: Moods: " in out
    assert "(held-out)" in out

    code, out, err = run_cli([*_compare_args(dataset, test), "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert set(data["held_out"]["weighted_f1"]) == {"thresholds", "constant"}
    assert set(data["held_out"]["per_class"]["thresholds"]) == {"Genres", "Moods"}
    assert data["held_out"]["n_tracks"] == 60
    assert data["shift"]["shifted"] is False
    assert [item["class"] for item in data["shift"]["classes"]] == ["Genres", "Moods"]
    assert len(data["results"]) == 2  # the cross-validated leaderboard is still there


def test_compare_test_x_needs_test_y(dataset: Dataset, run_cli: RunCli) -> None:
    args = ["compare", dataset.x_csv, dataset.y_csv, "--test-x", dataset.x_csv]
    code, out, err = run_cli(args)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "tagdecide: error: --test-x and --test-y go together: give both or neither"
    ]
