"""Data rollback: restore a table to a point in time beside the original, make it whole, then switch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from amops.procedures import SCHEDULE
from amops.procedures.incident import communicate_step, write_update
from amops.procedures.verification import health_step
from amops.runbook.context import StepContext
from amops.runbook.errors import StepFailed, UsageError
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

TERRAFORM_TAG = ("managed-by", "terraform")


def _procedure() -> Procedure:
    return Procedure(
        name="rollback-data",
        title="Rollback: table data",
        command="amops rollback data {env} --table NAME --to-time ISO8601",
        purpose="Point-in-time restore of one DynamoDB table into a new table `{name}-restored-{time}`; what a "
        "restore loses is re-applied, the item counts compared, and only then, on a typed confirmation, the "
        "functions switch to the restored table.",
        scope="One table in the environment's primary region. The original table is never changed or deleted.",
        audience="On-call and DevOps engineers after data was corrupted or deleted.",
        steps=(
            Step(
                id="check",
                title="Check the table and the restore point",
                why="A restore needs point-in-time recovery on, and a time inside its window. amops also reads what "
                "a restore does not carry over — TTL, PITR, tags, alarms, streams — and which functions read the "
                "table from their configuration.",
                command="aws dynamodb describe-continuous-backups --table-name TABLE && "
                "aws dynamodb describe-time-to-live --table-name TABLE && "
                "aws dynamodb list-tags-of-resource --resource-arn TABLE_ARN && "
                "aws cloudwatch describe-alarms --query 'MetricAlarms[?Dimensions[?Value==`TABLE`]]'",
                expect="The restore window containing --to-time, the settings to re-apply, the new table's name.",
                kind=StepKind.READ_ONLY,
                iam=(
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeContinuousBackups",
                    "dynamodb:DescribeTimeToLive",
                    "dynamodb:ListTagsOfResource",
                    "cloudwatch:DescribeAlarms",
                    "lambda:GetFunctionConfiguration",
                ),
                run=check,
                gate=True,
                unverified="it only reads",
            ),
            Step(
                id="restore",
                title="Restore into a new table",
                why="The restore goes into a new table, so the current data stays untouched until you decide.",
                command="aws dynamodb restore-table-to-point-in-time --source-table-name TABLE "
                "--target-table-name TABLE-restored-TIME --restore-date-time TIME && "
                "aws dynamodb wait table-exists --table-name TABLE-restored-TIME",
                expect="The restored table ACTIVE.",
                kind=StepKind.MUTATING,
                iam=("dynamodb:RestoreTableToPointInTime", "dynamodb:DescribeTable", "dynamodb:DeleteTable"),
                run=restore,
                verify=verify_restore,
                undo=drop_restored,
            ),
            Step(
                id="settings",
                title="Re-apply what a restore loses",
                why="A restored table comes back without TTL, point-in-time recovery, tags, alarms or its stream; "
                "without them it would keep expired data, lose its own recovery, and fail silently.",
                command="aws dynamodb update-time-to-live ... && aws dynamodb update-continuous-backups ... && "
                "aws dynamodb tag-resource ... && aws dynamodb update-table --stream-specification ... && "
                "aws cloudwatch put-metric-alarm ... (each with the restored table's name)",
                expect="The restored table's settings equal the original's; its alarms exist.",
                kind=StepKind.MUTATING,
                iam=(
                    "dynamodb:UpdateTimeToLive",
                    "dynamodb:UpdateContinuousBackups",
                    "dynamodb:TagResource",
                    "dynamodb:UpdateTable",
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DeleteAlarms",
                ),
                run=reapply_settings,
                verify=verify_settings,
                undo=drop_alarms,
            ),
            Step(
                id="compare",
                title="Compare item counts",
                why="How many items the restore brought back, beside the table as it is now, is the first sign "
                "that the restore point is the right one.",
                command="aws dynamodb scan --table-name TABLE --select COUNT && "
                "aws dynamodb scan --table-name TABLE-restored-TIME --select COUNT",
                expect="Both counts and their difference.",
                kind=StepKind.READ_ONLY,
                iam=("dynamodb:Scan",),
                run=compare,
                unverified="the operator reads the counts before the switch",
            ),
            Step(
                id="switch",
                title="Switch the functions to the restored table",
                why="The functions read the table's name from their configuration: each gets a new version with "
                "the restored name, and its live alias moves to it. Typed confirmation: from now on, writes go "
                "to the restored table.",
                command="aws lambda update-function-configuration --function-name FUNCTION --environment "
                "Variables={{VAR=TABLE-restored-TIME,...}} && aws lambda publish-version --function-name FUNCTION && "
                "aws lambda update-alias --function-name FUNCTION --name live --function-version NEW",
                expect="Each function that reads the table on a new version that names the restored table.",
                kind=StepKind.DESTRUCTIVE,
                iam=(
                    "lambda:GetFunctionConfiguration",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:PublishVersion",
                    "lambda:UpdateAlias",
                ),
                run=switch,
                verify=verify_switch,
                undo=unswitch,
                needed=_switch_needed,
            ),
            health_step("Proves {env} works on the restored table: /health reads every table."),
            communicate_step(communicate),
        ),
        owner=SCHEDULE["rollback"].owner,
        review_months=SCHEDULE["rollback"].review_months,
        last_reviewed=date(2026, 12, 4),
        verification=(
            "`aws dynamodb describe-time-to-live` and `describe-continuous-backups` on the restored table show "
            "TTL and PITR enabled; `amops health {env}` passes after the switch.",
        ),
        troubleshooting=(
            TroubleshootingEntry(
                "'outside the restore window'",
                "PITR keeps 35 days, and only since it was enabled",
                "Restore from an on-demand backup or the DR exports instead (disaster recovery runbook).",
            ),
            TroubleshootingEntry(
                "The switch step says Terraform manages the table",
                "A console change would be reverted by the next apply",
                "Follow the printed swap: point the table's variable at the restored table in Terraform, plan, apply.",
            ),
        ),
        rollback="*Undo* deletes the restored table and its alarms, or moves the functions' aliases back to "
        "the versions that name the original table. The original table is never touched.",
    )


def _names(ctx: StepContext) -> dict[str, Any]:
    return ctx.config.resource_names(ctx.environment)


def _dynamodb(ctx: StepContext) -> Any:
    return ctx.aws.client("dynamodb")


def table_name(names: dict[str, Any], table: str) -> str:
    """The full name of a table given as `teams` or `am-dev-teams`."""
    tables = names["tables"]
    if table in tables:
        return tables[table]
    if table in tables.values():
        return table
    raise UsageError(f"no table {table!r} in this environment", f"use one of {', '.join(tables)}")


def restored_name(table: str, moment: datetime) -> str:
    return f"{table}-restored-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _to_time(ctx: StepContext) -> datetime:
    return datetime.fromisoformat(ctx.params["to_time"])


# -- 1. check --------------------------------------------------------------------------------------------


def check(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.errors import aws_errors

    names = _names(ctx)
    table = table_name(names, ctx.params["table"])
    moment = _to_time(ctx)
    dynamodb = _dynamodb(ctx)
    with aws_errors(f"reading {table}"):
        description = dynamodb.describe_table(TableName=table)["Table"]
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        tags = dynamodb.list_tags_of_resource(ResourceArn=description["TableArn"]).get("Tags", [])
    pitr = backups.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise StepFailed(f"point-in-time recovery is off for {table}", "restore from a backup or the DR exports")
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    # Only the lower bound is checked here: before it there is no data. A time after LatestRestorableDateTime
    # (about five minutes ago) is refused by the restore call itself, with AWS's own message.
    if earliest and moment < earliest:
        raise StepFailed(
            f"{moment.isoformat()} is before {table}'s restore window, which starts {earliest.isoformat()}",
            "pick a later time, or restore from a backup or the DR exports",
        )
    restored = restored_name(table, moment)
    if restored in dynamodb.list_tables()["TableNames"]:
        raise StepFailed(f"{restored} already exists", "delete it, or pick another time")
    settings = {
        "ttl_attribute": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
        "pitr": True,
        "tags": tags,
        "stream": description.get("StreamSpecification") or None,
        "alarms": _alarms_on(ctx, table),
    }
    users = _functions_using(ctx, table)
    terraform = any((t["Key"], t["Value"]) == TERRAFORM_TAG for t in tags)
    ctx.console.table(
        f"Restore {table} to {moment.isoformat()}",
        ["", ""],
        [
            ("new table", restored),
            (
                "restore window",
                f"{earliest.isoformat() if earliest else '?'} → {latest.isoformat() if latest else '?'}",
            ),
            ("TTL", settings["ttl_attribute"] or "off"),
            ("stream", (settings["stream"] or {}).get("StreamViewType", "off")),
            ("tags", ", ".join(f"{t['Key']}={t['Value']}" for t in tags) or "none"),
            ("alarms", ", ".join(a["AlarmName"] for a in settings["alarms"]) or "none"),
            ("read by", ", ".join(f"{u['function']} ({u['variable']})" for u in users) or "no function"),
            ("managed by", "Terraform: the switch is documented, not made" if terraform else "not Terraform"),
        ],
    )
    return {
        "table": table,
        "restored": restored,
        "restore_time": moment.isoformat(),
        "settings": settings,
        "users": users,
        "terraform_managed": terraform,
    }


def _alarms_on(ctx: StepContext, table: str) -> list[dict[str, Any]]:
    cloudwatch = ctx.aws.client("cloudwatch")
    found = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page["MetricAlarms"]:
            if any(d["Name"] == "TableName" and d["Value"] == table for d in alarm.get("Dimensions", [])):
                found.append(
                    {
                        key: alarm[key]
                        for key in (
                            "AlarmName",
                            "Namespace",
                            "MetricName",
                            "Statistic",
                            "Period",
                            "EvaluationPeriods",
                            "Threshold",
                            "ComparisonOperator",
                            "Dimensions",
                        )
                        if key in alarm
                    }
                )
    return found


def _functions_using(ctx: StepContext, table: str) -> list[dict[str, str]]:
    from amops.aws.lambdas import Lambdas

    names = _names(ctx)
    lambdas = Lambdas(ctx.aws)
    users = []
    for short, function in names["functions"].items():
        live = lambdas.alias_target(function, names["alias"])
        configuration = lambdas.client.get_function_configuration(FunctionName=function, Qualifier=live.version)
        for variable, value in (configuration.get("Environment") or {}).get("Variables", {}).items():
            if value == table:
                users.append({"function": short, "variable": variable, "version": live.version})
    return users


# -- 2. restore -------------------------------------------------------------------------------------------


def restore(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.errors import aws_errors

    dynamodb = _dynamodb(ctx)
    table, restored = ctx.output("table"), ctx.output("restored")
    with aws_errors(f"restoring {table}"):
        dynamodb.restore_table_to_point_in_time(
            SourceTableName=table,
            TargetTableName=restored,
            RestoreDateTime=datetime.fromisoformat(ctx.output("restore_time")),
        )
        ctx.console.info(f"restoring {table} → {restored}; waiting until it is ACTIVE (large tables take hours)")
        dynamodb.get_waiter("table_exists").wait(TableName=restored, WaiterConfig={"Delay": 5, "MaxAttempts": 720})
    return {"restored_at": datetime.now(UTC).isoformat()}


def verify_restore(ctx: StepContext) -> None:
    status = _dynamodb(ctx).describe_table(TableName=ctx.output("restored"))["Table"]["TableStatus"]
    if status != "ACTIVE":
        raise StepFailed(f"{ctx.output('restored')} is {status}, not ACTIVE")


def drop_restored(ctx: StepContext) -> None:
    _dynamodb(ctx).delete_table(TableName=ctx.output("restored"))


# -- 3. settings --------------------------------------------------------------------------------------------


def reapply_settings(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.errors import aws_errors

    dynamodb, cloudwatch = _dynamodb(ctx), ctx.aws.client("cloudwatch")
    settings, restored = ctx.output("settings"), ctx.output("restored")
    applied = []
    with aws_errors(f"re-applying settings to {restored}"):
        arn = dynamodb.describe_table(TableName=restored)["Table"]["TableArn"]
        dynamodb.update_continuous_backups(
            TableName=restored, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        applied.append("PITR")
        if settings["ttl_attribute"]:
            dynamodb.update_time_to_live(
                TableName=restored,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": settings["ttl_attribute"]},
            )
            applied.append(f"TTL on {settings['ttl_attribute']}")
        if settings["tags"]:
            dynamodb.tag_resource(
                ResourceArn=arn, Tags=[*settings["tags"], {"Key": "restored-from", "Value": ctx.output("table")}]
            )
            applied.append("tags")
        stream = settings["stream"]
        if stream and stream.get("StreamEnabled"):
            dynamodb.update_table(TableName=restored, StreamSpecification=stream)
            applied.append(f"stream ({stream.get('StreamViewType')})")
        alarms = []
        for alarm in settings["alarms"]:
            copy = {
                **alarm,
                "AlarmName": f"{alarm['AlarmName']}-restored",
                "Dimensions": [
                    {**d, "Value": restored} if d["Name"] == "TableName" else d for d in alarm["Dimensions"]
                ],
            }
            cloudwatch.put_metric_alarm(**copy)
            alarms.append(copy["AlarmName"])
        if alarms:
            applied.append(f"alarms: {', '.join(alarms)}")
    ctx.console.info(f"{restored}: {'; '.join(applied)}")
    return {"applied": applied, "alarms_created": alarms}


def verify_settings(ctx: StepContext) -> None:
    dynamodb, restored, settings = _dynamodb(ctx), ctx.output("restored"), ctx.output("settings")
    problems = []
    backups = dynamodb.describe_continuous_backups(TableName=restored)["ContinuousBackupsDescription"]
    if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
        problems.append("PITR is off")
    ttl = dynamodb.describe_time_to_live(TableName=restored)["TimeToLiveDescription"]
    if settings["ttl_attribute"] and ttl.get("AttributeName") != settings["ttl_attribute"]:
        problems.append("TTL is not on")
    stream = dynamodb.describe_table(TableName=restored)["Table"].get("StreamSpecification") or {}
    if (settings["stream"] or {}).get("StreamEnabled") and not stream.get("StreamEnabled"):
        problems.append("the stream is off")
    if problems:
        raise StepFailed(f"{restored}: {', '.join(problems)}")


def drop_alarms(ctx: StepContext) -> None:
    if ctx.output("alarms_created"):
        ctx.aws.client("cloudwatch").delete_alarms(AlarmNames=ctx.output("alarms_created"))


# -- 4. compare -------------------------------------------------------------------------------------------


def _count(ctx: StepContext, table: str) -> int:
    pages = _dynamodb(ctx).get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def compare(ctx: StepContext) -> dict[str, Any]:
    table, restored = ctx.output("table"), ctx.output("restored")
    now, then = _count(ctx, table), _count(ctx, restored)
    ctx.console.table(
        "Item counts", ["table", "items"], [(table + " (now)", now), (restored, then), ("difference", then - now)]
    )
    if ctx.output("terraform_managed"):
        for line in _terraform_swap(ctx):
            ctx.console.info(line)
    return {"count_now": now, "count_restored": then}


def _terraform_swap(ctx: StepContext) -> list[str]:
    table, restored = ctx.output("table"), ctx.output("restored")
    return [
        f"Terraform manages {table}: make the swap there, or the next apply reverts it:",
        f"  1. point the table's variable (or the functions' TABLE variables) at {restored} in "
        f"terraform/env/{ctx.environment}.tfvars",
        f"  2. terraform import the restored table: terraform import 'aws_dynamodb_table.RESOURCE' {restored}",
        f"  3. amops deploy {ctx.environment} --only infra (plan, review, apply); then amops health {ctx.environment}",
    ]


# -- 5. switch ---------------------------------------------------------------------------------------------


def _switch_needed(ctx: StepContext) -> str | None:
    if ctx.output("terraform_managed"):
        return "Terraform manages the table: the swap steps are printed above and in the incident update"
    if not ctx.output("users"):
        return "no function reads the table's name from its configuration"
    return None


def switch(ctx: StepContext) -> dict[str, Any]:
    from amops.aws.lambdas import Lambdas

    names, restored = _names(ctx), ctx.output("restored")
    lambdas = Lambdas(ctx.aws)
    switched = []
    by_function: dict[str, list[dict[str, str]]] = {}
    for user in ctx.output("users"):
        by_function.setdefault(user["function"], []).append(user)
    for short, uses in by_function.items():
        function = names["functions"][short]
        version = uses[0]["version"]
        live = lambdas.client.get_function_configuration(FunctionName=function, Qualifier=version)
        variables = dict(live["Environment"]["Variables"])
        variables.update({use["variable"]: restored for use in uses})
        lambdas.client.update_function_configuration(FunctionName=function, Environment={"Variables": variables})
        lambdas.client.get_waiter("function_updated_v2").wait(FunctionName=function)
        published = lambdas.client.publish_version(
            FunctionName=function,
            Description=f"{live.get('Description', '')} table={restored}".strip(),
            CodeSha256=live["CodeSha256"],  # the same code as live: only the table changes
        )["Version"]
        lambdas.point_alias(function, published, names["alias"])
        switched.append(
            {"function": short, "from": version, "to": published, "variables": [u["variable"] for u in uses]}
        )
        ctx.console.info(f"{function}: live v{version} → v{published} ({', '.join(u['variable'] for u in uses)})")
    return {"switched": switched}


def verify_switch(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas

    names, lambdas = _names(ctx), Lambdas(ctx.aws)
    for item in ctx.output("switched"):
        function = names["functions"][item["function"]]
        configuration = lambdas.client.get_function_configuration(FunctionName=function, Qualifier=names["alias"])
        variables = configuration["Environment"]["Variables"]
        if any(variables.get(v) != ctx.output("restored") for v in item["variables"]):
            raise StepFailed(f"{function}'s live version does not name {ctx.output('restored')}")


def unswitch(ctx: StepContext) -> None:
    from amops.aws.lambdas import Lambdas

    names, lambdas = _names(ctx), Lambdas(ctx.aws)
    for item in ctx.output("switched") or []:
        lambdas.point_alias(names["functions"][item["function"]], item["from"], names["alias"])


# -- 6. communicate ----------------------------------------------------------------------------------------


def communicate(ctx: StepContext) -> dict[str, Any]:
    switched = ctx.output("switched") or []
    lines = [
        f"Table {ctx.output('table')} restored to {ctx.output('restore_time')} as {ctx.output('restored')} "
        f"({ctx.output('count_restored')} items; {ctx.output('count_now')} in the original now).",
        *[f"- {s['function']}: v{s['from']} → v{s['to']} reads {ctx.output('restored')}" for s in switched],
    ]
    if ctx.output("terraform_managed"):
        lines += _terraform_swap(ctx)
    elif not switched:
        lines.append("No function was switched: the original table still serves traffic.")
    return write_update(ctx, "Data rollback", lines, ctx.output("restored_at"))


ROLLBACK_DATA = _procedure()
