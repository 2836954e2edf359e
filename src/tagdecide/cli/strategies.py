"""``tagdecide strategies``: the decision strategies and their parameters."""

from __future__ import annotations

import click

from tagdecide.cli._common import quiet_option

__all__ = ["strategies"]


@click.command("strategies")
@quiet_option
def strategies(quiet: bool) -> None:
    """List the decision strategies and their parameters (`fit --param KEY=VALUE`).

    \b
    Each parameter as NAME=DEFAULT, then the values it accepts (`none` where it may be
    left unset).
    """
    del quiet  # accepted as by every command; the list is the output, there are no notes
    from tagdecide.strategies import available_strategies, strategy_class
    from tagdecide.strategy_params import describe_parameters

    for name in available_strategies():
        click.echo(f"{name:<12} {strategy_class(name).summary}")
        parameters = describe_parameters(name)
        # Aligned, except past a long default (auto's candidates), which keeps its own line.
        width = min(
            max((len(f"{info.name}={info.default!r}") for info in parameters), default=0), 20
        )
        for info in parameters:
            given = f"{info.name}={info.default!r}"
            click.echo(f"{'':<12}   {given:<{width}}  {info.allowed}")
