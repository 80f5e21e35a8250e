"""Deployment: checklist, Terraform, Lambdas, API Gateway, then health checks and smoke tests."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from amops.procedures import SCHEDULE
from amops.procedures.verification import health_step, smoke_step
from amops.runbook import registry
from amops.runbook.context import StepContext
from amops.runbook.errors import RefusedError, StepFailed
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

CANARY_POLL_SECONDS = 15


# -- the procedure, as the runbook reads -------------------------------------------------------


def _steps() -> tuple[Step, ...]:
    return (
        Step(
            id="checklist",
            title="Pre-deployment checklist",
            why="Deploying from the wrong place, onto a broken environment, or over someone else's work is "
            "how outages start. Every check must pass, or be overridden by name (journalled).",
            command="aws sts get-caller-identity && terraform version && git status --short && "
            "git rev-parse --abbrev-ref HEAD && git tag --points-at HEAD && "
            "aws cloudwatch describe-alarms --state-value ALARM --alarm-name-prefix am-{env}-",
            expect="A table of checks, all ✓: account {account}, tools present, a clean tree on the branch "
            "{env} deploys from, the lock held by this run, the last deployment healthy, no alarm in ALARM.",
            kind=StepKind.READ_ONLY,
            iam=(
                "sts:GetCallerIdentity",
                "cloudwatch:DescribeAlarms",
                "lambda:GetAlias",
                "lambda:GetFunction",
                "dynamodb:GetItem",
                "dynamodb:Query",
            ),
            run=checklist,
            gate=True,
            unverified="it is itself a set of checks",
        ),
        Step(
            id="terraform-plan",
            amops="amops deploy {env} --only infra",
            title="Plan the infrastructure changes",
            why="Terraform shows what it would change before it changes anything; a plan that deletes or "
            "replaces a table, bucket or key would lose data, so it is blocked unless you allow that address.",
            command="cd terraform && terraform init -input=false && terraform workspace select {env} && "
            "terraform plan -input=false -var-file=env/{env}.tfvars -out={plan_file} -detailed-exitcode && "
            "terraform show -json {plan_file}",
            expect="A summary of creates, updates, replaces and deletes by resource type; exit code 0 (no "
            "changes) or 2 (changes).",
            kind=StepKind.READ_ONLY,
            iam=("s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:PutItem"),
            run=terraform_plan,
            unverified="the plan is reviewed by the operator before the apply step",
        ),
        Step(
            id="terraform-apply",
            amops="amops deploy {env} --only infra",
            title="Apply the reviewed plan",
            why="Applies exactly the plan you reviewed (checked by its SHA-256), so nothing unreviewed "
            "reaches {env}. Skipped when the plan has no changes.",
            command="cd terraform && terraform apply -input=false {plan_file} && terraform output -json",
            expect="'Apply complete!' and the outputs (function names, buckets, API URLs).",
            kind=StepKind.MUTATING,
            iam=(
                "s3:PutObject",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "lambda:*",
                "apigateway:*",
                "dynamodb:*",
                "iam:PassRole",
            ),
            run=terraform_apply,
            needed=lambda ctx: None if ctx.output("has_changes") else "the plan has no changes",
            verify=lambda ctx: None if ctx.output("terraform_outputs") is not None else _fail("no outputs read"),
            irreversible="infrastructure is rolled back by applying an earlier configuration: "
            "`amops rollback infra {env} --to-ref REF`",
        ),
        Step(
            id="package",
            amops="amops deploy {env} --only lambdas",
            title="Package the Lambda functions",
            why="The same source always makes the same zip (sorted entries, fixed times and permissions), so "
            "its SHA-256 says whether a function changed; unchanged functions are left alone.",
            command="for f in functions/*/; do (cd $f && find . -type f | sort | "
            "TZ=UTC zip -X -D -@ ../../build/$(basename $f).zip); done && sha256sum build/*.zip && "
            "aws lambda get-function --function-name am-{env}-FUNCTION --qualifier live "
            "--query Configuration.CodeSha256",
            expect="Each function's SHA-256 beside the one its live alias runs; the changed ones listed.",
            kind=StepKind.READ_ONLY,
            iam=("lambda:GetAlias", "lambda:GetFunction"),
            run=package,
            unverified="it only reads and compares",
        ),
        Step(
            id="upload",
            amops="amops deploy {env} --only lambdas",
            title="Upload the changed packages",
            why="Artifacts are immutable and keyed by their SHA-256, so a version can always be traced to "
            "its exact zip and redeployed or promoted byte for byte.",
            command="aws s3 cp build/FUNCTION.zip s3://{artifacts_bucket}/lambdas/FUNCTION/SHA256.zip "
            "--checksum-algorithm SHA256",
            expect="One object per changed function (skipped when already there).",
            kind=StepKind.MUTATING,
            iam=("s3:PutObject", "s3:GetObject"),
            run=upload,
            needed=_functions_changed,
            verify=verify_upload,
            irreversible="uploaded artifacts are immutable and keyed by their hash; an unused one harms nothing",
        ),
        Step(
            id="publish",
            amops="amops deploy {env} --only lambdas",
            title="Publish new versions",
            why="Updates each changed function's code from its artifact, waits for the update, and publishes "
            "an immutable version carrying the SHA-256 and git commit. Traffic does not move yet.",
            command="aws lambda update-function-code --function-name FUNCTION --s3-bucket {artifacts_bucket} "
            "--s3-key lambdas/FUNCTION/SHA256.zip && aws lambda wait function-updated-v2 --function-name FUNCTION "
            "&& aws lambda publish-version --function-name FUNCTION --description 'sha256=SHA256 commit=COMMIT'",
            expect="A new version number per changed function and region.",
            kind=StepKind.MUTATING,
            iam=("lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:GetFunction"),
            run=publish,
            needed=_functions_changed,
            irreversible="published versions are immutable; the next step decides whether they receive traffic",
            unverified="publish-version is given the expected CodeSha256 and refuses any other code",
        ),
        Step(
            id="shift",
            amops="amops deploy {env} --only lambdas",
            title="Move the live aliases",
            why="Traffic reaches new code only when the live alias moves: all at once, or as a canary that "
            "sends a share of traffic first while amops watches the error alarms.",
            command="aws lambda update-alias --function-name am-{env}-FUNCTION --name live --function-version NEW"
            "   # a canary first keeps the old version and adds --routing-config with NEW weighted 0.1",
            expect="Each changed function's live alias on its new version.",
            kind=StepKind.MUTATING,
            iam=("lambda:UpdateAlias", "cloudwatch:DescribeAlarms"),
            run=shift,
            needed=_functions_changed,
            verify=verify_shift,
            undo=unshift,
        ),
        Step(
            id="api",
            amops="amops deploy {env} --only api",
            title="Deploy the API stage",
            why="API Gateway serves a frozen deployment of the API's definition; when routes, methods or "
            "integrations changed, the stage needs a new deployment to serve them.",
            command="aws apigateway create-deployment --rest-api-id API_ID --stage-name {stage} "
            "--description 'definition=HASH'",
            expect="A new deployment when the definition changed; otherwise nothing to do. The stage URL.",
            kind=StepKind.MUTATING,
            iam=("apigateway:GET", "apigateway:POST", "apigateway:PATCH"),
            run=deploy_api,
            needed=_api_changed,
            undo=undeploy_api,
            unverified="the health checks and smoke tests that follow go through the stage",
        ),
        health_step(
            "Proves the deployment landed: every alias where this run put it, /health answering with the live "
            "version in every region, alarms OK, tables ACTIVE."
        ),
        smoke_step(
            "A real pass through the API as a dedicated user: authenticate, create a team, add a member, check an "
            "allowed and a denied permission, send an invitation, find each audit event, clean up.",
            expect="Every test ✓. On a failure, choose undo: the aliases return to their previous versions.",
        ),
    )


def _procedure() -> Procedure:
    return Procedure(
        name="deployment",
        title=SCHEDULE["deployment"].title,
        command="amops deploy {env} [--only infra|lambdas|api] [--canary PCT --canary-minutes N]",
        purpose="Deploy the Access Management platform to one environment: its infrastructure (Terraform), "
        "its Lambda functions and its API, then prove it works.",
        scope="One environment per run (dev, sit or prod). For prod, both regions: af-south-1 and the "
        "eu-west-1 standby get the same code. Moving a tested release between environments is the "
        "promotion runbook's job.",
        audience="DevOps engineers deploying; on-call engineers verifying a deployment.",
        steps=_steps(),
        owner=SCHEDULE["deployment"].owner,
        review_months=SCHEDULE["deployment"].review_months,
        last_reviewed=date(2026, 12, 4),
        tools=("amops (`pip install amops`)", "Terraform 1.x", "git", "AWS CLI v2 (for the manual commands)"),
        knowledge=(
            "The platform's architecture: Lambda functions behind the `live` alias, API Gateway, DynamoDB.",
            "Terraform plans: creates, updates, replacements and what a replacement does to data.",
            "Which branch each environment deploys from: dev any, sit `release/*`, prod `main` (tagged).",
        ),
        verification=(
            "`amops health {env}`: every check ✓ in every region.",
            "`amops smoke {env}`: every smoke test ✓.",
            "`aws lambda get-alias --function-name am-{env}-teams --name live` shows the version this run "
            "published (see `amops runs show RUN_ID`).",
        ),
        troubleshooting=(
            TroubleshootingEntry(
                "Checklist: wrong branch or dirty tree",
                "Deploying from a working copy that is not what was reviewed",
                "Commit, push and check out the right branch; `--override branch` only with a reason.",
            ),
            TroubleshootingEntry(
                "Checklist: an alarm is in ALARM",
                "The environment is already unhealthy",
                "Troubleshoot first (`amops troubleshoot {env}`); deploy a fix with "
                "`--override alarms-REGION` if the deploy is the fix.",
            ),
            TroubleshootingEntry(
                "The plan is blocked",
                "It deletes or replaces a table, bucket or key",
                "Change the Terraform so it doesn't; or allow that address knowingly.",
            ),
            TroubleshootingEntry(
                "Smoke tests fail after the shift",
                "The new code is broken",
                "Choose undo: the aliases return to the previous versions; then fix forward.",
            ),
            TroubleshootingEntry(
                "`publish` fails with a CodeSha256 mismatch",
                "Someone changed the function's code during the deploy",
                "Find out who (CloudTrail); then --resume.",
            ),
        ),
        shared_outputs=("package.previous", "shift.live"),  # so a rollback works from any machine
        rollback="Choose *undo* when a step fails: the live aliases return to the versions they had before "
        "this run and the API stage to its previous deployment. Later, `amops rollback lambda {env}` does "
        "the same from the journal. Infrastructure: `amops rollback infra {env} --to-ref REF`.",
    )


def _functions_changed(ctx: StepContext) -> str | None:
    return None if ctx.output("changed") else "no function changed"


def _api_changed(ctx: StepContext) -> str | None:
    from amops.aws.apigateway import Apis

    names = _names(ctx)
    for region in _regions(ctx):
        apis = Apis(ctx.aws, region)
        api_id = apis.api_id(names["api"])
        if apis.stage(api_id, names["stage"]).deployed_definition != apis.definition_hash(api_id):
            return None
    return "the API definition is unchanged"


def _fail(message: str) -> None:
    raise StepFailed(message)


ONLY = {
    "infra": ("checklist", "terraform-plan", "terraform-apply"),
    "lambdas": ("checklist", "package", "upload", "publish", "shift", "health", "smoke"),
    "api": ("checklist", "api", "health", "smoke"),
}


def deployment(only: str | None = None) -> Procedure:
    """The procedure, or the part of it that --only names."""
    if only is None:
        return DEPLOYMENT
    return replace(DEPLOYMENT, steps=tuple(step for step in DEPLOYMENT.steps if step.id in ONLY[only]))


# -- helpers the steps share ----------------------------------------------------------------------


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _regions(ctx: StepContext) -> list[str]:
    return ctx.config.environment(ctx.environment).regions


def _function_sources(ctx: StepContext) -> dict[str, Path]:
    folder = ctx.config.root / ctx.config.platform.functions_dir
    return {short: folder / short for short in ctx.config.platform.functions}


def _packages(ctx: StepContext) -> dict[str, Any]:
    from amops.packaging import package_function

    return {short: package_function(short, source) for short, source in _function_sources(ctx).items()}


# -- 1. checklist ----------------------------------------------------------------------------------


def checklist(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas
    from amops.aws.monitoring import Monitoring
    from amops.git import git_version, repo_state

    env = ctx.environment
    environment = ctx.config.environment(env)
    names = _names(ctx)
    rows: list[tuple[str, str, str]] = []  # (check, ✓/✗/!, detail)

    def record(name: str, status: str, detail: str) -> None:
        rows.append((name, status, detail))

    identity = ctx.aws.caller_identity()
    record(
        "identity",
        "✓" if identity.account == environment.account_id else "✗",
        f"{identity.arn} in account {identity.account}",
    )
    try:
        record("terraform", "✓", f"Terraform {_terraform(ctx).version()}")
    except Exception as error:  # reported as a failed check, not a crash
        record("terraform", "✗", str(error))
    version = git_version()
    record("git", "✓" if version else "✗", f"git {version}" if version else "git is not installed")
    repo = repo_state(ctx.config.root) if version else None
    if repo is None:
        record("branch", "✗", f"{ctx.config.root} is not a git work tree")
    else:
        rule = environment.branch
        if rule == "*":
            record(
                "branch",
                "✓" if repo.branch == "main" else "!",
                f"{repo.branch}" + ("" if repo.branch == "main" else " (not the default branch: fine for dev)"),
            )
        else:
            record(
                "branch",
                "✓" if fnmatch.fnmatch(repo.branch, rule) else "✗",
                f"{repo.branch}; {env} deploys from {rule}",
            )
        record(
            "clean-tree",
            "✓" if not repo.changed_files else "✗",
            "no uncommitted changes"
            if not repo.changed_files
            else f"{len(repo.changed_files)} changed: {', '.join(repo.changed_files[:5])}",
        )
        strict = rule != "*"
        pushed = repo.upstream is not None and repo.ahead == 0
        record(
            "pushed",
            "✓" if pushed else ("✗" if strict else "!"),
            f"{repo.commit[:12]} is on {repo.upstream}"
            if pushed
            else f"{repo.commit[:12]} is not pushed" + ("" if repo.upstream else " (no upstream)"),
        )
        if env in ("prod",):
            record(
                "tagged",
                "✓" if repo.tags else "✗",
                ", ".join(repo.tags)
                if repo.tags
                else "prod deploys a tagged commit: git tag vX.Y.Z && git push --tags",
            )
    # The runner took the lock before the first step, or refused to start.
    record("lock", "✓", "not taken: dry run" if ctx.dry_run else f"held by this run ({ctx.run_id})")
    canaries = []
    for region in environment.regions:
        lambdas = Lambdas(ctx.aws, region)
        canaries += [
            f"{name} ({region})"
            for name in names["functions"].values()
            if lambdas.alias_target(name, names["alias"]).weights
        ]
    record(
        "last-deployment",
        "✓" if not canaries else "✗",
        "every live alias on one version" if not canaries else f"canary left half-way: {', '.join(canaries)}",
    )
    for region in environment.regions:
        states = Monitoring(ctx.aws, region).alarm_states(list(names["alarms"].values()))
        firing = [name for name, state in states.items() if state == "ALARM"]
        record(
            f"alarms-{region}",
            "✓" if not firing else "✗",
            "none in ALARM" if not firing else f"in ALARM: {', '.join(firing)}",
        )
    ctx.console.table(f"Pre-deployment checklist for {env}", ["check", "", "detail"], rows)
    overrides = set(ctx.params.get("override") or ())
    failed = [name for name, status, _ in rows if status == "✗"]
    refused = [name for name in failed if name not in overrides]
    if overridden := sorted(set(failed) & overrides):
        ctx.console.warning(f"overridden by the operator: {', '.join(overridden)} (journalled)")
    if refused:
        raise StepFailed(
            f"checklist failed: {', '.join(refused)}",
            f"fix them, or override one knowingly with --override {refused[0]}",
        )
    return {
        "checks": {name: status for name, status, _ in rows},
        "overridden": sorted(set(failed) & overrides),
        "commit": repo.commit if repo else None,
    }


def _terraform(ctx: StepContext):  # amops.terraform.adapter.Terraform, imported lazily
    """The Terraform root module: the working tree's, or the checkout an earlier step planned in."""
    from amops.terraform.adapter import Terraform

    return Terraform(Path(ctx.output("terraform_dir") or ctx.config.root / ctx.config.platform.terraform_dir))


# -- 2. Terraform -----------------------------------------------------------------------------------


def _plan_file(ctx: StepContext) -> Path:
    return Path(ctx.params.get("plans_dir") or ".") / f"{ctx.run_id}.tfplan"


def terraform_plan(ctx: StepContext) -> dict[str, Any]:
    return plan_with(ctx, _terraform(ctx))


def plan_with(ctx: StepContext, tf: Any) -> dict[str, Any]:
    """Plan ctx's environment with this Terraform root, show the summary, and stop at the data gate."""
    tf.init()
    tf.select_workspace(ctx.environment)
    plan = tf.plan(f"env/{ctx.environment}.tfvars", _plan_file(ctx))
    rows = plan.summary()
    if rows:
        ctx.console.table("Planned changes", ["resource type", "create", "update", "replace", "delete"], rows)
    else:
        ctx.console.info(
            "No resource changes."
            + (f" Outputs change: {', '.join(plan.output_changes)}." if plan.output_changes else "")
        )
    allowed = set(ctx.params.get("allow_destroy") or ())
    for change in plan.blocked(allowed):
        prompter = ctx.prompter
        if prompter is None or not prompter.interactive:
            raise RefusedError(
                f"the plan {change.kind}s {change.address}, which holds data",
                f"review it; to allow it anyway pass --allow-destroy {change.address}",
            )
        if not prompter.type_to_confirm(
            f"The plan {change.kind}s {change.address}, which holds data. Type its address to allow it",
            change.address,
        ):
            raise StepFailed(f"the plan {change.kind}s {change.address}; not allowed", "change the Terraform")
        allowed.add(change.address)
    return {
        "plan_file": str(plan.path),
        "plan_sha256": plan.sha256,
        "has_changes": plan.has_changes,
        "summary": [list(row) for row in rows],
        "allowed_destroy": sorted(allowed),
    }


def terraform_apply(ctx: StepContext) -> dict[str, Any]:
    from amops.terraform.adapter import Plan

    tf = _terraform(ctx)
    applied = False
    if ctx.output("has_changes"):
        tf.apply(Plan(Path(ctx.output("plan_file")), ctx.output("plan_sha256"), True))
        applied = True
    else:
        ctx.console.info("The plan has no changes: nothing to apply.")
    return {"applied": applied, "terraform_outputs": tf.outputs()}


# -- 3. Lambdas ---------------------------------------------------------------------------------------


def package(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    packages = _packages(ctx)
    previous: dict[str, dict[str, str]] = {}
    changed: list[str] = []
    rows = []
    for region in _regions(ctx):
        lambdas = Lambdas(ctx.aws, region)
        previous[region] = {}
        for short, built in packages.items():
            live = lambdas.alias_target(names["functions"][short], names["alias"])
            previous[region][short] = live.version
            differs = live.sha256 != built.sha256
            if differs and short not in changed:
                changed.append(short)
            rows.append(
                (
                    short,
                    region,
                    built.sha256[:12],
                    f"v{live.version} {live.sha256[:12]}",
                    "changed" if differs else "unchanged",
                )
            )
    ctx.console.table("Packages", ["function", "region", "new SHA-256", "live", ""], rows)
    if not changed:
        ctx.console.info("No function changed: the Lambda steps have nothing to do.")
    return {
        "sha256": {short: p.sha256 for short, p in packages.items()},
        "previous": previous,
        "changed": changed,
    }


def upload(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.artifacts import Artifacts

    packages = _packages(ctx)
    artifacts = Artifacts(ctx.aws, _names(ctx)["artifacts_bucket"])
    uploaded, present = [], []
    for short in ctx.output("changed", []):
        built = packages[short]
        if built.sha256 != ctx.output("sha256")[short]:
            raise StepFailed(f"functions/{short} changed since it was packaged", "start the deploy again")
        if artifacts.exists(built.key):
            present.append(short)
            continue
        artifacts.upload(built.key, built.data, built.sha256)
        uploaded.append(short)
    ctx.console.info(f"uploaded: {', '.join(uploaded) or 'none'}; already there: {', '.join(present) or 'none'}")
    return {"uploaded": uploaded}


def verify_upload(ctx: StepContext) -> None:
    from amops.aws.artifacts import Artifacts

    artifacts = Artifacts(ctx.aws, _names(ctx)["artifacts_bucket"])
    missing = [
        s for s in ctx.output("changed", []) if not artifacts.exists(f"lambdas/{s}/{ctx.output('sha256')[s]}.zip")
    ]
    if missing:
        raise StepFailed(f"artifacts missing after upload: {', '.join(missing)}")


def publish(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.artifacts import Artifacts
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    commit = ctx.output("commit") or "unknown"
    artifacts = Artifacts(ctx.aws, names["artifacts_bucket"])
    published: dict[str, dict[str, str]] = {}
    for index, region in enumerate(_regions(ctx)):
        lambdas = Lambdas(ctx.aws, region)
        published[region] = {}
        for short in ctx.output("changed", []):
            sha = ctx.output("sha256")[short]
            key = f"lambdas/{short}/{sha}.zip"
            # S3-sourced code must be in the function's own region: the DR region gets the artifact's
            # exact bytes (publish checks them against the SHA-256 again).
            source = (
                {"bucket": names["artifacts_bucket"], "key": key} if index == 0 else {"zip_file": artifacts.read(key)}
            )
            version = lambdas.publish(names["functions"][short], sha, f"sha256={sha} commit={commit}", **source)
            published[region][short] = version
            ctx.console.info(f"{names['functions'][short]} ({region}): published v{version}")
    return {"published": published}


def shift(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas
    from amops.aws.monitoring import Monitoring

    names = _names(ctx)
    published = ctx.output("published", {})
    canary = float(ctx.params.get("canary") or 0)
    if canary and any(published.values()):
        share = canary / 100
        for region, versions in published.items():
            lambdas = Lambdas(ctx.aws, region)
            for short, version in versions.items():
                previous = ctx.output("previous")[region][short]
                lambdas.point_alias(names["functions"][short], previous, names["alias"], {version: share})
        minutes = float(ctx.params.get("canary_minutes") or 0)
        ctx.console.info(f"canary: {canary:g}% of traffic on the new versions; watching alarms for {minutes:g} min")
        deadline = time.monotonic() + minutes * 60
        while True:
            for region in published:
                states = Monitoring(ctx.aws, region).alarm_states(list(names["alarms"].values()))
                firing = [name for name, state in states.items() if state == "ALARM"]
                if firing:
                    unshift(ctx)  # a half-shifted alias must not outlive the failure
                    raise StepFailed(
                        f"canary: {', '.join(firing)} in ALARM ({region}); all traffic is back on the "
                        "previous versions",
                        "find out why (amops troubleshoot), fix, and deploy again",
                    )
            if time.monotonic() >= deadline:
                break
            time.sleep(min(CANARY_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    for region, versions in published.items():
        lambdas = Lambdas(ctx.aws, region)
        for short, version in versions.items():
            lambdas.point_alias(names["functions"][short], version, names["alias"])
            ctx.console.info(f"{names['functions'][short]} ({region}): live → v{version}")
    return {"live": published}


def verify_shift(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    for region, versions in ctx.output("live", {}).items():
        lambdas = Lambdas(ctx.aws, region)
        for short, version in versions.items():
            target = lambdas.alias_target(names["functions"][short], names["alias"])
            if target.version != version or target.weights:
                raise StepFailed(f"{names['functions'][short]} ({region}) live is v{target.version}, not v{version}")


def unshift(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    for region, versions in (ctx.output("published") or {}).items():
        lambdas = Lambdas(ctx.aws, region)
        for short in versions:
            previous = ctx.output("previous")[region][short]
            lambdas.point_alias(names["functions"][short], previous, names["alias"])
            ctx.console.info(f"{names['functions'][short]} ({region}): live → v{previous} again")


# -- 4. API Gateway -----------------------------------------------------------------------------------


def deploy_api(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.apigateway import Apis

    names = _names(ctx)
    deployed, previous = {}, {}
    for region in _regions(ctx):
        apis = Apis(ctx.aws, region)
        api_id = apis.api_id(names["api"])
        definition = apis.definition_hash(api_id)
        stage = apis.stage(api_id, names["stage"])
        if stage.deployed_definition == definition:
            ctx.console.info(f"{names['api']} ({region}): definition unchanged; stage {names['stage']} stays")
            continue
        previous[region] = stage.deployment_id
        deployed[region] = apis.deploy(api_id, names["stage"], definition, f"run={ctx.run_id}")
        ctx.console.info(f"{names['api']} ({region}): new deployment {deployed[region]} on {names['stage']}")
    return {"api_deployments": deployed, "api_previous": previous}


def undeploy_api(ctx: StepContext) -> None:
    from amops.aws.apigateway import Apis

    names = _names(ctx)
    for region, deployment_id in (ctx.output("api_previous") or {}).items():
        apis = Apis(ctx.aws, region)
        apis.point_stage(apis.api_id(names["api"]), names["stage"], deployment_id)


# -- 5. verification --------------------------------------------------------------------------------


DEPLOYMENT = registry.register(_procedure())
