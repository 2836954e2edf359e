"""Request bodies to decisions: JSON bytes in, ``(status, JSON bytes)`` out, no web framework.

The hot path builds no object per score: msgspec decodes each track's ``scores`` into a
struct made for the model (one field per tag and category, in the model's column order),
whose values go straight into one score matrix; unknown names stop the decoding where they
appear. Every track's JSON is measured before it is decoded, so a track with ten million
keys or a 60 MB id is refused without building them, and messages never echo more than a
few dozen characters of what was sent.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import msgspec
import numpy as np

from tagdecide._validation import bad_score_cells
from tagdecide.data import TrackScores
from tagdecide.errors import TagdecideError, list_some
from tagdecide.strategies import Strategy

#: Longest track id, in characters.
MAX_ID_LENGTH = 1024
#: Longest message sent back (messages are built from shortened pieces; this is a backstop).
_MAX_MESSAGE = 600
#: JSON may spell a character as ``\\uXXXX\\uXXXX``: 12 bytes.
_BYTES_PER_CHARACTER = 12
#: Room for one score's value, separators and indentation, beyond its name.
_BYTES_PER_SCORE = 128
INPUT_NAME = "scores"
OUTPUT_NAME = "decisions"
MODEL_VERSION = "1"


#: A request body: bytes, or a view of the shared memory a worker process reads it from.
Body = bytes | bytearray | memoryview
#: Bytes counted at a time (see :func:`_count`).
_COUNT_STEP = 2**18


def _count(body: Body, character: bytes) -> int:
    """How many times ``character`` occurs in ``body``, counted by numpy in place, a
    quarter MiB at a time (``bytes.count`` of a copy took 2.5 ms for 5.5 MB, this 0.45 ms;
    one copy of a 100 MB body would double it).

    >>> _count(memoryview(b"{[{"), b"{"), _count(b"{[{", b"["), _count(b"", b"{")
    (2, 1, 0)
    """
    if len(body) <= _COUNT_STEP and not isinstance(body, memoryview):
        return body.count(character)  # a few microseconds less for a small body
    text = np.frombuffer(body, dtype=np.uint8)
    value = character[0]
    return sum(
        int(np.count_nonzero(text[start : start + _COUNT_STEP] == value))
        for start in range(0, len(text), _COUNT_STEP)
    )


class Refusal(Exception):
    """A request that cannot be answered: its HTTP status and one line naming the culprit."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message if len(message) <= _MAX_MESSAGE else message[:597] + "..."


#: The refusal of a body whose brackets nest deeper than the decoder goes.
TOO_DEEP = "body: not valid JSON: nested too deeply (a request nests 4 levels)"


def _near(body: Body, message: str) -> str:
    """`` near '...'``: the text before a decoding error's byte, which names the field (a
    ``NaN`` score, say, after its tag's name); nothing when the message has no position."""
    found = re.search(r"\(byte ([0-9]+)\)", message)
    if found is None:
        return ""
    at = int(found[1])
    text = bytes(body[max(0, at - 30) : at + 10]).decode("utf-8", "replace")
    words = "; NaN and Infinity are not JSON numbers" if re.search(r"NaN|Inf", text) else ""
    return f" near {short(text)}{words}"


def short(value: object, most: int = 40) -> str:
    """``repr(value)``, cut to ``most`` characters: what a message may show of the input."""
    if isinstance(value, str) and len(value) > most:
        value = value[:most]  # repr of the head only: never copy a huge value
        return repr(value)[: most - 3] + "..."
    if isinstance(value, list) and len(value) > most // 2:
        return repr(value[: most // 2])[: most - 4] + "...]"
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def _short_raw(raw: msgspec.Raw, most: int = 40) -> str:
    """The start of a raw JSON value as text, cut to ``most`` characters."""
    head = bytes(memoryview(raw)[: most + 8]).decode("utf-8", "replace")
    return head if len(raw) <= most else head[: most - 3] + "..."


def _zero_one_json(decisions: np.ndarray) -> bytes:
    """0/1 decisions as a flat JSON array, written by numpy (a list of Python ints for
    msgspec to encode costs 20 ms for 1,000 tracks).

    >>> _zero_one_json(np.array([[0, 1], [1, 1]], dtype=np.uint8))
    b'[0,1,1,1]'
    """
    flat = decisions.ravel()
    if flat.size == 0:
        return b"[]"
    text = np.full(2 * flat.size + 1, ord(","), dtype=np.uint8)
    text[0], text[-1] = ord("["), ord("]")
    text[1::2] = flat.astype(np.uint8) + ord("0")
    return text.tobytes()


class _Top(msgspec.Struct):
    tracks: list[msgspec.Raw]


class _Probe(msgspec.Struct):
    """A track's fields, unparsed: to say which one is too long."""

    id: msgspec.Raw = msgspec.Raw(b"")
    scores: msgspec.Raw = msgspec.Raw(b"")


class _InferInput(msgspec.Struct):
    name: str
    shape: list[int]
    datatype: str
    data: msgspec.Raw
    parameters: dict[str, Any] | None = None


class _RequestedOutput(msgspec.Struct):
    name: str
    parameters: dict[str, Any] | None = None


class _InferRequest(msgspec.Struct):
    inputs: list[_InferInput]
    id: msgspec.Raw = msgspec.Raw(b"null")
    parameters: dict[str, Any] | None = None
    outputs: list[_RequestedOutput] | None = None


class _FlatInput(msgspec.Struct):
    """A tensor whose ``data`` is flat: decoded in the same pass as the request."""

    name: str
    shape: list[int]
    datatype: str
    data: list[float]
    parameters: dict[str, Any] | None = None


class _FlatRequest(msgspec.Struct):
    inputs: list[_FlatInput]
    id: msgspec.Raw = msgspec.Raw(b"null")
    parameters: dict[str, Any] | None = None
    outputs: list[_RequestedOutput] | None = None


#: A ``/v1/decide`` body's start and end around its tracks, and the look of the place
#: between two tracks (JSON's whitespace only).
_HEAD = re.compile(rb'[ \t\n\r]*\{[ \t\n\r]*"tracks"[ \t\n\r]*:[ \t\n\r]*\[')
_TAIL = re.compile(rb"\][ \t\n\r]*\}[ \t\n\r]*\Z")
_BETWEEN_TRACKS = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")

#: Where an infer body's tensor data starts (its first ``[``), looked for in its first
#: ``AROUND_DATA`` bytes, and the ``]`` that ends it, in its last ``AROUND_DATA``.
_DATA = re.compile(rb'"data"[ \t\n\r]*:[ \t\n\r]*\[')
_DATA_END = re.compile(rb"\]")
#: Bytes an infer body cut in parts may have before and after its tensor's data (name,
#: shape, datatype, id, outputs): a body with more is decided whole.
AROUND_DATA = 4096
_COMMA = ord(",")


class InferParts(NamedTuple):
    """How an infer body is decided in parts: what its request says besides the data, and
    each part's ``(start, end, n_rows)``: bytes of whole rows' values (no brackets)."""

    request_id: str | None
    n_rows: int
    datatype: str
    parts: list[tuple[int, int, int]]


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_WORDS = {
    "`float`": "a number",
    "`str`": "a string",
    "`object`": "an object",
    "`array`": "an array",
    "`int`": "an integer",
}


def _split_error(error: msgspec.MsgspecError) -> tuple[str, str]:
    """msgspec's ``"Expected `float`, got `str` - at `$.scores.a`"`` as (message, path)."""
    match = _AT.match(str(error))
    assert match is not None  # the pattern matches any text
    message = match["message"]
    for word, plain in _WORDS.items():
        message = message.replace(word, plain)
    message = re.sub(r"got `(\w+)`", r"got \1", message.replace("JSON is malformed: ", ""))
    return message[:1].lower() + message[1:], match["path"] or ""


def _row_parts(
    body: Body, start: int, end: int, n_rows: int, n_columns: int, n_parts: int
) -> list[tuple[int, int, int]] | None:
    """``n_parts`` runs of whole rows of the flat numbers in ``body[start:end]``: each
    ``(start, end, n_rows)``, cut at the first comma ending a row after ``1/n_parts``,
    ``2/n_parts``, ... of the bytes; None if there are too few commas or rows.

    >>> _row_parts(b"[1,2,3,4,5,6,7,8]", 1, 16, 4, 2, 2)
    [(1, 8, 2), (9, 16, 2)]
    >>> _row_parts(b"[1,2,3,4,5,6,7,8]", 1, 16, 4, 2, 3)
    [(1, 8, 2), (9, 12, 1), (13, 16, 1)]
    >>> _row_parts(b"[1,2]", 1, 4, 1, 2, 2) is None  # one row
    True
    """
    text = np.frombuffer(body, dtype=np.uint8)
    parts: list[tuple[int, int, int]] = []
    part_start, n_commas, rows_before = start, 0, 0  # commas counted up to part_start - 1
    for part in range(1, n_parts):
        guess = max(part_start, start + (end - start) * part // n_parts)
        n_commas += int(np.count_nonzero(text[part_start:guess] == _COMMA))
        # The comma after row r ends value r * n_columns: the next such one at or after guess.
        rows = n_commas // n_columns + 1
        wanted = rows * n_columns - n_commas  # commas from guess on, the cut included
        window = 64 * wanted + 256
        while True:
            stop = min(end, guess + window)
            commas = np.flatnonzero(text[guess:stop] == _COMMA)
            if len(commas) >= wanted:
                break
            if stop == end:
                return None
            window *= 4
        cut = guess + int(commas[wanted - 1])
        if rows >= n_rows:
            return None
        parts.append((part_start, cut, rows - rows_before))
        part_start, n_commas, rows_before = cut + 1, rows * n_columns, rows
    parts.append((part_start, end, n_rows - rows_before))
    return parts


class Decider:
    """A fitted model's decisions for request bodies of both protocols.

    Parameters
    ----------
    model : Strategy
        A fitted strategy.
    name : str
        The model's name in the Open Inference Protocol.
    max_tracks : int
        Most tracks in one request.
    """

    def __init__(self, model: Strategy, *, name: str, max_tracks: int) -> None:
        self.model, self.name, self.max_tracks = model, name, max_tracks
        self.tag_names = tuple(model.tag_names_)
        self.category_names = tuple(model.required_categories)
        taxonomy = model.taxonomy_
        other = taxonomy.categories if taxonomy is not None else ()
        self.ignored_categories = tuple(name for name in other if name not in self.category_names)
        self.columns = self.tag_names + self.category_names
        self.is_tag = frozenset(self.tag_names)
        self._tag_array = np.array(self.tag_names, dtype=object)
        accepted = self.columns + self.ignored_categories
        # Field names c0, c1, ... renamed to the JSON names: any string can be a tag name.
        fields: list[Any] = [(f"c{index}", float) for index in range(len(self.columns))]
        fields += [
            (f"c{index}", float | msgspec.UnsetType, msgspec.UNSET)
            for index in range(len(self.columns), len(accepted))
        ]
        scores_type = msgspec.defstruct(
            "Scores",
            fields,
            rename={f"c{index}": name for index, name in enumerate(accepted)},
            forbid_unknown_fields=True,
            kw_only=True,
            gc=False,  # floats only: no cycles, and thousands per request
        )
        track_type = msgspec.defstruct(
            "Track",
            [
                ("id", Annotated[str, msgspec.Meta(max_length=MAX_ID_LENGTH)]),
                ("scores", scores_type),
            ],
        )
        # The hot path: the whole body in one call; ids stay unparsed until measured.
        fast_track = msgspec.defstruct(
            "FastTrack", [("id", msgspec.Raw), ("scores", scores_type)], gc=False
        )
        fast_top = msgspec.defstruct("FastTop", [("tracks", list[fast_track])])  # type: ignore[valid-type]
        self._fast: msgspec.json.Decoder[Any] = msgspec.json.Decoder(fast_top)
        self._fast_list: msgspec.json.Decoder[Any] = msgspec.json.Decoder(list[fast_track])  # type: ignore[valid-type]
        self._string = msgspec.json.Decoder(str)
        self._top = msgspec.json.Decoder(_Top)
        self._track = msgspec.json.Decoder(track_type)
        self._probe = msgspec.json.Decoder(_Probe)
        self._infer = msgspec.json.Decoder(_InferRequest)
        self._infer_flat = msgspec.json.Decoder(_FlatRequest)
        self._flat = msgspec.json.Decoder(list[float])
        self._nested = msgspec.json.Decoder(list[list[float]])
        self._encoder = msgspec.json.Encoder()
        self.max_id_bytes = _BYTES_PER_CHARACTER * MAX_ID_LENGTH + 2
        self.max_scores_bytes = sum(
            _BYTES_PER_CHARACTER * len(name) + _BYTES_PER_SCORE for name in accepted
        )
        self.max_track_bytes = self.max_id_bytes + self.max_scores_bytes + 4096
        # The shortest valid track ('{"id":"","scores":{"a":0,...}}') and how many objects a
        # body may hold: a body that cannot hold more tracks than that needs no counting.
        self.min_track_bytes = 20 + sum(len(name) + 5 for name in self.columns)
        self.most_objects = 4 * max_tracks + 1024

    # -- /v1/decide ----------------------------------------------------------------------

    def decide(self, body: Body) -> tuple[int, bytes]:
        """Answer a ``POST /v1/decide`` body: ``(200, decisions)`` or ``(4xx, detail)``."""
        try:
            return 200, self._decide(body)
        except Refusal as refusal:
            return refusal.status, self._encoder.encode({"detail": refusal.message})
        except RecursionError:  # msgspec's answer to brackets nested 100,000 deep
            return 422, self._encoder.encode({"detail": TOO_DEEP})

    def _decide(self, body: Body) -> bytes:
        ids, matrix = self._fast_matrix(body) or self._careful_matrix(body)
        return self._encoder.encode({"tracks": self._answer(ids, matrix)})

    def _answer(self, ids: list[str], matrix: np.ndarray) -> list[dict[str, Any]]:
        """Each track's id and tags, once its ids and scores pass (else :class:`Refusal`)."""
        self._check_unique(ids)
        self._check_range(matrix, lambda row: f"track {short(ids[row])}")
        decisions = self._predict(matrix)
        _, columns = np.nonzero(decisions)  # row by row, so each row's tags are a slice
        given = self._tag_array[columns].tolist()
        ends = np.cumsum(np.count_nonzero(decisions, axis=1)).tolist()
        starts = [0, *ends[:-1]]
        return [
            {"id": track_id, "tags": given[start:end]}
            for track_id, start, end in zip(ids, starts, ends, strict=True)
        ]

    # -- one body decided in parts, in parallel ----------------------------------------------

    def part_ranges(self, body: Body, n_parts: int) -> list[tuple[int, int]] | None:
        """Where to cut a ``/v1/decide`` body into ``n_parts`` runs of whole tracks: each
        part's ``(start, end)`` bytes of the ``tracks`` list's contents, cut at the commas
        between tracks; None if the body is not ``{"tracks": [...]}`` with room for
        ``n_parts`` (then it is decided whole).

        A cut is found by its look (``}, {``), not by parsing up to it: a cut that falls
        inside an id or a track makes one of the parts fail to decode (an unclosed string
        or bracket), and the body is then decided whole, so the parts are never trusted
        unless each is a list of whole tracks.

        >>> decider = Decider.__new__(Decider)
        >>> decider.min_track_bytes, decider.most_objects = 1, 10**6
        >>> body = b'{"tracks": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}'
        >>> [body[start:end] for start, end in decider.part_ranges(body, 2)]
        [b'{"id": "a"}, {"id": "b"}', b' {"id": "c"}']
        >>> decider.part_ranges(b'{"tracks": [{"id": "a"}]}', 2) is None
        True
        """
        if len(body) > self.min_track_bytes * self.most_objects:
            return None  # decided whole: its '{' are counted first
        head = _HEAD.match(body)
        tail = _TAIL.search(body, max(0, len(body) - 64))
        if head is None or tail is None or tail.start() < head.end():
            return None
        start, end = head.end(), tail.start()
        ranges: list[tuple[int, int]] = []
        for part in range(1, n_parts):
            cut = _BETWEEN_TRACKS.search(body, start + (end - start) * part // n_parts, end)
            if cut is None:
                return None
            comma = cut.start() + cut.group().index(b",")
            if ranges and comma <= ranges[-1][1]:
                return None
            ranges.append((start if not ranges else ranges[-1][1] + 1, comma))
        ranges.append(((ranges[-1][1] + 1) if ranges else start, end))
        return ranges

    def decide_part(self, part: Body) -> tuple[int, bytes, list[str]]:
        """Decide one part of a body (its tracks as a JSON list: ``[track, ...]``):
        ``(200, the tracks' answers without the list's brackets, their ids)``, or
        ``(0, b"", [])`` if anything is unusual: then the whole body is decided at once,
        which finds and names the first culprit as it always does."""
        try:
            tracks = self._fast_list.decode(part)
            decoded = self._fast_tracks(tracks)
            if decoded is None:
                return 0, b"", []
            ids, matrix = decoded
            answer = self._encoder.encode(self._answer(ids, matrix))
        except (msgspec.MsgspecError, Refusal, RecursionError):
            return 0, b"", []
        return 200, answer[1:-1], ids

    def join_parts(self, answers: list[tuple[int, bytes, list[str]]]) -> bytes | None:
        """The whole body's answer from its parts' answers (in order), or None unless every
        part was decided and the parts' ids are unique together and few enough."""
        if any(status != 200 for status, _, _ in answers):
            return None
        n_tracks = sum(len(ids) for _, _, ids in answers)
        if n_tracks > self.max_tracks:
            return None
        seen: set[str] = set()
        for _, _, ids in answers:
            if not seen.isdisjoint(ids):
                return None
            seen.update(ids)
        return b'{"tracks":[' + b",".join(content for _, content, _ in answers) + b"]}"

    def infer_parts(self, body: Body, n_parts: int) -> InferParts | None:
        """Where to cut an infer body into ``n_parts`` runs of whole rows of its tensor's
        flat ``data``, and what the request says besides: None unless it is the plain case
        (then it is decided whole).

        The plain case: the data starts (``"data": [``) in the body's first
        ``AROUND_DATA`` bytes and ends (the first ``]`` there) in its last; the rest of the
        body, with ``[]`` or ``[0]`` for the data, decodes as a request whose one input's
        data is that ``[]`` or ``[0]`` (so the cut-out array is that input's data, and
        nothing else), and passes every check the whole body's request would (id, name,
        datatype, shape, outputs, its count of braces and commas). The data is cut at the
        commas that end rows: their bytes are guessed in proportion, and the commas before
        them counted. The parts are trusted only if each decodes as a JSON array of
        exactly its rows' numbers (:meth:`decide_infer_part`), which also makes the first
        ``]`` the data's end.

        >>> import tagdecide
        >>> from tagdecide.data import TrackScores
        >>> truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.uint8)
        >>> model = tagdecide.make_strategy("thresholds").fit(
        ...     TrackScores(np.arange(4), ("a", "b"), truth * 0.8), truth
        ... )
        >>> decider = Decider(model, name="m", max_tracks=10)
        >>> body = b'{"inputs": [{"name": "scores", "shape": [3, 2], "datatype": "FP64", '
        >>> body += b'"data": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}]}'
        >>> plan = decider.infer_parts(body, 2)
        >>> [(body[start:end], n_rows) for start, end, n_rows in plan.parts]
        [(b'0.1, 0.2, 0.3, 0.4', 2), (b' 0.5, 0.6', 1)]
        >>> decider.infer_parts(body.replace(b"[3, 2]", b"[3, 3]"), 2) is None
        True
        """
        head = _DATA.search(body, 0, AROUND_DATA)
        if head is None:
            return None
        end_of_data = _DATA_END.search(body, max(head.end(), len(body) - AROUND_DATA))
        if end_of_data is None:
            return None
        start, end = head.end(), end_of_data.start()
        before, after = bytes(body[: start - 1]), bytes(body[end + 1 :])
        request = self._rest_of_request(before, after)
        if request is None:
            return None
        rest = before + b"[]" + after
        try:
            request_id = self._request_id(request.id)
            tensor = self._checked_tensor(request.inputs)
            self._check_outputs(request.outputs)
        except Refusal:
            return None
        n_rows, n_columns = tensor.shape[0], len(self.columns)
        if (
            n_rows < n_parts
            or rest.count(b"{") > 1024
            or rest.count(b"[") > self.max_tracks + 1024
            or rest.count(b",") + n_rows * n_columns - 1 > self.max_tracks * n_columns + 1024
        ):
            return None  # as the whole body would be counted (_infer_body, _flat_request)
        parts = _row_parts(body, start, end, n_rows, n_columns, n_parts)
        if parts is None:
            return None
        return InferParts(request_id, n_rows, tensor.datatype, parts)

    def _rest_of_request(self, before: bytes, after: bytes) -> _FlatRequest | None:
        """The request ``before + data + after``, decoded with ``[]`` then ``[0]`` for the
        data: None unless both decode and its one input's data is what was put there."""
        try:
            empty = self._infer_flat.decode(before + b"[]" + after)
            zero = self._infer_flat.decode(before + b"[0]" + after)
        except (msgspec.MsgspecError, RecursionError):
            return None
        if len(empty.inputs) != 1 or len(zero.inputs) != 1:
            return None
        if empty.inputs[0].data != [] or zero.inputs[0].data != [0.0]:
            return None
        return empty

    def decide_infer_part(
        self, part: Body, n_rows: int, datatype: str
    ) -> tuple[int, bytes, list[str]]:
        """Decide one part of an infer body's data (``[value, ...]``, ``n_rows`` whole rows):
        ``(200, its flat 0/1 decisions without the brackets, [])``, or ``(0, b"", [])`` if
        anything is unusual (then the whole body is decided at once, and refused by name)."""
        try:
            values = self._flat.decode(part)
        except (msgspec.MsgspecError, RecursionError):
            return 0, b"", []
        if len(values) != n_rows * len(self.columns):
            return 0, b"", []
        matrix = self._tensor_matrix(values, n_rows, datatype)
        try:
            self._check_range(matrix, lambda row: f"row {row}")
            decisions = self._predict(matrix)
        except Refusal:
            return 0, b"", []
        return 200, _zero_one_json(decisions)[1:-1], []

    def join_infer_parts(
        self, plan: InferParts, answers: list[tuple[int, bytes, list[str]]]
    ) -> bytes | None:
        """The whole infer body's answer from its parts' (in order), or None unless every
        part was decided."""
        if any(status != 200 for status, _, _ in answers):
            return None
        decisions = b"[" + b",".join(content for _, content, _ in answers) + b"]"
        return self._infer_answer(plan.request_id, plan.n_rows, decisions)

    def _fast_matrix(self, body: Body) -> tuple[list[str], np.ndarray] | None:
        """Ids and score matrix of a body decoded in one call; None for anything unusual
        (then :meth:`_careful_matrix` finds the culprit and names it)."""
        if len(body) > self.min_track_bytes * self.most_objects:
            self._check_braces(body)  # short tracks: many could fit, count them first
        try:
            tracks = self._fast.decode(body).tracks
        except msgspec.MsgspecError:
            return None
        return self._fast_tracks(tracks)

    def _fast_tracks(self, tracks: list[Any]) -> tuple[list[str], np.ndarray] | None:
        """Ids and score matrix of tracks decoded by the fast decoder; None if one is unusual."""
        if not 1 <= len(tracks) <= self.max_tracks:
            return None
        if any(len(track.id) > self.max_id_bytes for track in tracks):
            return None
        decode_string = self._string.decode
        try:
            ids = [decode_string(track.id) for track in tracks]
        except msgspec.MsgspecError:
            return None
        if any(len(track_id) > MAX_ID_LENGTH for track_id in ids):
            return None
        return ids, self._matrix([track.scores for track in tracks])

    def _matrix(self, scores: list[Any]) -> np.ndarray:
        """The score matrix of the tracks' decoded ``scores``, in the model's column order."""
        n_columns = len(self.columns)
        astuple = msgspec.structs.astuple
        values = itertools.chain.from_iterable(astuple(row)[:n_columns] for row in scores)
        matrix = np.fromiter(values, dtype=np.float64, count=len(scores) * n_columns)
        return matrix.reshape(len(scores), n_columns)

    def _careful_matrix(self, body: Body) -> tuple[list[str], np.ndarray]:
        """Ids and score matrix, track by track: each track's size is checked before it
        is decoded, and the first bad one is refused by name."""
        self._check_braces(body)
        tracks = self._split(body)
        decoded = [self._one_track(index, raw) for index, raw in enumerate(tracks)]
        return [track.id for track in decoded], self._matrix([track.scores for track in decoded])

    def _check_braces(self, body: Body) -> None:
        # Each track is an object, so its '{' bounds how many there can be: refuse a body of
        # millions of tiny objects before msgspec makes a million values of them.
        most_braces = self.most_objects
        if _count(body, b"{") > most_braces:
            raise Refusal(
                413,
                f"body: more than {most_braces} '{{' characters; a request holds at most "
                f"{self.max_tracks} tracks",
            )

    def _split(self, body: Body) -> list[msgspec.Raw]:
        """The request's tracks, each as its unparsed JSON."""
        try:
            tracks = self._top.decode(body)
        except msgspec.ValidationError as error:
            message, path = _split_error(error)
            if message.startswith("object missing required field"):
                raise Refusal(422, 'tracks: missing; send {"tracks": [...]}') from None
            where = path.lstrip(".") or "body"
            raise Refusal(422, f"{where}: {message}") from None
        except msgspec.DecodeError as error:
            message, _ = _split_error(error)
            raise Refusal(422, f"body: not valid JSON: {message}{_near(body, message)}") from None
        if not tracks.tracks:
            raise Refusal(422, "tracks: empty list; give at least one track")
        if len(tracks.tracks) > self.max_tracks:
            raise Refusal(
                413,
                f"tracks: {len(tracks.tracks)} tracks in one request; at most {self.max_tracks}",
            )
        return tracks.tracks

    def _one_track(self, index: int, raw: msgspec.Raw) -> Any:
        if len(raw) > self.max_track_bytes:
            self._refuse_oversize(index, raw)
        try:
            return self._track.decode(raw)
        except msgspec.ValidationError as error:
            raise self._explain(index, raw, error) from None
        except msgspec.DecodeError as error:
            message, _ = _split_error(error)
            near = _near(bytes(raw), message)
            raise Refusal(422, f"tracks[{index}]: not valid JSON: {message}{near}") from None

    def _refuse_oversize(self, index: int, raw: msgspec.Raw) -> None:
        """A track over the size its fields can take: name the field, show its start."""
        try:
            probe = self._probe.decode(raw)
        except msgspec.MsgspecError:
            probe = _Probe()
        if len(probe.id) > self.max_id_bytes:
            raise Refusal(
                413,
                f"tracks[{index}].id: {len(probe.id):,} bytes of JSON ({_short_raw(probe.id)}); "
                f"an id has at most {MAX_ID_LENGTH} characters",
            )
        if len(probe.scores) > self.max_scores_bytes:
            raise Refusal(
                413,
                f"tracks[{index}].scores: {len(probe.scores):,} bytes of JSON; the scores of "
                f"this model's {len(self.columns) + len(self.ignored_categories)} tags and "
                f"categories take at most {self.max_scores_bytes:,}",
            )
        raise Refusal(
            413, f"tracks[{index}]: {len(raw):,} bytes of JSON; at most {self.max_track_bytes:,}"
        )

    def _explain(self, index: int, raw: msgspec.Raw, error: msgspec.ValidationError) -> Refusal:
        """The one line for a track msgspec refused (the track is small enough to re-read)."""
        message, path = _split_error(error)
        where = f"tracks[{index}]{path}"
        missing_field = re.match(r"object missing required field `(.*)`$", message)
        if missing_field and path != ".scores":
            where, message = f"{where}.{missing_field[1]}", "missing"
        try:  # the track decoder got past its syntax; the track may not be an object
            probe = self._probe.decode(raw)
            track_id = msgspec.json.decode(probe.id, type=str) if probe.id else None
        except msgspec.ValidationError:
            return Refusal(422, f"{where}: {message}")
        if track_id is not None and message.startswith("expected a string of length"):
            return Refusal(
                413,
                f"{where}: {len(track_id):,} characters ({short(track_id)}); "
                f"an id has at most {MAX_ID_LENGTH}",
            )
        if track_id is None:
            return Refusal(422, f"{where}: {message}")
        culprit = f"track {short(track_id)}"
        if path == ".scores" and message.startswith("object"):
            # Names only: the values stay unparsed.
            scores = msgspec.json.decode(probe.scores, type=dict[str, msgspec.Raw])
            if missing_field:
                return Refusal(422, f"{culprit}: {self._missing(scores)}")
            known = set(self.columns) | set(self.ignored_categories)
            unknown = [short(name) for name in scores if name not in known]
            return Refusal(
                422,
                f"{culprit}: unknown score name(s) {', '.join(unknown[:3])}"
                + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
                + "; expected the model's tags and categories (see GET /v1/model)",
            )
        if path.startswith(".scores.") and message == "number out of range":
            name = path[len(".scores.") :]
            return Refusal(422, f"scores must be numbers in [0, 1]: {culprit} {short(name)} = inf")
        return Refusal(422, f"{culprit} ({where}): {message}")

    def _missing(self, scores: dict[str, msgspec.Raw]) -> str:
        missing = [name for name in self.columns if name not in scores]
        tags = [name for name in missing if name in self.is_tag]
        categories = [name for name in missing if name not in self.is_tag]
        parts = []
        for kind, names in (("tag", tags), ("category", categories)):
            if len(names) == 1:
                parts.append(f"missing score for {kind} {names[0]!r}")
            elif names:
                kinds = "categories" if kind == "category" else "tags"
                parts.append(f"missing scores for {len(names)} {kinds}: {list_some(names)}")
        return "; ".join(parts)

    def _check_unique(self, ids: list[str]) -> None:
        if len(set(ids)) == len(ids):
            return
        seen: set[str] = set()
        repeated: list[str] = []
        for track_id in ids:
            if track_id in seen and track_id not in repeated:
                repeated.append(track_id)
            seen.add(track_id)
        shown = ", ".join(short(track_id) for track_id in repeated[:3])
        rest = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
        raise Refusal(422, f"duplicate track id(s) {shown}{rest}; ids must be unique")

    def _check_range(self, matrix: np.ndarray, row_name: Callable[[int], str]) -> None:
        """The rule of :func:`~tagdecide._validation.check_scores` in the service's words:
        up to three offenders by their request ids (``predict`` only knows row numbers)."""
        bad = bad_score_cells(matrix)
        if bad is None:
            return
        where_rows, where_columns = np.nonzero(bad)
        offenders = [
            f"{row_name(row)} {self.columns[column]!r} = {float(matrix[row, column])!r}"
            for row, column in zip(where_rows[:3].tolist(), where_columns[:3].tolist(), strict=True)
        ]
        rest = len(where_rows) - len(offenders)
        raise Refusal(
            422,
            "scores must be numbers in [0, 1]: "
            + ", ".join(offenders)
            + (f" and {rest} more" if rest > 0 else ""),
        )

    def _predict(self, matrix: np.ndarray) -> np.ndarray:
        n_tags = len(self.tag_names)
        scores = TrackScores(
            ids=np.arange(len(matrix)),
            tag_names=self.tag_names,
            tag_scores=matrix[:, :n_tags],
            category_names=self.category_names,
            category_scores=matrix[:, n_tags:] if self.category_names else None,
        )
        try:
            return self.model.predict(scores)
        except TagdecideError as error:
            raise Refusal(422, str(error)) from None

    # -- /v2/models/{name}/infer -----------------------------------------------------------

    def infer(self, body: Body) -> tuple[int, bytes]:
        """Answer an Open Inference Protocol infer body: ``(200, outputs)`` or ``(4xx, error)``."""
        try:
            return 200, self._infer_body(body)
        except Refusal as refusal:
            return refusal.status, self._encoder.encode({"error": refusal.message})
        except RecursionError:
            return 422, self._encoder.encode({"error": TOO_DEEP})

    def _infer_body(self, body: Body) -> bytes:
        # A request has one input; nested data has one '[' per track: bound both before
        # msgspec builds a list per '['.
        if _count(body, b"{") > 1024 or _count(body, b"[") > self.max_tracks + 1024:
            raise Refusal(
                413,
                f"body: too many objects or arrays for one input of at most "
                f"{self.max_tracks} tracks",
            )
        request: _FlatRequest | _InferRequest | None = self._flat_request(body)
        if request is None:  # nested data, or something to refuse: the careful way
            try:
                request = self._infer.decode(body)
            except msgspec.ValidationError as error:
                message, path = _split_error(error)
                raise Refusal(400, f"{path.lstrip('.') or 'body'}: {message}") from None
            except msgspec.DecodeError as error:
                message, _ = _split_error(error)
                near = _near(body, message)
                raise Refusal(400, f"body: not valid JSON: {message}{near}") from None
        request_id = self._request_id(request.id)
        matrix = self._input_matrix(request.inputs)
        self._check_outputs(request.outputs)
        self._check_range(matrix, lambda row: f"row {row}")
        decisions = self._predict(matrix)
        return self._infer_answer(request_id, len(decisions), _zero_one_json(decisions))

    def _check_outputs(self, outputs: list[_RequestedOutput] | None) -> None:
        for index, wanted in enumerate(outputs or ()):
            if wanted.name != OUTPUT_NAME:
                raise Refusal(
                    400,
                    f"outputs[{index}].name: {short(wanted.name)} is not an output of this model; "
                    f"its output is {OUTPUT_NAME!r}",
                )

    def _infer_answer(self, request_id: str | None, n_rows: int, decisions: bytes) -> bytes:
        """The answer of ``n_rows`` rows' ``decisions`` (a flat JSON array of 0/1)."""
        answer: dict[str, Any] = {
            "model_name": self.name,
            "model_version": MODEL_VERSION,
            "outputs": [
                {
                    "name": OUTPUT_NAME,
                    "datatype": "UINT8",
                    "shape": [n_rows, len(self.tag_names)],
                    "parameters": {"columns": list(self.tag_names)},
                    "data": msgspec.Raw(decisions),
                }
            ],
        }
        if request_id is not None:
            answer["id"] = request_id
        return self._encoder.encode(answer)

    def _flat_request(self, body: Body) -> _FlatRequest | None:
        """The request decoded in one pass, its tensor's ``data`` a flat list of numbers
        (the common case: 40% less time than finding ``data``'s end first); None if the
        decoding fails, or if the body has more commas than one largest tensor's values
        have (one number each would then be more than it may hold)."""
        most_values = self.max_tracks * len(self.columns)
        if _count(body, b",") > most_values + 1024:
            return None
        try:
            return self._infer_flat.decode(body)
        except msgspec.MsgspecError:
            return None

    def _request_id(self, raw: msgspec.Raw) -> str | None:
        if len(raw) > self.max_id_bytes:
            raise Refusal(
                413,
                f"id: {len(raw):,} bytes of JSON ({_short_raw(raw)}); "
                f"an id has at most {MAX_ID_LENGTH} characters",
            )
        try:
            request_id = msgspec.json.decode(raw, type=str | None)
        except msgspec.ValidationError as error:
            raise Refusal(400, f"id: {_split_error(error)[0]}") from None
        if request_id is not None and len(request_id) > MAX_ID_LENGTH:
            raise Refusal(
                413,
                f"id: {len(request_id):,} characters ({short(request_id)}); "
                f"an id has at most {MAX_ID_LENGTH}",
            )
        return request_id

    def _input_matrix(self, inputs: list[_InferInput] | list[_FlatInput]) -> np.ndarray:
        tensor = self._checked_tensor(inputs)
        shape, n_columns = tensor.shape, len(self.columns)
        if isinstance(tensor, _FlatInput):
            values = tensor.data
        else:
            values = self._raw_values(tensor.data, shape[0], n_columns)
        if len(values) != shape[0] * n_columns:
            raise Refusal(
                400,
                f"inputs[0].data: {len(values)} values; the shape {shape} holds "
                f"{shape[0] * n_columns}",
            )
        return self._tensor_matrix(values, shape[0], tensor.datatype)

    def _tensor_matrix(self, values: list[float], n_rows: int, datatype: str) -> np.ndarray:
        """``n_rows`` rows of flat ``values`` as the matrix decided (FP32: rounded to it)."""
        matrix = np.fromiter(values, dtype=np.float64, count=len(values))
        matrix = matrix.reshape(n_rows, len(self.columns))
        if datatype == "FP32":  # decide on the values the tensor holds
            # A value beyond FP32's range becomes inf, which the range check refuses in one
            # line: numpy's overflow warning would only add noise on the worker's stderr.
            with np.errstate(over="ignore"):
                matrix = matrix.astype(np.float32).astype(np.float64)
        return matrix

    def _checked_tensor(
        self, inputs: list[_InferInput] | list[_FlatInput]
    ) -> _InferInput | _FlatInput:
        """The one input tensor, its name, datatype and shape checked (not its data)."""
        if len(inputs) != 1:
            raise Refusal(
                400, f"inputs: {len(inputs)} tensors; this model takes one, {INPUT_NAME!r}"
            )
        tensor = inputs[0]
        n_columns = len(self.columns)
        if tensor.name != INPUT_NAME:
            raise Refusal(
                400,
                f"inputs[0].name: {short(tensor.name)} is not an input of this model; "
                f"its input is {INPUT_NAME!r}",
            )
        if tensor.datatype not in ("FP32", "FP64"):
            raise Refusal(400, f"inputs[0].datatype: {short(tensor.datatype)}; send FP32 or FP64")
        shape = tensor.shape
        if len(shape) != 2 or shape[1] != n_columns or not shape[0] >= 1:
            raise Refusal(
                400,
                f"inputs[0].shape: {short(shape)}; expected [n_tracks, {n_columns}] "
                f"(the metadata's parameters.columns, in order)",
            )
        if shape[0] > self.max_tracks:
            raise Refusal(413, f"inputs[0].shape: {shape[0]} tracks; at most {self.max_tracks}")
        return tensor

    def _raw_values(self, raw: msgspec.Raw, n_rows: int, n_columns: int) -> list[float]:
        """The tensor's data, flat (row-major) or one list per row, as one flat list: its
        numbers are counted first (by their commas, in either form), so that no more are
        decoded than the shape holds."""
        data = bytes(raw).lstrip()
        n_values = n_rows * n_columns
        n_commas = data.count(b",")
        if n_commas >= n_values:
            raise Refusal(
                400,
                f"inputs[0].data: {n_commas + 1} values; the shape [{n_rows}, {n_columns}] "
                f"holds {n_values}",
            )
        nested = data[1:].lstrip().startswith(b"[")
        try:
            return self._values(data, nested, n_rows, n_columns)
        except msgspec.ValidationError as error:
            message, path = _split_error(error)
            raise Refusal(400, f"inputs[0].data{path}: {message}") from None

    def _values(self, data: bytes, nested: bool, n_rows: int, n_columns: int) -> list[float]:
        """The tensor's data, flat (row-major) or one list per row, as one flat list."""
        if not nested:
            return self._flat.decode(data)
        rows = self._nested.decode(data)
        bad_rows = [index for index, row in enumerate(rows) if len(row) != n_columns]
        if len(rows) != n_rows or bad_rows:
            row_length = (
                f", row {bad_rows[0]} of {len(rows[bad_rows[0]])} values" if bad_rows else ""
            )
            raise Refusal(
                400,
                f"inputs[0].data: {len(rows)} rows{row_length}; the shape says {n_rows} rows of "
                f"{n_columns}",
            )
        return [value for row in rows for value in row]

    def metadata(self) -> dict[str, Any]:
        """The Open Inference Protocol's model metadata."""
        columns = list(self.columns)
        return {
            "name": self.name,
            "versions": [MODEL_VERSION],
            "platform": "tagdecide",
            "inputs": [
                {
                    "name": INPUT_NAME,
                    "datatype": "FP64",
                    "shape": [-1, len(columns)],
                    "parameters": {"columns": columns},
                }
            ],
            "outputs": [
                {
                    "name": OUTPUT_NAME,
                    "datatype": "UINT8",
                    "shape": [-1, len(self.tag_names)],
                    "parameters": {"columns": list(self.tag_names)},
                }
            ],
            "parameters": {
                "columns": columns,
                "tags": list(self.tag_names),
                "strategy": self.model.name,
            },
        }
