"""The curation page in a real headless Chromium: three tracks curated by keyboard, the server
killed (SIGKILL) and restarted, the verdicts found in the database and in the export.

Screenshots are kept under the test's ``tmp_path`` (``--basetemp`` to keep them somewhere).
The browser is driven over the Chrome DevTools Protocol on a pipe (no driver needed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _chromium import CHROMIUM, DevTools, console_errors
from click.testing import CliRunner
from test_curate_api import TAXONOMY, fitted

from tagdecide.curate.command import curate
from tagdecide.curate.store import CurationStore
from tagdecide.io import read_truth, write_matrix
from tagdecide.model_file import save_model

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="/usr/bin/chromium is absent (Debian: apt-get install chromium): the curation "
    "page is not tried in a real browser",
)
#: Keys as the DevTools protocol wants them: key, code, virtual key code, text.
KEYS = {
    "a": ("a", "KeyA", 65, "a"),
    "r": ("r", "KeyR", 82, "r"),
    "u": ("u", "KeyU", 85, "u"),
    "d": ("d", "KeyD", 68, "d"),
    "s": ("s", "KeyS", 83, "s"),
    "j": ("j", "KeyJ", 74, "j"),
    "t": ("t", "KeyT", 84, "t"),
    "Enter": ("Enter", "Enter", 13, "\r"),
    "ArrowDown": ("ArrowDown", "ArrowDown", 40, ""),
}


class Browser(DevTools):
    """Headless Chromium driven over ``--remote-debugging-pipe`` (NUL-separated JSON on the
    child's fds 3 (in) and 4 (out)), with one page."""

    def __init__(self, profile: Path) -> None:
        super().__init__(profile)
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.page(f"{domain}.enable")
        self.page("Emulation.setDeviceMetricsOverride", width=1280, height=1000,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.send(method, session=self.session, **params)

    def evaluate(self, expression: str) -> Any:
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                value = self.evaluate(expression)
                if value:
                    return value
            time.sleep(0.02)
        raise TimeoutError(f"never true in the page: {expression}")

    def press(self, name: str) -> None:
        key, code, virtual, text = KEYS[name]
        common = {"key": key, "code": code, "windowsVirtualKeyCode": virtual}
        self.page("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        self.page("Input.dispatchKeyEvent", type="keyUp", **common)

    def type_text(self, text: str) -> None:
        self.page("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) in the middle of ``selector``."""
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); "
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)  # fmt: skip

    def screenshot(self, path: Path) -> None:
        data = self.page("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def console_errors(self) -> list[str]:
        return console_errors(self.events)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def curation_server(arguments: list[str], log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m tagdecide.curate ARGUMENTS --port P``, until it answers; killed after."""
    port = free_port()
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "tagdecide.curate", *arguments, "--port", str(port)],
            stdout=output,
            stderr=output,
        )
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped: {log.read_text()}")
            # The socket is bound before the model and X are read: wait for an answer.
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{address}/api/session", timeout=5) as answer,
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server never listened: {log.read_text()}")
            time.sleep(0.1)
        yield server, address
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def write_inputs(folder: Path, strategy: str = "thresholds") -> dict[str, Any]:
    """A model file, its tracks' scores X, their truth, and a tracks-info file."""
    model, scores, truth = fitted(strategy)
    model_path, x_path, info_path = folder / "model.json", folder / "X.csv", folder / "info.csv"
    save_model(model, model_path)
    write_matrix(x_path, scores.ids, [*scores.tag_names, *scores.category_names],
                 scores.all_scores())  # fmt: skip
    lines = ["ChallengeID,title,artist,album,url"]
    lines += [f"{track},Song {track},Artist {track % 5},Album {track % 7}," for track in scores.ids]
    info_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"model": model_path, "x": x_path, "info": info_path, "scores": scores,
            "truth": truth, "model_object": model}  # fmt: skip


def settle(browser: Browser) -> None:
    browser.wait_until("window.curateBusy === 0 && document.querySelector('tr.tag-row') !== null")


def shown_track(browser: Browser) -> int:
    """The ChallengeID of the track the page shows."""
    meta = browser.evaluate("document.getElementById('track-meta').textContent")
    return int(meta.split("ChallengeID ")[1].split(" ")[0])


def focused_tag(browser: Browser) -> str:
    tag: str = browser.evaluate("document.activeElement.dataset.tag")
    return tag


@needs_chromium
def test_three_tracks_curated_by_keyboard_survive_a_killed_server(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path)
    database = tmp_path / "curation.sqlite"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    arguments = [str(inputs["model"]), str(inputs["x"]), "--db", str(database),
                 "--tracks-info", str(inputs["info"]), "--n", "10"]  # fmt: skip
    expected: dict[int, dict[str, int]] = {}
    browser = Browser(tmp_path / "profile")
    try:
        with curation_server(arguments, tmp_path / "server.log") as (server, address):
            browser.page("Page.navigate", url=address + "/")
            settle(browser)
            browser.wait_until("document.getElementById('progress-text').textContent"
                               ".startsWith('0 of 10')")  # fmt: skip
            for step in range(3):
                track = shown_track(browser)
                assert browser.evaluate("document.getElementById('track-title').textContent") == (
                    f"Song {track}"
                )
                verdicts: dict[str, int] = {}
                if step == 2:  # another curator writes on this track meanwhile
                    intruder = browser.evaluate(
                        "[...document.querySelectorAll('tr.tag-row')].at(-1).dataset.tag"
                    )
                    other = CurationStore(database)
                    version = other.state(track).version
                    other.add_verdict(track, intruder, 1, version=version, curator="ben")
                    other.close()
                    browser.press("r")  # made on the version the page shows: refused
                    settle(browser)
                    status = browser.evaluate("document.getElementById('status').textContent")
                    assert "changed by another curator" in status
                    assert f"your click (reject {focused_tag(browser)}) was not saved" in status
                    assert browser.evaluate("document.getElementById('status').className") == (
                        "conflict"
                    )
                    assert (
                        browser.evaluate(  # the other curator's verdict is shown
                            f"document.querySelector('tr[data-tag=\"{intruder}\"]').className"
                        )
                        == "tag-row verdict-yes"
                    )
                    browser.screenshot(shots / "conflict.png")
                    verdicts[intruder] = 1
                first = focused_tag(browser)
                browser.press("r")  # reject the first tag
                settle(browser)
                verdicts[first] = 0
                second = focused_tag(browser)  # a verdict moves the focus down
                assert second != first
                browser.press("a")  # accept the second
                settle(browser)
                verdicts[second] = 1
                if step == 0:  # a tag added by name, and a mouse click
                    rows = browser.evaluate(
                        "[...document.querySelectorAll('tr.tag-row')].map(r => r.dataset.tag)"
                    )
                    added, clicked = [tag for tag in rows if tag not in (first, second)][:2]
                    browser.press("t")
                    assert browser.evaluate("document.activeElement.id") == "add-tag"
                    browser.type_text(added)
                    browser.press("Enter")
                    settle(browser)
                    verdicts[added] = 1
                    browser.click(f'tr[data-tag="{clicked}"] button[aria-label^="reject"]')
                    settle(browser)
                    browser.wait_until(
                        f"document.querySelector('tr[data-tag=\"{clicked}\"]')"
                        ".classList.contains('verdict-no')"
                    )
                    verdicts[clicked] = 0
                if step == 1:  # a wrong click, undone
                    third = focused_tag(browser)
                    browser.press("r")
                    settle(browser)
                    browser.press("u")
                    settle(browser)
                    assert (
                        browser.evaluate(
                            f"document.querySelector('tr[data-tag=\"{third}\"]').className"
                        )
                        == "tag-row"
                    )
                browser.screenshot(shots / f"track-{step + 1}.png")
                expected[track] = verdicts
                browser.press("d")
                browser.wait_until(
                    f"window.curateBusy === 0 && !document.querySelector('#track-meta')"
                    f".textContent.includes('ChallengeID {track} ')"
                )
                browser.wait_until("document.getElementById('progress-text').textContent"
                                   f".startsWith('{step + 1} of 10')")  # fmt: skip
            browser.screenshot(shots / "after-three.png")
            timings = browser.evaluate("window.curateTimings")
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        # Nothing lost: the database, read without the server.
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        store = CurationStore(database)
        states = {state.track: state for state in store.states()}
        for track, verdicts in expected.items():
            assert states[track].done and states[track].verdicts == verdicts
        assert sum(state.done for state in states.values()) == 3
        # Restarted on the same database: the page continues where it was.
        with curation_server(arguments, tmp_path / "server.log") as (server, address):
            browser.page("Page.navigate", url=address + "/")
            settle(browser)
            browser.wait_until("document.getElementById('progress-text').textContent"
                               ".startsWith('3 of 10')")  # fmt: skip
            shown = shown_track(browser)
            assert shown not in expected
            figures = browser.evaluate("document.querySelectorAll('#figures-table tbody tr')"
                                       ".length")  # fmt: skip
            assert figures == 3  # Genres, Moods, all tags
            browser.screenshot(shots / "after-restart.png")
        errors = browser.console_errors()
        # The one refused click is logged by the browser as a failed request (409), no more.
        assert len(errors) == 1 and "status of 409" in errors[0], errors
    finally:
        browser.close()
    # The export: those three tracks, the verdicts over the model's decisions.
    out = tmp_path / "val_y.csv"
    result = CliRunner().invoke(curate, ["export", "--db", str(database), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = read_truth(out, TAXONOMY.tags)
    assert sorted(table.ids.tolist()) == sorted(expected)
    model, scores = inputs["model_object"], inputs["scores"]
    for row, track in enumerate(table.ids.tolist()):
        decided = model.predict(scores.subset(np.flatnonzero(scores.ids == track)))[0]
        for column, tag in enumerate(TAXONOMY.tags):
            want = expected[track].get(tag, int(decided[column]))
            assert table.values[row, column] == want, (track, tag)
    actions = [timing["action"] for timing in timings]
    assert actions.count("verdicts") == 10 and actions.count("undo") == 1
    assert actions.count("next") == 3 and all(timing["ms"] > 0 for timing in timings)
    for name in ("track-1", "track-2", "conflict", "track-3", "after-three", "after-restart"):
        assert (shots / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
