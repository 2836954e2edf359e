"""The HTML report: its content, the `report` command, and how a real browser renders it."""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _chromium import CHROMIUM, DevTools, console_errors
from conftest import Dataset, RunCli

from tagdecide import make_strategy, read_labelled, read_taxonomy, weighted_f1_score
from tagdecide.errors import InputError, TagdecideWarning
from tagdecide.metrics import score_report
from tagdecide.report import build_report, threshold_sweep

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SECTIONS = (
    "headline",
    "per-group",
    "f1-support",
    "threshold-sweep",
    "calibration",
    "tags-per-track",
    "worst-tags",
)
#: src= / href= / url() pointing anywhere but into the page itself.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""")


def _fitted(dataset: Dataset, strategy: str, with_taxonomy: bool = True) -> tuple[Any, Any, Any]:
    taxonomy = read_taxonomy(dataset.labels) if with_taxonomy else None
    if with_taxonomy:
        data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=taxonomy)
    else:  # the category columns are then unknown columns
        with pytest.warns(TagdecideWarning, match="unknown column"):
            data = read_labelled(dataset.x_csv, dataset.y_csv)
    model = make_strategy(strategy).fit(data.scores, data.truth, taxonomy=taxonomy)
    return model, data, taxonomy


def _section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.DOTALL)
    assert match, f"section {key!r} missing"
    return match.group(1)


# -- the library --------------------------------------------------------------------------


def test_threshold_sweep_matches_brute_force_with_ties() -> None:
    values = np.array([0.2, 0.5, 0.5, 0.9, 0.1, 0.5])
    truth = np.array([0, 1, 0, 1, 0, 1])
    sweep = threshold_sweep(values, truth)
    np.testing.assert_array_equal(sweep.thresholds, [0.1, 0.2, 0.5, 0.9])
    for t, precision, recall, f1 in zip(
        sweep.thresholds, sweep.precision, sweep.recall, sweep.f1, strict=True
    ):
        decided = values >= t  # ties decide yes
        tp = int((decided & (truth == 1)).sum())
        assert precision == pytest.approx(tp / decided.sum())
        assert recall == pytest.approx(tp / 3)
        assert f1 == pytest.approx(2 * tp / (decided.sum() + 3))
    # At 0.5: 4 yes (the three tied 0.5 and 0.9), 3 of them right; F1 = 6 / 7.
    assert sweep.f1[2] == pytest.approx(6 / 7)


def test_threshold_sweep_of_a_tag_without_positives_is_zero() -> None:
    sweep = threshold_sweep(np.linspace(0, 1, 500), np.zeros(500), n_points=50)
    assert sweep.thresholds.size == 50
    assert sweep.thresholds[0] == 0 and sweep.thresholds[-1] == 1
    assert not sweep.recall.any() and not sweep.f1.any() and not sweep.precision.any()


def test_report_is_self_contained_with_every_section(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "thresholds")
    page = build_report(model, data.scores, data.truth, taxonomy)
    assert page.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(page)
    assert "<script" not in page and "<link" not in page
    for key in SECTIONS:
        _section(page, key)
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 6  # class bars, category bars, scatter, sweeps, calibration, counts
    for source in images:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        assert base64.b64decode(source[len(prefix) :]).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_figures_equal_the_metrics(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "thresholds")
    page = build_report(model, data.scores, data.truth, taxonomy)
    decisions = model.predict(data.scores)
    weighted = weighted_f1_score(data.truth, decisions)
    constant = weighted_f1_score(data.truth, data.scores.tag_scores >= 0.5)
    headline = _section(page, "headline")
    assert f'<span id="weighted-f1">{weighted:.4f}</span>' in headline
    assert f'<td>constant 0.5 (score &gt;= 0.5)</td><td class="number">{constant:.4f}' in headline
    # A thresholds model is the per-tag-thresholds figure itself.
    assert f'<td>per-tag thresholds</td><td class="number">{weighted:.4f}' in headline
    report = score_report(data.truth, decisions, model.tag_names_, taxonomy)
    groups = _section(page, "per-group")
    for name, value in {**report.per_class, **report.per_category}.items():
        assert f'<td>{name}</td><td class="number">{value:.4f}</td>' in groups
    worst = _section(page, "worst-tags")
    for tag in report.worst_tags(15):
        assert f"<td>{tag.tag}</td>" in worst and f"{tag.weighted_loss:.4f}" in worst
    genres = [j for j, tag in enumerate(model.tag_names_) if taxonomy.class_of(tag) == "Genres"]
    true_genres = data.truth[:, genres].sum(axis=1).mean()
    predicted_genres = decisions[:, genres].sum(axis=1).mean()
    assert (
        f'<td>Genres</td><td class="number">{true_genres:.2f}</td>'
        f'<td class="number">{predicted_genres:.2f}</td>'
    ) in _section(page, "tags-per-track")


def test_report_of_another_strategy_says_thresholds_are_not_computed(dataset: Dataset) -> None:
    model, data, _ = _fitted(dataset, "constant", with_taxonomy=False)
    page = build_report(model, data.scores, data.truth, None)
    headline = _section(page, "headline")
    assert "not computed: the model&#x27;s strategy is &#x27;constant&#x27;" in headline
    assert "no taxonomy" in _section(page, "per-group")
    assert "<td>all tags</td>" in _section(page, "tags-per-track")
    assert len(re.findall(r"<img ", page)) == 4  # no per-group charts


def test_report_of_an_auto_model_says_how_it_chose(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "auto")
    page = build_report(model, data.scores, data.truth, taxonomy)
    note = re.search(r'<p class="note" id="choice">(.*?)</p>', page)
    assert note is not None
    assert note.group(1) == f"{model.choice_summary()}."
    assert note.group(1).startswith("auto (cross-validation, ")
    # Other strategies have no such line.
    other, data, taxonomy = _fitted(dataset, "thresholds")
    assert 'id="choice"' not in build_report(other, data.scores, data.truth, taxonomy)


def test_report_refuses_truth_of_the_wrong_shape(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "thresholds")
    with pytest.raises(InputError, match=r"truth has shape \(59, 5\); expected \(60, 5\)"):
        build_report(model, data.scores, data.truth[1:], taxonomy)


# -- the command --------------------------------------------------------------------------


def _fit_model(run_cli: RunCli, dataset: Dataset, folder: Path) -> Path:
    model_path = folder / "model.json"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels,
         "--strategy", "thresholds", "--out", model_path, "--quiet"]
    )  # fmt: skip
    assert code == 0, err
    return model_path


def test_report_command_writes_the_page(run_cli: RunCli, dataset: Dataset, tmp_path: Path) -> None:
    model_path = _fit_model(run_cli, dataset, tmp_path)
    out = tmp_path / "report.html"
    code, _, err = run_cli(["report", model_path, dataset.x_csv, dataset.y_csv, "--out", out])
    assert code == 0, err
    assert re.fullmatch(rf"wrote the report to {re.escape(str(out))} in \d+\.\d s\n", err)
    page = out.read_text(encoding="utf-8")
    for key in SECTIONS:
        _section(page, key)
    code, _, err = run_cli(
        ["report", model_path, dataset.x_csv, dataset.y_csv, "--out", out, "--quiet"]
    )
    assert code == 0 and err == ""


def test_report_command_on_bad_input_leaves_the_old_report(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    model_path = _fit_model(run_cli, dataset, tmp_path)
    out = tmp_path / "report.html"
    out.write_text("old report", encoding="utf-8")
    lines = dataset.y_csv.read_text().splitlines()
    short_truth = tmp_path / "short_y.csv"
    short_truth.write_text("\n".join(lines[:-1]) + "\n")  # one track fewer than X
    code, out_text, err = run_cli(["report", model_path, dataset.x_csv, short_truth, "--out", out])
    assert code == 2
    assert err.startswith("tagdecide: error:") and len(err.strip().splitlines()) == 1
    assert "short_y.csv" in err and "missing" in err
    assert out.read_text(encoding="utf-8") == "old report"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_demo_writes_the_report(tmp_path: Path) -> None:
    from tagdecide.demo import run_demo

    result = run_demo(
        tmp_path, n_tracks=1500, seed=1, n_folds=2, strategies=["constant", "thresholds"]
    )
    report_path = tmp_path / "report.html"
    assert report_path in result.files
    page = report_path.read_text(encoding="utf-8")
    weighted = result.held_out[result.best]
    assert f'<span id="weighted-f1">{weighted:.4f}</span>' in page


# -- a real browser -----------------------------------------------------------------------


@pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="/usr/bin/chromium is absent (Debian: apt-get install chromium); "
    "the report is not checked in a real browser",
)
def test_report_renders_in_chromium_without_errors(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    model_path = _fit_model(run_cli, dataset, tmp_path)
    out = tmp_path / "report.html"
    code, _, err = run_cli(["report", model_path, dataset.x_csv, dataset.y_csv, "--out", out])
    assert code == 0, err
    browser = DevTools(tmp_path / "chromium-profile")
    try:
        target = browser.send("Target.createTarget", url="about:blank")
        session = browser.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            session=session,
            width=1200,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.send("Page.navigate", session=session, url=out.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        images = browser.send(
            "Runtime.evaluate",
            session=session,
            expression="Array.from(document.images).map("
            "image => ({complete: image.complete, width: image.naturalWidth}))",
            returnByValue=True,
        )["result"]["value"]
        title = browser.send(
            "Runtime.evaluate", session=session, expression="document.title", returnByValue=True
        )["result"]["value"]
        size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = browser.send(
            "Page.captureScreenshot",
            session=session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        time.sleep(0.2)  # let late console messages arrive
        browser.send("Runtime.evaluate", session=session, expression="1")
    finally:
        browser.close()
    assert title.startswith("tagdecide report: thresholds")
    assert len(images) == 6
    assert all(image["complete"] and image["width"] > 0 for image in images), images
    assert console_errors(browser.events) == []
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    shutil.copy(out, ARTIFACTS / "report.html")
