"""amops runs list|show: the team's run history and this machine's journals."""

from __future__ import annotations

from typing import Annotated

import typer

from amops.cli.state import AppState

app = typer.Typer(help="Runs: the team's history per environment, and each run's journal.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(metavar="ENV", help="The team's runs in ENV's account (default: this machine's)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List runs.  Examples: amops runs list · amops runs list --env prod"""
    state: AppState = ctx.ensure_object(AppState)
    if env:
        state.require_environment(env)
        summaries = state.services(env).runs.list(env, limit=limit)
        rows = [s.as_dict() for s in summaries]
    else:
        from amops.runbook.journal import list_recorded_runs

        rows = [
            {
                "run_id": run.run_id,
                "procedure": run.procedure,
                "environment": run.environment,
                "operator": run.start.get("operator"),
                "status": run.status,
                "started_at": run.start.get("ts"),
            }
            for run in list_recorded_runs(state.runs_dir)[:limit]
        ]
    title = f"Runs in {env} (the team's history)" if env else f"Runs on this machine ({state.runs_dir})"
    state.emit(
        {"runs": rows},
        lambda: state.console.table(
            title,
            ["run", "procedure", "env", "who", "status", "started"],
            [
                (
                    r["run_id"],
                    r["procedure"],
                    r["environment"],
                    r["operator"],
                    r["status"],
                    r["started_at"],
                )
                for r in rows
            ],
        ),
    )


@app.command("show")
def show(ctx: typer.Context, run_id: Annotated[str, typer.Argument(metavar="RUN_ID")]) -> None:
    """Show a run's steps from its journal.  Example: amops runs show 20261204-101500-deployment-dev-1a2b"""
    from amops.runbook.journal import RecordedRun

    state: AppState = ctx.ensure_object(AppState)
    run = RecordedRun.load(state.runs_dir, run_id)
    steps: dict[str, dict] = {}
    for event in run.events:
        if event["event"] == "step.start":
            steps[event["step"]] = {
                "step": event["step"],
                "command": event.get("command"),
                "status": "started",
            }
        elif event["event"] == "step.end":
            steps.setdefault(event["step"], {"step": event["step"]}).update(
                status=event["status"], duration_s=event.get("duration_s"), error=event.get("error")
            )
        elif event["event"] == "step.undo":
            steps.setdefault(event["step"], {"step": event["step"]})["undo"] = event["status"]
    confirmations = [e for e in run.events if e["event"] == "confirmation"]
    document = {
        "run_id": run.run_id,
        "procedure": run.procedure,
        "environment": run.environment,
        "status": run.status,
        "operator": run.start.get("operator"),
        "caller_arn": run.start.get("caller_arn"),
        "started_at": run.start.get("ts"),
        "steps": list(steps.values()),
        "confirmations": confirmations,
        "journal": str(run.path),
    }

    def show_text() -> None:
        state.console.table(
            f"Run {run.run_id}: {run.procedure} in {run.environment} — {run.status}",
            ["step", "status", "time", "undo", "error"],
            [
                (
                    s["step"],
                    s.get("status"),
                    f"{s['duration_s']:.1f}s" if s.get("duration_s") is not None else "",
                    s.get("undo", ""),
                    s.get("error") or "",
                )
                for s in steps.values()
            ],
        )
        state.console.info(f"By {document['operator']} as {document['caller_arn']}, started {document['started_at']}")
        for c in confirmations:
            state.console.info(f"{c['step']}: {'confirmed' if c['answer'] else 'declined'} by {c['by']} ({c['how']})")
        state.console.info(f"Journal: {run.path}")

    state.emit(document, show_text)
