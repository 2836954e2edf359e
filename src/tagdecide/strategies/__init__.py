"""Decision strategies, each one small class registered by name."""

from tagdecide.strategies.auto import AutoStrategy
from tagdecide.strategies.base import (
    Strategy,
    ThresholdStrategy,
    available_strategies,
    make_strategy,
    parse_params,
    register,
    strategy_class,
)
from tagdecide.strategies.constant import ConstantThreshold
from tagdecide.strategies.hierarchical import GatedThresholds, HierarchicalThresholds
from tagdecide.strategies.regularised import RegularisedThresholds
from tagdecide.strategies.rowwise import RowwiseThresholds
from tagdecide.strategies.stacking import StackedThresholds
from tagdecide.strategies.thresholds import PerTagThresholds

__all__ = [
    "AutoStrategy",
    "ConstantThreshold",
    "GatedThresholds",
    "HierarchicalThresholds",
    "PerTagThresholds",
    "RegularisedThresholds",
    "RowwiseThresholds",
    "StackedThresholds",
    "Strategy",
    "ThresholdStrategy",
    "available_strategies",
    "make_strategy",
    "parse_params",
    "register",
    "strategy_class",
]
