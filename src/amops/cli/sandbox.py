"""amops sandbox …: the embedded local AWS (not built yet)."""

from __future__ import annotations

import typer

from amops.runbook.errors import NotAvailableError

app = typer.Typer(help="The embedded local AWS with the reference stack.", no_args_is_help=True)


def _not_built(name: str, doc: str) -> None:
    def command() -> None:
        raise NotAvailableError(
            f"`amops sandbox {name}` is not built yet in this version of amops",
            "the sandbox is the next piece of work",
        )

    command.__doc__ = doc
    app.command(name)(command)


for _name, _doc in [
    ("up", "Start the sandbox and provision the reference stack."),
    ("down", "Stop the sandbox."),
    ("status", "Endpoint, pid, uptime and readiness."),
    ("reset", "Reprovision from scratch."),
    ("env", "Print export lines for the AWS CLI."),
    ("token", "A bearer token for a seeded user."),
    ("tick", "Advance the simulated clock."),
]:
    _not_built(_name, _doc)
