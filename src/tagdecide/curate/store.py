"""The curation database: every verdict a curator gives, kept in SQLite.

One file holds the queue (the tracks to look at, in order, with the model's decisions and
the tracks' scores, so that an export needs neither the model nor X) and an append-only
log of events, one row per click: a verdict on a tag (the tag belongs to the track or not),
or "track done". Undo does not delete: it stamps the latest live event of the track with
``undone_at``. Each click is one ``BEGIN IMMEDIATE`` transaction in WAL mode with
``synchronous=FULL``: a killed server loses at most the click in flight.

Two browsers may curate at once. Every track has a version, raised by each event; a write
names the version it was made on and is refused (:class:`ConflictError`) when another
write came first, so one curator's verdicts never silently replace another's on the same
track, and writes on different tracks never touch each other.

Truth of a finished ("done") track: a tag's latest live verdict, else the model's decision
(the untouched tags are taken as the model decided them, as in ``tagdecide sample``'s
prefilled template).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tagdecide.errors import InputError, TagdecideError

__all__ = [
    "SCHEMA_VERSION",
    "ConflictError",
    "CurationStore",
    "TrackState",
    "UnknownTrackError",
]

#: The layout of the tables below; a database with another version is refused on open.
SCHEMA_VERSION = 1
_APPLICATION = "tagdecide-curation"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tracks (
    track INTEGER PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    version INTEGER NOT NULL DEFAULT 0,
    decisions TEXT NOT NULL,
    scores BLOB NOT NULL,
    claimed_by TEXT,
    claimed_at REAL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    track INTEGER NOT NULL REFERENCES tracks (track),
    kind TEXT NOT NULL CHECK (kind IN ('verdict', 'done')),
    tag TEXT,
    present INTEGER CHECK (present IN (0, 1)),
    curator TEXT,
    at TEXT NOT NULL,
    undone_at TEXT
);
CREATE INDEX events_by_track ON events (track, id);
"""

#: A claim on a track (a browser showing it) keeps other browsers away this long.
CLAIM_SECONDS = 600.0


class ConflictError(TagdecideError):
    """A write made on an old version of a track: another curator wrote first."""

    def __init__(self, track: int, expected: int, current: int) -> None:
        super().__init__(
            f"track {track} was changed by another curator (version {current}, this page had "
            f"version {expected}); your click was not saved: look at the track again"
        )
        self.track, self.expected, self.current = track, expected, current


class UnknownTrackError(TagdecideError):
    """A track that is not in the curation queue."""


@dataclass(frozen=True)
class TrackState:
    """What the database knows about one queued track."""

    track: int
    position: int
    version: int
    decisions: np.ndarray  # the model's 0/1 decisions, in the stored tag order
    verdicts: dict[str, int]  # tag -> 1 (belongs) or 0 (does not): the latest live verdicts
    done: bool
    curators: list[str] = field(default_factory=list)  # who wrote the live events

    def truth(self, tags: Sequence[str]) -> np.ndarray:
        """The track's truth: the verdicts, the model's decisions where there is none."""
        row = self.decisions.copy()
        for index, tag in enumerate(tags):
            if tag in self.verdicts:
                row[index] = self.verdicts[tag]
        return row


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class CurationStore:
    """A curation database (created on first use).

    Parameters
    ----------
    path : path-like
        The SQLite file.

    Raises
    ------
    InputError
        The file is not a SQLite database, not a curation database, or has a schema
        version this tagdecide does not read (one line).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> store = CurationStore(Path(tempfile.mkdtemp()) / "c.sqlite")
    >>> store.create_queue(
    ...     tags=("rock", "jazz"), score_columns=("rock", "jazz"), queue="review",
    ...     ids=np.array([7]), decisions=np.array([[1, 0]]), scores=np.array([[0.8, 0.4]]),
    ...     model="thresholds")
    >>> state = store.add_verdict(7, "jazz", 1, version=0, curator="ana")
    >>> state = store.mark_done(7, version=state.version)
    >>> store.done_truth()[1].tolist()
    [[1, 1]]
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tags: tuple[str, ...] = ()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; give the curation database's file name")
        if not self.path.parent.is_dir():
            raise InputError(f"{self.path}: folder {self.path.parent} does not exist")
        try:
            self._check_schema()
        except BaseException:
            self.close()
            raise

    # -- connections ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (opened once: opening one per click costs more than
        the click; threads and processes each get their own)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self.path, timeout=30.0, isolation_level=None, check_same_thread=False
                )
                connection.execute("PRAGMA busy_timeout = 30000")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as error:
                raise self._refusal(error) from None
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        try:
            yield connection
        except sqlite3.DatabaseError as error:
            if "not a database" in str(error) or "malformed" in str(error):
                raise self._refusal(error) from None
            raise

    def _refusal(self, error: sqlite3.Error) -> InputError:
        if "not a database" in str(error) or "malformed" in str(error):
            return InputError(
                f"{self.path}: not a SQLite database (a curation database is a SQLite file)"
            )
        return InputError(f"{self.path}: cannot open the database ({error})")

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken at once (``BEGIN IMMEDIATE``), committed or undone."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _check_schema(self) -> None:
        with self._connect() as connection:
            tables = self._tables(connection)
            if not tables:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("BEGIN IMMEDIATE")
                if not self._tables(connection):  # nobody created it meanwhile
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.executemany(
                        "INSERT INTO meta VALUES (?, ?)",
                        [("application", _APPLICATION), ("schema_version", str(SCHEMA_VERSION))],
                    )
                connection.execute("COMMIT")
                return
            meta = {}
            if "meta" in tables:
                meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != _APPLICATION:
            raise InputError(f"{self.path}: not a tagdecide curation database")
        version = meta.get("schema_version", "")
        if version != str(SCHEMA_VERSION):
            newer = version.isdigit() and int(version) > SCHEMA_VERSION
            raise InputError(
                f"{self.path}: curation database schema version {version!r}; this tagdecide "
                f"reads version {SCHEMA_VERSION}"
                + (" (written by a newer tagdecide: upgrade tagdecide)" if newer else "")
            )

    @staticmethod
    def _tables(connection: sqlite3.Connection) -> set[str]:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    # -- the queue -----------------------------------------------------------------------

    def create_queue(
        self,
        *,
        tags: Sequence[str],
        score_columns: Sequence[str],
        queue: str,
        ids: np.ndarray,
        decisions: np.ndarray,
        scores: np.ndarray,
        model: str,
    ) -> None:
        """Store the queue: track ids in order, the model's decisions and the scores.

        Raises :class:`InputError` when the database already holds a queue.
        """
        ids = np.asarray(ids, dtype=np.int64)
        decisions = np.asarray(decisions, dtype=np.uint8)
        scores = np.asarray(scores, dtype=np.float64)
        if decisions.shape != (ids.size, len(tags)) or scores.shape != (
            ids.size,
            len(score_columns),
        ):
            raise InputError(
                f"queue of {ids.size} tracks: decisions {decisions.shape} and scores "
                f"{scores.shape} do not match {len(tags)} tags and {len(score_columns)} columns"
            )
        with self._write() as connection:
            if connection.execute("SELECT 1 FROM tracks LIMIT 1").fetchone():
                raise InputError(f"{self.path}: already holds a curation queue")
            connection.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("tags", json.dumps(list(tags))),
                    ("score_columns", json.dumps(list(score_columns))),
                    ("queue", queue),
                    ("model", model),
                    ("created_at", _now()),
                ],
            )
            connection.executemany(
                "INSERT INTO tracks (track, position, decisions, scores) VALUES (?, ?, ?, ?)",
                [
                    (int(track), position, "".join(map(str, row.tolist())), values.tobytes())
                    for position, (track, row, values) in enumerate(
                        zip(ids, decisions, scores, strict=True)
                    )
                ],
            )

    def meta(self) -> dict[str, str]:
        """The database's ``meta`` table (schema version, tags, queue kind, model...)."""
        with self._connect() as connection:
            return dict(connection.execute("SELECT key, value FROM meta").fetchall())

    def tags(self) -> tuple[str, ...]:
        """The model's tags in its order (empty before the queue is stored)."""
        if not self._tags:  # stored once with the queue, never changed after
            self._tags = tuple(json.loads(self.meta().get("tags", "[]")))
        return self._tags

    def fingerprint(self) -> tuple[int, int, int]:
        """Changes whenever an event is written or undone (to cache what is read from them)."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT count(*), coalesce(max(id), 0), count(undone_at) FROM events"
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def queue_ids(self) -> np.ndarray:
        """The queued tracks' ids, in queue order."""
        with self._connect() as connection:
            rows = connection.execute("SELECT track FROM tracks ORDER BY position").fetchall()
        return np.array([row[0] for row in rows], dtype=np.int64)

    # -- reading -------------------------------------------------------------------------

    def state(self, track: int) -> TrackState:
        """What is known about ``track`` now."""
        with self._connect() as connection:
            return self._state(connection, track)

    def _state(self, connection: sqlite3.Connection, track: int) -> TrackState:
        row = connection.execute(
            "SELECT position, version, decisions FROM tracks WHERE track = ?", (track,)
        ).fetchone()
        if row is None:
            raise UnknownTrackError(f"track {track} is not in the curation queue")
        events = connection.execute(
            "SELECT kind, tag, present, curator FROM events "
            "WHERE track = ? AND undone_at IS NULL ORDER BY id",
            (track,),
        ).fetchall()
        return _fold(track, row, events)

    def states(self) -> list[TrackState]:
        """Every queued track's state, in queue order (one read)."""
        with self._connect() as connection:
            connection.execute("BEGIN")  # one snapshot for both queries
            try:
                tracks = connection.execute(
                    "SELECT track, position, version, decisions FROM tracks ORDER BY position"
                ).fetchall()
                events = connection.execute(
                    "SELECT track, kind, tag, present, curator FROM events "
                    "WHERE undone_at IS NULL ORDER BY id"
                ).fetchall()
            finally:
                connection.execute("COMMIT")
        by_track: dict[int, list[Sequence[object]]] = {}
        for track, *event in events:
            by_track.setdefault(track, []).append(event)
        return [_fold(track, rest, by_track.get(track, [])) for track, *rest in tracks]

    def done_truth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The finished tracks: ids, truth ``(n_done, n_tags)`` and scores, in queue order."""
        tags = self.tags()
        with self._connect() as connection:
            scores = dict(connection.execute("SELECT track, scores FROM tracks").fetchall())
        done = [state for state in self.states() if state.done]
        n_columns = len(json.loads(self.meta().get("score_columns", "[]")))
        ids = np.array([state.track for state in done], dtype=np.int64)
        truth = np.array([state.truth(tags) for state in done], dtype=np.uint8).reshape(
            len(done), len(tags)
        )
        matrix = np.array(
            [np.frombuffer(scores[state.track], dtype=np.float64) for state in done]
        ).reshape(len(done), n_columns)
        return ids, truth, matrix

    def progress(self) -> tuple[int, int]:
        """(tracks done, tracks in the queue)."""
        states = self.states()
        return sum(state.done for state in states), len(states)

    def count_events(self) -> int:
        """Rows in the event log (every click, undone ones included)."""
        with self._connect() as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])

    # -- writing -------------------------------------------------------------------------

    def _checked(self, connection: sqlite3.Connection, track: int, version: int) -> None:
        row = connection.execute("SELECT version FROM tracks WHERE track = ?", (track,)).fetchone()
        if row is None:
            raise UnknownTrackError(f"track {track} is not in the curation queue")
        if row[0] != version:
            raise ConflictError(track, version, row[0])

    def _event(
        self,
        track: int,
        version: int,
        kind: str,
        tag: str | None,
        present: int | None,
        curator: str | None,
    ) -> TrackState:
        with self._write() as connection:
            self._checked(connection, track, version)
            connection.execute(
                "INSERT INTO events (track, kind, tag, present, curator, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (track, kind, tag, present, curator, _now()),
            )
            connection.execute("UPDATE tracks SET version = version + 1 WHERE track = ?", (track,))
            return self._state(connection, track)

    def add_verdict(
        self, track: int, tag: str, present: int, *, version: int, curator: str | None = None
    ) -> TrackState:
        """Record that ``tag`` belongs to ``track`` (``present=1``) or not (0)."""
        if tag not in self.tags():
            raise InputError(f"tag: {tag!r} is not one of the model's tags")
        if present not in (0, 1) or isinstance(present, bool):
            raise InputError(f"present: must be 0 or 1; got {present!r}")
        return self._event(track, version, "verdict", tag, present, curator)

    def mark_done(self, track: int, *, version: int, curator: str | None = None) -> TrackState:
        """Record that ``track`` is fully curated (its untouched tags: as the model decided)."""
        return self._event(track, version, "done", None, None, curator)

    def undo(self, track: int, *, version: int, curator: str | None = None) -> TrackState:
        """Withdraw the latest live event of ``track`` (a verdict or "done")."""
        with self._write() as connection:
            self._checked(connection, track, version)
            row = connection.execute(
                "SELECT id FROM events WHERE track = ? AND undone_at IS NULL "
                "ORDER BY id DESC LIMIT 1",
                (track,),
            ).fetchone()
            if row is None:
                raise InputError(f"track {track}: nothing to undo")
            connection.execute("UPDATE events SET undone_at = ? WHERE id = ?", (_now(), row[0]))
            connection.execute("UPDATE tracks SET version = version + 1 WHERE track = ?", (track,))
            return self._state(connection, track)

    def next_track(
        self, client: str, *, after: int | None = None, now: float | None = None
    ) -> int | None:
        """The next unfinished track for browser ``client``, and claim it.

        The first unfinished track after queue position ``after`` (from the start when
        None, wrapping around) that no other browser claimed in the last
        :data:`CLAIM_SECONDS`; failing that, any unfinished track. None when all are done.
        """
        import time

        moment = time.time() if now is None else now
        with self._write() as connection:
            done = {
                row[0]
                for row in connection.execute(
                    "SELECT track FROM events WHERE kind = 'done' AND undone_at IS NULL"
                )
            }
            rows = connection.execute(
                "SELECT track, position, claimed_by, claimed_at FROM tracks ORDER BY position"
            ).fetchall()
            start = -1 if after is None else after
            ordered = [row for row in rows if row[1] > start] + [
                row for row in rows if row[1] <= start
            ]
            open_tracks = [row for row in ordered if row[0] not in done]
            free = [
                row
                for row in open_tracks
                if row[2] in (None, client) or moment - (row[3] or 0.0) > CLAIM_SECONDS
            ]
            chosen = (free or open_tracks or [None])[0]
            if chosen is None:
                return None
            # A browser holds one claim: the track it shows.
            connection.execute(
                "UPDATE tracks SET claimed_by = NULL WHERE claimed_by = ?", (client,)
            )
            connection.execute(
                "UPDATE tracks SET claimed_by = ?, claimed_at = ? WHERE track = ?",
                (client, moment, chosen[0]),
            )
            return int(chosen[0])


def _fold(
    track: int,
    row: Sequence[object],
    events: Sequence[Sequence[object]],
) -> TrackState:
    """A track's state from its row ``(position, version, decisions)`` and live events."""
    position, version, decisions = row
    verdicts: dict[str, int] = {}
    done = False
    curators: list[str] = []
    for kind, tag, present, curator in events:
        if kind == "verdict":
            verdicts[str(tag)] = int(present)  # type: ignore[call-overload]
        else:
            done = True
        if curator and curator not in curators:
            curators.append(str(curator))
    return TrackState(
        track=track,
        position=int(position),  # type: ignore[call-overload]
        version=int(version),  # type: ignore[call-overload]
        decisions=np.frombuffer(str(decisions).encode(), dtype=np.uint8) - ord("0"),
        verdicts=verdicts,
        done=done,
        curators=curators,
    )
