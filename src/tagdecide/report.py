"""An evaluation report of a model on labelled tracks, as one self-contained HTML file.

The page holds its charts as embedded PNG images (``data:`` URLs), its style and its small
script inline, so it opens offline and can be mailed around as one file. Charts are drawn
with matplotlib's Agg canvas (no display, no global pyplot state).

The page opens with what was evaluated (:class:`ReportSources`: the files, fingerprinted,
the model's strategy and when it was saved, the date and the versions), shows each class
and category once, and ends with every tag in one table a reader sorts by any column and
filters by name, category or strategy.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import platform
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagdecide._files import atomic_path, is_url
from tagdecide._version import __version__
from tagdecide.data import TrackScores
from tagdecide.diagnosis import IN_SAMPLE_NOTE
from tagdecide.errors import InputError
from tagdecide.inspection import inspect_model
from tagdecide.metrics import (
    ScoreReport,
    TagScore,
    f1_from_counts,
    score_report,
    weighted_f1_score,
)
from tagdecide.strategies import AutoStrategy, Strategy
from tagdecide.taxonomy import ALL_TAGS, UNCLASSIFIED, Taxonomy, group_tag_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "InputFile",
    "ReportSources",
    "build_report",
    "describe_file",
    "describe_sources",
    "threshold_sweep",
    "write_report",
]

#: How many tags get a threshold sweep (those with the largest support-weighted loss).
N_SWEPT_TAGS = 4
#: How many tags the "cost the most" table lists.
N_WORST_TAGS = 15
#: Bins of the reliability curve (equal width over [0, 1]).
N_CALIBRATION_BINS = 10
#: Hex digits of a file's SHA-256 shown on the page (the whole digest is its tooltip).
N_DIGEST_SHOWN = 16
#: Model files up to this size are read a second time for when they were saved (real ones
#: take a few MiB; the loader accepts up to 512 MiB, not worth parsing twice for a date).
MAX_STAMPED_MODEL_BYTES = 64 * 2**20
#: Libraries whose versions the report names (besides tagdecide and Python).
VERSIONED_LIBRARIES = ("numpy", "scikit-learn", "pyarrow", "matplotlib")

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
nav a { margin: 0 0.2em; }
table.facts th { white-space: nowrap; vertical-align: top; }
table.facts td { overflow-wrap: anywhere; }
table.groups td:nth-child(n+2), table.groups th[scope=rowgroup] ~ td {
  text-align: right; font-variant-numeric: tabular-nums; }
table.groups tr.class { background: #f7f7f7; font-weight: bold; }
table.groups tr.category td:first-child { padding-left: 1.6em; }
td.bar { width: 220px; }
td.bar span { display: block; height: 0.8em; background: #4878a8; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0 0 0 0); white-space: nowrap; }
.tag-tools input { font: inherit; padding: 0.15em 0.4em; width: 16em; }
#tag-count { color: #555; margin-left: 1em; }
table.sortable th { padding: 0; position: sticky; top: 0; }
table.sortable th button { font: inherit; font-weight: bold; border: 0; background: none;
  width: 100%; text-align: left; padding: 0.25em 1.4em 0.25em 0.6em; cursor: pointer; }
table.sortable th button:focus-visible { outline: 2px solid #4878a8; outline-offset: -2px; }
table.sortable th[aria-sort=ascending] button::after { content: " ▲"; }
table.sortable th[aria-sort=descending] button::after { content: " ▼"; }
table.text-1 td:nth-child(n+2), table.text-2 td:nth-child(n+3),
table.text-3 td:nth-child(n+4) { text-align: right; font-variant-numeric: tabular-nums; }
"""
#: The script of the table of every tag: sort by a column (numbers as numbers, blanks
#: last, ties in the model's order), filter by the text columns (a tag's name, its category,
#: the strategy it follows). No library, works offline.
_SCRIPT = """
(() => {
  const table = document.getElementById("tag-table");
  if (!table) return;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const headers = Array.from(table.tHead.rows[0].cells);
  const keyOf = (row, column, numeric) => {
    const text = row.cells[column].textContent.trim();
    if (!numeric) return text.toLowerCase();
    if (text === "never") return Infinity;
    const value = Number.parseFloat(text);
    return Number.isNaN(value) ? null : value;
  };
  headers.forEach((header, column) => {
    header.querySelector("button").addEventListener("click", () => {
      const descending = header.getAttribute("aria-sort") === "ascending";
      const numeric = header.dataset.type === "number";
      headers.forEach((other) => other.setAttribute("aria-sort", "none"));
      header.setAttribute("aria-sort", descending ? "descending" : "ascending");
      const keyed = rows.map((row, index) => [keyOf(row, column, numeric), index, row]);
      keyed.sort((a, b) => {
        if (a[0] === null || b[0] === null) {
          return (a[0] === null) - (b[0] === null) || a[1] - b[1];
        }
        const order = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        return (descending ? -order : order) || a[1] - b[1];
      });
      body.append(...keyed.map((item) => item[2]));
    });
  });
  const filter = document.getElementById("tag-filter");
  const count = document.getElementById("tag-count");
  const textColumns = Number(table.dataset.textColumns);
  filter.addEventListener("input", () => {
    const wanted = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const match = Array.from(row.cells).slice(0, textColumns).some(
        (cell) => cell.textContent.toLowerCase().includes(wanted));
      row.hidden = !match;
      shown += match;
    }
    count.textContent = `${shown} of ${rows.length} tags`;
  });
})();
"""


@dataclass(frozen=True)
class InputFile:
    """A file a report was built from, described so a reader can tell it from another.

    Attributes
    ----------
    path : str
        The path as given (on the command line, say), not resolved.
    n_bytes : int or None
        Its size; None for a URL or a file that is not a regular file.
    sha256 : str or None
        Hex SHA-256 of its content; None when not computed (as for ``n_bytes``).
    n_tracks : int or None
        The tracks (rows) it holds, where known.
    """

    path: str
    n_bytes: int | None
    sha256: str | None
    n_tracks: int | None = None


@dataclass(frozen=True)
class ReportSources:
    """What a report evaluated: the files it read and what the model file says of itself.

    Every field is optional: a report built from data in memory says the files are not
    known rather than guessing.

    Attributes
    ----------
    scores, truth, model : InputFile or None
        The scores (X), the truth (Y) and the model file.
    model_saved : str or None
        When the model file was written (its ``created`` field, ISO 8601), which is when
        the model was fitted for files that ``fit`` writes.
    model_package_version : str or None
        The tagdecide version that wrote the model file.
    """

    scores: InputFile | None = None
    truth: InputFile | None = None
    model: InputFile | None = None
    model_saved: str | None = None
    model_package_version: str | None = None


def describe_file(path: str | Path, n_tracks: int | None = None) -> InputFile:
    """Size and SHA-256 of the file at ``path`` (read in blocks; a URL is not read).

    Raises
    ------
    InputError
        When the file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "x.csv"
    ...     _ = path.write_bytes(b"abc")
    ...     described = describe_file(path, n_tracks=0)
    >>> described.n_bytes, described.sha256[:12]
    (3, 'ba7816bf8f01')
    """
    shown = str(path)
    if is_url(shown):
        return InputFile(shown, None, None, n_tracks)
    try:
        # Only a regular file reads the same twice (opening a pipe would even wait).
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return InputFile(shown, None, None, n_tracks)
        with Path(path).open("rb") as handle:
            digest = hashlib.sha256()
            n_bytes = 0
            while block := handle.read(1 << 20):
                digest.update(block)
                n_bytes += len(block)
    except OSError as error:
        raise InputError(f"{shown}: cannot read it to fingerprint it ({error.strerror})") from None
    return InputFile(shown, n_bytes, digest.hexdigest(), n_tracks)


def _model_stamp(path: Path) -> tuple[str | None, str | None]:
    """The model file's ``created`` and ``package_version``, each None when absent or not
    a short text (the loader has checked the rest of the file)."""
    try:
        if path.stat().st_size > MAX_STAMPED_MODEL_BYTES:
            return None, None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None

    def short_text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and 0 < len(value) <= 64 else None

    return short_text("created"), short_text("package_version")


def describe_sources(
    model_path: str | Path,
    scores_path: str | Path,
    truth_path: str | Path,
    *,
    n_score_tracks: int | None = None,
    n_truth_tracks: int | None = None,
) -> ReportSources:
    """Describe the three files of a report (:func:`describe_file`) and read when the
    model file was saved, for :func:`build_report`'s ``sources``."""
    saved, version = (None, None) if is_url(model_path) else _model_stamp(Path(model_path))
    return ReportSources(
        scores=describe_file(scores_path, n_score_tracks),
        truth=describe_file(truth_path, n_truth_tracks),
        model=describe_file(model_path),
        model_saved=saved,
        model_package_version=version,
    )


def _library_versions() -> list[tuple[str, str]]:
    versions = [("tagdecide", __version__), ("Python", platform.python_version())]
    for name in VERSIONED_LIBRARIES:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def _size(n_bytes: int) -> str:
    if n_bytes < 2**20:
        return f"{n_bytes:,} bytes"
    return f"{n_bytes / 2**20:,.1f} MiB ({n_bytes:,} bytes)"


def _file_cell(described: InputFile | None) -> str:
    if described is None:
        return '<span class="note">not given (the report was built from data in memory)</span>'
    parts = [f"<code>{html.escape(described.path)}</code>"]
    if described.n_bytes is not None:
        parts.append(_size(described.n_bytes))
    if described.n_tracks is not None:
        parts.append(f"{described.n_tracks:,} tracks")
    if described.sha256 is not None:
        parts.append(
            f'sha256 <code title="{html.escape(described.sha256)}">'
            f"{html.escape(described.sha256[:N_DIGEST_SHOWN])}</code>"
        )
    else:
        kind = "a URL" if is_url(described.path) else "not a regular file"
        parts.append(f"not fingerprinted ({kind})")
    return " · ".join(parts)


def _parameters(params: dict[str, Any]) -> str:
    if not params:
        return "no parameters"
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


def _evaluated_section(
    model: Strategy, n_tracks: int, sources: ReportSources | None, written: datetime
) -> str:
    """The "What was evaluated" table: files, model, date and versions."""
    sources = sources or ReportSources()
    if sources.model_saved is not None:
        saved = html.escape(sources.model_saved)
        if sources.model_package_version is not None:
            saved += f" by tagdecide {html.escape(sources.model_package_version)}"
    elif sources.model is None:
        saved = '<span class="note">not known (no model file given)</span>'
    else:
        saved = '<span class="note">not recorded in the model file</span>'
    rows = [
        ("scores (X)", _file_cell(sources.scores)),
        ("truth (Y)", _file_cell(sources.truth)),
        ("model file", _file_cell(sources.model)),
        (
            "strategy",
            f"<code>{html.escape(model.name)}</code> "
            f"({html.escape(_parameters(model.get_params()))})",
        ),
        (
            "model fitted",
            f"on {int(model.n_tracks_):,} training tracks; file saved {saved}",
        ),
        (
            "evaluated on",
            f"{n_tracks:,} tracks × {len(model.tag_names_):,} tags; "
            "decision: yes when value &gt;= threshold",
        ),
        ("report written", html.escape(written.isoformat(timespec="seconds"))),
        (
            "versions",
            " · ".join(
                f"{html.escape(name)} {html.escape(version)}"
                for name, version in _library_versions()
            ),
        ),
    ]
    body = "".join(f'<tr><th scope="row">{label}</th><td>{cell}</td></tr>' for label, cell in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


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


def _group_row(name: str, level: str, n_tags: int, support: int, f1: float) -> str:
    label = (
        f'<th scope="rowgroup">{html.escape(name)}</th>'
        if level == "class"
        else f"<td>{html.escape(name)}</td>"
    )
    return (
        f'<tr class="{level}">{label}<td>{n_tags}</td><td>{support}</td><td>{f1:.4f}</td>'
        f'<td class="bar" aria-hidden="true"><span style="width: {100 * f1:.1f}%"></span></td>'
        "</tr>"
    )


def _group_section(report: ScoreReport, taxonomy: Taxonomy | None) -> str:
    """One table, each class and each category once: a class's row, then its categories'
    rows, best first, each with its F1 as a bar (a chart beside the table would list
    every category a second time)."""
    if taxonomy is None or not report.per_class:
        return (
            '<p class="note">The model has no taxonomy, so there are no classes or '
            "categories to break the figure down by.</p>"
        )
    tag_names = [tag.tag for tag in report.tags]
    support = np.array([tag.support for tag in report.tags], dtype=np.int64)
    columns = {
        **group_tag_columns(tag_names, taxonomy, by="category"),
        **group_tag_columns(tag_names, taxonomy, by="class"),
    }

    def class_of(category: str) -> str:
        return UNCLASSIFIED if category == UNCLASSIFIED else taxonomy.class_of_category(category)

    def by_f1(values: dict[str, float]) -> list[str]:
        return sorted(values, key=lambda name: values[name], reverse=True)

    bodies = []
    for klass in by_f1(report.per_class):
        rows = [
            _group_row(
                klass, "class", columns[klass].size, int(support[columns[klass]].sum()),
                report.per_class[klass],
            )
        ]  # fmt: skip
        rows += [
            _group_row(
                category, "category", columns[category].size,
                int(support[columns[category]].sum()), report.per_category[category],
            )
            for category in by_f1(report.per_category)
            if class_of(category) == klass
        ]  # fmt: skip
        bodies.append(f"<tbody>{''.join(rows)}</tbody>")
    head = "".join(
        f'<th scope="col">{name}</th>'
        for name in ("class, then its categories", "tags", "support", "weighted F1")
    )
    return (
        '<p class="note">Support-weighted F1 over the tags of each class and category '
        "(support: positives in the truth). Each class comes first, then its categories, "
        "best first.</p>"
        f'<table class="groups"><thead><tr>{head}<th scope="col"><span class="visually-hidden">'
        f"weighted F1 as a bar</span></th></tr></thead>{''.join(bodies)}</table>"
    )


#: Columns of the table of every tag that hold numbers (sorted as numbers).
_NUMBER_COLUMNS = ("threshold", *TagScore.COLUMNS[1:])
_NUMBER_MARK = ' data-type="number"'


def _all_tags_section(
    report: ScoreReport, model: Strategy, thresholds: np.ndarray, taxonomy: Taxonomy | None
) -> str:
    """Every tag once, in one table sorted by clicking a column's header and filtered by
    its text columns (the page's script); without the script it still lists every tag."""
    text_columns = ["tag"]
    if taxonomy is not None:
        text_columns.append("category")
    followed = None
    if isinstance(model, AutoStrategy):  # the only strategy whose tags follow different ones
        text_columns.append("strategy")
        followed = [rule.strategy for rule in inspect_model(model).tags]
    rows = []
    for j, tag in enumerate(report.tags):
        cells = [tag.tag]
        if taxonomy is not None:
            cells.append(taxonomy.category_of(tag.tag) if tag.tag in taxonomy else UNCLASSIFIED)
        if followed is not None:
            cells.append(followed[j])
        threshold = float(thresholds[j])
        cells += [
            f"{threshold:.4g}" if math.isfinite(threshold) else "never",
            *tag.cells()[1:],
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    head = "".join(
        f'<th scope="col" aria-sort="none"{_NUMBER_MARK if name in _NUMBER_COLUMNS else ""}>'
        f'<button type="button">{name}</button></th>'
        for name in (*text_columns, *_NUMBER_COLUMNS)
    )
    n_tags = len(report.tags)
    described = {"tag": "a tag's name", "category": "its category", "strategy": "its strategy"}
    finds = [described[name] for name in text_columns]
    return (
        "<p class=\"note\">In the model's tag order; click a column's header (or focus it "
        "and press Enter) to sort by it, again to reverse. Threshold: the decision is yes "
        "when the value is &gt;= it; never: the tag is never predicted.</p>\n"
        '<p class="tag-tools"><label>Find a tag: <input type="search" id="tag-filter" '
        f'autocomplete="off" placeholder="part of {", ".join(finds)}"></label> '
        f'<span id="tag-count" aria-live="polite">{n_tags} of {n_tags} tags</span></p>\n'
        f'<table id="tag-table" class="sortable text-{len(text_columns)}" '
        f'data-text-columns="{len(text_columns)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


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
    model: Strategy,
    scores: TrackScores,
    truth: np.ndarray,
    taxonomy: Taxonomy | None,
    *,
    sources: ReportSources | None = None,
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
    sources : ReportSources, optional
        The files the data came from (:func:`describe_sources`), for the page's "What was
        evaluated"; without them it says the files are not known.

    Returns
    -------
    str
        One self-contained HTML page: what was evaluated (files, model, date, versions),
        headline weighted F1 beside constant 0.5, F1 per class and category, F1 against
        support, threshold sweeps of the 4 costliest tags, calibration of the raw scores,
        tags per track, the costliest tags, and every tag in a table sorted by any column
        and filtered by its name, category or strategy.
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
            "evaluated",
            "What was evaluated",
            _evaluated_section(model, scores.n_tracks, sources, datetime.now(UTC)),
        ),
        (
            "headline",
            "Headline: support-weighted F1",
            f'<p class="headline">weighted F1 <span id="weighted-f1">{report.weighted_f1:.4f}'
            f"</span></p>{headline}<p>{others}</p>",
        ),
        ("per-group", "F1 per class and per category", _group_section(report, taxonomy)),
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
        (
            "all-tags",
            f"Every tag ({len(tag_names)})",
            _all_tags_section(report, model, thresholds, taxonomy),
        ),
    ]
    body = "\n".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>\n{content}</section>'
        for key, title, content in sections
    )
    contents = " · ".join(
        f'<a href="#{key}">{html.escape(title.split(":")[0].split(" (")[0])}</a>'
        for key, title, _ in sections
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
        f'<nav class="note" aria-label="sections">{contents}</nav>\n'
        f"{choice_note}{body}\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def write_report(
    path: str | Path,
    model: Strategy,
    scores: TrackScores,
    truth: np.ndarray,
    taxonomy: Taxonomy | None,
    *,
    sources: ReportSources | None = None,
) -> None:
    """Build the report (:func:`build_report`) and write it to ``path`` atomically."""
    content = build_report(model, scores, truth, taxonomy, sources=sources)
    with atomic_path(path) as temporary:
        temporary.write_text(content, encoding="utf-8")
