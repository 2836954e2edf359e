"""The HTML report: its content and the `report` command (the page in a real browser:
test_report_browser.py)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow
import pytest
import sklearn
from conftest import TAG_CATEGORIES, TAG_CLASSES, TAGS, Dataset, RunCli
from sklearn.metrics import f1_score, precision_score, recall_score

import tagdecide
from tagdecide import make_strategy, read_labelled, read_taxonomy, weighted_f1_score
from tagdecide.data import TrackScores
from tagdecide.errors import InputError, TagdecideWarning
from tagdecide.inspection import inspect_model
from tagdecide.metrics import score_report
from tagdecide.report import build_report, describe_file, threshold_sweep

SECTIONS = (
    "evaluated",
    "headline",
    "per-group",
    "f1-support",
    "threshold-sweep",
    "calibration",
    "tags-per-track",
    "worst-tags",
    "all-tags",
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


def _tag_table(page: str) -> tuple[list[str], list[list[str]]]:
    """The table of every tag: its column names and its rows' cells, as text."""
    section = _section(page, "all-tags")
    header = [html.unescape(name) for name in re.findall(r"<button[^>]*>(.*?)</button>", section)]
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.DOTALL)
    assert body is not None
    rows = [
        [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1))
    ]
    return header, rows


def _facts(page: str) -> dict[str, str]:
    """The "What was evaluated" table: label -> cell (HTML, as written)."""
    section = _section(page, "evaluated")
    return dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', section))


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
    assert "<link" not in page
    # One inline script (the table's sorting and filter), nothing loaded from elsewhere.
    assert len(re.findall(r"<script", page)) == 1 and "<script>" in page
    for key in SECTIONS:
        _section(page, key)
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 4  # scatter, sweeps, calibration, counts (groups: a table, no chart)
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
    support = data.truth.sum(axis=0)
    for level, values in (("class", report.per_class), ("category", report.per_category)):
        for name, value in values.items():
            members = [
                j
                for j, tag in enumerate(model.tag_names_)
                if (taxonomy.class_of(tag) if level == "class" else taxonomy.category_of(tag))
                == name
            ]
            label = f'<th scope="rowgroup">{name}</th>' if level == "class" else f"<td>{name}</td>"
            assert (
                f'<tr class="{level}">{label}<td>{len(members)}</td>'
                f"<td>{support[members].sum()}</td><td>{value:.4f}</td>"
            ) in groups
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
    assert len(re.findall(r"<img ", page)) == 4
    header, rows = _tag_table(page)
    assert "category" not in header and "strategy" not in header
    assert [row[1] for row in rows] == ["0.5"] * len(TAGS)  # constant's one threshold


def test_report_of_an_auto_model_says_how_it_chose(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "auto")
    page = build_report(model, data.scores, data.truth, taxonomy)
    note = re.search(r'<p class="note" id="choice">(.*?)</p>', page)
    assert note is not None
    assert note.group(1) == f"{model.choice_summary()}."
    assert note.group(1).startswith("auto (cross-validation, ")
    # Each tag's row names the strategy it follows.
    header, rows = _tag_table(page)
    assert header[:3] == ["tag", "category", "strategy"]
    followed = {rule.tag: rule.strategy for rule in inspect_model(model).tags}
    assert {row[0]: row[2] for row in rows} == followed
    # Other strategies have no such line, and no strategy column: every tag follows the one
    # the header names.
    other, data, taxonomy = _fitted(dataset, "thresholds")
    page = build_report(other, data.scores, data.truth, taxonomy)
    assert 'id="choice"' not in page
    assert _tag_table(page)[0][:3] == ["tag", "category", "threshold"]


def test_tag_table_lists_every_tag_once_with_its_figures(dataset: Dataset) -> None:
    taxonomy = read_taxonomy(dataset.labels)
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=taxonomy)
    trained_on = data.truth.copy()
    trained_on[:, TAGS.index("calm")] = 0  # no positives to learn from: never predicted
    model = make_strategy("thresholds").fit(data.scores, trained_on, taxonomy=taxonomy)
    page = build_report(model, data.scores, data.truth, taxonomy)
    header, rows = _tag_table(page)
    assert header == [
        "tag", "category", "threshold", "support", "predicted", "precision", "recall", "F1",
        "cost",
    ]  # fmt: skip
    assert [row[0] for row in rows] == list(TAGS)  # every tag once, in the model's order
    decisions = model.predict(data.scores)
    for kind, expected in (
        ("precision", precision_score(data.truth, decisions, average=None, zero_division=0)),
        ("recall", recall_score(data.truth, decisions, average=None, zero_division=0)),
        ("F1", f1_score(data.truth, decisions, average=None, zero_division=0)),
    ):
        shown = [float(row[header.index(kind)]) for row in rows]
        np.testing.assert_allclose(shown, expected, atol=5e-4)
    for j, row in enumerate(rows):
        cells = dict(zip(header, row, strict=True))
        assert cells["category"] == TAG_CATEGORIES[j]
        assert int(cells["support"]) == data.truth[:, j].sum()
        assert int(cells["predicted"]) == decisions[:, j].sum()
        if TAGS[j] == "calm":
            assert cells["threshold"] == "never" and cells["predicted"] == "0"
        else:
            assert float(cells["threshold"]) == pytest.approx(model.thresholds_[j], rel=1e-3)
    # Numbers are sorted as numbers: the header marks the columns that hold them.
    numbers = re.findall(r'<th scope="col" aria-sort="none" data-type="number"><button', page)
    assert len(numbers) == len(header) - 2


def test_each_class_and_category_is_shown_once(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "thresholds")
    page = build_report(model, data.scores, data.truth, taxonomy)
    # The table of every tag names each tag's category; everywhere else a category (and,
    # in the breakdown, a class) appears once: no chart repeats the table.
    elsewhere = page.replace(_section(page, "all-tags"), "")
    for category in set(TAG_CATEGORIES):
        assert len(re.findall(rf">{category}<", elsewhere)) == 1, category
    groups = _section(page, "per-group")
    for klass in set(TAG_CLASSES):
        assert len(re.findall(rf">{klass}<", groups)) == 1, klass
    assert "<img" not in groups
    # Each class's rows come together: the class, then its own categories.
    labels = re.findall(r'<tr class="(class|category)"><t[hd][^>]*>(.*?)</t[hd]>', groups)
    current = None
    for level, name in labels:
        if level == "class":
            current = name
        else:
            assert taxonomy.class_of_category(name) == current


def test_header_says_what_was_evaluated_and_escapes_file_names(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    folder = tmp_path / 'hostile <script>alert("x")<'
    folder.mkdir()
    x_path = folder / "script> x.csv"  # the path reads <script>alert("x")</script> x.csv
    y_path = folder / "y & <b>truth.csv"
    x_path.write_bytes(dataset.x_csv.read_bytes())
    y_path.write_bytes(dataset.y_csv.read_bytes())
    model_path = folder / "<img src=q onerror=alert(1)>.json"
    code, _, err = run_cli(
        ["fit", x_path, y_path, "--labels", dataset.labels, "--strategy", "constant",
         "--threshold", "0.4", "-o", model_path, "-q"]
    )  # fmt: skip
    assert code == 0, err
    out = tmp_path / "report.html"
    before = datetime.now(UTC).replace(microsecond=0)
    code, _, err = run_cli(["report", model_path, x_path, y_path, "-o", out, "-q"])
    after = datetime.now(UTC)
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b>truth" not in page and "<img src=q" not in page
    facts = _facts(page)
    assert list(facts) == [
        "scores (X)", "truth (Y)", "model file", "strategy", "model fitted", "evaluated on",
        "report written", "versions",
    ]  # fmt: skip
    for label, path in (("scores (X)", x_path), ("truth (Y)", y_path), ("model file", model_path)):
        cell = facts[label]
        assert f"<code>{html.escape(str(path))}</code>" in cell
        assert f"{path.stat().st_size:,} bytes" in cell
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f'sha256 <code title="{digest}">{digest[:16]}</code>' in cell
    assert "· 60 tracks ·" in facts["scores (X)"] and "· 60 tracks ·" in facts["truth (Y)"]
    assert facts["strategy"] == "<code>constant</code> (threshold=0.4)"
    written = json.loads(model_path.read_text())
    assert facts["model fitted"] == (
        f"on 60 training tracks; file saved {written['created']} by tagdecide "
        f"{written['package_version']}"
    )
    assert facts["evaluated on"].startswith("60 tracks × 5 tags;")
    stamp = datetime.fromisoformat(facts["report written"])
    assert before <= stamp <= after
    for version in (
        f"tagdecide {tagdecide.__version__}",
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"pyarrow {pyarrow.__version__}",
    ):
        assert version in facts["versions"]


def test_header_shows_what_the_model_file_says_of_its_date(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    model_path = _fit_model(run_cli, dataset, tmp_path)
    content = json.loads(model_path.read_text())
    out = tmp_path / "report.html"
    content["created"] = "<script>alert(1)</script>"  # a hand-edited file
    model_path.write_text(json.dumps(content))
    code, _, err = run_cli(["report", model_path, dataset.x_csv, dataset.y_csv, "-o", out])
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "file saved &lt;script&gt;alert(1)&lt;/script&gt; by" in _facts(page)["model fitted"]
    del content["created"]  # files may lack it: the loader takes them
    model_path.write_text(json.dumps(content))
    code, _, err = run_cli(["report", model_path, dataset.x_csv, dataset.y_csv, "-o", out])
    assert code == 0, err
    assert "not recorded in the model file" in _facts(out.read_text())["model fitted"]


def test_report_without_sources_says_the_files_are_not_known(dataset: Dataset) -> None:
    model, data, taxonomy = _fitted(dataset, "thresholds")
    facts = _facts(build_report(model, data.scores, data.truth, taxonomy))
    for label in ("scores (X)", "truth (Y)", "model file"):
        assert "not given (the report was built from data in memory)" in facts[label]
    assert "not known (no model file given)" in facts["model fitted"]


def test_tag_names_are_escaped_in_the_table() -> None:
    names = ("<img src=x onerror=alert(1)>", "a&b </script><script>alert(2)</script>")
    rng = np.random.default_rng(0)
    truth = (rng.uniform(size=(40, 2)) < 0.4).astype(np.uint8)
    scores = TrackScores(
        np.arange(40), names, np.clip(0.5 * truth + rng.uniform(0, 0.5, (40, 2)), 0, 1)
    )
    model = make_strategy("thresholds").fit(scores, truth)
    page = build_report(model, scores, truth, None)
    assert "<img src=x" not in page and "alert(2)</script>" not in page
    assert [row[0] for row in _tag_table(page)[1]] == list(names)
    assert page.count("</script>") == 1  # the page's own script ends once


def test_describe_file_reads_no_pipe_and_names_a_missing_file(tmp_path: Path) -> None:
    pipe = tmp_path / "scores.csv"
    os.mkfifo(pipe)
    described = describe_file(pipe, n_tracks=3)  # would block if it opened the pipe
    assert (described.n_bytes, described.sha256, described.n_tracks) == (None, None, 3)
    url = describe_file("s3://bucket/scores.parquet")
    assert url.path == "s3://bucket/scores.parquet" and url.sha256 is None
    with pytest.raises(InputError, match=r"gone\.csv: cannot read it to fingerprint it"):
        describe_file(tmp_path / "gone.csv")


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
    facts = _facts(page)  # the files it evaluated, as the demo wrote them
    for label, path in (
        ("scores (X)", tmp_path / "catalogue" / "test_X.csv"),
        ("truth (Y)", tmp_path / "catalogue" / "test_y.csv"),
        ("model file", tmp_path / "model.json"),
    ):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"<code>{html.escape(str(path))}</code>" in facts[label]
        assert f'<code title="{digest}">' in facts[label]
