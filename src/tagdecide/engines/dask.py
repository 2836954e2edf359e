"""Applying a fitted model to a folder of Parquet files on a Dask cluster (catalogue scale).

Needs the ``dask`` extra (``pip install 'tagdecide[dask]'``). The model travels to the
workers as its model-file dict (:func:`tagdecide.model_file.model_to_dict`), never as a
pickled object, and is rebuilt once per worker; every worker needs tagdecide installed and
must reach the input and output folders (shared storage, or ``s3://...`` with ``s3fs``).
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
    move_folder_into_place,
    new_temporary_folder,
    removing_on_terminate,
)
from tagdecide.data import ID_COLUMN
from tagdecide.engines.local import category_columns
from tagdecide.errors import InputError, TagdecideError, list_some
from tagdecide.io.ids import decimal_ids
from tagdecide.io.parquet_reader import cast_batch
from tagdecide.io.scores import check_score_batch, resolve_score_columns
from tagdecide.model_file import _strategy_from_dict, model_to_dict
from tagdecide.strategies import Strategy

__all__ = ["predict_parquet_folder"]

_PARQUET_SUFFIXES = (".parquet", ".pq")
_DASK_MODULES = r"(dask|distributed|tornado)(\.|$)"
#: How long to try reaching a --scheduler: a cluster that is up answers in well under it.
_CONNECT_TIMEOUT = "3s"

#: Models rebuilt on this worker, by the digest of their dict.
_MODELS: dict[str, Strategy] = {}
_MODELS_LOCK = threading.Lock()


def _is_url(path: str) -> bool:
    return "://" in path


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

    ``out_folder`` becomes a folder of Parquet files with ``ChallengeID`` then one int8
    0/1 column per tag (``model.tag_names_`` order). It is written beside its final name and
    renamed into place only when every partition succeeded: an existing ``out_folder`` is
    untouched on error. Without ``scheduler`` a local cluster (2 workers, threads) is
    started and closed inside the call; with it (``tcp://host:8786``), the cluster there is
    used. Returns the number of tracks written.

    Raises
    ------
    InputError
        When the input folder is missing or holds no Parquet file, a column is missing, or
        a score is empty, NaN or outside [0, 1] (naming the column and the ChallengeID).
    """
    import pyarrow as pa

    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise TagdecideError(
            f"--engine dask needs Dask ({error}): pip install 'tagdecide[dask]'"
        ) from None

    source, target = str(in_folder), str(out_folder)
    _check_input_folder(source)
    temporary = _temporary_beside(target)
    columns = category_columns(model)
    tags = list(model.tag_names_)
    model_dict = model_to_dict(model)
    digest = hashlib.sha256(json.dumps(model_dict, sort_keys=True).encode()).hexdigest()
    try:
        try:
            frame = dd.read_parquet(source)
        except (OSError, ValueError, pa.ArrowException) as error:
            raise InputError(f"{source}: not a readable Parquet folder ({error})") from None
        names = list(frame.columns)
        if ID_COLUMN not in names:
            raise InputError(f"{source}: no {ID_COLUMN} column (columns start {list_some(names)})")
        categories = list(resolve_score_columns(source, names, tags, **columns))
        frame = frame[[ID_COLUMN, *tags, *categories]]
        meta = _empty_decisions(tags)
        decisions = frame.map_partitions(
            _decide_partition,
            model_dict=model_dict,
            digest=digest,
            tags=tags,
            categories=categories,
            source=source,
            meta=meta,
            enforce_metadata=False,
        )
        write = decisions.to_parquet(temporary, write_index=False, compute=False)
        count = decisions.map_partitions(len, meta=(None, "int64")).sum()
        # Across files too: each partition sees only its own ids. Counted on the cluster;
        # only the repeated ids come back.
        id_counts = frame[ID_COLUMN].value_counts()
        repeated = id_counts[id_counts > 1]
        # The log is quiet until the cluster is closed: partitions still running after the
        # first error fail too, and would log it.
        with (
            _quiet_worker_log(),
            _client(scheduler, Client, LocalCluster) as client,
            warnings.catch_warnings(),
        ):
            # Deprecation notes raised inside Dask's own code (e.g. pandas' about Dask's
            # calls) are not the user's concern; tagdecide's warnings still show.
            warnings.filterwarnings("ignore", module=_DASK_MODULES)
            try:
                _, n_tracks, repeated_ids = client.compute([write, count, repeated], sync=True)
            except (OSError, pa.ArrowException) as error:
                first = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise InputError(f"{source}: cannot read or write ({first})") from None
        if len(repeated_ids):
            raise _repeated_id_error(source, sorted(repeated_ids.index.tolist()))
        _move_into_place(temporary, target)
    finally:
        _remove(temporary)
    return int(n_tracks)


@contextlib.contextmanager
def _quiet_worker_log() -> Iterator[None]:
    """Silence the in-process workers' "Compute Failed" log (8-9 lines with a traceback):
    the error itself reaches the caller, and the command line prints it in one line."""
    logger = logging.getLogger("distributed.worker")
    compute_failed = _DropComputeFailed()
    logger.addFilter(compute_failed)  # only that record: memory warnings and such still show
    try:
        yield
    finally:
        logger.removeFilter(compute_failed)


class _DropComputeFailed(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Compute Failed")


def _parquet_files(source: str) -> tuple[Any, list[str]]:
    """The file system of ``source`` and its Parquet files, in name order."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(source)
    names = sorted(str(name) for name in fs.find(path))
    return fs, [name for name in names if name.lower().endswith(_PARQUET_SUFFIXES)]


def _repeated_id_error(source: str, repeated: list[Any]) -> InputError:
    """Name the files holding the first repeated id (the error path: reads the id columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    first = repeated[0]
    fs, files = _parquet_files(source)
    holders: list[str] = []
    for name in files:
        with fs.open(name, "rb") as handle:
            ids = pq.read_table(handle, columns=[ID_COLUMN]).column(ID_COLUMN)
        with contextlib.suppress(pa.ArrowException):  # another id type: not this file
            found = pc.sum(pc.equal(ids, pa.scalar(first).cast(ids.type))).as_py() or 0
            holders += [name] * int(found)
    distinct = list(dict.fromkeys(holders))
    if len(distinct) > 1:
        where = f"in {distinct[0]} and in {distinct[1]}"
    else:
        where = f"twice in {distinct[0] if distinct else source}"
    more = f" (and {len(repeated) - 1} more repeated ids)" if len(repeated) > 1 else ""
    return InputError(f"{source}: {ID_COLUMN} {first} appears {where}{more}")


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
    if _is_url(source):
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
    if not any(name.lower().endswith(_PARQUET_SUFFIXES) for name in names):
        raise InputError(f"{source}: no Parquet files (*.parquet) in the folder")


def _temporary_beside(target: str) -> str:
    if _is_url(target):
        parent, name = target.rstrip("/").rsplit("/", 1)
        return f"{parent}/.{name}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(6)}"
    return str(new_temporary_folder(target))


def _move_into_place(temporary: str, target: str) -> None:
    """Rename the finished ``temporary`` folder onto ``target``, replacing any old one."""
    if _is_url(target):
        import fsspec

        fs, path = fsspec.core.url_to_fs(target)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        fs.mv(fsspec.core.url_to_fs(temporary)[1], path, recursive=True)
        return
    move_folder_into_place(temporary, target)


def _remove(temporary: str) -> None:
    if _is_url(temporary):
        import fsspec

        fs, path = fsspec.core.url_to_fs(temporary)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    else:
        shutil.rmtree(temporary, ignore_errors=True)


def _empty_decisions(tags: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {ID_COLUMN: pd.Series([], dtype="int64")}
        | {tag: pd.Series([], dtype="int8") for tag in tags}
    )


def _worker_model(model_dict: dict[str, Any], digest: str) -> Strategy:
    """The model of ``model_dict``, rebuilt once per worker process."""
    with _MODELS_LOCK:
        model = _MODELS.get(digest)
        if model is None:
            model = _MODELS[digest] = _strategy_from_dict(model_dict)
    return model


def _decide_partition(
    part: Any,
    *,
    model_dict: dict[str, Any],
    digest: str,
    tags: list[str],
    categories: list[str],
    source: str,
) -> Any:
    """One partition's decisions: ChallengeID then one int8 column per tag.

    The rows go through the same checks as the local engine's batches
    (:func:`tagdecide.io.scores.check_score_batch`), so errors read the same.
    """
    import pandas as pd
    import pyarrow as pa

    if len(part) == 0:
        return _empty_decisions(tags)
    columns = [ID_COLUMN, *tags, *categories]
    types = {name: pa.float64() for name in columns} | {ID_COLUMN: pa.int64()}
    model = _worker_model(model_dict, digest)
    # NaN stays NaN (from_pandas=False): a NaN score is reported as NaN, not as empty.
    arrays = [pa.array(part[name], from_pandas=name == ID_COLUMN) for name in columns]
    batch = pa.RecordBatch.from_arrays(arrays, names=columns)
    # Rows before the partition are unknown here: errors name the id, not a row number.
    batch = cast_batch(decimal_ids(batch, source, None), types, source)
    scores = check_score_batch(batch, source, None, tags, categories)
    out = pd.DataFrame(np.asarray(model.predict(scores), dtype=np.int8), columns=tags)
    out.insert(0, ID_COLUMN, scores.ids)
    return out
