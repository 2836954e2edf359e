"""The HTML report in a real headless Chromium: it renders without errors, and its table of
every tag sorts by a clicked header (numbers as numbers, again for descending, by mouse and
by keyboard) and keeps only the tags a typed name matches.

The screenshots are kept in ``test-artifacts/`` (ignored by git) to be looked at.
"""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _chromium import CHROMIUM, DevTools, console_errors
from conftest import ID, Columns, Dataset, RunCli, write_csv

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="/usr/bin/chromium is absent (Debian: apt-get install chromium); "
    "the report is not checked in a real browser",
)

#: The visible rows of the table of every tag, as lists of cell texts.
VISIBLE_ROWS = (
    "Array.from(document.querySelectorAll('#tag-table tbody tr'))"
    ".filter(row => !row.hidden && row.offsetParent !== null)"
    ".map(row => Array.from(row.cells).map(cell => cell.textContent))"
)
HEADERS = (
    "Array.from(document.querySelectorAll('#tag-table thead th'))"
    ".map(th => [th.textContent, th.getAttribute('aria-sort')])"
)


class Page:
    """One page of a headless Chromium, opened on a file."""

    def __init__(self, browser: DevTools, path: Path) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", url="about:blank")
        self.session = browser.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=1200, height=900,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.send("Page.navigate", url=path.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, session=self.session, **params)

    def evaluate(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const element = document.querySelector({selector!r});"
            "element.scrollIntoView({block: 'center'});"
            "const box = element.getBoundingClientRect();"
            "return [box.x + box.width / 2, box.y + box.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)  # fmt: skip

    def press_enter(self) -> None:
        """Enter on the focused element, as a keyboard sends it."""
        enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **enter)
        self.send("Input.dispatchKeyEvent", type="keyUp", **enter)

    def screenshot(self, path: Path) -> None:
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size["width"],
                               "height": size["height"], "scale": 1})  # fmt: skip
        ARTIFACTS.mkdir(exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    def console_errors(self) -> list[str]:
        time.sleep(0.2)  # let late console messages arrive
        self.evaluate("1")
        return console_errors(self.browser.events)


def _fit_and_report(run_cli: RunCli, x: Path, y: Path, labels: Path, folder: Path) -> Path:
    model_path = folder / "model.json"
    code, _, err = run_cli(["fit", x, y, "--labels", labels, "--strategy", "thresholds",
                            "-o", model_path, "-q"])  # fmt: skip
    assert code == 0, err
    out = folder / "report.html"
    code, _, err = run_cli(["report", model_path, x, y, "-o", out, "-q"])
    assert code == 0, err
    return out


def _catalogue(folder: Path) -> tuple[Path, Path, Path, list[str]]:
    """400 tracks x 30 tags whose supports run from 0 to about 200 (one, two and three
    digits: a sort by text would put 100 before 9) and a tag never predicted."""
    rng = np.random.default_rng(7)
    n_tracks, n_tags = 400, 30
    tags = [f"{'rock' if j % 4 == 0 else 'jazz'}-{(j * 7) % n_tags:02d}" for j in range(n_tags)]
    prevalence = rng.permutation(np.geomspace(0.004, 0.5, n_tags))
    truth = (rng.uniform(size=(n_tracks, n_tags)) < prevalence).astype(np.uint8)
    truth[:, 5] = 0  # no positives: never predicted
    scores = np.round(np.clip(0.35 * truth + rng.uniform(0, 0.65, truth.shape), 0, 1), 4)
    ids = [str(1000 + row) for row in range(n_tracks)]
    x: Columns = {ID: ids}
    y: Columns = {ID: list(ids)}
    for j, tag in enumerate(tags):
        x[tag] = [f"{value:.4f}" for value in scores[:, j]]
        y[tag] = [str(value) for value in truth[:, j]]
    labels = folder / "labels.csv"
    categories = [f"{tag.split('-')[0]}-{'odd' if int(tag[-2:]) % 2 else 'even'}" for tag in tags]
    taxonomy: Columns = {"": ["category", "class"]}
    for tag, category in zip(tags, categories, strict=True):
        taxonomy[tag] = [category, "Genres"]
    write_csv(labels, taxonomy)
    return write_csv(folder / "x.csv", x), write_csv(folder / "y.csv", y), labels, tags


def test_report_renders_in_chromium_without_errors(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    out = _fit_and_report(run_cli, dataset.x_csv, dataset.y_csv, dataset.labels, tmp_path)
    browser = DevTools(tmp_path / "chromium-profile")
    try:
        page = Page(browser, out)
        images = page.evaluate(
            "Array.from(document.images).map("
            "image => ({complete: image.complete, width: image.naturalWidth}))"
        )
        title = page.evaluate("document.title")
        page.screenshot(ARTIFACTS / "report.png")
        errors = page.console_errors()
    finally:
        browser.close()
    assert title.startswith("tagdecide report: thresholds")
    assert len(images) == 4
    assert all(image["complete"] and image["width"] > 0 for image in images), images
    assert errors == []
    shutil.copy(out, ARTIFACTS / "report.html")


def _numbers(texts: list[str]) -> list[float]:
    return [float("inf") if text == "never" else float(text) for text in texts]


def test_tag_table_sorts_by_a_clicked_header_and_filters_by_name_or_category(
    run_cli: RunCli, tmp_path: Path
) -> None:
    x, y, labels, tags = _catalogue(tmp_path)
    out = _fit_and_report(run_cli, x, y, labels, tmp_path)
    browser = DevTools(tmp_path / "chromium-profile")
    try:
        page = Page(browser, out)
        headers = [name for name, _ in page.evaluate(HEADERS)]
        support, threshold = headers.index("support"), headers.index("threshold")
        initial = page.evaluate(VISIBLE_ROWS)
        assert [row[0] for row in initial] == tags  # the model's order to begin with

        # A mouse click on "support": ascending, as numbers (as text, 100 < 9).
        selector = f"#tag-table thead th:nth-child({support + 1}) button"
        page.click(selector)
        ascending = page.evaluate(VISIBLE_ROWS)
        values = _numbers([row[support] for row in ascending])
        assert values == sorted(values) and values != _numbers([r[support] for r in initial])
        assert min(values) < 10 and max(values) >= 100
        assert sorted(map(tuple, ascending)) == sorted(map(tuple, initial))  # rows kept whole
        assert page.evaluate(HEADERS)[support][1] == "ascending"
        assert all(state == "none" for _, state in page.evaluate(HEADERS)[support + 1 :])

        # Enter on the focused header (a button): descending.
        assert page.evaluate(f"document.activeElement === document.querySelector({selector!r})")
        page.press_enter()
        descending = page.evaluate(VISIBLE_ROWS)
        values = _numbers([row[support] for row in descending])
        assert values == sorted(values, reverse=True)
        assert page.evaluate(HEADERS)[support][1] == "descending"

        # Thresholds: "never" (an infinite threshold) after every number, ascending.
        page.click(f"#tag-table thead th:nth-child({threshold + 1}) button")
        column = [row[threshold] for row in page.evaluate(VISIBLE_ROWS)]
        never = column.count("never")
        assert never >= 1 and column[len(column) - never :] == ["never"] * never
        assert _numbers(column) == sorted(_numbers(column))
        assert page.evaluate(HEADERS)[support][1] == "none"

        # Typing in the filter keeps the tags whose name holds the text, in the sorted order.
        page.click("#tag-filter")
        page.send("Input.insertText", text="ROCK")
        kept = page.evaluate(VISIBLE_ROWS)
        expected = [tag for tag in tags if "rock" in tag]
        assert sorted(row[0] for row in kept) == sorted(expected) and 0 < len(kept) < len(tags)
        kept_thresholds = _numbers([row[threshold] for row in kept])
        assert kept_thresholds == sorted(kept_thresholds)
        count = page.evaluate("document.getElementById('tag-count').textContent")
        assert count == f"{len(expected)} of {len(tags)} tags"
        page.screenshot(ARTIFACTS / "report-tag-table.png")
        page.send("Input.insertText", text="-nothing-like-this")
        assert page.evaluate(VISIBLE_ROWS) == []
        assert page.evaluate("document.getElementById('tag-count').textContent") == (
            f"0 of {len(tags)} tags"
        )
        # A category's name finds its tags too (no tag's name holds "odd").
        page.evaluate("document.getElementById('tag-filter').value = ''")
        page.send("Input.insertText", text="Odd")
        odd = [tag for tag in tags if int(tag[-2:]) % 2]
        assert not any("odd" in tag for tag in tags)
        assert sorted(row[0] for row in page.evaluate(VISIBLE_ROWS)) == sorted(odd)
        errors = page.console_errors()
    finally:
        browser.close()
    assert errors == []
