"""Rollback: put the live aliases back on the versions that ran before, verify, and tell people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amops.procedures import SCHEDULE
from amops.procedures.incident import communicate_step, write_update
from amops.procedures.rollback_data import ROLLBACK_DATA
from amops.procedures.rollback_infra import ROLLBACK_INFRA
from amops.procedures.verification import health_step, smoke_step
from amops.runbook import registry
from amops.runbook.context import StepContext
from amops.runbook.errors import UsageError
from amops.runbook.journal import list_recorded_runs
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

WHEN_TO_ROLL_BACK = """\
| Signal | Roll back? |
|---|---|
| Smoke tests fail after a deploy or promotion | Yes, at once: `amops rollback lambda ENV` |
| `am-ENV-api-5xx` or `-api-latency-p99` in ALARM in the watch window after the shift | Yes |
| `AM-` error codes above their usual rate since the deploy | Yes, unless a fix is minutes off |
| A bug found later, data intact, fix ready within the hour | No: deploy the fix forward |
| The change included a Terraform or data migration | Code first; infrastructure and data have their own |
"""


def _procedure() -> Procedure:
    return Procedure(
        name="rollback",
        title=SCHEDULE["rollback"].title,
        command="amops rollback lambda {env} [--function NAME] [--to-version N]",
        purpose="Get the Access Management platform back to the code that worked, fast: every function's "
        "live alias returns to the version it pointed at before the last deployment.",
        scope="Lambda code in one environment, both regions for prod. Infrastructure (`amops rollback infra`) "
        "and table data (`amops rollback data`) are separate procedures.",
        audience="On-call and DevOps engineers during an incident.",
        steps=(
            Step(
                id="decide",
                title="Work out what to roll back to",
                why="The journal of the last deployment records the versions each alias pointed at before it; "
                "without one, the previous published version is the target. You see every move first.",
                command="aws lambda get-alias --function-name am-{env}-FUNCTION --name live && "
                "aws lambda list-versions-by-function --function-name am-{env}-FUNCTION",
                expect="A from → to table per function and region, or 'nothing to roll back'.",
                kind=StepKind.READ_ONLY,
                iam=("lambda:GetAlias", "lambda:GetFunction", "lambda:ListVersionsByFunction"),
                run=decide,
                unverified="it changes nothing; the table is reviewed before the next step",
            ),
            Step(
                id="move",
                title="Move the live aliases back",
                why="Traffic follows the live alias: moving it back is instant and needs no rebuild, because "
                "every version is immutable.",
                command="aws lambda update-alias --function-name am-{env}-FUNCTION --name live "
                "--function-version PREVIOUS",
                expect="Each alias on its target version.",
                kind=StepKind.MUTATING,
                iam=("lambda:UpdateAlias",),
                run=move,
                verify=verify_move,
                undo=unmove,
                needed=lambda ctx: None if ctx.output("moves") else "nothing to roll back",
            ),
            health_step("Proves the rollback landed in every region."),
            smoke_step("Proves the platform works for users again."),
            communicate_step(communicate),
        ),
        owner=SCHEDULE["rollback"].owner,
        review_months=SCHEDULE["rollback"].review_months,
        last_reviewed=date(2026, 12, 4),
        tools=("amops", "AWS CLI v2 (for the manual commands)"),
        knowledge=(
            "Lambda versions are immutable; the `live` alias decides what runs.",
            "Which deployment caused the problem: `amops runs list --env ENV`.",
        ),
        verification=(
            "`amops health {env}` and `amops smoke {env}` pass.",
            "The error alarms return to OK within a few minutes.",
        ),
        troubleshooting=(
            TroubleshootingEntry(
                "'nothing to roll back'",
                "No earlier version, or the aliases already run it",
                "Name the version: `--to-version N` (see `aws lambda list-versions-by-function`).",
            ),
            TroubleshootingEntry(
                "Smoke tests still fail after the rollback",
                "The cause is not the code: data, configuration or a dependency",
                "`amops troubleshoot {env}`; escalate.",
            ),
        ),
        rollback="A rollback is undone by deploying again (`amops deploy {env}`) or by choosing *undo* when a "
        "later step of this procedure fails.",
        extra_sections=(("When to roll back", WHEN_TO_ROLL_BACK),),
        parts=(ROLLBACK_INFRA, ROLLBACK_DATA),
        steps_heading="Rollback: Lambda code",
    )


# The procedures that move live aliases, and the output that says where each alias was before.
PREVIOUS = {"deployment": "package.previous", "promotion": "release.previous"}


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _last_deployment_targets(ctx: StepContext) -> tuple[str | None, dict[str, dict[str, str]]]:
    """(run id, region → function → version) before the newest deployment that moved aliases.

    The team's run history (in the environment's account) counts deployments made from any machine;
    this machine's journals are read too, for a run whose shared record could not be written.
    """
    from amops.aws.state import DynamoRunStore

    candidates = [
        (summary.run_id, summary.details.get("shift.live"), summary.details.get(PREVIOUS[summary.procedure]))
        for summary in DynamoRunStore(ctx.aws, _names(ctx)["runs_table"]).list(ctx.environment)
        if summary.procedure in PREVIOUS
    ]
    for run in list_recorded_runs(Path(ctx.params.get("runs_dir") or ".")):
        if run.procedure in PREVIOUS and (run.environment, run.step_statuses().get("shift")) == (
            ctx.environment,
            "ok",
        ):
            outputs = run.outputs()
            step, _, key = PREVIOUS[run.procedure].partition(".")
            candidates.append(
                (run.run_id, (outputs.get("shift") or {}).get("live"), (outputs.get(step) or {}).get(key))
            )
    for run_id, moved, previous in sorted(candidates, key=lambda c: c[0], reverse=True):
        if moved and previous and any(moved.values()):
            return run_id, {region: {f: previous[region][f] for f in functions} for region, functions in moved.items()}
    return None, {}


def decide(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    only = ctx.params.get("function")
    if only and only not in names["functions"]:
        raise UsageError(f"no function {only!r}", f"use one of {', '.join(names['functions'])}")
    to_version = ctx.params.get("to_version")
    run_id, from_journal = (None, {}) if to_version else _last_deployment_targets(ctx)
    environment = ctx.config.environment(ctx.environment)
    by_region = {region: Lambdas(ctx.aws, region) for region in environment.regions}
    moves, rows = [], []
    for short, function in names["functions"].items():
        if only and short != only:
            continue
        for region, lambdas in by_region.items():
            live = lambdas.alias_target(function, names["alias"])
            target, source = _target(
                lambdas, short, function, live.version, region == environment.region, to_version, from_journal
            )
            if target is None or target == live.version:
                rows.append((short, region, f"v{live.version}", "—", source or "nothing earlier"))
                continue
            moves.append({"function": short, "region": region, "from": live.version, "to": target})
            rows.append((short, region, f"v{live.version}", f"v{target}", source))
    ctx.console.table(f"Rollback plan for {ctx.environment}", ["function", "region", "from", "to", "because"], rows)
    if not moves:
        ctx.console.info("Nothing to roll back: every alias already runs its target version.")
    return {"moves": moves, "from_deployment": run_id}


def _target(
    lambdas: Any,
    short: str,
    function: str,
    live_version: str,
    primary: bool,
    to_version: int | None,
    from_journal: dict[str, dict[str, str]],
) -> tuple[str | None, str]:
    """(the version to go back to or None, why) for one function in one region."""
    region = lambdas.region
    if to_version is not None:
        if primary:
            if str(to_version) not in lambdas.versions(function):
                raise UsageError(
                    f"{function} has no version {to_version}", "list them: aws lambda list-versions-by-function"
                )
            return str(to_version), "--to-version"
        return None, "DR follows the primary's version"
    if from_journal.get(region, {}).get(short):
        return from_journal[region][short], "before the last deployment (journal)"
    earlier = [v for v in lambdas.versions(function) if int(v) < int(live_version)]
    return (earlier[-1], "the previous published version") if earlier else (None, "")


def move(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    moves = list(ctx.output("moves"))
    environment = ctx.config.environment(ctx.environment)
    if ctx.params.get("to_version") is not None and environment.dr_region:
        moves += _dr_moves_by_code(ctx, moves)
    for item in moves:
        Lambdas(ctx.aws, item["region"]).point_alias(names["functions"][item["function"]], item["to"], names["alias"])
        ctx.console.info(f"{names['functions'][item['function']]} ({item['region']}): v{item['from']} → v{item['to']}")
    return {"moved": moves, "live": _live_by_region(moves), "rolled_back_at": datetime.now(UTC).isoformat()}


def _dr_moves_by_code(ctx: StepContext, moves: list[dict[str, str]]) -> list[dict[str, str]]:
    """In the DR region, the version with the same code as the primary's target."""
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    environment = ctx.config.environment(ctx.environment)
    primary, standby = Lambdas(ctx.aws, environment.region), Lambdas(ctx.aws, environment.dr_region)
    extra = []
    for item in moves:
        function = names["functions"][item["function"]]
        wanted = primary.client.get_function(FunctionName=function, Qualifier=item["to"])["Configuration"]["CodeSha256"]
        for version in reversed(standby.versions(function)):
            code = standby.client.get_function(FunctionName=function, Qualifier=version)["Configuration"]
            if code["CodeSha256"] == wanted:
                live = standby.alias_target(function, names["alias"]).version
                extra.append(
                    {"function": item["function"], "region": environment.dr_region, "from": live, "to": version}
                )
                break
    return extra


def _live_by_region(moves: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    live: dict[str, dict[str, str]] = {}
    for item in moves:
        live.setdefault(item["region"], {})[item["function"]] = item["to"]
    return live


def verify_move(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas
    from amops.runbook.errors import StepFailed

    names = _names(ctx)
    for item in ctx.output("moved"):
        target = Lambdas(ctx.aws, item["region"]).alias_target(names["functions"][item["function"]], names["alias"])
        if target.version != item["to"]:
            raise StepFailed(f"{item['function']} ({item['region']}) is on v{target.version}, not v{item['to']}")


def unmove(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    for item in ctx.output("moved") or []:
        Lambdas(ctx.aws, item["region"]).point_alias(names["functions"][item["function"]], item["from"], names["alias"])


def communicate(ctx: StepContext) -> dict[str, Any]:
    moved = ctx.output("moved") or []
    lines = [
        f"{len(moved)} alias move(s)"
        + (f", after deployment {ctx.output('from_deployment')}" if ctx.output("from_deployment") else ""),
        *[f"- {m['function']} ({m['region']}): v{m['from']} → v{m['to']}" for m in moved],
    ]
    return write_update(ctx, "Rollback", lines, ctx.output("rolled_back_at"))


ROLLBACK = registry.register(_procedure())
