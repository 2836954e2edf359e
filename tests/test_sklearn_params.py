"""Strategies answer scikit-learn's parameter protocol: clone, get_params(deep), set_params."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from tagdecide.errors import InputError
from tagdecide.strategies import available_strategies, make_strategy


@pytest.mark.parametrize("name", available_strategies())
def test_sklearn_clone_gives_an_equal_unfitted_strategy(name: str) -> None:
    strategy = make_strategy(name)
    copy = clone(strategy)
    assert type(copy) is type(strategy) and copy is not strategy
    assert copy.get_params(deep=False) == strategy.get_params(deep=True)
    assert not hasattr(copy, "tag_names_")


def test_set_params_sets_and_refuses_unknown_names() -> None:
    strategy = make_strategy("stacked")
    assert strategy.set_params(alpha=100.0, blend=0.5) is strategy
    assert strategy.get_params()["alpha"] == 100.0 and strategy.blend == 0.5
    assert clone(strategy).get_params() == strategy.get_params()
    with pytest.raises(InputError, match="takes no parameter"):
        strategy.set_params(alpah=1.0)
