"""tagdecide.strategy_params: what each strategy parameter accepts, read from the strategy."""

from __future__ import annotations

import pytest

from tagdecide.errors import InputError
from tagdecide.strategies import available_strategies, make_strategy, strategy_class
from tagdecide.strategy_params import describe_parameters


def _by_name(strategy: str) -> dict[str, object]:
    return {info.name: info for info in describe_parameters(strategy)}


@pytest.mark.parametrize("strategy", available_strategies())
def test_every_parameter_in_init_order_with_its_default(strategy: str) -> None:
    infos = describe_parameters(strategy)
    assert {info.name: info.default for info in infos} == strategy_class(strategy).default_params()
    assert all(info.allowed for info in infos)


@pytest.mark.parametrize("strategy", available_strategies())
def test_listed_choices_are_accepted_and_others_refused(strategy: str) -> None:
    for info in describe_parameters(strategy):
        for choice in info.choices:
            make_strategy(strategy, **{info.name: choice}).check_params()
        if info.choices:
            with pytest.raises(InputError, match=info.name if not info.takes_list else "unknown"):
                make_strategy(strategy, **{info.name: "surely-not-a-choice"}).check_params()


def test_auto_rule_and_regime() -> None:
    infos = _by_name("auto")
    rule, regime, candidates = infos["rule"], infos["regime"], infos["candidates"]
    assert rule.choices == ("global-or-tag", "tag", "global")  # type: ignore[attr-defined]
    assert rule.allowed == "one of global-or-tag, tag, global, or none"  # type: ignore[attr-defined]
    assert regime.choices == ("detect", "in-sample", "out-of-sample")  # type: ignore[attr-defined]
    # auto is refused as its own candidate, so it is not offered.
    assert candidates.takes_list  # type: ignore[attr-defined]
    assert "auto" not in candidates.choices  # type: ignore[attr-defined]
    assert "thresholds" in candidates.choices  # type: ignore[attr-defined]
    assert candidates.allowed.startswith("comma-separated, from: ")  # type: ignore[attr-defined]


def test_numbers_say_their_bounds() -> None:
    assert _by_name("constant")["threshold"].allowed == "in [0, 1]"  # type: ignore[attr-defined]
    seed = _by_name("stacked")["random_state"]
    assert seed.allowed == (  # type: ignore[attr-defined]
        "a whole number from 0 to 4294967295, a numpy RandomState or none"
    )
    cv = _by_name("stacked")["cv"]
    assert cv.allowed == "a whole number >= 2 or a scikit-learn splitter"  # type: ignore[attr-defined]
    assert _by_name("stacked")["row_zscores"].allowed == "true or false"  # type: ignore[attr-defined]
    # margin is checked for nothing but its type.
    assert _by_name("auto")["margin"].allowed == "any number"  # type: ignore[attr-defined]


def test_a_strategy_without_parameters() -> None:
    assert describe_parameters("thresholds") == []


def test_unknown_strategy() -> None:
    with pytest.raises(InputError, match="unknown strategy 'nope'"):
        describe_parameters("nope")
