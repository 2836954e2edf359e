"""The curation database: verdicts, undo, done, conflicts, concurrent writers, schema, kills."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tagdecide.curate.store import (
    CLAIM_SECONDS,
    SCHEMA_VERSION,
    ConflictError,
    CurationStore,
    UnknownTrackError,
)
from tagdecide.errors import InputError

TAGS = ("rock", "jazz", "happy")
IDS = np.array([30, 10, 20])
DECISIONS = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
SCORES = np.array([[0.9, 0.1, 0.2, 0.5], [0.2, 0.8, 0.7, 0.4], [0.3, 0.3, 0.3, 0.1]])


def _store(path: Path) -> CurationStore:
    store = CurationStore(path)
    store.create_queue(
        tags=TAGS,
        score_columns=(*TAGS, "mood"),
        queue="sample",
        ids=IDS,
        decisions=DECISIONS,
        scores=SCORES,
        model="thresholds",
    )
    return store


def test_truth_is_the_verdicts_over_the_models_decisions(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.sqlite")
    state = store.add_verdict(30, "rock", 0, version=0, curator="ana")
    state = store.add_verdict(30, "happy", 1, version=state.version)
    assert state.verdicts == {"rock": 0, "happy": 1} and state.curators == ["ana"]
    assert not state.done
    state = store.mark_done(30, version=state.version)
    store.mark_done(20, version=0)
    ids, truth, scores = store.done_truth()
    assert ids.tolist() == [30, 20]  # queue order, not id order
    assert truth.tolist() == [[0, 0, 1], [0, 0, 0]]
    np.testing.assert_array_equal(scores, SCORES[[0, 2]])
    assert store.progress() == (2, 3)


def test_undo_restores_the_previous_verdict_and_reopens_a_done_track(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.sqlite")
    state = store.add_verdict(10, "jazz", 0, version=0)
    state = store.add_verdict(10, "jazz", 1, version=state.version)
    state = store.mark_done(10, version=state.version)
    state = store.undo(10, version=state.version)
    assert not state.done and state.verdicts == {"jazz": 1}
    state = store.undo(10, version=state.version)
    assert state.verdicts == {"jazz": 0}
    state = store.undo(10, version=state.version)
    assert state.verdicts == {}
    with pytest.raises(InputError, match="track 10: nothing to undo"):
        store.undo(10, version=state.version)
    assert store.count_events() == 3  # undo keeps the history: rows are stamped, not deleted


def test_a_stale_version_is_refused_and_the_other_write_kept(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.sqlite")
    first = store.add_verdict(30, "jazz", 1, version=0, curator="ana")
    with pytest.raises(ConflictError, match="track 30 was changed by another curator"):
        store.add_verdict(30, "jazz", 0, version=0, curator="ben")
    assert store.state(30).verdicts == {"jazz": 1}
    assert store.state(30).version == first.version == 1
    # A write on another track is not a conflict.
    assert store.add_verdict(10, "rock", 1, version=0, curator="ben").version == 1


def test_bad_tags_tracks_and_values_are_refused(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.sqlite")
    with pytest.raises(InputError, match="tag: 'blues' is not one of the model's tags"):
        store.add_verdict(30, "blues", 1, version=0)
    with pytest.raises(InputError, match="present: must be 0 or 1; got 2"):
        store.add_verdict(30, "rock", 2, version=0)
    with pytest.raises(UnknownTrackError, match="track 99 is not in the curation queue"):
        store.add_verdict(99, "rock", 1, version=0)
    with pytest.raises(UnknownTrackError, match="track 99"):
        store.mark_done(99, version=0)
    with pytest.raises(InputError, match="already holds a curation queue"):
        store.create_queue(
            tags=TAGS, score_columns=TAGS, queue="review", ids=IDS[:1],
            decisions=DECISIONS[:1], scores=SCORES[:1, :3], model="m",
        )  # fmt: skip
    assert store.count_events() == 0


def test_schema_version_is_checked_on_open(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _store(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                           (str(SCHEMA_VERSION + 1),))  # fmt: skip
    with pytest.raises(InputError, match=r"schema version '2'; this tagdecide reads version 1 "
                       r"\(written by a newer tagdecide"):  # fmt: skip
        CurationStore(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = 'x1' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="schema version 'x1'; this tagdecide reads version 1$"):
        CurationStore(path)


def test_other_files_are_refused_in_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite"
    text.write_text("ChallengeID,rock\n1,0\n" * 200)
    with pytest.raises(InputError, match="notes.sqlite: not a SQLite database"):
        CurationStore(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE songs (id INTEGER)")
    with pytest.raises(InputError, match="other.sqlite: not a tagdecide curation database"):
        CurationStore(other)
    with pytest.raises(InputError, match="is a folder"):
        CurationStore(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        CurationStore(tmp_path / "missing" / "c.sqlite")
    assert text.read_text().startswith("ChallengeID")  # untouched


def test_two_browsers_are_given_different_tracks(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.sqlite")
    assert store.next_track("a", now=1000.0) == 30
    assert store.next_track("b", now=1001.0) == 10
    assert store.next_track("a", now=1002.0) == 30  # its own claim
    assert store.next_track("a", after=0, now=1003.0) == 20  # skip: 30 is let go
    assert store.next_track("c", now=1004.0) == 30
    # Past its claim, a track is free again.
    assert store.next_track("d", now=1001.0 + CLAIM_SECONDS + 1) == 10
    # With every open track claimed, one is given all the same (never nothing to do).
    assert store.next_track("e", now=1001.0 + CLAIM_SECONDS + 2) == 30
    state = store.mark_done(10, version=0)
    assert state.done
    for track in (30, 20):
        store.mark_done(track, version=0)
    assert store.next_track("a") is None


def _write_many(path: str, track: int, count: int) -> None:
    store = CurationStore(path)
    version = store.state(track).version
    for index in range(count):
        version = store.add_verdict(
            track, TAGS[index % 3], index % 2, version=version, curator=str(track)
        ).version


def _race(path: str, track: int, attempts: int, queue: multiprocessing.Queue) -> None:
    store = CurationStore(path)
    won = 0
    for _ in range(attempts):
        try:
            version = store.state(track).version
            store.add_verdict(track, "rock", 1, version=version, curator=str(os.getpid()))
            won += 1
        except ConflictError:
            pass
    queue.put(won)


def test_concurrent_writers_on_different_tracks_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _store(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(str(path), int(track), 40))
               for track in IDS]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    store = CurationStore(path)
    assert store.count_events() == 120
    for track in IDS:
        state = store.state(int(track))
        assert state.version == 40 and state.curators == [str(track)]


def test_concurrent_writers_on_one_track_conflict_and_no_write_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _store(path)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_race, args=(str(path), 30, 30, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    won = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(60)
    results.close()
    results.join_thread()
    store = CurationStore(path)
    # Every accepted write is a row and a version step; refused ones left no trace.
    assert store.count_events() == sum(won) == store.state(30).version
    assert sum(won) >= 30  # at least one writer always wins a round


_KILLED_WRITER = """
import sys
from tagdecide.curate.store import CurationStore
store = CurationStore(sys.argv[1])
version = 0
for index in range(100000):
    version = store.add_verdict(30, "rock", index % 2, version=version).version
    print(version, flush=True)
"""


def test_a_killed_writer_loses_at_most_the_click_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _store(path)
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    confirmed = 0
    started = time.monotonic()
    while confirmed < 30 and time.monotonic() - started < 60:
        confirmed = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    reported = [int(line) for line in writer.stdout.read().split()]
    writer.stdout.close()
    confirmed = max([confirmed, *reported])
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store = CurationStore(path)
    # Every click confirmed is there; at most the one in flight may be there besides.
    assert confirmed <= store.count_events() <= confirmed + 1
    assert store.state(30).version == store.count_events()
