"""Why a track got its tags: every tag decided yes and the nearest misses, with the rule.

For each tag: the network's score, the value the strategy compared with the tag's
threshold, the margin (value - threshold), the strategy the tag follows, and — for
strategies that read other scores — the inputs that moved the value most.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies import AutoStrategy, Strategy

__all__ = ["TagExplanation", "TrackExplanation", "explain_track"]


@dataclass(frozen=True)
class TagExplanation:
    """One tag's decision for one track."""

    tag: str
    decision: int
    score: float
    value: float
    threshold: float
    margin: float  # value - threshold: >= 0 means yes
    rule: str  # the strategy the tag follows
    inputs: list[tuple[str, float]] = field(default_factory=list)  # largest moves first


@dataclass(frozen=True)
class TrackExplanation:
    """Every tag decided yes for a track, and its nearest misses."""

    track: int
    yes: list[TagExplanation]
    near_misses: list[TagExplanation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ChallengeID": self.track,
            "yes": [_tag_dict(item) for item in self.yes],
            "near_misses": [_tag_dict(item) for item in self.near_misses],
        }


def _tag_dict(item: TagExplanation) -> dict[str, Any]:
    data = asdict(item)
    data["inputs"] = [{"input": name, "contribution": value} for name, value in item.inputs]
    return data


def explain_track(
    model: Strategy,
    X: TrackScores | Any,
    track: int,
    *,
    near: int = 5,
    top_inputs: int = 5,
    source: str = "scores",
) -> TrackExplanation:
    """Explain ``model``'s decisions for track ``track`` of ``X``.

    Near misses are the ``near`` tags not given whose value came closest to the threshold,
    measured in units of the tag's spread over ``X`` (as in the review queue). ``X`` is
    TrackScores, or an array or DataFrame as :meth:`Strategy.predict` takes (tracks named
    by a ``ChallengeID`` column, else by row number).
    """
    X = model.scores_for(X)
    rows = np.flatnonzero(X.ids == track)
    if rows.size == 0:
        raise InputError(f"{source}: no track with ChallengeID {track}")
    row = int(rows[0])
    values, thresholds = model.decision_rule(X)
    spread = values.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    one = X.subset(slice(row, row + 1))
    choice = model.choice_ if isinstance(model, AutoStrategy) else [model.name] * X.n_tags

    def explain(tag: int) -> TagExplanation:
        inputs = model.input_contributions(one, tag)
        inputs = sorted(inputs, key=lambda pair: abs(pair[1]), reverse=True)[:top_inputs]
        value, threshold = float(values[row, tag]), float(thresholds[tag])
        return TagExplanation(
            tag=X.tag_names[tag],
            decision=int(value >= threshold),
            score=float(X.tag_scores[row, tag]),
            value=value,
            threshold=threshold,
            margin=value - threshold,
            rule=choice[tag],
            inputs=[(name, contribution) for name, contribution in inputs if contribution],
        )

    given = values[row] >= thresholds
    yes = sorted((explain(int(tag)) for tag in np.flatnonzero(given)), key=lambda e: -e.margin)
    distance = np.where(given | ~np.isfinite(thresholds), np.inf, (thresholds - values[row]))
    distance = distance / spread
    order = [int(tag) for tag in np.argsort(distance, kind="stable") if np.isfinite(distance[tag])]
    return TrackExplanation(
        track=track, yes=yes, near_misses=[explain(tag) for tag in order[:near]]
    )
