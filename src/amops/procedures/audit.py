"""Audit compliance: export across the retention tiers, compliance verification, period reports."""

from __future__ import annotations

import getpass
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from amops import __version__
from amops.procedures import SCHEDULE
from amops.runbook import registry
from amops.runbook.context import StepContext
from amops.runbook.errors import AwaitingError, StepFailed
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

RESTORE_POLL_SECONDS = 60

REQUIREMENTS = """\
Every change to teams, members, roles and permissions, every permission check that is denied, every
authentication failure and every cross-team access attempt is an audit event, written by `am-ENV-audit-writer`
to `am-ENV-audit` with: `event_id`, `ts` (ISO 8601 UTC), `actor`, `action` (e.g. `team.member.add`,
`permission.check.denied`), `team_id`, `resource`, `outcome` (`allow`/`deny`/`error`), `source_ip`, `request_id`.
A failed audit write is itself an error (`AM-AUD-001`/`AM-AUD-002`) and raises `am-ENV-audit-write-failures`.
"""

RETENTION = """\
| Tier | Where | Ages | How amops reads it |
|---|---|---|---|
| hot | DynamoDB `am-ENV-audit`; TTL `expires_at` = event time + 30 days | 0–30 days | a query per day (`by-day`) |
| warm | S3 `am-ENV-audit-archive-ACCOUNT`, one object a day, S3 Standard | 30–90 days | streamed, decompressed |
| cold | the same objects, moved to Glacier by the lifecycle | 90 days – 7 years | restored first, then streamed |
| deleted | expired by the lifecycle after 2,555 days | over 7 years | past retention: refused |

Archive objects are `audit/year=YYYY/month=MM/day=DD/events.jsonl.gz`. Days near the 30-day boundary are read from
both the table and the archive and de-duplicated by `event_id`; the table is queried one day at a time, days in
parallel, never scanned. Glacier restores take 3–5 hours (Standard tier). prod's archive replicates to
`am-prod-audit-archive-dr-ACCOUNT` in eu-west-1.
"""

REGULATORY = """\
- **POPIA (South Africa).** The primary region, af-south-1 (Cape Town), keeps the personal information in the
  audit log (actor identities, source IPs) in South Africa. Its replication to eu-west-1 (Ireland) for disaster
  recovery is a cross-border transfer (POPIA section 72): lawful because the EU offers an adequate level of
  protection (GDPR) and the transfer is necessary for the platform's continuity; record it in the processing
  register, and keep the DR bucket under the same access controls and encryption as the primary.
- **GDPR.** Events about EU data subjects are personal data: the audit log's purpose (security and
  accountability) is its lawful basis; exports leave the controlled store, so keep them encrypted, share them only
  with the requesting auditor, and delete them when the request is closed. Data-subject access requests can be
  answered with `amops audit export --actor ID`.
- **Retention and deletion.** Seven years satisfies the longest obligation we keep evidence for; deletion after it
  is an obligation too (storage limitation): the lifecycle's expiry does it, and `amops audit verify` proves both.
- **Integrity.** Every export carries a manifest with its SHA-256; `amops audit verify-export FILE` re-checks it
  before the file is used as evidence.
"""


def export_steps(needs_glacier: bool) -> tuple[Step, ...]:
    steps = (
        Step(
            id="plan",
            title="Find where each day is kept",
            why="The retention policy decides the tier: the last 30 days are in the table, older days in the daily "
            "archive objects, which Glacier holds after 90 days. Days near the boundary are read from both.",
            command="aws s3api head-object --bucket {audit_archive_bucket} "
            "--key audit/year=YYYY/month=MM/day=DD/events.jsonl.gz   # for each archived day",
            expect="How many days come from each tier; archive days that are missing (a gap in the evidence).",
            kind=StepKind.READ_ONLY,
            iam=("s3:GetObject", "s3:ListBucket"),
            run=plan,
            unverified="it only reads; the export step uses what it found",
        ),
        Step(
            id="restore",
            title="Restore the Glacier days",
            why="Glacier objects cannot be read until restored; amops requests the restores (the archive itself does "
            "not change: a readable copy appears for 7 days), then waits with --wait, or stops and tells you how "
            "to resume the same export.",
            command="aws s3api restore-object --bucket {audit_archive_bucket} --key KEY "
            '--restore-request \'{{"Days": 7, "GlacierJobParameters": {{"Tier": "Standard"}}}}\' && '
            "aws s3api head-object --bucket {audit_archive_bucket} --key KEY --query Restore",
            expect='Every Glacier day restored (ongoing-request="false"), or the list still pending.',
            kind=StepKind.READ_ONLY,
            iam=("s3:RestoreObject", "s3:GetObject"),
            run=restore,
            needed=lambda ctx: None if ctx.output("to_restore") else "no Glacier day in the range needs restoring",
            unverified="the export step reads every restored object",
        ),
        Step(
            id="export",
            title="Export the events",
            why="Days are read in parallel and written in time order as they arrive, so memory stays flat; the "
            "file only gets its final name when it is complete.",
            command="aws dynamodb query --table-name {audit_table} --index-name by-day "
            "--key-condition-expression '#d = :d' --expression-attribute-names '{{\"#d\": \"day\"}}' "
            '--expression-attribute-values \'{{":d": {{"S": "YYYY-MM-DD"}}}}\'   # hot days; and for archived '
            "days: aws s3 cp s3://{audit_archive_bucket}/audit/year=YYYY/month=MM/day=DD/events.jsonl.gz - | "
            "gunzip",
            expect="The events in the range, in time order, with a manifest beside the file: counts per day and "
            "tier, the SHA-256, who exported it and when.",
            kind=StepKind.READ_ONLY,
            iam=("dynamodb:Query", "s3:GetObject", "s3:PutObject"),
            run=export,
            unverified="`amops audit verify-export FILE` re-checks the file against its manifest",
        ),
    )
    return steps if needs_glacier else tuple(s for s in steps if s.id != "restore")


def _export_procedure() -> Procedure:
    return Procedure(
        name="audit-compliance",
        title=SCHEDULE["audit-compliance"].title,
        command="amops audit export --env {env} --since WHEN [--until WHEN] [--team T] [--actor A] "
        "[--action GLOB] [--outcome O] [--format jsonl|csv] [--out PATH|s3://…|-]",
        purpose="Answer auditors and the security team from the audit log: everything someone did between two "
        "dates, proof that we keep what we must and delete what we must, and what happened in a period.",
        scope="The audit log of one environment (prod unless named) across its three retention tiers; "
        "compliance checks of the table, the archive and the audit writer; monthly, quarterly and yearly reports.",
        audience="Security engineers and auditors; DevOps engineers who answer their requests.",
        steps=export_steps(needs_glacier=True),
        owner=SCHEDULE["audit-compliance"].owner,
        review_months=SCHEDULE["audit-compliance"].review_months,
        last_reviewed=date(2026, 12, 4),
        tools=("amops", "AWS CLI v2 (for the manual commands)", "gunzip, sha256sum"),
        knowledge=(
            "The audit event's fields and the retention tiers (below).",
            "Which regulation a request falls under (regulatory considerations, below).",
        ),
        verification=(
            "`amops audit verify-export FILE`: the file matches its manifest (size, SHA-256, count).",
            "The manifest's count per day matches what `aws dynamodb query --select COUNT` gives for a hot day.",
        ),
        troubleshooting=(
            TroubleshootingEntry(
                "The export stops: 'Glacier objects are being restored' (exit code 3)",
                "Days older than 90 days are in Glacier; restores take 3–5 hours",
                "Run the printed `--resume RUN_ID` later, or export with `--wait`.",
            ),
            TroubleshootingEntry(
                "'older than the 7-year retention'",
                "Those events were deleted by the lifecycle, as the policy requires",
                "Say so to the requester: the data is past retention.",
            ),
            TroubleshootingEntry(
                "The manifest lists missing archive days",
                "The archive job did not run on those days",
                "`amops audit verify` shows the gap; raise it with the security team (the evidence is incomplete).",
            ),
        ),
        rollback="Exports, checks and reports change nothing in the platform.",
        extra_sections=(
            ("Audit log requirements", REQUIREMENTS),
            ("Retention policies", RETENTION),
            ("Regulatory considerations", REGULATORY),
        ),
    )


def audit_export(needs_glacier: bool) -> Procedure:
    """The export procedure; without the restore step when the range cannot reach Glacier."""
    return replace(AUDIT, steps=export_steps(needs_glacier))


# -- helpers ---------------------------------------------------------------------------------------------


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _archive(ctx: StepContext):  # amops.aws.audit.AuditArchive
    from amops.aws.audit import AuditArchive

    return AuditArchive(ctx.aws, _names(ctx)["audit_archive_bucket"])


def _range(ctx: StepContext) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(ctx.params["since"]), datetime.fromisoformat(ctx.params["until"])


# -- 1. plan ---------------------------------------------------------------------------------------------


def plan(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.export import HOT_DAYS, TTL_GRACE_DAYS, plan_days

    since, until = _range(ctx)
    today = datetime.now(UTC).date()
    plans = plan_days(since, until, today)
    archive = _archive(ctx)
    archived = [p.day for p in plans if p.archive]
    with ThreadPoolExecutor(max_workers=16) as pool:
        heads = dict(zip(archived, pool.map(archive.head, archived), strict=True))
    tiers = {day.isoformat(): head.tier for day, head in heads.items() if head.exists}
    missing = [
        day.isoformat()
        for day, head in heads.items()
        if not head.exists and (today - day).days > HOT_DAYS + TTL_GRACE_DAYS
    ]
    to_restore = [day.isoformat() for day, head in heads.items() if head.exists and not head.readable]
    table_days = sum(1 for p in plans if p.table)
    rows = [
        ("hot (table)", table_days, "by-day index, one query per day"),
        ("warm (S3 Standard)", sum(1 for t in tiers.values() if t == "warm"), "streamed"),
        (
            "cold (Glacier)",
            sum(1 for t in tiers.values() if t == "cold"),
            f"{len(to_restore)} to restore" if to_restore else "readable",
        ),
        ("missing", len(missing), ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")),
    ]
    ctx.console.table(f"{len(plans)} days, {since.date()} to {until.date()}", ["tier", "days", ""], rows)
    if missing:
        ctx.console.warning(f"{len(missing)} archive day(s) missing: the export cannot include them")
    return {"tiers": tiers, "missing": missing, "to_restore": to_restore, "days": len(plans)}


# -- 2. restore ------------------------------------------------------------------------------------------


def restore(ctx: StepContext) -> dict[str, Any]:
    archive = _archive(ctx)
    days = [date.fromisoformat(d) for d in ctx.output("to_restore")]

    def request(day: date) -> bool:
        head = archive.head(day)
        if head.readable or head.restoring:
            return False
        archive.request_restore(head)
        return True

    def unreadable(candidates: list[date]) -> list[date]:
        with ThreadPoolExecutor(max_workers=16) as pool:
            return [
                d for d, head in zip(candidates, pool.map(archive.head, candidates), strict=True) if not head.readable
            ]

    with ThreadPoolExecutor(max_workers=16) as pool:
        requested = sum(pool.map(request, days))
    pending = unreadable(days)
    if pending and ctx.params.get("wait"):
        with ctx.console.progress(f"restoring {len(days)} Glacier day(s)", len(days)) as advance:
            advance(len(days) - len(pending))
            while pending:
                time.sleep(float(ctx.params.get("poll_seconds", RESTORE_POLL_SECONDS)))
                still = unreadable(pending)
                advance(len(pending) - len(still))
                pending = still
    if pending:
        listed = ", ".join(d.isoformat() for d in pending[:5]) + (" …" if len(pending) > 5 else "")
        raise AwaitingError(
            f"{len(pending)} Glacier object(s) are being restored ({listed}); restores take 3–5 hours",
            f"run `{_again(ctx)} --resume {ctx.run_id}` later (the restored copies stay 7 days), or start again "
            "with --wait",
        )
    ctx.console.success(f"{len(days)} Glacier day(s) readable ({requested} restore(s) requested now)")
    return {"restored": [d.isoformat() for d in days], "requested": requested}


def _again(ctx: StepContext) -> str:
    """The command that resumes this run."""
    if "period" in ctx.params:
        return f"amops audit report --env {ctx.environment} --period {ctx.params['period']}"
    return f"amops audit export --env {ctx.environment}"


# -- 3. export -------------------------------------------------------------------------------------------


def _tier_label(plan: Any, tiers: dict[str, str]) -> str:
    tier = tiers.get(plan.day.isoformat())
    return tier if tier and not plan.table else "hot"


def read_range(ctx: StepContext, filters: Any = None) -> Any:
    """Every day of the run's range, in order, each read from its tiers in parallel; a progress bar per tier."""
    from amops.audit.export import Filters, ordered, plan_days, read_day, ts_text
    from amops.aws.audit import AuditTable

    since, until = _range(ctx)
    plans = plan_days(since, until, datetime.now(UTC).date())
    tiers: dict[str, str] = ctx.output("tiers") or {}
    table, archive = AuditTable(ctx.aws, _names(ctx)["audit_table"]), _archive(ctx)
    filters = filters or Filters()
    since_ts, until_ts = ts_text(since), ts_text(until)

    def task(plan: Any):
        return lambda: read_day(
            plan, table.day, archive.day, lambda day: tiers.get(day.isoformat()), since_ts, until_ts, filters
        )

    for label, group in groupby(plans, key=lambda p: _tier_label(p, tiers)):
        group = list(group)
        with ctx.console.progress(f"{label} tier: {len(group)} day(s)", len(group)) as advance:
            for result in ordered(task(p) for p in group):
                advance(1)
                yield result


def export(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.export import Filters, manifest_path, write_export

    since, until = _range(ctx)
    filters = Filters(**(ctx.params.get("filters") or {}))
    out = ctx.params["out"]
    upload_to = out if out.startswith("s3://") else None
    scratch = Path(tempfile.mkdtemp(prefix="amops-export-")) if upload_to else None
    destination = str(scratch / Path(upload_to.split("/", 3)[-1]).name) if scratch else out

    try:
        written = write_export(
            read_range(ctx, filters), destination, ctx.params["format"], bool(ctx.params.get("gzip"))
        )
        identity = ctx.aws.caller_identity()
        manifest = {
            "amops_version": __version__,
            "environment": ctx.environment,
            "range": {"since": since.isoformat(), "until": until.isoformat()},
            "filters": filters.as_dict(),
            "output": {
                "path": upload_to or str(Path(written.path).resolve()) if out != "-" else "-",
                "format": ctx.params["format"],
                "gzip": bool(ctx.params.get("gzip")),
                "sha256": written.sha256,
                "size": written.size,
            },
            "total": written.count,
            "per_tier": written.per_tier,
            "per_day": written.per_day,
            "duplicates_removed": written.duplicates,
            "missing_archive_days": ctx.output("missing") or [],
            "exported_by": {"operator": getpass.getuser(), "caller_arn": identity.arn, "run_id": ctx.run_id},
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        manifest_file = None
        if out != "-":
            from amops.audit.export import write_manifest

            manifest_file = Path(manifest_path(destination))
            write_manifest(manifest_file, manifest)
        if upload_to:
            _upload(ctx, destination, upload_to)
            _upload(ctx, str(manifest_file), manifest_path(upload_to))
            manifest_file = None
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    ctx.console.table(
        f"Exported {written.count} event(s)",
        ["", ""],
        [
            ("hot (table)", written.per_tier["table"]),
            ("warm (S3 Standard)", written.per_tier["warm"]),
            ("cold (Glacier)", written.per_tier["cold"]),
            ("duplicates removed", written.duplicates),
            ("missing archive days", len(manifest["missing_archive_days"])),
            ("file", upload_to or written.path),
            ("SHA-256", written.sha256),
        ],
    )
    return {
        "file": upload_to or written.path,
        "manifest": manifest_path(upload_to or written.path) if out != "-" else None,
        "total": written.count,
        "per_tier": written.per_tier,
        "sha256": written.sha256,
    }


def _upload(ctx: StepContext, local: str, uri: str) -> None:
    from amops.aws.errors import aws_errors

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with aws_errors(f"uploading {uri}"):
        ctx.aws.client("s3").upload_file(local, bucket, key)


# -- compliance verification ----------------------------------------------------------------------------


def _checks_step(step_id: str, title: str, why: str, command: str, iam: tuple[str, ...], run: Any) -> Step:
    return Step(
        id=step_id,
        title=title,
        why=why,
        command=command,
        expect="Each check PASS, WARN or FAIL, with its evidence and, when not PASS, the remediation.",
        kind=StepKind.READ_ONLY,
        iam=iam,
        run=run,
        unverified="it is itself a set of checks",
    )


def _show(ctx: StepContext, title: str, checks: list[Any]) -> dict[str, Any]:
    ctx.console.table(
        title,
        ["check", "result", "evidence", "remediation"],
        [(c.name, c.status, c.evidence, c.remediation) for c in checks],
    )
    return {"checks": [c.as_dict() for c in checks]}


def verify_table(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.checks import table_checks
    from amops.aws.errors import aws_errors

    with aws_errors("checking the audit table"):
        checks = table_checks(ctx.aws, _names(ctx), datetime.now(UTC).date())
    return _show(ctx, f"Audit table {_names(ctx)['audit_table']}", checks)


def verify_archive(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.checks import archive_checks
    from amops.aws.errors import aws_errors

    replicated = bool(ctx.config.environment(ctx.environment).dr_region)
    with aws_errors("checking the audit archive"):
        checks = archive_checks(ctx.aws, _names(ctx), datetime.now(UTC).date(), replicated)
    return _show(ctx, f"Audit archive {_names(ctx)['audit_archive_bucket']}", checks)


def verify_writer(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.checks import writer_checks
    from amops.aws.errors import aws_errors

    with aws_errors("checking the audit writer"):
        checks = writer_checks(ctx.aws, _names(ctx), ctx.config, ctx.environment)
    return _show(ctx, "Audit writer", checks)


def verdict(ctx: StepContext) -> dict[str, Any]:
    checks = [c for step in ("table", "archive", "writer") for c in (ctx.outputs.get(step) or {}).get("checks", [])]
    failed = [c["name"] for c in checks if c["status"] == "FAIL"]
    warned = [c["name"] for c in checks if c["status"] == "WARN"]
    summary = f"{len(checks) - len(failed) - len(warned)} PASS, {len(warned)} WARN, {len(failed)} FAIL"
    if failed:
        raise StepFailed(f"audit compliance: {summary} — failing: {', '.join(failed)}", "see each check's remediation")
    ctx.console.success(f"audit compliance: {summary}")
    return {"summary": summary, "failed": failed, "warned": warned}


def _verify_procedure() -> Procedure:
    return Procedure(
        name="audit-verify",
        title="Compliance verification",
        command="amops audit verify --env {env}",
        purpose="Prove the audit log keeps what it must and deletes what it must: every check with its evidence.",
        scope="The audit table, the archive bucket (and its replication for prod), and the audit writer's health.",
        audience="Security engineers; auditors collecting evidence (`--output json`).",
        steps=(
            _checks_step(
                "table",
                "Check the audit table",
                "TTL on expires_at with the 30-day horizon, point-in-time recovery on, and nothing older than "
                "30 days plus TTL's grace (one COUNT query per day past the horizon).",
                "aws dynamodb describe-time-to-live --table-name {audit_table} && "
                "aws dynamodb describe-continuous-backups --table-name {audit_table} && "
                "aws dynamodb query --table-name {audit_table} --index-name by-day --select COUNT ...",
                ("dynamodb:DescribeTimeToLive", "dynamodb:DescribeContinuousBackups", "dynamodb:Query"),
                verify_table,
            ),
            _checks_step(
                "archive",
                "Check the archive",
                "Versioned, encrypted, the lifecycle of 90 days Standard → Glacier → expiry at 7 years, replication "
                "for prod, no day missing since retention began, and days in both places agreeing.",
                "aws s3api get-bucket-versioning --bucket {audit_archive_bucket} && "
                "aws s3api get-bucket-encryption --bucket {audit_archive_bucket} && "
                "aws s3api get-bucket-lifecycle-configuration --bucket {audit_archive_bucket} && "
                "aws s3api list-objects-v2 --bucket {audit_archive_bucket} --prefix audit/",
                (
                    "s3:GetBucketVersioning",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetLifecycleConfiguration",
                    "s3:GetReplicationConfiguration",
                    "s3:ListBucket",
                    "s3:GetObject",
                ),
                verify_archive,
            ),
            _checks_step(
                "writer",
                "Check the audit writer",
                "An audit event that failed to be written is a hole in the evidence: the write-failure alarm and "
                "the AM-AUD- error codes must be at zero.",
                "aws cloudwatch describe-alarms --alarm-names am-{env}-audit-write-failures && "
                "aws logs filter-log-events --log-group-name /aws/lambda/am-{env}-audit-writer --filter-pattern AM-AUD",
                ("cloudwatch:DescribeAlarms", "logs:FilterLogEvents"),
                verify_writer,
            ),
            _checks_step(
                "verdict",
                "Verdict",
                "One line for the record; the command exits 1 when any check fails.",
                "(the checks above)",
                (),
                verdict,
            ),
        ),
        owner=SCHEDULE["audit-compliance"].owner,
        review_months=SCHEDULE["audit-compliance"].review_months,
        last_reviewed=date(2026, 12, 4),
        verification=("`amops audit verify --env prod` exits 0: no check FAILs.",),
        troubleshooting=(
            TroubleshootingEntry(
                "archive-gaps FAIL",
                "The archive job did not run on those days",
                "Re-archive the days from the DR exports; record the gap in the compliance register.",
            ),
            TroubleshootingEntry(
                "archive-lifecycle FAIL",
                "The rule was changed by hand",
                "`amops deploy prod --only infra` puts Terraform's rule back; find out who changed it (CloudTrail).",
            ),
        ),
    )


AUDIT_VERIFY = _verify_procedure()


# -- reports ----------------------------------------------------------------------------------------------


def collect(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.report import AuditSummary

    summary = AuditSummary()
    for result in read_range(ctx):
        for event in result.events:
            summary.add(event)
    ctx.console.info(f"{summary.total} events counted")
    return {"summary": summary.as_dict()}


def write_report(ctx: StepContext) -> dict[str, Any]:
    from amops.audit.report import AuditSummary, parse_period, render_html, render_markdown

    period = parse_period(ctx.params["period"])
    summary = AuditSummary.from_dict(ctx.output("summary"))
    checks = [c for step in ("table", "archive", "writer") for c in (ctx.outputs.get(step) or {}).get("checks", [])]
    missing = ctx.output("missing") or []
    folder = Path(ctx.params.get("out_dir") or ".")
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"audit-report-{ctx.environment}-{period.label}"
    markdown, page = stem.with_suffix(".md"), stem.with_suffix(".html")
    markdown.write_text(render_markdown(ctx.environment, period, summary, checks, missing), encoding="utf-8")
    page.write_text(render_html(ctx.environment, period, summary, checks, missing), encoding="utf-8")
    failed = [c["name"] for c in checks if c["status"] == "FAIL"]
    ctx.console.table(
        f"Audit report {ctx.environment} {period.label}",
        ["", ""],
        [
            ("events", summary.total),
            ("denied", summary.by_outcome.get("deny", 0)),
            ("errors", summary.by_outcome.get("error", 0)),
            ("permission and role changes", sum(summary.permission_changes.values())),
            ("cross-team access attempts", sum(summary.cross_team_actors.values())),
            ("compliance checks failing", ", ".join(failed) or "none"),
            ("Markdown", str(markdown)),
            ("HTML", str(page)),
        ],
    )
    return {"markdown": str(markdown), "html": str(page), "total": summary.total, "failed_checks": failed}


def report_steps(needs_glacier: bool) -> tuple[Step, ...]:
    reading = {step.id: step for step in export_steps(needs_glacier)}
    verifying = {step.id: step for step in AUDIT_VERIFY.steps}
    steps = (
        reading["plan"],
        *([reading["restore"]] if needs_glacier else []),
        Step(
            id="collect",
            title="Count the period's events",
            why="One pass over every event of the period, read exactly as an export reads it: totals by action and "
            "outcome, denials by actor and team, permission and role changes, cross-team attempts, events per day.",
            command="amops audit export --env {env} --since START --until END --out - | jq ...",
            expect="The number of events counted.",
            kind=StepKind.READ_ONLY,
            iam=("dynamodb:Query", "s3:GetObject"),
            run=collect,
            unverified="the report states the totals; an export of the same range gives the same count",
        ),
        verifying["table"],
        verifying["archive"],
        verifying["writer"],
        Step(
            id="write",
            title="Write the report",
            why="The report goes to auditors as Markdown and as one self-contained HTML page with the chart.",
            command="(amops renders audit-report-{env}-PERIOD.md and .html)",
            expect="Both files, and the summary on the terminal.",
            kind=StepKind.READ_ONLY,
            iam=(),
            run=write_report,
            unverified="the files are the output",
        ),
    )
    return steps


def _report_procedure() -> Procedure:
    return Procedure(
        name="audit-report",
        title="Report generation",
        command="amops audit report --env {env} --period 2026-11|2026-Q4|2026 [--out-dir DIR]",
        purpose="What happened in a month, a quarter or a year, with the compliance checks as they stand.",
        scope="One environment's audit log for the period, from whichever tiers hold it.",
        audience="Security engineers and auditors.",
        steps=report_steps(needs_glacier=True),
        owner=SCHEDULE["audit-compliance"].owner,
        review_months=SCHEDULE["audit-compliance"].review_months,
        last_reviewed=date(2026, 12, 4),
        verification=("The report's event count equals an export's of the same range (`amops audit export`).",),
    )


def audit_report(needs_glacier: bool) -> Procedure:
    return replace(AUDIT_REPORT, steps=report_steps(needs_glacier))


AUDIT_REPORT = _report_procedure()
AUDIT = registry.register(
    replace(_export_procedure(), parts=(AUDIT_VERIFY, AUDIT_REPORT), steps_heading="Export procedures")
)
