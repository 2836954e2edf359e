"""Checks of a model file's data, each problem one line that names the field's path.

The layout is declared as strict pydantic models (pydantic comes with FastAPI, a
dependency already): no coercion, so ``"0.3"``, ``true`` or ``1.5`` never pass for a
number, a flag or a count, and no ``NaN`` or infinity passes for a number. Arrays of
numbers, whose shapes depend on the model (one threshold per tag, a coefficient per
feature and tag), are checked by :func:`number_array`.

Only reading a model file imports this module (pydantic takes a third of a second to
import; ``tagdecide --help`` and fitting need not pay for it).
"""

from __future__ import annotations

import functools
import json
import math
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tagdecide.errors import ModelFileError, list_some

__all__ = [
    "Count",
    "FieldError",
    "Fraction",
    "MemberSpec",
    "ModelData",
    "Positive",
    "check",
    "field",
    "field_name",
    "number_array",
    "show",
    "strategy_params",
]

FieldPath = tuple[str | int, ...]
#: Counts (tracks, positives) are exact in a float64 and fit an int64.
MAX_COUNT = 2**53
#: Largest magnitude of a number in a strategy's state: fitted models hold nothing near
#: it, and beyond it sums of products can overflow to infinity (then NaN decisions).
MAX_MAGNITUDE = 1e100
_STRICT = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
#: A tag, category or strategy name.
Name = Annotated[str, Field(min_length=1)]


class FieldError(ModelFileError):
    """A model file's field is missing or holds a value that cannot be right.

    ``path`` locates the field (keys and list indices); the message is
    ``"<path>: <problem>"``, e.g. ``state.thresholds[3]: must be a finite number or null,
    not -Infinity``.
    """

    def __init__(self, path: Sequence[str | int], problem: str) -> None:
        self.path: FieldPath = tuple(path)
        self.problem = problem
        super().__init__(f"{field_name(self.path)}: {problem}" if self.path else problem)

    def under(self, *prefix: str | int) -> FieldError:
        """The same error, for a field found inside ``prefix``."""
        return FieldError((*prefix, *self.path), self.problem)


def field_name(path: Sequence[str | int]) -> str:
    """``("state", "thresholds", 3)`` as ``state.thresholds[3]``; keys that are not plain
    names (tag names) in brackets: ``training.positives["blues-rock"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def show(value: Any) -> str:
    """A value as it reads in the JSON file, short: ``-Infinity``, ``true``, ``"0.3"``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):  # not JSON data: a value made in Python
        text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


# -- pydantic errors as one line --------------------------------------------------------
_WANTED = {
    "float_type": "must be a finite number",
    "finite_number": "must be a finite number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "greater_than": "must be > {gt}",
}


def _field_error(error: ValidationError, path: FieldPath, *, nullable: bool) -> FieldError:
    first = error.errors(include_url=False)[0]
    where = (*path, *first["loc"])
    kind = first["type"]
    if kind == "missing":
        return FieldError(where, "missing")
    wanted = _WANTED.get(kind)
    if wanted is None:
        wanted = first["msg"].replace("Input should be", "must be")
    else:
        bounds = {
            name: int(bound) if isinstance(bound, float) and bound.is_integer() else bound
            for name, bound in first.get("ctx", {}).items()
        }
        wanted = wanted.format(**bounds)
    if nullable and (kind.endswith("_type") or kind == "finite_number"):
        wanted += " or null"
    return FieldError(where, f"{wanted}, not {show(first['input'])}")


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return TypeAdapter(kind)  # models carry their own (strict) configuration
    return TypeAdapter(kind, config=_STRICT)


def check(kind: Any, value: Any, path: Sequence[str | int]) -> Any:
    """``value`` validated as ``kind`` (strictly: no coercion, finite numbers), or
    :class:`FieldError` naming the first bad field below ``path``."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as error:
        nullable = type(None) in typing.get_args(kind)
        raise _field_error(error, tuple(path), nullable=nullable) from None


_REQUIRED: Any = object()


def field(data: Mapping[str, Any], key: str, kind: Any, default: Any = _REQUIRED) -> Any:
    """``data[key]`` validated as ``kind``; ``default`` when the key is absent (else
    :class:`FieldError`: missing)."""
    if key not in data:
        if default is _REQUIRED:
            raise FieldError((key,), "missing")
        return default
    return check(kind, data[key], (key,))


# -- arrays of numbers ------------------------------------------------------------------
def _describe(value: Any) -> str:
    return f"got {show(value)}" if isinstance(value, list) else f"not {show(value)}"


def number_array(
    data: Mapping[str, Any],
    key: str,
    shape: tuple[int, ...],
    *,
    what: str | None = None,
    nullable: bool = False,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    where: np.ndarray | None = None,
    why: str = "",
) -> np.ndarray:
    """``data[key]``, nested lists of finite numbers of ``shape``, as a float array.

    ``nullable`` (one dimension only) lets ``null`` stand for a tag never predicted
    (``inf`` in the array).
    Every number is within :data:`MAX_MAGNITUDE`; ``low``/``high`` (inclusive) and
    ``positive`` bound the finite entries further (only those where ``where`` is true,
    when given); ``why`` says why, after the bound.
    """
    if key not in data:
        raise FieldError((key,), "missing")
    value = data[key]
    if not isinstance(value, list) or len(value) != shape[0]:
        wanted = what or f"{shape[0]} {'rows' if len(shape) > 1 else 'numbers'}"
        raise FieldError((key,), f"expected {wanted}, {_describe(value)}")
    if len(shape) == 2:
        for row, cells in enumerate(value):
            if not isinstance(cells, list) or len(cells) != shape[1]:
                raise FieldError((key, row), f"expected {shape[1]} numbers, {_describe(cells)}")
    assert not nullable or len(shape) == 1, "null entries only in lists of thresholds"
    kind: Any = float | None if nullable else float
    for _ in shape:
        kind = list[kind]
    try:
        _adapter(kind).validate_python(value)
    except ValidationError as error:
        raise _field_error(error, (key,), nullable=nullable) from None
    if nullable:
        value = [math.inf if cell is None else cell for cell in value]
    array = np.array(value, dtype=np.float64).reshape(shape)
    finite = np.isfinite(array)
    huge = finite & (np.abs(array) > MAX_MAGNITUDE)
    if huge.any():
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(huge)), shape))
        raise FieldError(
            (key, *index),
            f"must be within ±{MAX_MAGNITUDE:g} (larger values overflow), "
            f"not {show(float(array[index]))}",
        )
    bounded = finite if where is None else finite & where
    bad = np.zeros(shape, dtype=bool)
    if low is not None:
        bad |= bounded & (array < low)
    if high is not None:
        bad |= bounded & (array > high)
    if positive:
        bad |= bounded & (array <= 0)
    if bad.any():
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), shape))
        if positive:
            bound = "must be > 0"
        elif low is not None and high is not None:
            bound = f"must be in [{low:g}, {high:g}]"
        else:
            bound = f"must be >= {low:g}" if low is not None else f"must be <= {high:g}"
        suffix = f" ({why})" if why else ""
        cell = float(array[index])
        raise FieldError((key, *index), f"{bound}{suffix}, not {show(cell)}")
    return array


# -- strategy parameters ----------------------------------------------------------------
class _Parametrised(Protocol):
    """What :func:`strategy_params` reads of a strategy class (this module sits below the
    strategies, which import it)."""

    name: ClassVar[str]

    @classmethod
    def param_names(cls) -> list[str]: ...


def strategy_params(cls: type[_Parametrised], params: Any) -> dict[str, Any]:
    """``params`` checked against the types of ``cls.__init__``'s keyword parameters.

    Raises :class:`FieldError` under ``params``: for a name the strategy does not take, or
    a value not of the declared type (an ``int`` passes for a ``float``).
    """
    params = _renamed(check(dict[str, Any], params, ("params",)), cls.param_names())
    accepted = cls.param_names()
    unknown = [name for name in params if name not in accepted]
    if unknown:
        raise FieldError(
            ("params",),
            f"bad parameters for strategy {cls.name!r}: it takes no parameter(s) "
            f"{list_some(unknown)}; it takes {', '.join(accepted) or 'none'}",
        )
    hints = typing.get_type_hints(cls.__init__)  # a parameter without one takes any value
    checked = {}
    for name, value in params.items():
        if name == "cv":
            checked[name] = _cv(value)
        elif name == "random_state":  # a RandomState is stored as null
            checked[name] = check(int | None, value, ("params", name))
        else:
            checked[name] = check(hints.get(name, Any), value, ("params", name))
    return checked


def _renamed(params: dict[str, Any], accepted: list[str]) -> dict[str, Any]:
    """Parameters under their current names: files written before ``n_folds`` and
    ``seed`` became ``cv`` and ``random_state`` store the old names."""
    from tagdecide.model_selection import RENAMED_PARAMS

    params = dict(params)
    for old, new in RENAMED_PARAMS.items():
        if old in params and new in accepted:
            if new in params:
                raise FieldError(("params",), f"has both {old!r} and its new name {new!r}")
            params[new] = params.pop(old)
    return params


class SplitterSpec(BaseModel):
    """A ``cv`` splitter as a model file stores it
    (:func:`tagdecide.model_selection.splitter_to_json`)."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")

    splitter: Annotated[str, Field(min_length=1, max_length=100)]
    n_splits: Annotated[int, Field(ge=2, le=MAX_COUNT)] | None = None
    params: dict[str, bool | int | float | str | None] = {}


def _cv(value: Any) -> Any:
    """``params.cv``: a number of folds, or a splitter entry rebuilt (a scikit-learn
    splitter) or read as its number of splits (another class)."""
    from tagdecide.model_selection import splitter_from_json

    where = ("params", "cv")
    if isinstance(value, dict):
        spec = check(SplitterSpec, value, where)
        try:
            return splitter_from_json(spec.model_dump())
        except (TypeError, ValueError) as error:
            raise FieldError(where, f"cannot rebuild {spec.splitter}: {error}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(where, f"must be a whole number or a splitter object, not {show(value)}")
    return value


# -- the layout of a model file ---------------------------------------------------------
class _Strict(BaseModel):
    model_config = _STRICT


class StrategySpec(_Strict):
    """``strategy``: the registered name and the keyword parameters."""

    name: str
    params: dict[str, Any] | None = None


class TaxonomyData(_Strict):
    """``taxonomy``: :meth:`tagdecide.taxonomy.Taxonomy.to_dict`."""

    tags: list[str]
    tag_categories: list[str]
    tag_classes: list[str]


class Training(_Strict):
    """``training``: how many tracks the model was fitted on, and each tag's positives."""

    n_tracks: Count
    positives: dict[str, Count]


class SummaryData(_Strict):
    """``score_summary``'s types; :meth:`tagdecide.shift.ScoreSummary.from_dict` checks
    the rest (levels from 0 to 1, quantiles in order)."""

    tags: list[str]
    n_tracks: Count
    levels: list[Fraction]
    mean: list[Fraction]  # of scores in [0, 1]
    quantiles: list[list[float]]


class ModelData(_Strict):
    """A model file of format version 1 (the module docstring of
    :mod:`tagdecide.model_file`). Keys it does not know are ignored: a later version of
    format 1 may add some."""

    format_version: int
    package_version: str | None = None
    created: str | None = None
    strategy: StrategySpec
    tags: list[Name]
    categories: list[Name] | None = None
    columns: list[Name] | None = None
    taxonomy: TaxonomyData | None = None
    training: Training
    state: dict[str, Any]
    score_summary: SummaryData | None = None
    regime: Any = None  # checked by RegimeDiagnosis.from_dict


class MemberSpec(_Strict):
    """A strategy inside ``auto``'s state: its parameters, categories and state."""

    params: dict[str, Any] | None = None
    categories: list[str] | None = None
    state: dict[str, Any]
