"""Infrastructure rollback: apply an earlier commit's Terraform, or restore an earlier state version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amops.procedures import SCHEDULE
from amops.procedures.deploy import DEPLOYMENT, terraform_plan
from amops.procedures.incident import communicate_step, write_update
from amops.procedures.verification import health_step
from amops.runbook.context import StepContext
from amops.runbook.errors import StepFailed, UsageError
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry


def _by_ref(ctx: StepContext) -> str | None:
    return None if ctx.params.get("to_ref") else "rolling back by state version, not by git ref"


def _by_state(ctx: StepContext) -> str | None:
    return None if ctx.params.get("to_state_version") else "rolling back by git ref: the state is not touched"


def _procedure() -> Procedure:
    return Procedure(
        name="rollback-infra",
        title="Rollback: infrastructure",
        command="amops rollback infra {env} --to-ref GIT_REF | --to-state-version ID",
        purpose="Preferred: re-plan and apply the Terraform configuration of an earlier commit. Last resort: "
        "restore an earlier version of the state object from the versioned state bucket, then plan and apply.",
        scope="One environment's Terraform workspace. The plan gate of the deployment applies: nothing that "
        "deletes or replaces a table, bucket or key goes through unreviewed.",
        audience="DevOps engineers after a Terraform change went wrong.",
        steps=(
            Step(
                id="target",
                title="Work out what to roll back to",
                why="A git ref names the configuration to return to; a state version names the state object "
                "Terraform had before. Either is shown, with what lies between, before anything changes.",
                command="git log --oneline GIT_REF..HEAD   # or: aws s3api list-object-versions "
                "--bucket {tfstate_bucket} --prefix {tfstate_key}",
                expect="The commit (or state version, with its serial and lineage) the rollback goes to.",
                kind=StepKind.READ_ONLY,
                iam=("s3:ListBucketVersions", "s3:GetObjectVersion", "s3:GetObject"),
                run=target,
                gate=True,
                unverified="it only reads",
            ),
            Step(
                id="tf-lock",
                title="Check nobody is running Terraform",
                why="Restoring state under a running Terraform would have it write over the restore, or the "
                "restore over its work.",
                command="aws dynamodb get-item --table-name {tf_lock_table} "
                '--key \'{{"LockID": {{"S": "{tfstate_bucket}/{tfstate_key}"}}}}\'',
                expect="No lock item for the state.",
                kind=StepKind.READ_ONLY,
                iam=("dynamodb:GetItem",),
                run=check_tf_lock,
                gate=True,
                needed=_by_state,
                unverified="it is itself a check",
            ),
            Step(
                id="save-state",
                title="Save the current state",
                why="The state as it is now is kept beside it in the bucket and in the journal folder, so the "
                "restore can be undone.",
                command="aws s3 cp s3://{tfstate_bucket}/{tfstate_key} "
                "s3://{tfstate_bucket}/{tfstate_key}.amops-backup-RUN_ID",
                expect="A copy of the current state object.",
                kind=StepKind.MUTATING,
                iam=("s3:GetObject", "s3:PutObject"),
                run=save_state,
                needed=_by_state,
                irreversible="it only makes a copy",
                unverified="the copy is read back by the restore's undo",
            ),
            Step(
                id="restore-state",
                title="Restore the earlier state version",
                why="Copying the earlier version over the key makes it the current state (a new version: nothing "
                "is lost). Terraform's digest in the lock table is updated to match.",
                command="aws s3api copy-object --bucket {tfstate_bucket} --key {tfstate_key} "
                "--copy-source '{tfstate_bucket}/{tfstate_key}?versionId=ID' && "
                "aws dynamodb put-item --table-name {tf_lock_table} --item "
                '\'{{"LockID": {{"S": "{tfstate_bucket}/{tfstate_key}-md5"}}, "Digest": {{"S": "MD5"}}}}\'',
                expect="The state object's current content is the chosen version's.",
                kind=StepKind.DESTRUCTIVE,
                iam=("s3:PutObject", "s3:GetObjectVersion", "dynamodb:PutItem"),
                run=restore_state,
                verify=verify_state,
                undo=unrestore_state,
                needed=_by_state,
            ),
            Step(
                id="terraform-plan",
                title="Plan the rollback",
                why="Terraform compares the configuration (the earlier commit's, or the current one over the "
                "restored state) with the real infrastructure; the plan gate blocks data-losing changes.",
                command="git worktree add --detach /tmp/rollback GIT_REF && cd /tmp/rollback/terraform && "
                "terraform init -input=false && terraform workspace select {env} && "
                "terraform plan -input=false -var-file=env/{env}.tfvars -out=PLAN -detailed-exitcode",
                expect="A summary of the changes that take {env} back.",
                kind=StepKind.READ_ONLY,
                iam=("s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:PutItem"),
                run=plan,
                unverified="the plan is reviewed by the operator before the apply step",
            ),
            replace(DEPLOYMENT.step("terraform-apply"), amops=None),
            health_step("Proves {env} works on the rolled-back infrastructure."),
            communicate_step(communicate),
        ),
        owner=SCHEDULE["rollback"].owner,
        review_months=SCHEDULE["rollback"].review_months,
        last_reviewed=date(2026, 12, 4),
        verification=("`terraform plan` in the working tree at the rolled-back ref shows no changes.",),
        troubleshooting=(
            TroubleshootingEntry(
                "'Terraform is running'",
                "A lock item exists for the state",
                "Wait for it; if it is dead: `terraform force-unlock LOCK_ID`, then start again.",
            ),
            TroubleshootingEntry(
                "'lineage differs'",
                "The version belongs to another state (a recreated workspace)",
                "Choose a version of this state's lineage.",
            ),
        ),
        rollback="*Undo* copies the saved state back; applied infrastructure is rolled forward again with "
        "`amops deploy {env} --only infra`.",
    )


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _state_location(ctx: StepContext) -> tuple[str, str]:
    names = _names(ctx)
    return names["tfstate_bucket"], names["tfstate_key"]


def _read_version(s3: Any, bucket: str, key: str, version: str | None = None) -> bytes:
    extra = {"VersionId": version} if version else {}
    return s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()


def _state_facts(data: bytes) -> dict[str, Any]:
    try:
        state = json.loads(data)
    except ValueError:
        raise StepFailed("the state object is not JSON: not a Terraform state") from None
    return {
        "serial": state.get("serial"),
        "lineage": state.get("lineage"),
        "resources": len(state.get("resources", [])),
    }


def target(ctx: StepContext) -> dict[str, Any]:
    if ctx.params.get("to_ref"):
        return _target_ref(ctx)
    return _target_state(ctx)


def _target_ref(ctx: StepContext) -> dict[str, Any]:
    from amops.git import commits_between, resolve

    ref, root = ctx.params["to_ref"], ctx.config.root
    commit = resolve(root, ref)
    if commit is None:
        raise UsageError(f"{ref!r} names no commit in {root}", "use a tag, branch or commit: git log --oneline")
    between = commits_between(root, commit, "HEAD")
    ctx.console.table(
        f"Rolling {ctx.environment}'s infrastructure back to {ref} ({commit[:12]})",
        ["commits undone"],
        [(line,) for line in between] or [("(none: HEAD is that commit)",)],
    )
    return {"mode": "ref", "ref": ref, "commit": commit, "undone_commits": len(between)}


def _target_state(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.errors import aws_errors

    bucket, key = _state_location(ctx)
    wanted = ctx.params["to_state_version"]
    s3 = ctx.aws.client("s3")
    with aws_errors(f"listing the versions of s3://{bucket}/{key}"):
        answer = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = [v for v in answer.get("Versions", []) if v["Key"] == key]
    current = next((v for v in versions if v["IsLatest"]), None)
    chosen = next((v for v in versions if v["VersionId"] == wanted), None)
    if chosen is None:
        raise UsageError(
            f"s3://{bucket}/{key} has no version {wanted!r}",
            f"list them: aws s3api list-object-versions --bucket {bucket} --prefix {key}",
        )
    if current is None or current["VersionId"] == wanted:
        raise StepFailed(f"version {wanted} is already the current state: nothing to roll back")
    now_facts = _state_facts(_read_version(s3, bucket, key, current["VersionId"]))
    then_facts = _state_facts(_read_version(s3, bucket, key, wanted))
    if now_facts["lineage"] != then_facts["lineage"]:
        raise StepFailed(
            f"lineage differs: version {wanted} is {then_facts['lineage']}, the current state {now_facts['lineage']}",
            "choose a version of the current state's lineage",
        )
    ctx.console.table(
        f"State versions of s3://{bucket}/{key}",
        ["version", "saved", "", ""],
        [
            (
                v["VersionId"],
                v["LastModified"].isoformat(),
                "current" if v["IsLatest"] else "",
                "← rolling back to this" if v["VersionId"] == wanted else "",
            )
            for v in sorted(versions, key=lambda v: v["LastModified"], reverse=True)[:10]
        ],
    )
    ctx.console.info(
        f"serial {now_facts['serial']} → {then_facts['serial']}; resources {now_facts['resources']} → "
        f"{then_facts['resources']}"
    )
    return {
        "mode": "state",
        "version_id": wanted,
        "current_version_id": current["VersionId"],
        "serial_from": now_facts["serial"],
        "serial_to": then_facts["serial"],
    }


def check_tf_lock(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.errors import aws_errors

    bucket, key = _state_location(ctx)
    with aws_errors("reading Terraform's lock table"):
        item = ctx.aws.client("dynamodb").get_item(
            TableName=_names(ctx)["tf_lock_table"], Key={"LockID": {"S": f"{bucket}/{key}"}}
        )
    if "Item" in item:
        info = item["Item"].get("Info", {}).get("S", "{}")
        who = json.loads(info).get("Who", "someone") if info.startswith("{") else "someone"
        raise StepFailed(
            f"Terraform is running on {ctx.environment}'s state (lock held by {who})",
            "wait for it to finish; if it is dead, terraform force-unlock LOCK_ID",
        )
    return {"tf_lock": "free"}


def _digest(ctx: StepContext, data: bytes) -> None:
    bucket, key = _state_location(ctx)
    digest = hashlib.md5(data).hexdigest()  # Terraform's S3 backend checks the state against this MD5
    ctx.aws.client("dynamodb").put_item(
        TableName=_names(ctx)["tf_lock_table"], Item={"LockID": {"S": f"{bucket}/{key}-md5"}, "Digest": {"S": digest}}
    )


def save_state(ctx: StepContext) -> dict[str, Any]:
    bucket, key = _state_location(ctx)
    s3 = ctx.aws.client("s3")
    data = _read_version(s3, bucket, key, ctx.output("current_version_id"))
    backup = f"{key}.amops-backup-{ctx.run_id}"
    s3.put_object(Bucket=bucket, Key=backup, Body=data)
    local = Path(ctx.params.get("runs_dir") or ".") / f"{ctx.run_id}.tfstate"
    local.write_bytes(data)
    local.chmod(0o600)
    ctx.console.info(f"saved s3://{bucket}/{backup} and {local}")
    return {"backup_key": backup, "backup_file": str(local), "backup_sha256": hashlib.sha256(data).hexdigest()}


def restore_state(ctx: StepContext) -> dict[str, Any]:
    bucket, key = _state_location(ctx)
    s3 = ctx.aws.client("s3")
    s3.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key, "VersionId": ctx.output("version_id")}
    )
    data = _read_version(s3, bucket, key)
    _digest(ctx, data)
    ctx.console.info(f"s3://{bucket}/{key} is now version {ctx.output('version_id')}'s content")
    return {"restored_sha256": hashlib.sha256(data).hexdigest(), "restored_at": datetime.now(UTC).isoformat()}


def verify_state(ctx: StepContext) -> None:
    bucket, key = _state_location(ctx)
    s3 = ctx.aws.client("s3")
    now = hashlib.sha256(_read_version(s3, bucket, key)).hexdigest()
    then = hashlib.sha256(_read_version(s3, bucket, key, ctx.output("version_id"))).hexdigest()
    if now != then:
        raise StepFailed("the current state is not the chosen version's content: someone wrote it meanwhile")


def unrestore_state(ctx: StepContext) -> None:
    bucket, key = _state_location(ctx)
    s3 = ctx.aws.client("s3")
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": ctx.output("backup_key")})
    _digest(ctx, _read_version(s3, bucket, key))


def plan(ctx: StepContext) -> dict[str, Any]:
    if ctx.output("mode") == "ref":
        from amops.procedures.promote import plan_release

        return plan_release(ctx)
    return terraform_plan(ctx)


def communicate(ctx: StepContext) -> dict[str, Any]:
    if ctx.output("mode") == "ref":
        what = (
            f"infrastructure to {ctx.output('ref')} ({ctx.output('commit')[:12]}), "
            f"{ctx.output('undone_commits')} commit(s) undone"
        )
    else:
        what = (
            f"Terraform state to version {ctx.output('version_id')} (serial {ctx.output('serial_from')} → "
            f"{ctx.output('serial_to')}); the previous state is saved as {ctx.output('backup_key')}"
        )
    applied = "applied" if ctx.output("applied") else "the plan had no changes"
    return write_update(ctx, "Infrastructure rollback", [f"{what}; {applied}"], ctx.output("restored_at"))


ROLLBACK_INFRA = _procedure()
STATE_STEPS = ("tf-lock", "save-state", "restore-state")


def infra_rollback(by_state_version: bool) -> Procedure:
    """The procedure for one way of rolling back: by git ref, the state steps are left out."""
    if by_state_version:
        return ROLLBACK_INFRA
    return replace(ROLLBACK_INFRA, steps=tuple(s for s in ROLLBACK_INFRA.steps if s.id not in STATE_STEPS))
