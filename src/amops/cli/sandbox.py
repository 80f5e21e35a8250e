"""amops sandbox up|down|status|reset|env|token|tick: the embedded local AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from amops.cli.state import AppState
from amops.runbook.errors import ExitCode

app = typer.Typer(
    help="The embedded local AWS (moto on loopback) with the reference stack: dev, sit, prod, and "
    "prod's DR region. Practise any procedure with `amops --sandbox …`.",
    no_args_is_help=True,
)

Workspace = Annotated[
    Path | None,
    typer.Option("--workspace", envvar="AMOPS_SANDBOX_WORKSPACE", help="The sandbox's folder."),
]


def _sandbox(workspace: Path | None):  # amops.sandbox.control.Sandbox, imported lazily
    from amops.sandbox.control import Sandbox
    from amops.sandbox.workspace import default_workspace

    return Sandbox(workspace or default_workspace())


@app.command("up")
def up(
    ctx: typer.Context,
    workspace: Workspace = None,
    port: Annotated[int, typer.Option(help="moto's port on 127.0.0.1 (0: any free one).")] = 0,
    events: Annotated[int, typer.Option(help="Seeded audit events per environment, over 400 days.")] = 50_000,
    hot_events: Annotated[
        int | None, typer.Option(help="Events in the 30-day hot table instead of their even share.")
    ] = None,
) -> None:
    """Start the sandbox and provision the reference stack (reuses a running one).

    Example: amops sandbox up && amops --sandbox health dev
    """
    state: AppState = ctx.ensure_object(AppState)
    sandbox = _sandbox(workspace)
    running, started = sandbox.up(
        port=port,
        events=events,
        hot_events=hot_events,
        progress=state.console.info,
        on_dead=lambda dead: state.console.warning(
            f"the sandbox (pid {dead.get('pid', '?')}) had died; starting a new one — its state is gone"
        ),
    )
    state.emit(
        {**running.state, "started": started},
        lambda: state.console.success(
            f"Sandbox {'started' if started else 'already running'}: {running.endpoint} "
            f"(pid {running.pid}, workspace {sandbox.workspace.path})"
        ),
    )


@app.command("down")
def down(ctx: typer.Context, workspace: Workspace = None) -> None:
    """Stop the sandbox (its state is lost)."""
    state: AppState = ctx.ensure_object(AppState)
    stopped = _sandbox(workspace).down()
    state.emit(
        {"stopped": stopped},
        lambda: state.console.success("Sandbox stopped.") if stopped else state.console.info("No sandbox running."),
    )


@app.command("status")
def status(ctx: typer.Context, workspace: Workspace = None) -> None:
    """Endpoint, pid, uptime, the simulated clock and each environment's readiness."""
    from datetime import UTC, datetime

    state: AppState = ctx.ensure_object(AppState)
    sandbox = _sandbox(workspace)
    document = sandbox.status()
    if document is None:
        died = sandbox.died()
        message = (
            "the sandbox has died: start a new one with `amops sandbox up`"
            if died is not None
            else ("no sandbox is running: start one with `amops sandbox up`")
        )
        state.emit({"running": False, "died": died is not None}, lambda: state.console.info(message))
        raise typer.Exit(ExitCode.FAILED)
    started = datetime.fromisoformat(document["started_at"])
    uptime = int((datetime.now(UTC) - started).total_seconds())
    readiness = sandbox.readiness()

    def show() -> None:
        state.console.info(
            f"Endpoint {document['endpoint']} · pid {document['pid']} · up {uptime // 60}m "
            f"{uptime % 60}s · clock {document['now']} (+{document['clock_offset_hours']:g}h)"
        )
        state.console.table(
            "Environments",
            ["environment", "region", "API", "/health", "functions on live"],
            [(r["environment"], r["region"], r["api_url"], r["health"], r["functions"]) for r in readiness],
        )

    state.emit({"running": True, **document, "uptime_s": uptime, "environments": readiness}, show)


@app.command("reset")
def reset(
    ctx: typer.Context,
    workspace: Workspace = None,
    events: Annotated[int, typer.Option(help="Seeded audit events per environment.")] = 50_000,
) -> None:
    """Stop, restore the shipped Lambda sources and Terraform module, and provision from scratch."""
    state: AppState = ctx.ensure_object(AppState)
    running = _sandbox(workspace).reset(events=events, progress=state.console.info)
    state.emit(running.state, lambda: state.console.success(f"Sandbox reset: {running.endpoint}"))


@app.command("env")
def env(
    ctx: typer.Context,
    environment: Annotated[str, typer.Argument(metavar="ENV", help="Whose account: dev, sit or prod.")] = "dev",
    workspace: Workspace = None,
) -> None:
    """Print export lines so the AWS CLI or any SDK sees ENV's sandbox account.

    Example: eval "$(amops sandbox env dev)" && aws lambda get-alias --function-name am-dev-teams --name live
    """
    for line in _sandbox(workspace).env_lines(environment):
        typer.echo(line)


@app.command("token")
def token(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="USER", help="alice, bob, carol, dave, erin, frank, amops-smoke")],
    environment: Annotated[str, typer.Option("--env", metavar="ENV")] = "dev",
    hours: Annotated[float, typer.Option(help="How long it is valid.")] = 1.0,
    workspace: Workspace = None,
) -> None:
    """A bearer token for a seeded user.

    Example: curl -H "Authorization: Bearer $(amops sandbox token alice)" "$API/teams"
    """
    typer.echo(_sandbox(workspace).token(user, environment, hours))


@app.command("tick")
def tick(
    ctx: typer.Context,
    hours: Annotated[float, typer.Option(help="How far to advance the simulated clock.")] = 1.0,
    workspace: Workspace = None,
) -> None:
    """Advance the simulated clock: TTL expiry, lifecycle, replication, hourly exports catch up."""
    state: AppState = ctx.ensure_object(AppState)
    report = _sandbox(workspace).tick(hours)
    state.emit(
        report,
        lambda: state.console.table(
            f"Clock now {report['now']}",
            ["process", "effect"],
            [
                ("TTL expiry", f"{report['expired_items']} items deleted"),
                (
                    "lifecycle",
                    f"{report['transitioned']} objects to Glacier, {report['expired_objects']} expired",
                ),
                ("replication", f"{report['replicated']} objects copied to the DR region"),
                ("hourly exports", f"{report['exports']} table exports started"),
            ],
        ),
    )
