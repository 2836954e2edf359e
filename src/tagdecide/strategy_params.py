"""What each parameter of a decision strategy accepts: its type, default and allowed values.

Strategies declare their parameters' types on ``__init__`` and check values in
:meth:`~tagdecide.strategies.Strategy.check_params`, which refuses a bad value with
``"<name> must be <what is allowed>; got <value>"`` (or ``", not <value>"``).
:func:`describe_parameters` reads both: the type hints, and the allowed values that
``check_params`` states when offered a value no strategy accepts (an empty-looking string
for text, ±10¹² for numbers). So ``tagdecide strategies`` stays true when a strategy's
checks change, without a second list to keep in step.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Any

from tagdecide.errors import InputError
from tagdecide.strategies import make_strategy, strategy_class

__all__ = ["ParameterInfo", "describe_parameters"]

#: A text no strategy accepts as a choice, offered to learn what it does accept.
_NOT_A_CHOICE = "\x00"
_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "any number", str: "text"}


@dataclass(frozen=True)
class ParameterInfo:
    """One keyword parameter of a strategy.

    Parameters
    ----------
    name : str
    default : object
        The value ``__init__`` gives it.
    kinds : tuple of type
        The types ``__init__`` declares (``type(None)`` when ``none`` is accepted).
    allowed : str
        What values are allowed, in words (from the strategy's own checks where it has
        any, e.g. ``one of zscore, ratio`` or ``a whole number >= 2``).
    choices : tuple of str
        For a parameter that takes one of a few words (or a comma-separated list of them):
        the words; empty otherwise.
    """

    name: str
    default: Any
    kinds: tuple[type, ...]
    allowed: str
    choices: tuple[str, ...] = ()

    @property
    def takes_list(self) -> bool:
        """Whether the value is a comma-separated list (``candidates='a,b'``)."""
        return isinstance(self.default, str) and "," in self.default

    def describe(self) -> str:
        """``name=default`` and the allowed values, e.g.
        ``relative='zscore'  one of zscore, ratio``."""
        return f"{self.name}={self.default!r}  {self.allowed}"


def _refusal(strategy: str, name: str, value: Any) -> str | None:
    """The strategy's own words for what ``name`` accepts, when ``value`` is refused."""
    try:
        make_strategy(strategy, **{name: value}).check_params()
    except InputError as error:
        match = re.match(rf"{re.escape(name)} must be (.+?)(?:; got |, not )", str(error))
        if match:
            return match[1]
        listed = re.search(r"choose one of (.+)$", str(error))
        return f"one of {listed[1]}" if listed else None
    except (TypeError, ValueError):  # a value of the wrong type for this parameter
        return None
    return None


def _accepted(strategy: str, name: str, value: str) -> bool:
    try:
        make_strategy(strategy, **{name: value}).check_params()
    except (InputError, TypeError, ValueError):
        return False
    return True


def _describe(strategy: str, name: str, default: Any, hint: Any) -> ParameterInfo:
    kinds = typing.get_args(hint) or (hint,)
    takes_none = type(None) in kinds
    refusal = None
    if str in kinds:
        refusal = _refusal(strategy, name, _NOT_A_CHOICE)
    elif int in kinds or float in kinds:
        number = int if int in kinds else float
        for probe in (-(10**12), 10**12):
            refusal = _refusal(strategy, name, number(probe))
            if refusal is not None:
                break
    choices: tuple[str, ...] = ()
    if refusal is not None and refusal.startswith("one of "):
        words = [word.strip() for word in refusal.removeprefix("one of ").split(",")]
        # Keep the words the strategy takes on their own (auto refuses itself as candidate).
        choices = tuple(word for word in words if word and _accepted(strategy, name, word))
    if choices:
        allowed = ("comma-separated, from: " if "," in str(default) else "one of ") + ", ".join(
            choices
        )
        if takes_none:
            allowed += ", or none"
    elif refusal is not None:
        allowed = refusal.replace("None", "none")
    else:
        # The strategy checks nothing beyond the type.
        named = [_KIND_NAMES.get(kind, kind.__name__) for kind in kinds if kind is not type(None)]
        allowed = " or ".join(named) + (" or none" if takes_none else "")
    return ParameterInfo(name, default, kinds, allowed, choices)


def describe_parameters(strategy: str) -> list[ParameterInfo]:
    """Every keyword parameter of ``strategy``, in ``__init__``'s order.

    Parameters
    ----------
    strategy : str
        A registered strategy's name (see :func:`~tagdecide.strategies.available_strategies`).

    Returns
    -------
    list of ParameterInfo

    Raises
    ------
    InputError
        For an unknown strategy.

    Examples
    --------
    >>> [info.describe() for info in describe_parameters("rowwise")]
    ["relative='zscore'  one of zscore, ratio"]
    """
    cls = strategy_class(strategy)
    hints = typing.get_type_hints(cls.__init__)
    return [
        _describe(strategy, name, default, hints[name])
        for name, default in cls.default_params().items()
    ]
