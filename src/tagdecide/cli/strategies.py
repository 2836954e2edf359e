"""``tagdecide strategies``: the decision strategies and their parameters."""

from __future__ import annotations

import click

__all__ = ["strategies"]


@click.command("strategies")
def strategies() -> None:
    """List the decision strategies and their parameters (`fit --param KEY=VALUE`)."""
    from tagdecide.strategies import available_strategies, strategy_class

    for name in available_strategies():
        cls = strategy_class(name)
        click.echo(f"{name:<12} {cls.summary}")
        params = [f"{key}={value!r}" for key, value in cls.default_params().items()]
        if params:
            click.echo(f"{'':<12} parameters: {', '.join(params)}")
