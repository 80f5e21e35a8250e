"""The procedure commands: deploy, smoke, health, promote, rollback, audit, dr, troubleshoot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from amops.cli.state import AppState
from amops.runbook.errors import ExitCode, NotAvailableError, UsageError

Env = Annotated[str, typer.Argument(metavar="ENV", help="Environment: dev, sit, prod.")]
Override = Annotated[list[str] | None, typer.Option(metavar="CHECK", help="Proceed despite this failed check.")]
AllowDestroy = Annotated[
    list[str] | None, typer.Option(metavar="ADDRESS", help="Allow the plan to delete/replace this.")
]
OnFailure = Annotated[str, typer.Option(help="ask, stop or undo (without a terminal: stop).")]


class DefaultCommandGroup(TyperGroup):
    """A group whose first word may be an argument of its hidden default command `run`."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]  # click's own signature
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _not_built(ctx: typer.Context, what: str, env: str | None = None) -> None:
    state: AppState = ctx.ensure_object(AppState)
    if env is not None:
        state.require_environment(env)
    raise NotAvailableError(
        f"`amops {what}` is not built yet in this version of amops",
        "follow the matching runbook in runbooks/ by hand meanwhile",
    )


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("smoke")(smoke)
    app.command("health")(health)
    app.add_typer(promote_app, name="promote")
    app.add_typer(rollback_app, name="rollback")
    app.add_typer(audit_app, name="audit")
    app.add_typer(dr_app, name="dr")
    app.add_typer(troubleshoot_app, name="troubleshoot")


def deploy(
    ctx: typer.Context,
    env: Env,
    only: Annotated[str | None, typer.Option(help="infra, lambdas or api: just that part.")] = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a stopped run.")] = None,
    canary: Annotated[float, typer.Option(metavar="PCT", help="Send PCT% of traffic first.")] = 0,
    canary_minutes: Annotated[float, typer.Option(help="How long to watch the canary.")] = 5,
    override: Override = None,
    allow_destroy: AllowDestroy = None,
    on_failure: OnFailure = "ask",
) -> None:
    """Deploy ENV: checklist, Terraform, Lambdas, API, health checks and smoke tests.

    \b
    Examples:
      amops --sandbox deploy dev              the guided deployment, in the sandbox
      amops deploy prod --dry-run             every step and command; nothing changes
      amops deploy dev --only lambdas         what scripts/deploy-lambdas.sh runs
      amops deploy sit --canary 10 --canary-minutes 15
      amops --yes deploy dev --on-failure undo   for CI: undo on a failed check
    """
    from amops.procedures.deploy import ONLY, deployment

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    if only is not None and only not in ONLY:
        raise UsageError(f"--only must be one of {', '.join(ONLY)}, not {only!r}")
    if on_failure not in ("ask", "stop", "undo"):
        raise UsageError(f"--on-failure must be ask, stop or undo, not {on_failure!r}")
    if not 0 <= canary < 100:
        raise UsageError(f"--canary is a percentage of traffic below 100, not {canary:g}")
    state.on_failure = on_failure
    params = {
        "only": only,
        "canary": canary or None,
        "canary_minutes": canary_minutes if canary else None,
        "override": override or [],
        "allow_destroy": allow_destroy or [],
        "plans_dir": str(state.runs_dir.parent / "plans"),
    }
    result = state.run_procedure(deployment(only), env, params, resume=resume)
    raise typer.Exit(result.exit_code)


Junit = Annotated[Path | None, typer.Option(metavar="PATH", help="Also write a JUnit XML report.")]


def health(ctx: typer.Context, env: Env, junit: Junit = None) -> None:
    """Check ENV: aliases, /health in every region, alarms, tables.  Example: amops health prod"""
    from amops.procedures.verification import health_checks

    _verify(ctx, env, health_checks, f"Health of {env}", "health", junit)


def smoke(ctx: typer.Context, env: Env, junit: Junit = None) -> None:
    """Run the end-to-end smoke tests against ENV's API.  Example: amops smoke sit --junit smoke.xml"""
    from amops.procedures.verification import smoke_tests

    _verify(ctx, env, smoke_tests, f"Smoke tests in {env}", "smoke", junit)


def _verify(
    ctx: typer.Context,
    env: str,
    run_checks: Callable[..., list],
    title: str,
    suite: str,
    junit: Path | None,
) -> None:
    from amops.runbook.runner import check_account

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    services = state.services(env)
    check_account(services.identity(), services.expected_account, env)
    _report_checks(state, title, suite, run_checks(state.config, env, services.aws), junit)


def _report_checks(state: AppState, title: str, suite: str, checks: list, junit: Path | None) -> None:
    from amops.procedures.verification import junit_xml

    if junit:
        junit.write_text(junit_xml(suite, checks))
    failed = [c for c in checks if not c.ok]
    state.emit(
        {"checks": [c.as_dict() for c in checks], "passed": len(checks) - len(failed), "failed": len(failed)},
        lambda: (
            state.console.table(
                title,
                ["check", "region", "", "detail"],
                [(c.name, c.region, "✓" if c.ok else "✗", c.detail) for c in checks],
            ),
            state.console.info(f"{len(checks) - len(failed)} passed, {len(failed)} failed"),
        ),
    )
    raise typer.Exit(ExitCode.FAILED if failed else ExitCode.OK)


promote_app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Promote the release running in SOURCE to TARGET (dev→sit, sit→prod).\n\n"
    "Usage: amops promote SOURCE TARGET · amops promote approve RUN_ID --by NAME",
    no_args_is_help=True,
)


@promote_app.command("run", hidden=True)
def promote(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Where the release runs now: dev or sit.")],
    target: Annotated[str, typer.Argument(metavar="TARGET", help="Where it goes: sit or prod.")],
    watch: Annotated[
        float | None, typer.Option(metavar="MINUTES", help="Watch the rollback criteria this long after the shift.")
    ] = None,
    auto_rollback: Annotated[bool, typer.Option(help="Roll back by itself when --watch sees a criterion.")] = False,
    max_error_codes: Annotated[int, typer.Option(help="AM- error codes tolerated during --watch.")] = 20,
    override: Override = None,
    allow_destroy: AllowDestroy = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a waiting or stopped run.")] = None,
    on_failure: OnFailure = "ask",
) -> None:
    """Promote the release SOURCE runs to TARGET: the same zips, approved, verified, watched.

    \b
    Examples:
      amops promote dev sit                        after `amops deploy dev`, from a release/* commit
      amops promote sit prod --watch 15            waits for an approval, then watches 15 minutes
      amops promote approve RUN_ID --by thandi     the approver, on their own machine
      amops promote sit prod --resume RUN_ID       once approved
    Exit codes: 0 done, 1 failed, 2 bad input or refused, 3 waiting for approval.
    """
    from amops.procedures.promote import PATHS, PROMOTION

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(source)
    state.require_environment(target)
    if PATHS.get(source) != target:
        raise UsageError(
            f"promotions go dev → sit → prod; {source} → {target} is not one of them",
            "promote one step at a time: amops promote dev sit, then amops promote sit prod",
        )
    if auto_rollback and not watch:
        raise UsageError("--auto-rollback needs --watch MINUTES: it acts on what the watch sees")
    if on_failure not in ("ask", "stop", "undo"):
        raise UsageError(f"--on-failure must be ask, stop or undo, not {on_failure!r}")
    state.on_failure = on_failure
    params = {
        "source": source,
        "watch": watch,
        "auto_rollback": auto_rollback,
        "max_error_codes": max_error_codes,
        "override": override or [],
        "allow_destroy": allow_destroy or [],
        "plans_dir": str(state.runs_dir.parent / "plans"),
        "runs_dir": str(state.runs_dir),
    }
    raise typer.Exit(state.run_procedure(PROMOTION, target, params, resume=resume).exit_code)


@promote_app.command("approve")
def promote_approve(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The waiting promotion's run id.")],
    by: Annotated[str, typer.Option("--by", help="The approver's name (not the operator's).")],
) -> None:
    """Approve a promotion that waits for approval, after seeing what it promotes.

    The approval is stored with the run's record in the target environment's account, so the
    approver runs this on their own machine, with their own credentials for that environment.

    \b
    Example: amops promote approve 20261204-101500-promotion-prod-1a2b --by thandi
    """
    import getpass

    from amops.aws.state import DynamoRunStore
    from amops.procedures.promote import approve, environment_of
    from amops.runbook.errors import RefusedError
    from amops.runbook.runner import check_account

    state: AppState = ctx.ensure_object(AppState)
    env = state.require_environment(environment_of(run_id))
    services = state.services(env)
    identity = services.identity()
    check_account(identity, services.expected_account, env)
    if not by.strip():
        raise UsageError("--by needs the approver's name")
    prompter = state.prompter
    confirmed_in_advance = state.yes and (env != "prod" or state.confirm_env == env)
    if not confirmed_in_advance and not prompter.interactive:
        raise RefusedError(
            "approving needs a terminal to show the release and ask",
            f"run it on a terminal, or pass --yes{' --confirm-env prod' if env == 'prod' else ''}",
        )

    def confirm(question: str) -> bool:
        if confirmed_in_advance:
            return True
        if env == "prod":
            return prompter.type_to_confirm(f"{question} Type '{env}' to approve", env)
        return prompter.confirm(question)

    approval = approve(
        DynamoRunStore(services.aws, state.config.names.runs_table),
        run_id,
        by.strip(),
        getpass.getuser(),
        identity.arn,
        state.console,
        confirm,
        state.runs_dir / "approvals",
    )
    state.emit(approval, lambda: None)


rollback_app = typer.Typer(help="Roll back Lambdas, infrastructure or a table.", no_args_is_help=True)


@rollback_app.command("lambda")
def rollback_lambda(
    ctx: typer.Context,
    env: Env,
    function: Annotated[str | None, typer.Option(help="Only this function (e.g. teams).")] = None,
    to_version: Annotated[int | None, typer.Option(help="This published version.")] = None,
    reason: Annotated[str | None, typer.Option(help="What happened, for the incident update.")] = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a stopped run.")] = None,
) -> None:
    """Point the live aliases back at the versions before the last deployment.

    \b
    Examples:
      amops rollback lambda dev                        every function, from the journal
      amops rollback lambda prod --function teams      one function, both regions
      amops rollback lambda sit --function teams --to-version 7
    """
    from amops.procedures.rollback import ROLLBACK

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    if to_version is not None and function is None:
        raise UsageError("--to-version needs --function: version numbers differ between functions")
    params = {"function": function, "to_version": to_version, "reason": reason, "runs_dir": str(state.runs_dir)}
    raise typer.Exit(state.run_procedure(ROLLBACK, env, params, resume=resume).exit_code)


@rollback_app.command("infra")
def rollback_infra(
    ctx: typer.Context,
    env: Env,
    to_ref: Annotated[str | None, typer.Option(metavar="GIT_REF", help="Apply this commit's Terraform.")] = None,
    to_state_version: Annotated[
        str | None, typer.Option(metavar="ID", help="Restore this S3 version of the state object.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="What happened, for the incident update.")] = None,
    allow_destroy: AllowDestroy = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a stopped run.")] = None,
) -> None:
    """Apply an earlier commit's Terraform (preferred), or restore an earlier state version.

    \b
    Examples:
      amops rollback infra sit --to-ref v1.4.0
      amops rollback infra prod --to-state-version 3HL4kqtJlcpXroDTDmJ.rqSeb8sa0r0  (last resort)
    """
    from amops.procedures.rollback_infra import infra_rollback

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    if bool(to_ref) == bool(to_state_version):
        raise UsageError("name exactly one of --to-ref GIT_REF or --to-state-version ID (also with --resume)")
    params = {
        "to_ref": to_ref,
        "to_state_version": to_state_version,
        "reason": reason,
        "allow_destroy": allow_destroy or [],
        "plans_dir": str(state.runs_dir.parent / "plans"),
        "runs_dir": str(state.runs_dir),
    }
    procedure = infra_rollback(by_state_version=bool(to_state_version))
    raise typer.Exit(state.run_procedure(procedure, env, params, resume=resume).exit_code)


@rollback_app.command("data")
def rollback_data(
    ctx: typer.Context,
    env: Env,
    table: Annotated[str, typer.Option(help="The table: teams, permissions, invitations, audit (or its full name).")],
    to_time: Annotated[str, typer.Option(metavar="ISO8601", help="UTC unless an offset is given; or 2h, 1d back.")],
    reason: Annotated[str | None, typer.Option(help="What happened, for the incident update.")] = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a stopped run.")] = None,
) -> None:
    """Restore a table to a point in time into a new table, then switch the functions to it.

    \b
    Examples:
      amops rollback data dev --table teams --to-time 2026-12-04T08:00:00Z
      amops rollback data prod --table permissions --to-time 2026-12-04T10:00:00+02:00
    """
    from datetime import UTC, datetime

    from amops.procedures.rollback_data import ROLLBACK_DATA, table_name
    from amops.when import parse_when

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    now = datetime.now(UTC)
    moment = parse_when(to_time, now, "--to-time").replace(microsecond=0)
    if moment > now:
        raise UsageError(f"--to-time {moment.isoformat()} is in the future", "a restore goes back in time")
    params = {
        "table": table_name(state.config.resource_names(env), table),
        "to_time": moment.isoformat(),
        "reason": reason,
        "runs_dir": str(state.runs_dir),
    }
    raise typer.Exit(state.run_procedure(ROLLBACK_DATA, env, params, resume=resume).exit_code)


audit_app = typer.Typer(help="Audit log export, compliance checks and reports.", no_args_is_help=True)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(metavar="WHEN", help="ISO date or time (UTC unless an offset), or 7d, 12h.")
    ] = None,
    env: Annotated[str, typer.Option(metavar="ENV", help="The environment whose audit log to read.")] = "prod",
    until: Annotated[
        str | None, typer.Option(metavar="WHEN", help="End of the range (a date: through that day). Default: now.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team_id.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[
        str | None, typer.Option(metavar="GLOB", help="Only actions matching, e.g. 'permission.*'.")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="allow, deny or error.")] = None,
    format_: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    gzip_: Annotated[bool, typer.Option("--gzip", help="Compress the output (added .gz).")] = False,
    out: Annotated[str | None, typer.Option(metavar="PATH", help="A file, an s3:// URI, or - for stdout.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for Glacier restores instead of stopping.")] = False,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume an export that waited.")] = None,
) -> None:
    """Export audit events across the hot, warm and cold tiers, with a manifest beside the file.

    \b
    Examples:
      amops audit export --since 7d --out prod-audit.jsonl
      amops audit export --env sit --since 2026-01-01 --until 2026-03-31 --team team-alpha --format csv
      amops audit export --since 2025-06-01 --wait --gzip --out s3://evidence-bucket/2025-06.jsonl.gz
      amops audit export --since 30d --action 'permission.*' --outcome deny --out -
    Exit codes: 0 done, 1 failed, 2 bad input, 3 waiting for Glacier restores (resume later).
    """
    from datetime import UTC, datetime, timedelta

    from amops.audit.export import WARM_DAYS, Filters, check_range
    from amops.procedures.audit import audit_export as procedure_for
    from amops.when import parse_when

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    if format_ not in ("jsonl", "csv"):
        raise UsageError(f"--format must be jsonl or csv, not {format_!r}")
    if outcome not in (None, "allow", "deny", "error"):
        raise UsageError(f"--outcome must be allow, deny or error, not {outcome!r}")
    if resume:
        from amops.runbook.journal import RecordedRun

        params = RecordedRun.load(state.runs_dir, resume).params
        since_at = datetime.fromisoformat(params["since"])
    else:
        if since is None:
            raise UsageError("--since is required", "e.g. --since 7d or --since 2026-11-01")
        now = datetime.now(UTC)
        since_at = parse_when(since, now, "--since")
        until_at = now if until is None else parse_when(until, now, "--until")
        if until is not None and len(until.strip()) == 10:  # a bare date: through the end of that day
            until_at += timedelta(days=1)
        until_at = min(until_at, now)
        check_range(since_at, until_at, now)
        suffix = f".{format_}" + (".gz" if gzip_ else "")
        if out is None:
            out = f"audit-{env}-{since_at:%Y%m%d}-{until_at:%Y%m%d}{suffix}"
        elif gzip_ and out not in ("-",) and not out.endswith(".gz"):
            out += ".gz"
        if out == "-":
            state.data_on_stdout = True
        params = {
            "since": since_at.isoformat(),
            "until": until_at.isoformat(),
            "filters": Filters(team, actor, action, outcome).as_dict(),
            "format": format_,
            "gzip": gzip_,
            "out": out,
            "wait": wait,
        }
    needs_glacier = (datetime.now(UTC) - since_at).days >= WARM_DAYS - 1
    result = state.run_procedure(procedure_for(needs_glacier), env, params, resume=resume)
    raise typer.Exit(result.exit_code)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    env: Annotated[str, typer.Option(metavar="ENV", help="The environment whose audit log to check.")] = "prod",
) -> None:
    """Check retention and logging compliance: each check PASS, WARN or FAIL with evidence; exit 1 on a FAIL.

    \b
    Examples:
      amops audit verify                      prod
      amops -o json audit verify --env sit > evidence.json
    """
    from amops.procedures.audit import AUDIT_VERIFY

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    raise typer.Exit(state.run_procedure(AUDIT_VERIFY, env, {}).exit_code)


@audit_app.command("verify-export")
def audit_verify_export(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE", help="An export amops wrote.")]
) -> None:
    """Re-check an export against the manifest beside it: size, SHA-256, event count.

    Example: amops audit verify-export prod-audit.jsonl
    """
    from amops.audit.export import verify_export

    state: AppState = ctx.ensure_object(AppState)
    checked = verify_export(file)
    state.emit(
        {"ok": True, **checked},
        lambda: state.console.success(
            f"{file} matches its manifest: {checked['events']} events, SHA-256 {checked['sha256']}"
        ),
    )


@audit_app.command("report")
def audit_report(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="A month (2026-11), a quarter (2026-Q4) or a year (2026).")],
    env: Annotated[str, typer.Option(metavar="ENV", help="The environment whose audit log to report on.")] = "prod",
    out_dir: Annotated[Path, typer.Option(metavar="DIR", help="Where the .md and .html go.")] = Path("."),
    wait: Annotated[bool, typer.Option(help="Wait for Glacier restores instead of stopping.")] = False,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Resume a report that waited.")] = None,
) -> None:
    """Write the audit report for a period, as Markdown and as a self-contained HTML page.

    \b
    Examples:
      amops audit report --period 2026-11
      amops audit report --env sit --period 2026-Q3 --out-dir reports/ --wait
    """
    from datetime import UTC, datetime, timedelta

    from amops.audit.export import WARM_DAYS, check_range
    from amops.audit.report import parse_period
    from amops.procedures.audit import audit_report as procedure_for

    state: AppState = ctx.ensure_object(AppState)
    state.require_environment(env)
    chosen = parse_period(period)
    now = datetime.now(UTC)
    since = datetime(chosen.start.year, chosen.start.month, chosen.start.day, tzinfo=UTC)
    until = min(datetime(chosen.end.year, chosen.end.month, chosen.end.day, tzinfo=UTC), now)
    check_range(since, until, now)
    params = {
        "period": chosen.label,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "out_dir": str(out_dir),
        "wait": wait,
    }
    needs_glacier = now - since >= timedelta(days=WARM_DAYS - 1)
    raise typer.Exit(state.run_procedure(procedure_for(needs_glacier), env, params, resume=resume).exit_code)


dr_app = typer.Typer(help="Disaster recovery: verify, fail over, fail back, drill.", no_args_is_help=True)


def _dr(name: str, doc: str) -> None:
    def command(ctx: typer.Context, env: Annotated[str, typer.Argument(metavar="ENV")] = "prod") -> None:
        _not_built(ctx, f"dr {name}", env)

    command.__doc__ = doc
    dr_app.command(name)(command)


_dr("verify", "Check the DR region is ready: code, exports, replication, RPO.")
_dr("failover", "Fail over to the DR region.")
_dr("failback", "Fail back to the primary region.")
_dr("drill", "Run the DR drill and measure RTO and RPO.")


troubleshoot_app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Guided troubleshooting.\n\nUsage: amops troubleshoot [ENV] [SYMPTOM] · amops troubleshoot error AM-AUTH-001",
    invoke_without_command=True,
)


@troubleshoot_app.command("run", hidden=True)
def troubleshoot(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Argument(metavar="ENV")] = None,
    symptom: Annotated[str | None, typer.Argument(metavar="SYMPTOM")] = None,
) -> None:
    """Diagnose a symptom in ENV."""
    _not_built(ctx, "troubleshoot", env)


@troubleshoot_app.command("error")
def troubleshoot_error(ctx: typer.Context, code: Annotated[str, typer.Argument(metavar="CODE")]) -> None:
    """Explain an AM- error code and what to do about it."""
    _not_built(ctx, "troubleshoot error")


@troubleshoot_app.callback()
def troubleshoot_menu(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        _not_built(ctx, "troubleshoot")
