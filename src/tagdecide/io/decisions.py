"""Decisions written by ``predict``, read back: CSV/Parquet 0/1 columns, or JSON lines.

A JSON-lines file is read as untrusted text: each line must be one UTF-8 JSON object
``{"ChallengeID": <int>, "tags": [<names>]}`` and nothing else. A byte-order mark, bytes
that are not UTF-8, NaN or Infinity, a repeated key, an id outside 64 bits, a number of
thousands of digits or brackets nested deeper than the format's two levels are each
refused with the file, the line number and the offending value, shortened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError, list_some
from tagdecide.io.formats import check_readable
from tagdecide.io.ids import check_unique
from tagdecide.io.truth import TagTable, read_truth

__all__ = ["read_decisions"]

_EXPECTED = f'{{"{ID_COLUMN}": <int>, "tags": [<names>]}}'
#: Characters of an offending value shown in a message.
_SHOWN = 40
#: Digits of the longest integer read: 64-bit ids have at most 19.
_MOST_DIGITS = 20
#: Brackets one line may open (the format needs 2: the object and its tag list). Deeper
#: lines are refused before parsing, which would otherwise recurse once per bracket.
_MOST_DEPTH = 2


class _LineError(Exception):
    """What is wrong with one line; :func:`_read_line` adds the file and the line number."""


def read_decisions(path: str | Path, tag_names: Sequence[str]) -> TagTable:
    """Read decisions written by ``predict``: CSV/Parquet 0/1 columns, or JSON lines.

    JSON lines hold ``{"ChallengeID": 12, "tags": ["blues-rock", ...]}`` per track; tags
    not listed are 0. Columns of the result follow ``tag_names``.
    """
    path = Path(path)
    if path.suffix.lower() != ".jsonl":
        return read_truth(path, tag_names)
    check_readable(path)
    column = {name: j for j, name in enumerate(tag_names)}
    ids: list[int] = []
    rows: list[list[int]] = []
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                record = _read_line(raw, first=line_number == 1)
            except _LineError as error:
                raise InputError(f"{path}: line {line_number}: {error}") from None
            if record is None:
                continue
            track, tags = record
            unknown = [tag for tag in tags if tag not in column]
            if unknown:
                raise InputError(
                    f"{path}: line {line_number}, {ID_COLUMN} {track}: unknown tag(s) "
                    f"{list_some([_cut(tag) for tag in unknown])}"
                )
            ids.append(track)
            rows.append([column[tag] for tag in tags])
    if not ids:
        raise InputError(f"{path}: no tracks")
    values = np.zeros((len(ids), len(tag_names)), dtype=np.uint8)
    for row, columns in enumerate(rows):
        values[row, columns] = 1
    id_array = np.asarray(ids, dtype=np.int64)
    check_unique(id_array, path)
    return TagTable(id_array, tuple(tag_names), values, str(path))


def _read_line(raw: bytes, *, first: bool) -> tuple[int, list[str]] | None:
    """The id and tags of one line; None for a blank line. Raises :class:`_LineError`."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raise _LineError("starts with a byte-order mark (BOM); save the file as UTF-8 without one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.end]
        raise _LineError(
            f"not UTF-8 (byte {bad.hex(' ')} at byte {error.start + 1}): "
            f"{_shorten(raw[: error.start].decode('utf-8'))}"
        ) from None
    if not text.strip():
        return None
    _check_depth(text)
    try:
        record = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except json.JSONDecodeError as error:
        raise _LineError(
            f"not JSON ({error.msg} at character {error.pos + 1}): {_shorten(text)}"
        ) from None
    if not isinstance(record, dict):
        raise _LineError(f"not a JSON object {_EXPECTED}: {_shorten(text)}")
    if set(record) != {ID_COLUMN, "tags"}:
        keys = list_some([_cut(key) for key in record]) or "none"
        raise _LineError(f"expected exactly the keys of {_EXPECTED}, got {keys}")
    track, tags = record[ID_COLUMN], record["tags"]
    # bool is an int to Python; true is not an id.
    if not isinstance(track, int) or isinstance(track, bool):
        raise _LineError(f"{ID_COLUMN} {_shorten(json.dumps(track))} is not an integer")
    if not -(2**63) <= track < 2**63:
        raise _LineError(f"{ID_COLUMN} {track} is beyond the 64-bit integer range")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise _LineError(
            f"{ID_COLUMN} {track}: tags must be a list of names, not {_shorten(json.dumps(tags))}"
        )
    return track, tags


def _check_depth(text: str) -> None:
    """Refuse a line that opens more brackets than the format has (outside strings)."""
    if text.count("[") + text.count("{") <= _MOST_DEPTH:
        return
    depth = 0
    in_string = escaped = False
    for position, character in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > _MOST_DEPTH:
                raise _LineError(
                    f"brackets nested deeper than {_EXPECTED} at character {position + 1}: "
                    f"{_shorten(text)}"
                )
        elif character in "]}":
            depth -= 1


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _LineError(f"key {_shorten(key)} appears twice")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> Any:
    # The format's only number is the id: say what it should be.
    raise _LineError(f"{name} is not a JSON number ({ID_COLUMN} is a 64-bit integer)")


def _bounded_int(text: str) -> int:
    # Checked before int(): converting thousands of digits is slow, and Python refuses
    # more than 4,300 with a ValueError that would name neither file nor line.
    if len(text.lstrip("-")) > _MOST_DIGITS:
        raise _LineError(
            f"integer of {len(text.lstrip('-'))} digits ({ID_COLUMN} is a 64-bit integer): "
            f"{_shorten(text)}"
        )
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > _SHOWN:
        raise _LineError(f"number of {len(text)} characters: {_shorten(text)}")
    return float(text)


def _cut(text: str) -> str:
    """``text`` cut to :data:`_SHOWN` characters, its line end dropped."""
    return text.rstrip("\r\n")[:_SHOWN]


def _shorten(text: str) -> str:
    """``text`` quoted (control characters escaped, so a hostile line cannot move the
    terminal's cursor) and cut to :data:`_SHOWN` characters, with ``...`` when cut."""
    text = text.rstrip("\r\n")
    return repr(_cut(text)) + ("..." if len(text) > _SHOWN else "")
