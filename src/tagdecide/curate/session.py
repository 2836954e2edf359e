"""A curation session: the model, the scores, the queue and what the page shows of a track.

:func:`open_session` builds the queue the first time a database is used (the labelling
sample of :func:`tagdecide.sampling.choose_tracks_to_label`, or the tracks of the most
doubtful decisions of :func:`tagdecide.review.review_queue`) and stores it; later runs on
the same database continue that queue.
"""

from __future__ import annotations

import csv
import functools
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tagdecide.curate.metrics import class_figures
from tagdecide.curate.store import CurationStore, TrackState
from tagdecide.data import ID_COLUMN, TrackScores
from tagdecide.errors import InputError, list_some
from tagdecide.explain import TagExplanation, explain_track
from tagdecide.review import review_queue
from tagdecide.sampling import choose_tracks_to_label
from tagdecide.strategies import Strategy

__all__ = ["QueueKind", "Session", "TrackInfo", "open_session", "read_tracks_info"]

QueueKind = Literal["sample", "review"]
#: Columns of ``--tracks-info`` the page shows, besides ``ChallengeID``.
INFO_COLUMNS = ("title", "artist", "album", "url")
#: Near misses shown per class.
NEAR_PER_CLASS = 5


@dataclass(frozen=True)
class TrackInfo:
    """What a catalogue knows about a track: shown above its tags."""

    title: str = ""
    artist: str = ""
    album: str = ""
    url: str = ""  # http(s) URL, or a local audio file (served by the page)

    @property
    def local_audio(self) -> Path | None:
        if not self.url or "://" in self.url:
            return None
        return Path(self.url)


def read_tracks_info(path: str | Path) -> dict[int, TrackInfo]:
    """``ChallengeID`` and any of title, artist, album, url from a CSV file.

    A url without a scheme is a local file, relative to the CSV's folder. Other columns
    are ignored.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 CSV file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    if not rows:
        raise InputError(f"{path}: empty file; expected a header with {ID_COLUMN}")
    header = [name.strip() for name in rows[0]]
    if ID_COLUMN not in header:
        raise InputError(f"{path}: no {ID_COLUMN} column (columns: {list_some(header)})")
    id_at = header.index(ID_COLUMN)
    shown = {name: header.index(name) for name in INFO_COLUMNS if name in header}
    if not shown:
        raise InputError(f"{path}: none of the columns {', '.join(INFO_COLUMNS)}")
    info: dict[int, TrackInfo] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{path}: line {line} has {len(row)} cells; the header has {len(header)}"
            )
        try:
            track = int(row[id_at])
        except ValueError:
            raise InputError(
                f"{path}: line {line}, column {ID_COLUMN}: {row[id_at]!r} is not an integer"
            ) from None
        if track in info:
            raise InputError(f"{path}: line {line}: {ID_COLUMN} {track} repeated")
        cells = {name: row[index].strip() for name, index in shown.items()}
        url = cells.get("url", "")
        if "://" in url and not url.lower().startswith(("http://", "https://")):
            raise InputError(
                f"{path}: line {line}, column url: {url!r}; give an http(s) URL or a local "
                "file's path"
            )
        if url and "://" not in url:
            url = str((path.parent / url).resolve())
        cells["url"] = url
        info[track] = TrackInfo(**cells)
    return info


@dataclass
class Session:
    """What ``tagdecide curate`` serves: the model, the scores X (the whole file: spreads and
    values are measured over it, as ``review`` and ``explain`` do), the store and the
    tracks' info. Use :func:`open_session` to make one."""

    model: Strategy
    scores: TrackScores
    store: CurationStore
    info: dict[int, TrackInfo] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tags: tuple[str, ...] = tuple(self.model.tag_names_)
        taxonomy = self.model.taxonomy_
        self.tag_classes: tuple[str, ...] = tuple(
            taxonomy.class_of(tag) if taxonomy is not None and tag in taxonomy else "tags"
            for tag in self.tags
        )
        self._row = {int(track): row for row, track in enumerate(self.scores.ids.tolist())}
        self._lock = threading.Lock()
        self._explained: dict[int, list[TagExplanation]] = {}
        self._progress: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain")
        self._values, self._thresholds = self.model.decision_rule(self.scores)
        spread = self._values.std(axis=0)
        self._spread = np.where(spread > 0, spread, 1.0)

    @functools.cached_property
    def queue_ids(self) -> np.ndarray:
        return self.store.queue_ids()

    def describe(self) -> dict[str, Any]:
        """What the page needs once: tags, classes, the queue."""
        meta = self.store.meta()
        return {
            "tags": list(self.tags),
            "classes": list(self.tag_classes),
            "queue": meta.get("queue"),
            "model": meta.get("model"),
            "budget": int(self.queue_ids.size),
            "database": str(self.store.path),
        }

    def _explanations(self, track: int) -> list[TagExplanation]:
        """Every tag given to ``track`` and the nearest misses of each class."""
        # explain_track is not cheap for stacked models (it reads the whole of X, and works
        # out the inputs of each tag it explains): it is asked for queued tracks only, for
        # as few near misses as cover the ones chosen per class here.
        with self._lock:  # one explanation at a time; each is kept (the queue is small)
            if track not in self._explained:
                self._explained[track] = self._explain(track)
            return self._explained[track]

    def _explain(self, track: int) -> list[TagExplanation]:
        row = self._row[track]
        values, thresholds = self._values[row], self._thresholds
        given = values >= thresholds
        distance = np.where(given | ~np.isfinite(thresholds), np.inf, thresholds - values)
        distance = distance / self._spread
        classes = np.asarray(self.tag_classes, dtype=object)
        order = np.argsort(distance, kind="stable")  # as explain_track ranks near misses
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        near: set[str] = set()
        deepest = 0
        for name in dict.fromkeys(self.tag_classes):
            columns = np.flatnonzero((classes == name) & np.isfinite(distance))
            nearest = columns[np.argsort(distance[columns], kind="stable")[:NEAR_PER_CLASS]]
            near.update(self.tags[column] for column in nearest)
            deepest = max([deepest, *(int(rank[column]) + 1 for column in nearest)])
        explanation = explain_track(self.model, self.scores, track, near=deepest, source="X")
        return [*explanation.yes, *(item for item in explanation.near_misses if item.tag in near)]

    def prefetch(self, position: int, count: int = 2) -> None:
        """Explain the tracks after queue ``position`` in the background (a stacked model
        takes a few tenths of a second per track), so that the next page comes at once."""
        upcoming = [int(track) for track in self.queue_ids[position + 1 : position + 1 + count]]
        upcoming = [track for track in upcoming if track not in self._explained]
        if upcoming:
            self._background.submit(lambda: [self._explanations(track) for track in upcoming])

    def track_view(self, state: TrackState) -> dict[str, Any]:
        """Everything the page shows of one track, with its verdicts so far."""
        if state.track not in self._row:
            raise InputError(f"track {state.track} of the queue is not in X")
        info = self.info.get(state.track, TrackInfo())
        audio = info.url
        if info.local_audio is not None:
            audio = f"/audio/{state.track}"
        model_given = {self.tags[j] for j in np.flatnonzero(state.decisions)}
        tags = []
        for item in self._explanations(state.track):
            tags.append(
                {
                    "tag": item.tag,
                    "class": self.tag_classes[self.tags.index(item.tag)],
                    "given": item.tag in model_given,
                    "score": item.score,
                    "value": item.value,
                    "threshold": item.threshold,
                    "margin": item.margin,
                    "rule": item.rule,
                    "inputs": [{"input": name, "contribution": v} for name, v in item.inputs],
                    "verdict": state.verdicts.get(item.tag),
                }
            )
        self.prefetch(state.position)
        shown = {entry["tag"] for entry in tags}
        for tag, present in state.verdicts.items():  # tags the curator added by hand
            if tag not in shown:
                column = self.tags.index(tag)
                tags.append(
                    {
                        "tag": tag,
                        "class": self.tag_classes[column],
                        "given": tag in model_given,
                        "score": float(self.scores.tag_scores[self._row[state.track], column]),
                        "value": float(self._values[self._row[state.track], column]),
                        "threshold": float(self._thresholds[column]),
                        "margin": float(
                            self._values[self._row[state.track], column] - self._thresholds[column]
                        ),
                        "rule": "",
                        "inputs": [],
                        "verdict": present,
                    }
                )
        return {
            "track": state.track,
            "position": state.position,
            "version": state.version,
            "done": state.done,
            "curators": state.curators,
            "info": {
                "title": info.title,
                "artist": info.artist,
                "album": info.album,
                "audio": audio,
            },
            "tags": tags,
        }

    def progress(self) -> dict[str, Any]:
        """Tracks done of the budget, and the model's figures on them per class.

        The bootstraps take a while on hundreds of tracks: the answer is kept until an
        event is written or undone.
        """
        fingerprint = self.store.fingerprint()
        if self._progress is None or self._progress[0] != fingerprint:
            self._progress = (fingerprint, self._compute_progress())
        return self._progress[1]

    def _compute_progress(self) -> dict[str, Any]:
        states = self.store.states()
        done = [state for state in states if state.done]
        truth = np.array([state.truth(self.tags) for state in done], dtype=np.uint8)
        decided = np.array([state.decisions for state in done], dtype=np.uint8)
        shape = (len(done), len(self.tags))
        figures = class_figures(truth.reshape(shape), decided.reshape(shape), self.tag_classes)
        return {
            "done": len(done),
            "budget": len(states),
            "verdicts": sum(len(state.verdicts) for state in done),
            "figures": figures,
        }


def open_session(
    model: Strategy,
    scores: TrackScores,
    store: CurationStore,
    *,
    queue: QueueKind = "sample",
    n: int = 200,
    groups: np.ndarray | None = None,
    info: dict[int, TrackInfo] | None = None,
    model_label: str = "",
    seed: int = 0,
) -> Session:
    """A session on ``store``: its stored queue, or a new one of ``n`` tracks of ``scores``.

    The queued tracks' scores are kept, and a model with other tags than the database's is
    refused (its verdicts would mean something else).
    """
    if n < 1:
        raise InputError(f"--n must be at least 1; got {n}")
    tags = tuple(model.tag_names_)
    notes: list[str] = []
    meta = store.meta()
    if "tags" in meta:
        stored = store.tags()
        if stored != tags:
            differing = [tag for tag in stored if tag not in tags] or list(stored)
            raise InputError(
                f"{store.path}: was made for a model with other tags ({list_some(differing)} "
                f"...); use another --db for this model"
            )
        if meta.get("queue") != queue:
            notes.append(
                f"{store.path} holds a {meta.get('queue')} queue; it is continued "
                f"(--queue {queue} applies to a new database)"
            )
        ids = store.queue_ids()
        missing = ids[~np.isin(ids, scores.ids)]
        if missing.size:
            raise InputError(
                f"X: {missing.size} queued track(s) of {store.path} are missing: "
                f"{ID_COLUMN} {list_some(missing.tolist())}"
            )
    else:
        ids = _choose(model, scores, queue, n, groups, seed, notes)
        rows = _rows_of(scores, ids)
        picked = scores.subset(rows)
        store.create_queue(
            tags=tags,
            score_columns=(*picked.tag_names, *picked.category_names),
            queue=queue,
            ids=ids,
            decisions=model.predict(picked),
            scores=picked.all_scores(),
            model=model_label or model.name,
        )
    # Only the queued tracks are explained, but spreads and values are over the whole of X
    # (as review and explain measure them).
    session = Session(model=model, scores=scores, store=store, info=info or {}, notes=notes)
    session.prefetch(-1)  # the first tracks, while the browser opens
    return session


def _rows_of(scores: TrackScores, ids: Sequence[int] | np.ndarray) -> np.ndarray:
    position = {int(track): row for row, track in enumerate(scores.ids.tolist())}
    return np.array([position[int(track)] for track in ids], dtype=np.int64)


def _choose(
    model: Strategy,
    scores: TrackScores,
    queue: str,
    n: int,
    groups: np.ndarray | None,
    seed: int,
    notes: list[str],
) -> np.ndarray:
    if queue == "sample":
        sample = choose_tracks_to_label(model, scores, n, groups=groups, seed=seed)
        notes.extend(sample.notes)
        return np.asarray(sample.ids, dtype=np.int64)
    if queue != "review":
        raise InputError(f"--queue must be sample or review; got {queue!r}")
    # The tracks of the most doubtful decisions, in order of their most doubtful one.
    items = review_queue(model, scores, top=max(n * 20, 1000))
    chosen = list(dict.fromkeys(item.track for item in items))[:n]
    if len(chosen) < n:
        notes.append(f"only {len(chosen)} tracks have a doubtful decision; asked for {n}")
    if not chosen:
        raise InputError("X: no decision near a threshold (every tag is never predicted)")
    return np.asarray(chosen, dtype=np.int64)
