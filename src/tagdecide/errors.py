"""The package's exceptions and warnings.

Every error that bad input can cause is a :class:`TagdecideError`; the command line turns
it into one line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["InputError", "ModelFileError", "TagdecideError", "TagdecideWarning", "list_some"]


class TagdecideError(Exception):
    """Base class of every error tagdecide raises for bad input or files."""


class InputError(TagdecideError, ValueError):
    """A data file (scores, truth, taxonomy, groups) is missing, malformed or inconsistent."""


class ModelFileError(TagdecideError, ValueError):
    """A model file is not one of ours, is corrupt, or was written by a newer format."""


class TagdecideWarning(UserWarning):
    """Something in the input was ignored or looks suspicious, but the work could go on."""


def list_some(items: Sequence[object], most: int = 3) -> str:
    """Name at most ``most`` items and count the rest: ``'a', 'b', 'c' and 4 more``."""
    shown = ", ".join(repr(item) if isinstance(item, str) else str(item) for item in items[:most])
    rest = len(items) - most
    return f"{shown} and {rest} more" if rest > 0 else shown
