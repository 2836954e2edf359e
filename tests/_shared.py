"""Synthetic catalogues and fitted models that several test modules read, made once per
test session (a catalogue of 3,000 tracks takes seconds to generate, a ``hierarchical``
fit thousands of small logistic regressions). Callers must not modify what they get."""

from __future__ import annotations

import functools

from tagdecide.demo import split_scores
from tagdecide.strategies import Strategy, make_strategy
from tagdecide.synth import SyntheticCatalogue, make_catalogue


@functools.cache
def catalogue(n_tracks: int, seed: int) -> SyntheticCatalogue:
    """``make_catalogue(n_tracks, seed=seed)``, generated once."""
    return make_catalogue(n_tracks, seed=seed)


@functools.cache
def fitted_on_train(name: str, n_tracks: int, seed: int) -> Strategy:
    """Strategy ``name`` (default parameters) fitted on the training split of
    :func:`catalogue`, its albums as groups, with its taxonomy; fitted once."""
    data = catalogue(n_tracks, seed)
    return make_strategy(name).fit(
        split_scores(data, data.train),
        data.train.truth,
        groups=data.train.albums,
        taxonomy=data.taxonomy,
    )
