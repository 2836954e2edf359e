"""Progress reporting from deep inside long computations, without threading a callback
through every signature: the caller installs a reporter for a block of code, and the
library's long loops report to whoever listens (nobody, by default).

>>> seen = []
>>> with reporting(lambda stage, done, total: seen.append((stage, done, total))):
...     report("fitting", 1, 2)
>>> seen
[('fitting', 1, 2)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["Reporter", "report", "reporting"]

#: Receives (stage description, steps done, total steps).
Reporter = Callable[[str, int, int], None]

_REPORTER: ContextVar[Reporter | None] = ContextVar("tagdecide_progress", default=None)


@contextlib.contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send every :func:`report` made inside the block to ``reporter``."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def report(stage: str, done: int, total: int) -> None:
    """Tell the installed reporter, if any, that ``done`` of ``total`` steps are done."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(stage, done, total)
