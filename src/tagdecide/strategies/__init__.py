"""Decision strategies, each one small class registered by name."""

from tagdecide.strategies.base import (
    Strategy,
    ThresholdStrategy,
    available_strategies,
    make_strategy,
    register,
    strategy_class,
)
from tagdecide.strategies.constant import ConstantThreshold
from tagdecide.strategies.thresholds import PerTagThresholds

__all__ = [
    "ConstantThreshold",
    "PerTagThresholds",
    "Strategy",
    "ThresholdStrategy",
    "available_strategies",
    "make_strategy",
    "register",
    "strategy_class",
]
