"""The Dask engine: a fitted model applied to a folder of Parquet files on a cluster.

Needs the ``dask`` extra (``pip install 'tagdecide[dask]'``). One task per file reads it
batch by batch with :mod:`tagdecide.io`'s Parquet reader and checks, the very ones the
local engine uses, so an error names the file, the column, the track and the value. The
model travels to the workers as its model-file dict
(:func:`tagdecide.model_file.model_to_dict`), never as a pickled object, and is rebuilt
once per worker; every worker needs tagdecide installed and must reach the input and
output folders (shared storage, or ``s3://...`` with ``s3fs``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tagdecide._files import (
    TEMPORARY_MARK,
    check_not_an_input,
    is_url,
    move_folder_into_place,
    new_temporary_folder,
    removing_on_terminate,
)
from tagdecide.data import ID_COLUMN
from tagdecide.engines.local import category_columns
from tagdecide.errors import InputError, TagdecideError
from tagdecide.io.batches import DEFAULT_BATCH_ROWS
from tagdecide.io.formats import PARQUET_SUFFIXES, check_column_names, first_line
from tagdecide.io.ids import check_unique
from tagdecide.io.parquet_reader import iter_parquet_batches
from tagdecide.io.scores import check_score_batch, resolve_score_columns
from tagdecide.io.writers import decisions_batch, decisions_schema
from tagdecide.model_file import model_to_dict, strategy_from_dict
from tagdecide.strategies import Strategy

__all__ = ["predict_parquet_folder"]

_DASK_MODULES = r"(dask|distributed|tornado)(\.|$)"
#: How long to try reaching a --scheduler: a cluster that is up answers in well under it.
_CONNECT_TIMEOUT = "3s"

#: Models rebuilt on this worker, by the digest of their dict.
_MODELS: dict[str, Strategy] = {}
_MODELS_LOCK = threading.Lock()


# SIGTERM raises SystemExit inside, so the temporary folder is removed as on Ctrl+C.
@removing_on_terminate()
def predict_parquet_folder(
    model: Strategy,
    in_folder: str | Path,
    out_folder: str | Path,
    *,
    scheduler: str | None = None,
) -> int:
    """Decide every track of the Parquet files in ``in_folder``; write them to ``out_folder``.

    ``out_folder`` becomes a folder of Parquet files (``part.0.parquet``, ... one per input
    file, in name order) with ``ChallengeID`` then one int8 0/1 column per tag
    (``model.tag_names_`` order). It is written beside its final name and renamed into
    place only when every file succeeded: an existing ``out_folder`` is untouched on error.
    Without ``scheduler`` a local cluster (2 workers, threads) is started and closed inside
    the call; with it (``tcp://host:8786``), the cluster there is used. Returns the number
    of tracks written.

    Raises
    ------
    InputError
        When the input folder is missing or holds no Parquet file, a file lacks a column,
        an id is not a decimal integer or appears twice, or a score is empty, NaN or outside
        [0, 1] (naming the file, the column, the ChallengeID and the value).
    """
    import pyarrow as pa

    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise TagdecideError(
            f"--engine dask needs Dask ({error}): pip install 'tagdecide[dask]'"
        ) from None

    source, target = str(in_folder), str(out_folder)
    _check_input_folder(source)
    check_not_an_input(target, [source], option="out_folder", folder=True)
    files = _parquet_files(source)
    columns = category_columns(model)
    tags = list(model.tag_names_)
    model_dict = model_to_dict(model)
    digest = hashlib.sha256(json.dumps(model_dict, sort_keys=True).encode()).hexdigest()
    # The first file's columns are checked here, so that a wrong folder fails at once and
    # its unknown columns are warned about; every file's are checked by its task.
    with _opened(files[0]) as handle:
        resolve_score_columns(files[0], _schema_names(files[0], handle), tags, **columns)
    temporary = _temporary_beside(target)
    try:
        _make_folder(temporary)
        tasks = [
            dask.delayed(_decide_file, pure=False)(
                name,
                f"{temporary}/part.{number}.parquet",
                model_dict=model_dict,
                digest=digest,
                tags=tags,
                **columns,
            )
            for number, name in enumerate(files)
        ]
        # The log is quiet until the cluster is closed: tasks still running after the
        # first error fail too, and would log it.
        with (
            _quiet_worker_log(),
            _client(scheduler, Client, LocalCluster) as client,
            warnings.catch_warnings(),
        ):
            # Deprecation notes raised inside Dask's own code are not the user's concern;
            # tagdecide's warnings still show.
            warnings.filterwarnings("ignore", module=_DASK_MODULES)
            try:
                file_ids = client.compute(tasks, sync=True)
            except (OSError, pa.ArrowException) as error:
                raise InputError(f"{source}: cannot read or write ({first_line(error)})") from None
        _check_unique_across(source, files, file_ids)
        _move_into_place(temporary, target)
    finally:
        _remove(temporary)
    return sum(ids.size for ids in file_ids)


def _decide_file(
    name: str,
    out_name: str,
    *,
    model_dict: dict[str, Any],
    digest: str,
    tags: list[str],
    category_names: tuple[str, ...],
    require_categories: bool,
) -> np.ndarray:
    """Decide the tracks of one Parquet file into ``out_name``; return its ids, sorted.

    Read batch by batch with the local engine's reader and checks
    (:func:`tagdecide.io.scores.check_score_batch`), so memory stays bounded whatever the
    file's size and errors name this file, its column, the track and the value.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    model = _worker_model(model_dict, digest)
    schema = decisions_schema(tags)
    seen: list[np.ndarray] = []
    with _opened(name) as handle, _opened(out_name, "wb") as out:
        names = _schema_names(name, handle)
        categories = resolve_score_columns(
            name, names, tags, category_names, require_categories, warn_unknown=False
        )
        wanted = [*tags, *categories]
        types = {column: pa.float64() for column in wanted} | {ID_COLUMN: pa.int64()}
        first_row = 0
        with pq.ParquetWriter(out, schema) as writer:
            batches = iter_parquet_batches(name, wanted, types, DEFAULT_BATCH_ROWS, handle=handle)
            for batch in batches:
                scores = check_score_batch(batch, name, first_row, tags, categories)
                first_row += batch.num_rows
                decided = np.asarray(model.predict(scores), dtype=np.int8)
                writer.write_batch(decisions_batch(scores.ids, decided, schema))
                seen.append(scores.ids)
    ids = np.sort(np.concatenate(seen)) if seen else np.empty(0, dtype=np.int64)
    check_unique(ids, name)
    return ids


def _schema_names(name: str, handle: Any) -> list[str]:
    """The column names of an open Parquet file, checked like every reader's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(handle).names)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name}: not a readable Parquet file ({first_line(error)})") from None
    handle.seek(0)
    check_column_names(name, names)
    return names


@contextlib.contextmanager
def _opened(name: str, mode: str = "rb") -> Iterator[Any]:
    """``name`` opened: a local path directly, a URL (``s3://...``) through fsspec."""
    try:
        if is_url(name):
            import fsspec

            handle = fsspec.open(name, mode).open()
        else:
            handle = open(name, mode)  # noqa: SIM115 (closed by the with below)
    except OSError as error:
        raise InputError(f"{name}: cannot open ({first_line(error)})") from None
    with handle:
        yield handle


def _check_unique_across(source: str, files: list[str], file_ids: list[np.ndarray]) -> None:
    """Raise naming the first id held by two files (each file's ids are unique, sorted)."""
    every = np.concatenate(file_ids)
    values, counts = np.unique(every, return_counts=True)
    repeated = values[counts > 1]
    if not repeated.size:
        return
    first = repeated[0]
    holders = [
        name
        for name, ids in zip(files, file_ids, strict=True)
        if ids.size and ids[min(np.searchsorted(ids, first), ids.size - 1)] == first
    ]
    more = f" (and {repeated.size - 1} more repeated ids)" if repeated.size > 1 else ""
    raise InputError(
        f"{source}: {ID_COLUMN} {first} appears in {holders[0]} and in {holders[1]}{more}"
    )


@contextlib.contextmanager
def _quiet_worker_log() -> Iterator[None]:
    """Silence the in-process workers' "Compute Failed" log (8-9 lines with a traceback):
    the error itself reaches the caller, and the command line prints it in one line."""
    # A logger's filter sees only its own records, not its children's: both are named.
    loggers = [logging.getLogger(name) for name in _WORKER_LOGGERS]
    compute_failed = _DropComputeFailed()
    for logger in loggers:  # only those records: memory warnings and such still show
        logger.addFilter(compute_failed)
    # Info records too: tearing down after an error may log "Batched Comm Closed" at info
    # level, with a traceback, which dask's logging configuration prints.
    root = logging.getLogger("distributed")
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)
        for logger in loggers:
            logger.removeFilter(compute_failed)


#: Where the workers log a failed task, and the cancelling of the tasks still running.
_WORKER_LOGGERS = ("distributed.worker", "distributed.worker.state_machine")


class _DropComputeFailed(logging.Filter):
    """Drops "Compute Failed" and the "Async instruction for <Task cancelled ...>" warning
    that follows when the other tasks are cancelled after the first error."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (
            message.startswith("Compute Failed")
            or (message.startswith("Async instruction for") and "cancelled" in record.getMessage())
        )


def _parquet_files(source: str) -> list[str]:
    """The Parquet files of the folder ``source`` (a path or URL), in name order."""
    if is_url(source):
        import fsspec

        fs, path = fsspec.core.url_to_fs(source)
        protocol = source.split("://", 1)[0]
        names = sorted(f"{protocol}://{name}" for name in fs.find(path))
    else:
        names = sorted(str(name) for name in Path(source).rglob("*") if name.is_file())
    return [name for name in names if name.lower().endswith(PARQUET_SUFFIXES)]


def _make_folder(folder: str) -> None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(folder)
    fs.makedirs(path, exist_ok=False)


class _client:
    """``Client(scheduler)``, or a client of a local cluster closed with it."""

    def __init__(self, scheduler: str | None, client_class: Any, cluster_class: Any) -> None:
        self._scheduler = scheduler
        self._client_class, self._cluster_class = client_class, cluster_class
        self._cluster: Any = None
        self._client: Any = None

    def __enter__(self) -> Any:
        if self._scheduler is None:
            self._cluster = self._cluster_class(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
            )
            self._client = self._client_class(self._cluster, set_as_default=False)
        else:
            try:
                self._client = self._client_class(
                    self._scheduler, set_as_default=False, timeout=_CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as error:
                raise InputError(
                    f"cannot reach the Dask scheduler at {self._scheduler} ({error})"
                ) from None
        return self._client

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _check_input_folder(source: str) -> None:
    if is_url(source):
        import fsspec

        fs, path = fsspec.core.url_to_fs(source)
        if not fs.isdir(path):
            raise InputError(f"{source}: no such folder")
        names = [str(name) for name in fs.find(path)]
    else:
        folder = Path(source)
        if not folder.is_dir():
            what = "not a folder" if folder.exists() else "no such folder"
            raise InputError(f"{source}: {what} (--engine dask reads a folder of Parquet files)")
        names = [str(name) for name in folder.rglob("*") if name.is_file()]
    if not any(name.lower().endswith(PARQUET_SUFFIXES) for name in names):
        raise InputError(f"{source}: no Parquet files (*.parquet) in the folder")


def _temporary_beside(target: str) -> str:
    if is_url(target):
        parent, name = target.rstrip("/").rsplit("/", 1)
        return f"{parent}/.{name}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(6)}"
    return str(new_temporary_folder(target))


def _move_into_place(temporary: str, target: str) -> None:
    """Rename the finished ``temporary`` folder onto ``target``, replacing any old one."""
    if is_url(target):
        import fsspec

        fs, path = fsspec.core.url_to_fs(target)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        fs.mv(fsspec.core.url_to_fs(temporary)[1], path, recursive=True)
        return
    move_folder_into_place(temporary, target)


def _remove(temporary: str) -> None:
    if is_url(temporary):
        import fsspec

        fs, path = fsspec.core.url_to_fs(temporary)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    else:
        shutil.rmtree(temporary, ignore_errors=True)


def _worker_model(model_dict: dict[str, Any], digest: str) -> Strategy:
    """The model of ``model_dict``, rebuilt once per worker process."""
    with _MODELS_LOCK:
        model = _MODELS.get(digest)
        if model is None:
            model = _MODELS[digest] = strategy_from_dict(model_dict)
    return model
