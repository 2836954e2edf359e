"""``tagdecide curate``: the command lives with its package, :mod:`tagdecide.curate`."""

from __future__ import annotations

from tagdecide.curate.command import curate

__all__ = ["curate"]
