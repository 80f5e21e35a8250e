"""amops lock status|release: the per-environment lock that keeps two operators apart."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from amops.cli.state import AppState
from amops.runbook.errors import ExitCode, RefusedError, UsageError

app = typer.Typer(
    help="The per-environment lock taken by every procedure that changes things.",
    no_args_is_help=True,
)


@app.command("status")
def status(ctx: typer.Context, env: Annotated[str, typer.Argument(metavar="ENV")]) -> None:
    """Who holds ENV's lock, if anyone.  Example: amops lock status prod"""
    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    holder = state.services(env).locks.current(env)
    state.emit(
        {
            "environment": env,
            "locked": holder is not None,
            "holder": holder.__dict__ if holder else None,
        },
        lambda: state.console.info(f"{env} is locked: {holder.describe()}" if holder else f"{env} is not locked."),
    )


@app.command("release")
def release(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV")],
    force: Annotated[bool, typer.Option("--force", help="Required: releasing someone else's lock.")] = False,
) -> None:
    """Release ENV's lock held by a run that died.  Example: amops lock release dev --force

    You type the environment name to confirm (or pass --yes --confirm-env ENV). The release is
    journalled.
    """
    from amops.runbook.journal import Journal, iso, new_run_id, utc_now
    from amops.runbook.runner import check_account

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    if not force:
        raise UsageError("releasing a lock needs --force", f"amops lock release {env} --force")
    services = state.services(env)
    identity = services.identity()
    check_account(identity, services.expected_account, env)
    holder = services.locks.current(env)
    if holder is None:
        state.emit(
            {"environment": env, "released": None},
            lambda: state.console.info(f"{env} is not locked."),
        )
        return
    confirmed_in_advance = state.yes and state.confirm_env == env
    if not confirmed_in_advance and not state.prompter.interactive:
        raise RefusedError(
            f"releasing {env}'s lock needs the environment name typed, and stdin is not a terminal",
            f"pass --yes --confirm-env {env}",
        )
    state.console.warning(f"{env} is locked: {holder.describe()}")
    if not confirmed_in_advance and not state.prompter.type_to_confirm(f"Type '{env}' to release this lock", env):
        state.console.info("Not released.")
        raise typer.Exit(ExitCode.FAILED)
    released = services.locks.force_release(env)
    journal = Journal.create(state.runs_dir, new_run_id("lock-release", env))
    journal.write(
        "lock.force_release",
        environment=env,
        released=released.__dict__ if released else None,
        by=getpass.getuser(),
        caller_arn=identity.arn,
        at=iso(utc_now()),
    )
    state.emit(
        {
            "environment": env,
            "released": released.__dict__ if released else None,
            "journal": str(journal.path),
        },
        lambda: state.console.success(f"Released the lock on {env} (journal: {journal.path})"),
    )
