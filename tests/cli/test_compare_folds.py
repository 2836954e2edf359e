"""``tagdecide compare`` reports each outer fold as it goes; progress bars show an ETA."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import Dataset, RunCli
from rich.console import Console

import tagdecide.cli._common

FOLD_LINE = re.compile(r"^fold (\d)/3: weighted F1 (.*)$")


def _compare(dataset: Dataset, *extra: object) -> list[object]:
    return [
        "compare", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--groups",
        dataset.groups, "--folds", "3", "--strategies", "thresholds,constant,auto", *extra,
    ]  # fmt: skip


def test_a_line_per_fold_with_each_strategy_and_autos_choice(
    dataset: Dataset, run_cli: RunCli
) -> None:
    code, out, err = run_cli(_compare(dataset, "--json"))
    assert code == 0, err
    folds = [FOLD_LINE.match(line) for line in err.splitlines() if line.startswith("fold ")]
    assert [int(found[1]) for found in folds if found] == [1, 2, 3]
    results = {result["strategy"]: result for result in json.loads(out)["results"]}
    for found in folds:
        assert found is not None
        k = int(found[1]) - 1
        for name in ("thresholds", "constant", "auto"):
            assert f"{name} {results[name]['folds'][k]:.4f}" in found[2]
        assert re.search(r"auto \d\.\d{4} \(chose (\S+ for every tag|per tag: .+)\)", found[2])
        # The JSON keeps what auto chose in each fold, as the line says it.
        assert f"(chose {results['auto']['fold_choices'][k]})" in found[2]
    assert "fold_choices" not in results["thresholds"]


def test_quiet_has_no_fold_lines(dataset: Dataset, run_cli: RunCli) -> None:
    code, out, err = run_cli(_compare(dataset, "--json", "-q"))
    assert code == 0 and err == ""
    assert len(json.loads(out)["results"]) == 3


def test_progress_bar_shows_an_eta_on_a_terminal(
    dataset: Dataset, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(tagdecide.cli._common, "console", lambda stderr=False: terminal)
    monkeypatch.setattr(tagdecide.cli._common, "stderr_is_terminal", lambda: True)
    code, _, err = run_cli(
        ["compare", dataset.x_csv, dataset.y_csv, "--folds", "2", "--strategies", "constant"]
    )
    assert code == 0, err
    drawn = screen.getvalue()
    assert "cross-validating" in drawn and "eta" in drawn
    assert re.search(r"eta \d+:\d\d:\d\d", drawn)  # a remaining time, not only "-:--:--"
    # --quiet draws nothing, even on a terminal.
    screen.seek(0)
    screen.truncate()
    code, _, _ = run_cli(
        ["compare", dataset.x_csv, dataset.y_csv, "--folds", "2", "--strategies", "constant",
         "-q", "--json"]
    )  # fmt: skip
    assert code == 0 and "eta" not in screen.getvalue()
