"""``tagdecide curate`` as a click command: export, and the serving command's refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_curate_api import TAXONOMY, fitted, labelled

from tagdecide.cli import main as tagdecide_main
from tagdecide.curate.command import curate
from tagdecide.curate.session import open_session
from tagdecide.curate.store import CurationStore
from tagdecide.io import read_scores, read_truth, write_matrix
from tagdecide.model_file import save_model
from tagdecide.taxonomy import write_taxonomy


def main(arguments: list[str]) -> int:
    """``tagdecide curate ARGUMENTS`` through the command line's own error handling."""
    return tagdecide_main(["curate", *arguments])


def _curated(folder: Path, n_done: int = 4) -> tuple[Path, dict[int, np.ndarray]]:
    """A database with ``n_done`` tracks done, answered from the truth; their truth."""
    model, scores, truth = fitted()
    store = CurationStore(folder / "curation.sqlite")
    open_session(model, scores, store, n=8)
    answers = {}
    for track in store.queue_ids()[:n_done].tolist():
        row = int(np.flatnonzero(scores.ids == track)[0])
        state = store.state(track)
        for column, tag in enumerate(TAXONOMY.tags):
            if truth[row, column] != state.decisions[column]:
                state = store.add_verdict(
                    track, tag, int(truth[row, column]), version=state.version
                )
        store.mark_done(track, version=state.version)
        answers[track] = truth[row]
    store.close()  # the last connection out checkpoints the WAL into the file
    return folder / "curation.sqlite", answers


def test_export_writes_the_truth_and_scores_that_fit_accepts(tmp_path: Path) -> None:
    database, answers = _curated(tmp_path)
    out = tmp_path / "val_y.csv"
    result = CliRunner().invoke(curate, ["export", "--db", str(database), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 curated tracks" in result.output
    header = out.read_text().splitlines()[0].split(",")
    assert header == ["ChallengeID", *TAXONOMY.tags]
    table = read_truth(out, TAXONOMY.tags)
    assert table.ids.tolist() == list(answers)
    np.testing.assert_array_equal(table.values, np.array(list(answers.values())))
    scores = read_scores(tmp_path / "val_y.X.csv", TAXONOMY.tags, TAXONOMY.categories)
    _, whole, _ = fitted()
    for row, track in enumerate(scores.ids.tolist()):
        np.testing.assert_array_equal(
            scores.all_scores()[row], whole.all_scores()[np.flatnonzero(whole.ids == track)[0]]
        )
    # Ready for fit --validate-x/--validate-y.
    train, train_truth = labelled()
    train, train_truth = train.subset(slice(0, 60)), train_truth[:60]  # the model's half
    train_x, train_y = tmp_path / "train_X.csv", tmp_path / "train_y.csv"
    write_matrix(train_x, train.ids, [*train.tag_names, *train.category_names],
                 train.all_scores())  # fmt: skip
    write_matrix(train_y, train.ids, train.tag_names, train_truth)
    write_taxonomy(TAXONOMY, tmp_path / "labels.csv")
    code = tagdecide_main(
        ["fit", str(train_x), str(train_y), "--labels", str(tmp_path / "labels.csv"),
         "--strategy", "auto", "--quiet",
         "--validate-x", str(tmp_path / "val_y.X.csv"), "--validate-y", str(out),
         "--out", str(tmp_path / "model.json")]
    )  # fmt: skip
    assert code == 0 and (tmp_path / "model.json").is_file()


def test_export_never_overwrites_an_input_nor_creates_a_database(tmp_path: Path) -> None:
    database, _ = _curated(tmp_path)
    before = database.read_bytes()
    runner = CliRunner()
    for out, message in (
        (database, "is an input"),
        (Path(str(database) + "-wal"), "is an input"),
        (tmp_path / "val.json", "does not write .json files"),
        (tmp_path, "is a folder"),
    ):
        result = runner.invoke(curate, ["export", "--db", str(database), "--out", str(out)])
        assert result.exit_code != 0
        assert message in str(result.exception), (out, result.exception)
    assert database.read_bytes() == before
    missing = tmp_path / "missing.sqlite"
    result = runner.invoke(curate, ["export", "--db", str(missing), "--out", "v.csv"])
    assert "no such curation database" in str(result.exception)
    assert not missing.exists()


def test_export_with_nothing_done_says_so_and_leaves_the_old_file(tmp_path: Path) -> None:
    database, _ = _curated(tmp_path, n_done=0)
    out = tmp_path / "val_y.csv"
    out.write_text("old\n")
    result = CliRunner().invoke(curate, ["export", "--db", str(database), "--out", str(out)])
    assert "no track is done yet" in str(result.exception)
    assert out.read_text() == "old\n" and not (tmp_path / "val_y.X.csv").exists()


def test_main_turns_bad_input_into_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--db", str(tmp_path / "none.sqlite"), "--out", "v.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tagdecide: error: --db ") and err.count("\n") == 1
    assert "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_refuses_bad_arguments_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, scores, _ = fitted()
    model_path, x_path = tmp_path / "model.json", tmp_path / "X.csv"
    save_model(model, model_path)
    write_matrix(x_path, scores.ids, [*scores.tag_names, *scores.category_names],
                 scores.all_scores())  # fmt: skip
    x_before = x_path.read_bytes()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = str(taken.getsockname()[1])
        cases = [
            (["--n", "0"], "--n must be at least 1; got 0"),
            (["--db", str(x_path)], "is an input"),
            (["--db", str(tmp_path / "c.csv")], "does not write .csv files"),
            (["--queue", "all"], "Invalid value for '--queue'"),
            (["--tracks-info", str(tmp_path / "none.csv")], "none.csv: no such file"),
            (["--port", busy, "--db", str(tmp_path / "p.sqlite")], "cannot listen"),
            (["--host", "no such host!", "--db", str(tmp_path / "h.sqlite")], "not an address"),
        ]
        for extra, message in cases:
            port = [] if "--port" in extra else ["--port", str(_free_port())]
            code = main([str(model_path), str(x_path), *port, *extra])
            err = capsys.readouterr().err
            assert code == 2, (extra, err)
            assert message in err, (extra, err)
            if "Invalid value" not in message:  # click's usage errors add a usage line
                assert err.startswith("tagdecide: error: ") and err.count("\n") == 1, err
    assert x_path.read_bytes() == x_before
    assert not (tmp_path / "p.sqlite").exists() and not (tmp_path / "h.sqlite").exists()


def test_help_lists_the_shortcuts_and_the_export() -> None:
    runner = CliRunner()
    result = runner.invoke(curate, ["--help"])
    assert result.exit_code == 0 and "export" in result.output and "serve" in result.output
    serve_help = runner.invoke(curate, ["serve", "--help"]).output
    assert "accept (a), reject (r)" in serve_help and "--tracks-info" in serve_help
