"""An evaluation report of a model on labelled tracks, as one self-contained HTML file.

The page holds its charts as embedded PNG images (``data:`` URLs) and its style inline, so
it opens offline and can be mailed around as one file. Charts are drawn with matplotlib's
Agg canvas (no display, no global pyplot state).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide._files import atomic_path
from tagdecide._version import __version__
from tagdecide.data import TrackScores
from tagdecide.diagnosis import IN_SAMPLE_NOTE
from tagdecide.errors import InputError
from tagdecide.metrics import (
    ScoreReport,
    TagScore,
    f1_from_counts,
    score_report,
    weighted_f1_score,
)
from tagdecide.strategies import Strategy
from tagdecide.taxonomy import ALL_TAGS, Taxonomy, group_tag_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["build_report", "threshold_sweep", "write_report"]

#: How many tags get a threshold sweep (those with the largest support-weighted loss).
N_SWEPT_TAGS = 4
#: How many tags the "cost the most" table lists.
N_WORST_TAGS = 15
#: Bins of the reliability curve (equal width over [0, 1]).
N_CALIBRATION_BINS = 10

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f3f3f3; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.headline { font-size: 2em; font-weight: bold; }
.note { color: #555; font-size: 0.92em; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.pair { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
.pair img { max-width: 700px; }
"""


@dataclass(frozen=True)
class ThresholdSweep:
    """Precision, recall and F1 of one tag at each threshold of a grid (``value >= t``)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray


def threshold_sweep(values: np.ndarray, truth: np.ndarray, n_points: int = 200) -> ThresholdSweep:
    """Precision, recall and F1 of deciding ``values >= t`` for ``t`` over the values' range.

    Parameters
    ----------
    values : ndarray of shape (n_tracks,)
        One tag's decision values (:meth:`Strategy.decision_rule`).
    truth : ndarray of shape (n_tracks,)
        The tag's 0/1 truth.
    n_points : int
        Grid size: evenly spaced from the smallest to the largest value (every distinct
        value when there are fewer). Precision is 0 where nothing is decided yes.

    Examples
    --------
    >>> sweep = threshold_sweep(np.array([0.1, 0.4, 0.8]), np.array([0, 1, 1]), n_points=3)
    >>> sweep.thresholds.tolist(), sweep.f1.round(3).tolist()
    ([0.1, 0.4, 0.8], [0.8, 1.0, 0.667])
    """
    values = np.asarray(values, dtype=float)
    positive = np.asarray(truth).astype(bool)
    distinct = np.unique(values)
    if distinct.size <= n_points:
        grid = distinct
    else:
        grid = np.linspace(distinct[0], distinct[-1], n_points)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # Positives at or above each position of the ascending order.
    positives_from = np.concatenate([np.cumsum(positive[order][::-1])[::-1], [0]])
    first = np.searchsorted(sorted_values, grid, side="left")
    predicted = values.size - first
    true_positives = positives_from[first]
    support = int(positive.sum())
    precision = np.where(predicted > 0, true_positives / np.maximum(predicted, 1), 0.0)
    recall = true_positives / support if support else np.zeros(grid.size)
    f1 = f1_from_counts(true_positives, predicted, np.full(grid.size, support))
    return ThresholdSweep(grid, precision, recall, f1)


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _image(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure.clear()
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: Sequence[int] = (0,)
) -> str:
    """An HTML table; every column but ``text_columns`` is right-aligned as numbers."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = []
    for row in rows:
        cells = []
        for index, text in enumerate(row):
            css = "" if index in text_columns else ' class="number"'
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _bar_chart(values: dict[str, float], title: str) -> str:
    names = list(values)
    figure = _new_figure(8, 0.6 + 0.26 * len(names))
    axes = figure.add_subplot()
    positions = np.arange(len(names))
    axes.barh(positions, [values[name] for name in names], color="#4878a8")
    axes.set_yticks(positions, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("weighted F1")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return _image(figure, title)


def _group_section(report: ScoreReport) -> str:
    if not report.per_class:
        return (
            '<p class="note">The model has no taxonomy, so there are no classes or '
            "categories to break the figure down by.</p>"
        )
    parts = []
    for title, values in (("class", report.per_class), ("category", report.per_category)):
        ordered = dict(sorted(values.items(), key=lambda item: item[1], reverse=True))
        parts.append(f"<h3>Per {title}</h3>")
        table = _table([title, "weighted F1"], [(name, f"{v:.4f}") for name, v in ordered.items()])
        parts.append(
            f'<div class="pair">{table}{_bar_chart(ordered, f"weighted F1 per {title}")}</div>'
        )
    return "\n".join(parts)


def _support_scatter(report: ScoreReport, taxonomy: Taxonomy | None) -> str:
    present = [tag for tag in report.tags if tag.support > 0]
    absent = len(report.tags) - len(present)
    figure = _new_figure(8, 4.5)
    axes = figure.add_subplot()
    if taxonomy is not None:
        by_class = group_tag_columns([tag.tag for tag in present], taxonomy)
        classes = sorted(by_class)
        for klass in classes:
            members = [present[int(row)] for row in by_class[klass]]
            axes.scatter(
                [tag.support for tag in members],
                [tag.f1 for tag in members],
                s=14,
                alpha=0.7,
                label=klass,
            )
        if classes:
            axes.legend(fontsize=8)
    else:
        axes.scatter([tag.support for tag in present], [tag.f1 for tag in present], s=14)
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("support (positives in the truth, log scale)")
    axes.set_ylabel("F1")
    axes.set_title("per-tag F1 against support")
    axes.grid(alpha=0.3)
    note = (
        f'<p class="note">{absent} tag(s) without positives in the truth are left out '
        "(no place on a log axis; they do not count in the weighted F1).</p>"
        if absent
        else ""
    )
    return _image(figure, "per-tag F1 against support") + note


def _sweep_section(
    chosen: Sequence[TagScore],
    tag_names: Sequence[str],
    values: np.ndarray,
    thresholds: np.ndarray,
    truth: np.ndarray,
) -> str:
    if not chosen:
        return '<p class="note">No tag loses any weighted F1: nothing to sweep.</p>'
    index = {name: j for j, name in enumerate(tag_names)}
    columns = min(2, len(chosen))
    rows = (len(chosen) + columns - 1) // columns
    figure = _new_figure(10, 3.6 * rows)
    for panel, tag in enumerate(chosen, start=1):
        j = index[tag.tag]
        sweep = threshold_sweep(values[:, j], truth[:, j])
        axes = figure.add_subplot(rows, columns, panel)
        axes.plot(sweep.thresholds, sweep.f1, label="F1", color="#222")
        axes.plot(sweep.thresholds, sweep.precision, label="precision", color="#4878a8")
        axes.plot(sweep.thresholds, sweep.recall, label="recall", color="#d07030")
        threshold = float(thresholds[j])
        if np.isfinite(threshold):
            axes.axvline(threshold, color="#c03030", linestyle="--", label="model's threshold")
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("decision value (yes when value >= threshold)")
        marked = f"{threshold:.4g}" if np.isfinite(threshold) else "never predicted"
        axes.set_title(f"{tag.tag}  (support {tag.support}, threshold {marked})", fontsize=10)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return _image(figure, "F1, precision and recall against the threshold")


def _calibration_section(tag_scores: np.ndarray, truth: np.ndarray) -> str:
    scores = tag_scores.ravel()
    positive = truth.ravel().astype(bool)
    edges = np.linspace(0.0, 1.0, N_CALIBRATION_BINS + 1)
    bins = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, N_CALIBRATION_BINS - 1)
    counts = np.bincount(bins, minlength=N_CALIBRATION_BINS)
    score_sums = np.bincount(bins, weights=scores, minlength=N_CALIBRATION_BINS)
    positive_sums = np.bincount(bins, weights=positive, minlength=N_CALIBRATION_BINS)
    filled = counts > 0
    mean_score = score_sums[filled] / counts[filled]
    observed = positive_sums[filled] / counts[filled]
    figure = _new_figure(5.5, 5)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999", linestyle=":", label="perfectly calibrated")
    axes.plot(mean_score, observed, marker="o", color="#4878a8", label="tag scores")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("mean score in the bin")
    axes.set_ylabel("fraction of positives in the truth")
    axes.set_title(f"reliability of raw tag scores ({N_CALIBRATION_BINS} bins, pooled)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    rows = [
        (
            f"[{edges[b]:.1f}, {edges[b + 1]:.1f}{']' if b == N_CALIBRATION_BINS - 1 else ')'}",
            str(int(counts[b])),
            f"{score_sums[b] / counts[b]:.4f}" if counts[b] else "–",
            f"{positive_sums[b] / counts[b]:.4f}" if counts[b] else "–",
        )
        for b in range(N_CALIBRATION_BINS)
    ]
    table = _table(["score bin", "(track, tag) cells", "mean score", "fraction positive"], rows)
    image = _image(figure, "reliability curve of the raw tag scores")
    return f'<div class="pair">{image}{table}</div>'


def _tags_per_track_section(
    decisions: np.ndarray, truth: np.ndarray, tag_names: Sequence[str], taxonomy: Taxonomy | None
) -> str:
    from matplotlib.ticker import MaxNLocator

    groups = {  # "all tags" reads better than the group's name in a table
        "all tags" if name == ALL_TAGS else name: columns
        for name, columns in group_tag_columns(tag_names, taxonomy).items()
    }
    rows = []
    figure = _new_figure(10, 3.2 * ((len(groups) + 1) // 2))
    n_columns = min(2, len(groups))
    n_rows = (len(groups) + n_columns - 1) // n_columns
    for panel, (group, columns) in enumerate(groups.items(), start=1):
        true_counts = truth[:, columns].sum(axis=1)
        predicted_counts = decisions[:, columns].sum(axis=1)
        rows.append(
            (
                group,
                f"{true_counts.mean():.2f}",
                f"{predicted_counts.mean():.2f}",
                str(int((true_counts == 0).sum())),
                str(int((predicted_counts == 0).sum())),
            )
        )
        axes = figure.add_subplot(n_rows, n_columns, panel)
        top = int(max(true_counts.max(initial=0), predicted_counts.max(initial=0)))
        edges = [count - 0.5 for count in range(top + 2)]
        axes.hist(true_counts, bins=edges, histtype="step", linewidth=1.5, label="true")
        axes.hist(predicted_counts, bins=edges, histtype="step", linewidth=1.5, label="predicted")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(group, fontsize=10)
        axes.set_xlabel("tags per track")
        axes.set_ylabel("tracks")
        axes.legend(fontsize=8)
    table = _table(
        [
            "class" if taxonomy is not None else "tags",
            "mean true",
            "mean predicted",
            "tracks with none true",
            "with none predicted",
        ],
        rows,
    )
    return table + _image(figure, "number of tags per track, predicted and true")


def _worst_table(report: ScoreReport) -> str:
    worst = report.worst_tags(N_WORST_TAGS)
    if not worst:
        return '<p class="note">No tag loses any weighted F1.</p>'
    rows = [tag.cells() for tag in worst]
    return _table(list(TagScore.COLUMNS), rows) + (
        '<p class="note">cost: support / total support × (1 − F1), the weighted F1 the tag '
        "loses; the costs of all tags add up to 1 − weighted F1.</p>"
    )


def build_report(
    model: Strategy, scores: TrackScores, truth: np.ndarray, taxonomy: Taxonomy | None
) -> str:
    """The evaluation report of ``model`` on ``scores`` against ``truth``, as HTML.

    Parameters
    ----------
    model : Strategy
        A fitted strategy (e.g. from :func:`~tagdecide.model_file.load_model`).
    scores : TrackScores
        The tracks' scores, with the columns the model reads.
    truth : ndarray of shape (n_tracks, n_tags)
        0/1 truth in ``model.tag_names_`` order, rows aligned with ``scores``.
    taxonomy : Taxonomy or None
        For the per-class and per-category figures.

    Returns
    -------
    str
        One self-contained HTML page: headline weighted F1 beside constant 0.5, F1 per
        class and category, F1 against support, threshold sweeps of the 4 costliest tags,
        calibration of the raw scores, tags per track and the costliest tags.
    """
    tag_names = list(model.tag_names_)
    truth = np.asarray(truth)
    if truth.shape != (scores.n_tracks, len(tag_names)):
        raise InputError(
            f"truth has shape {truth.shape}; expected ({scores.n_tracks}, {len(tag_names)}) "
            "(tracks of the scores, tags of the model)"
        )
    values, thresholds = model.decision_rule(scores)
    decisions = (values >= thresholds).astype(np.uint8)
    report = score_report(truth, decisions, tag_names, taxonomy)
    constant = weighted_f1_score(truth, scores.tag_scores >= 0.5)
    if model.name == "thresholds":
        thresholds_cell = f"{report.weighted_f1:.4f}"
        thresholds_note = "the model itself (its strategy is per-tag thresholds)"
    else:
        thresholds_cell = "–"
        thresholds_note = (
            f"not computed: the model's strategy is {model.name!r} and its training data "
            "is not in the model file; the model's own figure stands beside constant 0.5"
        )
    headline = _table(
        ["decisions", "weighted F1", ""],
        [
            (f"this model ({model.name})", f"{report.weighted_f1:.4f}", ""),
            ("constant 0.5 (score >= 0.5)", f"{constant:.4f}", "computed on these tracks"),
            ("per-tag thresholds", thresholds_cell, thresholds_note),
        ],
        text_columns=(0, 2),
    )
    others = (
        f"micro F1 {report.micro_f1:.4f} · macro F1 {report.macro_f1:.4f} · "
        f"samples F1 {report.samples_f1:.4f}"
    )
    chosen = report.worst_tags(N_SWEPT_TAGS)
    sections = [
        (
            "headline",
            "Headline: support-weighted F1",
            f'<p class="headline">weighted F1 <span id="weighted-f1">{report.weighted_f1:.4f}'
            f"</span></p>{headline}<p>{others}</p>",
        ),
        ("per-group", "F1 per class and per category", _group_section(report)),
        ("f1-support", "Per-tag F1 against support", _support_scatter(report, taxonomy)),
        (
            "threshold-sweep",
            f"F1, precision and recall against the threshold ({len(chosen)} costliest tags)",
            '<p class="note">Decision values from the model\'s rule, swept over their range '
            "on these tracks; the dashed line is the model's threshold.</p>"
            + _sweep_section(chosen, tag_names, values, thresholds, truth),
        ),
        (
            "calibration",
            "Calibration of the raw scores",
            _calibration_section(scores.tag_scores, truth),
        ),
        (
            "tags-per-track",
            "Tags per track: predicted and true",
            _tags_per_track_section(decisions, truth, tag_names, taxonomy),
        ),
        (
            "worst-tags",
            f"The tags that cost the most weighted F1 (up to {N_WORST_TAGS})",
            _worst_table(report),
        ),
    ]
    body = "\n".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>\n{content}</section>'
        for key, title, content in sections
    )
    title = f"tagdecide report: {model.name} on {scores.n_tracks} tracks"
    choice = model.choice_summary()
    choice_note = f'<p class="note" id="choice">{html.escape(choice)}.</p>\n' if choice else ""
    regime = model.regime_
    if regime is not None:
        lines = [regime.explanation()]
        if regime.verdict == "in-sample":
            lines.append(f"Note: {IN_SAMPLE_NOTE}")
        choice_note += "".join(
            f'<p class="note" id="regime">{html.escape(line)}.</p>\n' for line in lines
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style></head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<p class="note">{scores.n_tracks} tracks × {len(tag_names)} tags; strategy '
        f"{html.escape(model.name)}; decisions: value &gt;= threshold; tagdecide "
        f"{__version__}.</p>\n{choice_note}{body}\n</body></html>\n"
    )


def write_report(
    path: str | Path,
    model: Strategy,
    scores: TrackScores,
    truth: np.ndarray,
    taxonomy: Taxonomy | None,
) -> None:
    """Build the report (:func:`build_report`) and write it to ``path`` atomically."""
    content = build_report(model, scores, truth, taxonomy)
    with atomic_path(path) as temporary:
        temporary.write_text(content, encoding="utf-8")
