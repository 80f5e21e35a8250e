"""Promotion: the exact artifacts SOURCE runs, approved, applied to TARGET, verified and watched."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shutil
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from amops.procedures import SCHEDULE
from amops.procedures.deploy import DEPLOYMENT, plan_with, unshift
from amops.procedures.verification import health_step, smoke_step
from amops.runbook import registry
from amops.runbook.context import StepContext
from amops.runbook.errors import AwaitingError, StepFailed, UsageError, WrongAccountError
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

WATCH_POLL_SECONDS = 15
ERROR_CODE = re.compile(r"\bAM-[A-Z]+-\d{3}\b")
WATCHED_ALARMS = ("api-5xx", "api-latency-p99")  # the alarms that say users are hurting
PATHS = {"dev": "sit", "sit": "prod"}  # the only promotions: each release climbs one rung at a time

FLOW = """\
```mermaid
flowchart LR
    DEV["DEV<br/>deployed and tested<br/>(amops deploy dev)"] -->|"commit on release/*"| REL["release branch"]
    REL -->|"amops promote dev sit"| SIT["SIT<br/>UAT sign-off"]
    SIT -->|"merged to main, tagged"| MAIN["main branch"]
    MAIN -->|"amops promote sit prod<br/>+ approval by a second person"| PROD["PROD<br/>af-south-1 + eu-west-1"]
    PROD -.->|"criteria breached"| RB["amops rollback lambda prod"]
```

The same zips move up the chain: promotion copies the artifacts SOURCE runs (by SHA-256) and never rebuilds.
"""

ROLLBACK_CRITERIA = """\
A promotion is rolled back (`amops rollback lambda TARGET`, or *undo* when a step fails) when any of these
holds; `--watch MINUTES` watches for them after the shift and offers the rollback (`--auto-rollback` does it):

| Criterion | Threshold | Where amops looks |
|---|---|---|
| Smoke tests fail in TARGET | any failure | the smoke step; choose *undo* |
| API 5xx alarm | `am-TARGET-api-5xx` in ALARM during the watch window | CloudWatch alarms, every region |
| API latency alarm | `am-TARGET-api-latency-p99` in ALARM during the watch window | CloudWatch alarms, every region |
| `AM-` error codes | more than `--max-error-codes` (default 20) logged in the watch window | function logs |
"""


def _steps() -> tuple[Step, ...]:
    deployed = {step.id: step for step in DEPLOYMENT.steps}
    return (
        Step(
            id="release",
            title="Identify the release",
            why="The release is what {source} runs now: the version each live alias points at, with the SHA-256 "
            "and git commit its description carries. Nothing is rebuilt: these exact zips go to {env}.",
            command="aws lambda get-alias --function-name am-{source}-FUNCTION --name live && "
            "aws lambda get-function --function-name am-{source}-FUNCTION --qualifier VERSION "
            "--query 'Configuration.[CodeSha256,Description]'",
            expect="A table per function: {source}'s version, SHA-256 and commit beside what {env} runs, the "
            "functions that change, and the release commit.",
            kind=StepKind.READ_ONLY,
            iam=("sts:GetCallerIdentity", "lambda:GetAlias", "lambda:GetFunction"),
            run=identify_release,
            gate=True,
            unverified="it only reads; the checklist checks what it found",
        ),
        Step(
            id="checklist",
            title="Pre-promotion checklist",
            why="Only a healthy, tested release from the right branch moves forward, onto a quiet {env} that "
            "nobody else is changing. Every check must pass, or be overridden by name (journalled).",
            command="amops health {source} && git branch -a --contains COMMIT && git tag --points-at COMMIT && "
            "aws cloudwatch describe-alarms --state-value ALARM --alarm-name-prefix am-{env}-",
            expect="A table of checks, all ✓: {source} healthy, the release commit on the branch {env} takes, "
            "tagged for prod, {env}'s lock held by this run, no alarm in ALARM in {env}.",
            kind=StepKind.READ_ONLY,
            iam=("lambda:GetAlias", "lambda:GetFunction", "cloudwatch:DescribeAlarms", "dynamodb:DescribeTable"),
            run=checklist,
            gate=True,
            unverified="it is itself a set of checks",
        ),
        Step(
            id="source-smoke",
            amops="amops smoke {source}",
            title="Smoke-test the source",
            why="The release must work now, in {source}, before it goes anywhere: the same end-to-end pass "
            "as after a deployment.",
            command="amops smoke {source}",
            expect="Every test ✓ in {source}.",
            kind=StepKind.MUTATING,
            iam=("ssm:GetParameter", "dynamodb:Query"),
            run=source_smoke,
            gate=True,
            irreversible="it writes a test team in {source} (deleted at the end), audit events and one email",
            unverified="it is itself the verification",
        ),
        Step(
            id="approval",
            amops="amops promote approve {run_id} --by NAME",
            title="Approval",
            why="A promotion into {env} needs approval by someone other than the operator, recorded in {env}'s "
            "run history so it can be given from the approver's own machine. Without enough approvals the run "
            "waits here; resume it once they are in. After a wait, {env}'s alarms are checked again.",
            command="amops promote approve RUN_ID --by NAME   # run by the approver",
            expect="The approvals {env} needs (from amops.toml), each by another person, for this release.",
            kind=StepKind.READ_ONLY,
            iam=("dynamodb:GetItem",),
            run=approval,
            gate=True,
            needed=lambda ctx: (
                None
                if _required_approvals(ctx)
                else f"{ctx.environment} needs no approval (approvals = 0 in amops.toml)"
            ),
            unverified="it is itself the check",
        ),
        Step(
            id="copy",
            title="Copy the artifacts",
            why="{env} must run byte-identical code: each changed function's zip is copied from {source}'s "
            "artifacts bucket to {env}'s under the same SHA-256 key, and read back and hashed after the copy.",
            command="aws s3 cp s3://am-{source}-artifacts-SOURCE_ACCOUNT/lambdas/FUNCTION/SHA256.zip - "
            "--profile SOURCE | aws s3 cp - s3://{artifacts_bucket}/lambdas/FUNCTION/SHA256.zip "
            "--checksum-algorithm SHA256 && aws s3 cp s3://{artifacts_bucket}/lambdas/FUNCTION/SHA256.zip - "
            "| sha256sum",
            expect="Every changed function's artifact in {env}'s bucket with the SHA-256 its name says.",
            kind=StepKind.MUTATING,
            iam=("s3:GetObject", "s3:PutObject", "s3:ListBucket"),
            run=copy_artifacts,
            needed=lambda ctx: None if ctx.output("changed") else "no function changes",
            verify=verify_artifacts,
            irreversible="artifacts are immutable and keyed by their hash; an unused one harms nothing",
        ),
        Step(
            id="terraform-plan",
            title="Plan the infrastructure of the release",
            why="{env}'s infrastructure comes from the release commit's Terraform with {env}'s var file, "
            "checked out apart from your working tree; the plan gate of the deployment applies.",
            command="git worktree add --detach /tmp/release COMMIT && cd /tmp/release/terraform && "
            "terraform init -input=false && terraform workspace select {env} && "
            "terraform plan -input=false -var-file=env/{env}.tfvars -out=PLAN -detailed-exitcode",
            expect="A summary of creates, updates, replaces and deletes; exit code 0 or 2.",
            kind=StepKind.READ_ONLY,
            iam=("s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:PutItem"),
            run=plan_release,
            needed=lambda ctx: None if ctx.output("commit") else "the release names no commit in this repository",
            unverified="the plan is reviewed by the operator before the apply step",
        ),
        replace(deployed["terraform-apply"], amops=None),
        replace(
            deployed["publish"],
            amops=None,
            why="Each changed function gets the copied artifact's code and an immutable version carrying the "
            "same SHA-256 and commit as in {source}. Traffic does not move yet.",
        ),
        replace(deployed["shift"], amops=None),
        replace(deployed["api"], amops=None),
        health_step("Proves the release landed in {env}: aliases where this run put them, /health, alarms, tables."),
        smoke_step(
            "The same end-to-end pass that proved the release in {source}, now in {env}.",
            expect="Every test ✓. On a failure, choose undo: the aliases return to their previous versions.",
        ),
        Step(
            id="diff",
            title="Record what changed",
            why="The journal and the team's run history keep what this promotion changed in {env}: each "
            "function's version before and after, with its SHA-256 and commit.",
            command="aws lambda get-alias --function-name am-{env}-FUNCTION --name live",
            expect="A table of functions: before → after, SHA-256, commit; byte-identical to {source}.",
            kind=StepKind.READ_ONLY,
            iam=("lambda:GetAlias", "lambda:GetFunction"),
            run=record_diff,
            needed=lambda ctx: "dry run: nothing was promoted" if ctx.dry_run else None,
            unverified="it compares every function's code in {env} with {source}'s and fails on a difference",
        ),
        Step(
            id="watch",
            title="Watch the rollback criteria",
            why="Problems that smoke tests miss show up in the first minutes of real traffic: amops watches the "
            "5xx and latency alarms and the AM- error codes for --watch minutes and offers the rollback "
            "(performs it with --auto-rollback).",
            command="aws cloudwatch describe-alarms --alarm-names am-{env}-api-5xx am-{env}-api-latency-p99 && "
            "aws logs filter-log-events --log-group-name /aws/lambda/am-{env}-FUNCTION --start-time WINDOW_START_MS "
            "--filter-pattern AM-",
            expect="No criterion breached during the window; otherwise the aliases go back and the run fails.",
            kind=StepKind.READ_ONLY,
            iam=("cloudwatch:DescribeAlarms", "logs:FilterLogEvents", "lambda:UpdateAlias"),
            run=watch,
            needed=lambda ctx: (
                None if ctx.params.get("watch") and not ctx.dry_run else "no watch window (--watch MINUTES)"
            ),
            unverified="it is itself a check; a rollback it makes is confirmed first (or --auto-rollback)",
        ),
    )


def _procedure() -> Procedure:
    return Procedure(
        name="promotion",
        title=SCHEDULE["promotion"].title,
        command="amops promote {source} {env} [--watch MINUTES [--auto-rollback]]",
        purpose="Move a tested release forward — dev → sit → prod — as the identical artifacts, with the "
        "checks, sign-off and approval each step up needs, and a way back that is declared up front.",
        scope="dev → sit (UAT) and sit → prod. The target's Lambda code (both regions for prod), its "
        "infrastructure from the release commit, and its API stage. Fresh code goes to dev with "
        "`amops deploy dev`.",
        audience="DevOps engineers promoting releases; the approvers of production changes.",
        steps=_steps(),
        owner=SCHEDULE["promotion"].owner,
        review_months=SCHEDULE["promotion"].review_months,
        last_reviewed=date(2026, 12, 4),
        tools=("amops", "git", "Terraform 1.x", "AWS CLI v2 (for the manual commands)"),
        knowledge=(
            "The branch rules: sit takes commits on `release/*`; prod takes commits merged to `main` and tagged.",
            "What the approver must see: the release (versions, SHA-256, commits) and the diff.",
        ),
        verification=(
            "`amops health {env}` and `amops smoke {env}` pass.",
            "`aws lambda get-function --function-name am-{env}-teams --qualifier live --query "
            "Configuration.CodeSha256` equals the same call in {source}.",
            "`amops runs show RUN_ID` lists the approvals (prod) with both names.",
        ),
        troubleshooting=(
            TroubleshootingEntry(
                "Checklist: source unhealthy",
                "The release does not work where it was tested",
                "Fix in the source first (`amops troubleshoot SOURCE`); never promote a broken release.",
            ),
            TroubleshootingEntry(
                "Checklist: branch",
                "The release commit is not on release/* (sit) or not merged to main and tagged (prod)",
                "Cut the release branch / merge and tag, push, and start again.",
            ),
            TroubleshootingEntry(
                "The run waits at 'Approval' (exit code 3)",
                "prod needs approval by someone other than the operator",
                "The approver runs `amops promote approve RUN_ID --by NAME`; then `--resume RUN_ID`.",
            ),
            TroubleshootingEntry(
                "Copy: hash mismatch",
                "An object in a bucket does not hold the bytes its SHA-256 key names",
                "Someone replaced an artifact: stop, find out who (CloudTrail), remove it; nothing changed "
                "in the target.",
            ),
        ),
        rollback="Choose *undo* when a step fails: the live aliases return to their previous versions. Later: "
        "`amops rollback lambda {env}` (it reads this promotion's record). Infrastructure: "
        "`amops rollback infra {env} --to-ref REF`.",
        extra_sections=(("Promotion flow", FLOW), ("Rollback criteria", ROLLBACK_CRITERIA)),
        shared_outputs=(
            "release.source",
            "release.release",
            "release.commit",
            "release.changed",
            "release.digest",
            "release.previous",
            "shift.live",
            "diff.diff",
        ),
    )


# -- helpers ----------------------------------------------------------------------------------------


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _source_clients(ctx: StepContext) -> Any:
    """Clients in SOURCE's account, refused when the credentials are for another account."""
    source = ctx.config.environment(ctx.params["source"])
    clients = ctx.aws.for_environment(source)
    identity = clients.caller_identity()
    if identity.account != source.account_id:
        raise WrongAccountError(
            f"the credentials for {source.name} are for account {identity.account}, not {source.account_id}",
            f"fix environments.{source.name}.profile or role_arn in amops.toml",
        )
    return clients


def _required_approvals(ctx: StepContext) -> int:
    return ctx.config.environment(ctx.environment).approvals


def parse_description(description: str) -> dict[str, str]:
    """'sha256=… commit=…' as a version's description carries it."""
    return dict(part.split("=", 1) for part in description.split() if "=" in part)


def release_digest(release: dict[str, Any]) -> str:
    """A short fingerprint of the release an approval is for."""
    return hashlib.sha256(json.dumps(release, sort_keys=True).encode()).hexdigest()[:16]


# -- 1. release ------------------------------------------------------------------------------------


def identify_release(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas

    source = ctx.params["source"]
    if PATHS.get(source) != ctx.environment:
        raise UsageError(
            f"promotions go dev → sit → prod; {source} → {ctx.environment} is not one of them",
            "promote one step at a time: amops promote dev sit, then amops promote sit prod",
        )
    names, source_names = _names(ctx), ctx.config.resource_names(source)
    source_lambdas = Lambdas(_source_clients(ctx), ctx.config.environment(source).region)
    release: dict[str, dict[str, str]] = {}
    for short, function in source_names["functions"].items():
        live = source_lambdas.alias_target(function, source_names["alias"])
        if live.weights:
            raise StepFailed(
                f"{function} in {source} is half-way through a canary", f"finish or roll back the {source} deploy"
            )
        described = parse_description(live.description)
        if described.get("sha256") not in (None, live.sha256):
            raise StepFailed(f"{function} v{live.version} in {source} runs code its description does not name")
        release[short] = {"version": live.version, "sha256": live.sha256, "commit": described.get("commit", "")}
    changed: list[str] = []
    previous: dict[str, dict[str, str]] = {}
    rows = []
    for region in ctx.config.environment(ctx.environment).regions:
        lambdas = Lambdas(ctx.aws, region)
        previous[region] = {}
        for short, function in names["functions"].items():
            live = lambdas.alias_target(function, names["alias"])
            previous[region][short] = live.version
            differs = live.sha256 != release[short]["sha256"]
            if differs and short not in changed:
                changed.append(short)
            rows.append(
                (
                    short,
                    f"v{release[short]['version']} {release[short]['sha256'][:12]}",
                    release[short]["commit"][:12] or "?",
                    f"{region}: v{live.version} {live.sha256[:12]}",
                    "changes" if differs else "same code",
                )
            )
    commit = _release_commit(ctx, {short: release[short]["commit"] for short in changed})
    ctx.console.table(
        f"Release in {source} → {ctx.environment}", ["function", source, "commit", ctx.environment, ""], rows
    )
    ctx.console.info(f"release commit: {commit[:12] if commit else 'none'}; changes: {', '.join(changed) or 'none'}")
    return {
        "source": source,
        "release": release,
        "sha256": {short: item["sha256"] for short, item in release.items()},
        "changed": changed,
        "previous": previous,
        "commit": commit,
        "digest": release_digest(release),
    }


def _release_commit(ctx: StepContext, commits: dict[str, str]) -> str | None:
    """The commit that contains every changed function's commit; refused when they diverge."""
    from amops.git import is_ancestor, resolve

    root = ctx.config.root
    resolved = {}
    for short, commit in commits.items():
        full = resolve(root, commit) if commit else None
        if full is None:
            raise StepFailed(
                f"{short}'s release commit {commit or '(none)'} is not in the repository at {root}",
                "fetch it (git fetch --all --tags) or deploy the source from this repository",
            )
        resolved[short] = full
    if not resolved:
        return None
    newest = max(resolved.values(), key=lambda c: sum(is_ancestor(root, other, c) for other in resolved.values()))
    strays = [short for short, c in resolved.items() if not is_ancestor(root, c, newest)]
    if strays:
        raise StepFailed(
            f"the release's commits diverge: {', '.join(strays)} not contained in {newest[:12]}",
            "deploy the source from one commit, then promote",
        )
    return newest


# -- 2. checklist ----------------------------------------------------------------------------------


def checklist(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.monitoring import Monitoring
    from amops.git import branches_containing, tags_at
    from amops.procedures.verification import health_checks

    source, target = ctx.params["source"], ctx.environment
    environment = ctx.config.environment(target)
    rows: list[tuple[str, str, str]] = []
    checks = health_checks(ctx.config, source, _source_clients(ctx))
    failed = [c.name for c in checks if not c.ok]
    rows.append(
        (
            "source-health",
            "✗" if failed else "✓",
            f"{source}: {len(checks) - len(failed)} of {len(checks)} health checks pass"
            + (f"; failing: {', '.join(failed)}" if failed else ""),
        )
    )
    commit = ctx.output("commit")
    if commit:
        branches = branches_containing(ctx.config.root, commit)
        matching = [b for b in branches if fnmatch.fnmatch(b, environment.branch)]
        rows.append(
            (
                "branch",
                "✓" if matching else "✗",
                f"{commit[:12]} is on {', '.join(matching)}"
                if matching
                else f"{commit[:12]} is on no {environment.branch} branch (only: {', '.join(branches) or 'none'})",
            )
        )
        if target == "prod":
            tags = tags_at(ctx.config.root, commit)
            rows.append(("tagged", "✓" if tags else "✗", ", ".join(tags) or f"{commit[:12]} has no tag"))
    else:
        rows.append(("branch", "✓", "no function changes: no commit to check"))
    rows.append(("lock", "✓", "not taken: dry run" if ctx.dry_run else f"{target}'s lock held by this run"))
    names = _names(ctx)
    for region in environment.regions:
        states = Monitoring(ctx.aws, region).alarm_states(list(names["alarms"].values()))
        firing = [name for name, state in states.items() if state == "ALARM"]
        rows.append((f"alarms-{region}", "✗" if firing else "✓", f"in ALARM: {', '.join(firing)}" if firing else "OK"))
    needed = environment.approvals
    rows.append(("approvals", "✓", f"{needed} needed (next steps)" if needed else "none needed"))
    ctx.console.table(f"Pre-promotion checklist {source} → {target}", ["check", "", "detail"], rows)
    overrides = set(ctx.params.get("override") or ())
    failing = [name for name, status, _ in rows if status == "✗"]
    if overridden := sorted(set(failing) & overrides):
        ctx.console.warning(f"overridden by the operator: {', '.join(overridden)} (journalled)")
    refused = [name for name in failing if name not in overrides]
    if refused:
        detail = "; ".join(d for n, _, d in rows if n in refused)
        raise StepFailed(f"checklist failed: {detail}", f"nothing changed in {target}; fix it and start again")
    return {"checks": {name: status for name, status, _ in rows}, "overridden": overridden}


def source_smoke(ctx: StepContext) -> dict[str, Any]:
    from amops.procedures.verification import smoke_tests

    source = ctx.params["source"]
    checks = smoke_tests(ctx.config, source, _source_clients(ctx))
    ctx.console.table(
        f"Smoke tests in {source}",
        ["check", "region", "", "detail"],
        [(c.name, c.region, "✓" if c.ok else "✗", c.detail) for c in checks],
    )
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise StepFailed(
            f"{source} fails its smoke tests ({', '.join(failed)}): the release is not promoted",
            f"nothing changed in {ctx.environment}; fix {source} first",
        )
    return {"source_smoke": f"{len(checks)} passed"}


# -- 3. approval -----------------------------------------------------------------------------------


def approval(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.state import DynamoRunStore

    needed = _required_approvals(ctx)
    record = DynamoRunStore(ctx.aws, _names(ctx)["runs_table"]).get(ctx.environment, ctx.run_id)
    operator = record.operator if record else ""
    digest = ctx.output("digest")
    valid = {
        a["by"]: a
        for a in (record.approvals if record else [])
        if a.get("by") and operator not in (a["by"], a.get("approver")) and a.get("release") == digest
    }
    if len(valid) < needed:
        have = f"{len(valid)}: {', '.join(valid)}" if valid else "0"
        if ctx.dry_run:  # show the rest of the plan; a real run waits here
            ctx.console.warning(f"{ctx.environment} needs {needed} approval(s); it has {have} (a real run waits here)")
            return {"approvals": list(valid.values()), "operator": operator, "missing": needed - len(valid)}
        raise AwaitingError(
            f"{ctx.environment} needs {needed} approval(s) by someone other than {operator}; it has {have}",
            f"an approver runs `amops promote approve {ctx.run_id} --by NAME`; then resume with "
            f"`amops promote {ctx.params['source']} {ctx.environment} --resume {ctx.run_id}`",
        )
    for approver in valid.values():
        ctx.console.success(f"approved by {approver['by']} at {approver.get('at', '?')} ({approver.get('caller', '')})")
    _still_quiet(ctx)  # the wait for an approval can be hours: the checklist's alarms are looked at again
    return {"approvals": list(valid.values()), "operator": operator}


def _still_quiet(ctx: StepContext) -> None:
    from amops.aws.monitoring import Monitoring

    names = _names(ctx)
    for region in ctx.config.environment(ctx.environment).regions:
        states = Monitoring(ctx.aws, region).alarm_states(list(names["alarms"].values()))
        firing = [name for name, state in states.items() if state == "ALARM"]
        if firing and f"alarms-{region}" not in set(ctx.params.get("override") or ()):
            raise StepFailed(
                f"approved, but {ctx.environment} now has {', '.join(firing)} in ALARM ({region})",
                f"nothing changed in {ctx.environment}; resume once it is quiet, or override alarms-{region}",
            )


# -- 4. artifacts ----------------------------------------------------------------------------------


def _artifact_key(short: str, sha256: str) -> str:
    return f"lambdas/{short}/{sha256}.zip"


def copy_artifacts(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.artifacts import Artifacts

    source = ctx.params["source"]
    wanted = {short: ctx.output("sha256")[short] for short in ctx.output("changed")}
    target = Artifacts(ctx.aws, _names(ctx)["artifacts_bucket"])
    # An object already under a release key must hold exactly those bytes; check before copying anything.
    present = [short for short, sha in wanted.items() if target.exists(_artifact_key(short, sha))]
    _check_hashes(target, {short: wanted[short] for short in present}, ctx.environment)
    origin = Artifacts(_source_clients(ctx), ctx.config.resource_names(source)["artifacts_bucket"])
    copied = []
    for short, sha in wanted.items():
        if short in present:
            continue
        key = _artifact_key(short, sha)
        if not origin.exists(key):
            raise StepFailed(
                f"s3://{origin.bucket}/{key} is missing: {source}'s release cannot be copied byte for byte",
                f"deploy {source} again with amops (it uploads every artifact), then promote",
            )
        data = origin.read(key)
        if hashlib.sha256(data).hexdigest() != sha:
            raise StepFailed(f"s3://{origin.bucket}/{key} does not hold the bytes its SHA-256 names")
        target.upload(key, data, sha)
        copied.append(short)
        ctx.console.info(f"{short}: copied {sha[:12]} from {source}")
    return {"copied": copied, "present": present}


def _check_hashes(artifacts: Any, wanted: dict[str, str], env: str) -> None:
    for short, sha in wanted.items():
        key = _artifact_key(short, sha)
        actual = hashlib.sha256(artifacts.read(key)).hexdigest()
        if actual != sha:
            raise StepFailed(
                f"artifact hash mismatch: s3://{artifacts.bucket}/{key} holds {actual[:12]}, not {sha[:12]}; "
                f"nothing was promoted",
                f"someone replaced the object: find out who (CloudTrail), delete it, then --resume; "
                f"{env}'s functions are unchanged",
            )


def verify_artifacts(ctx: StepContext) -> None:
    from amops.aws.artifacts import Artifacts

    target = Artifacts(ctx.aws, _names(ctx)["artifacts_bucket"])
    _check_hashes(target, {short: ctx.output("sha256")[short] for short in ctx.output("changed")}, ctx.environment)


# -- 5. infrastructure ------------------------------------------------------------------------------


def _worktree(ctx: StepContext) -> Path:
    return Path(ctx.params.get("plans_dir") or ".") / "worktrees" / ctx.run_id


def plan_release(ctx: StepContext) -> dict[str, Any]:
    from amops.git import add_worktree
    from amops.terraform.adapter import Terraform

    root, commit = ctx.config.root, ctx.output("commit")
    checkout = add_worktree(root, commit, _worktree(ctx))
    relative = Path(ctx.config.platform.terraform_dir)
    module, working = checkout / relative, root / relative
    var_file = Path("env") / f"{ctx.environment}.tfvars"
    if not (module / var_file).exists() and (working / var_file).exists():
        # Var files that are generated, not committed (the sandbox's), come from the working tree.
        (module / var_file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(working / var_file, module / var_file)
        ctx.console.warning(f"{relative / var_file} is not in {commit[:12]}: using the working tree's")
    local_state = working / "terraform.tfstate.d"
    if local_state.is_dir() and not (module / "terraform.tfstate.d").exists():
        # A local backend keeps state beside the module: share it, or the checkout would start empty.
        (module / "terraform.tfstate.d").symlink_to(local_state.resolve(), target_is_directory=True)
    outputs = plan_with(ctx, Terraform(module))
    return {**outputs, "terraform_dir": str(module)}


# -- 6. after the shift -----------------------------------------------------------------------------


def record_diff(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas
    from amops.git import remove_worktree

    names = _names(ctx)
    release = ctx.output("release")
    previous = ctx.output("previous")
    rows, diff, different = [], [], []
    for region in ctx.config.environment(ctx.environment).regions:
        lambdas = Lambdas(ctx.aws, region)
        for short, function in names["functions"].items():
            live = lambdas.alias_target(function, names["alias"])
            if live.sha256 != release[short]["sha256"]:
                different.append(f"{short} ({region})")
            before = previous[region][short]
            diff.append(
                {
                    "function": short,
                    "region": region,
                    "before": before,
                    "after": live.version,
                    "sha256": live.sha256,
                    "commit": parse_description(live.description).get("commit", ""),
                }
            )
            change = f"v{before} → v{live.version}" if before != live.version else f"v{live.version} (unchanged)"
            rows.append((short, region, change, live.sha256[:12], diff[-1]["commit"][:12]))
    ctx.console.table(
        f"What changed in {ctx.environment}", ["function", "region", "version", "SHA-256", "commit"], rows
    )
    if _worktree(ctx).exists():
        remove_worktree(ctx.config.root, _worktree(ctx))
    if different:
        raise StepFailed(f"{ctx.environment} does not run {ctx.params['source']}'s code: {', '.join(different)}")
    ctx.console.success(f"{ctx.environment} runs byte-identical code to {ctx.params['source']} (same CodeSha256)")
    return {"diff": diff}


def watch(ctx: StepContext) -> dict[str, Any]:
    minutes = float(ctx.params["watch"])
    # From the start of the window: the smoke tests' deliberate denials (AM-AUTH, AM-PERM) came before it.
    since_ms = int(time.time() * 1000)
    limit = int(ctx.params.get("max_error_codes") or 20)
    ctx.console.info(
        f"watching {ctx.environment} for {minutes:g} min: alarms {', '.join(WATCHED_ALARMS)}, "
        f"more than {limit} AM- error codes"
    )
    deadline = time.monotonic() + minutes * 60
    while True:
        breached = _breached(ctx, since_ms, limit)
        if breached:
            return _roll_back_on(ctx, breached)
        if time.monotonic() >= deadline:
            break
        poll = min(WATCH_POLL_SECONDS, minutes * 60 / 4)  # a short window is still looked at several times
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    ctx.console.success(f"no rollback criterion breached in {minutes:g} min")
    return {"watched_minutes": minutes, "breached": []}


def _breached(ctx: StepContext, since_ms: int, limit: int) -> list[str]:
    from amops.aws.monitoring import Monitoring

    names = _names(ctx)
    breached = []
    for region in ctx.config.environment(ctx.environment).regions:
        states = Monitoring(ctx.aws, region).alarm_states([names["alarms"][a] for a in WATCHED_ALARMS])
        breached += [f"{name} in ALARM ({region})" for name, state in states.items() if state == "ALARM"]
    codes = _error_codes_since(ctx, since_ms)
    if sum(codes.values()) > limit:
        top = ", ".join(f"{code} ×{count}" for code, count in sorted(codes.items(), key=lambda c: -c[1])[:5])
        breached.append(f"{sum(codes.values())} AM- error codes in the watch window (limit {limit}): {top}")
    return breached


def _error_codes_since(ctx: StepContext, since_ms: int) -> dict[str, int]:
    from amops.aws.monitoring import Monitoring

    counts: dict[str, int] = {}
    config = ctx.config
    for region in config.environment(ctx.environment).regions:
        monitoring = Monitoring(ctx.aws, region)
        for short in config.platform.functions:
            group = config.names.log_group.format(env=ctx.environment, function=short)
            for message in monitoring.log_messages(group, since_ms):
                for code in ERROR_CODE.findall(message):
                    counts[code] = counts.get(code, 0) + 1
    return counts


def _roll_back_on(ctx: StepContext, breached: list[str]) -> dict[str, Any]:
    for line in breached:
        ctx.console.failure(f"rollback criterion: {line}")
    automatic = bool(ctx.params.get("auto_rollback"))
    prompter = ctx.prompter
    if not automatic and (prompter is None or not prompter.interactive):
        raise StepFailed(
            f"rollback criteria breached in {ctx.environment}: {'; '.join(breached)}",
            f"roll back now: amops rollback lambda {ctx.environment}",
        )
    if automatic or prompter.confirm(f"Roll {ctx.environment}'s live aliases back to their previous versions?"):
        unshift(ctx)
        raise StepFailed(
            f"rolled back ({'automatically' if automatic else 'confirmed'}): {'; '.join(breached)}",
            "the previous versions run again; find the cause before promoting again",
        )
    raise StepFailed(
        f"rollback criteria breached, rollback declined: {'; '.join(breached)}",
        f"amops rollback lambda {ctx.environment} when you decide",
    )


# -- the approver's side ------------------------------------------------------------------------------


def environment_of(run_id: str) -> str:
    """The target environment a promotion run id names (YYYYMMDD-HHMMSS-promotion-ENV-xxxx)."""
    parts = run_id.split("-")
    if len(parts) < 5 or parts[2] != "promotion":
        raise UsageError(f"{run_id!r} is not a promotion run id", "copy it from the operator's waiting run")
    return "-".join(parts[3:-1])


def approve(
    runs: Any,
    run_id: str,
    by: str,
    approver: str,
    caller: str,
    console: Any,
    confirm: Any,
    journal_dir: Path,
) -> dict[str, str]:
    """Record `by`'s approval of a waiting promotion in the target's run history; what was recorded."""
    from amops.runbook.journal import Journal, iso, utc_now

    env = environment_of(run_id)
    record = runs.get(env, run_id)
    if record is None or record.procedure != "promotion":
        raise UsageError(f"no promotion run {run_id} in {env}'s run history", f"list them: amops runs list --env {env}")
    if record.status != "waiting":
        raise UsageError(f"run {run_id} is {record.status}, not waiting for approval; there is nothing to approve")
    if by in (record.operator,) or approver == record.operator:
        raise UsageError(
            f"{record.operator} started run {run_id} and cannot approve it",
            "someone else approves, from their own machine and credentials",
        )
    details = record.details
    digest = details.get("release.digest", "")
    if any(a.get("by") == by and a.get("release") == digest for a in record.approvals):
        console.info(f"{by} has already approved this release of run {run_id}; nothing to do.")
        return {}
    release = details.get("release.release") or {}
    previous = details.get("release.previous") or {}
    changed = details.get("release.changed") or []
    source = details.get("release.source", "?")
    console.table(
        f"Run {run_id} by {record.operator}: release {details.get('release.commit', '')[:12] or '?'}, {source} → {env}",
        ["function", source, "commit", f"{env} now", ""],
        [
            (
                short,
                f"v{item['version']} {item['sha256'][:12]}",
                item.get("commit", "")[:12],
                " / ".join(sorted({f"v{versions.get(short, '?')}" for versions in previous.values()})),
                "changes" if short in changed else "same code",
            )
            for short, item in release.items()
        ],
    )
    if not confirm(f"Approve promoting this release to {env} as {by}?"):
        raise UsageError("not approved: you declined", "nothing was recorded")
    approval = {
        "by": by,
        "approver": approver,
        "caller": caller,
        "at": iso(utc_now()),
        "release": digest,
        "operator": record.operator,
    }
    runs.add_approval(env, run_id, approval)
    journal_dir.mkdir(parents=True, exist_ok=True)
    Journal(journal_dir / f"{run_id}.approval.{by}.jsonl", run_id).write(
        "approval", **approval, environment=env, source=source, release_detail=release
    )
    console.success(
        f"{by} approved run {run_id}; {record.operator} resumes it with "
        f"`amops promote {source} {env} --resume {run_id}`"
    )
    return approval


PROMOTION = registry.register(_procedure())
