"""`amops` alone on a terminal: pick a procedure, an environment, go."""

from __future__ import annotations

import typer

from amops.cli.state import AppState

CHOICES = [
    ("Deploy an environment", ["deploy", "{env}"]),
    ("Health checks", ["health", "{env}"]),
    ("Smoke tests", ["smoke", "{env}"]),
    ("Roll back the Lambdas", ["rollback", "lambda", "{env}"]),
    ("Troubleshoot a symptom", ["troubleshoot", "{env}"]),
    ("Audit compliance checks", ["audit", "verify", "--env", "{env}"]),
    ("Verify disaster recovery readiness", ["dr", "verify", "{env}"]),
    ("Runbooks and their review dates", ["runbooks", "list"]),
]


def guided_menu(ctx: typer.Context, state: AppState) -> int:
    import questionary

    labels = [label for label, _ in CHOICES]
    picked = questionary.select("What do you want to do?", choices=labels).unsafe_ask()
    args = dict(CHOICES)[picked]
    if "{env}" in args:
        env = questionary.select("Which environment?", choices=list(state.config.environments)).unsafe_ask()
        args = [env if arg == "{env}" else arg for arg in args]
    command = ctx.command
    sub_ctx = command.make_context("amops", args, parent=ctx, obj=state)  # type: ignore[union-attr]
    with sub_ctx:
        return command.invoke(sub_ctx) or 0
