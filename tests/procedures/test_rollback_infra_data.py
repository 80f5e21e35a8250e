"""`amops rollback data` and `amops rollback infra --to-ref` against the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox
from tests.procedures.test_deploy import amops, deploy, git, statuses

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("rollback-more") / "workspace")
    manager.up(events=400)
    yield manager
    manager.down()


def run(sandbox, *args: str) -> tuple:
    done = amops(sandbox, "-o", "json", *args)
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def test_a_table_is_restored_beside_the_original_made_whole_and_switched_to(sandbox):
    dev = Account(sandbox.running().endpoint, "dev")
    dynamodb, cloudwatch, lam = dev.client("dynamodb"), dev.client("cloudwatch"), dev.client("lambda")
    cloudwatch.put_metric_alarm(
        AlarmName="am-dev-invitations-throttles",
        Namespace="AWS/DynamoDB",
        MetricName="ThrottledRequests",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "TableName", "Value": "am-dev-invitations"}],
    )
    tables_before = set(dynamodb.list_tables()["TableNames"])

    unconfirmed, _ = run(sandbox, "--yes", "rollback", "data", "dev", "--table", "invitations", "--to-time", "1m")
    assert unconfirmed.returncode == 2
    assert "--confirm-env dev" in unconfirmed.stderr
    assert set(dynamodb.list_tables()["TableNames"]) == tables_before

    just_now = datetime.now(UTC).isoformat(timespec="seconds")  # the sandbox's tables are minutes old
    done, document = run(
        sandbox,
        "--yes",
        "--confirm-env",
        "dev",
        "rollback",
        "data",
        "dev",
        "--table",
        "invitations",
        "--to-time",
        just_now,
    )

    assert done.returncode == 0, done.stderr
    restored = document["outputs"]["check"]["restored"]
    assert restored.startswith("am-dev-invitations-restored-") and restored.endswith("Z")
    assert set(dynamodb.list_tables()["TableNames"]) == tables_before | {restored}
    ttl = dynamodb.describe_time_to_live(TableName=restored)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    backups = dynamodb.describe_continuous_backups(TableName=restored)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    arn = dynamodb.describe_table(TableName=restored)["Table"]["TableArn"]
    tags = {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"environment": "dev", "platform": "access-management", "restored-from": "am-dev-invitations"}
    alarm = cloudwatch.describe_alarms(AlarmNames=["am-dev-invitations-throttles-restored"])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "TableName", "Value": restored}]
    counted = sum(page["Count"] for page in dynamodb.get_paginator("scan").paginate(TableName=restored, Select="COUNT"))
    assert document["outputs"]["compare"]["count_restored"] == counted
    for function in ("invitations", "teams"):
        live = lam.get_function_configuration(FunctionName=f"am-dev-{function}", Qualifier="live")
        assert live["Environment"]["Variables"]["INVITATIONS_TABLE"] == restored
        assert live["Environment"]["Variables"]["TEAMS_TABLE"] == "am-dev-teams"
    assert statuses(document)["health"] == "ok"
    update = Path(document["outputs"]["communicate"]["communication"]).read_text()
    assert "Table am-dev-invitations restored to " in update and restored in update


def test_bad_restore_times_are_one_line_and_exit_2(sandbox):
    for when, message in (
        ("yesterday-ish", "--to-time 'yesterday-ish' is not a date or time"),
        ("2999-01-01", "is in the future"),
    ):
        done, _ = run(sandbox, "--yes", "rollback", "data", "dev", "--table", "teams", "--to-time", when)
        assert done.returncode == 2
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_infrastructure_goes_back_to_an_earlier_commits_configuration(sandbox):
    workspace = sandbox.workspace.path
    module = workspace / "terraform" / "main.tf"
    module.write_text(module.read_text() + '\noutput "feature_flag" {\n  value = "on"\n}\n')
    git(workspace, "commit", "-qam", "Add a feature flag output")
    done, document = deploy(sandbox, "dev", "--only", "infra")
    assert done.returncode == 0, done.stderr
    assert document["outputs"]["terraform-apply"]["terraform_outputs"]["feature_flag"] == "on"

    rolled, document = run(sandbox, "--yes", "rollback", "infra", "dev", "--to-ref", "v1.0.0")

    assert rolled.returncode == 0, rolled.stderr
    assert document["outputs"]["target"]["undone_commits"] == 1
    assert document["outputs"]["terraform-plan"]["has_changes"] is True
    assert "feature_flag" not in document["outputs"]["terraform-apply"]["terraform_outputs"]
    assert "restore-state" not in statuses(document)  # by ref, the state is not touched


def test_infra_rollback_needs_exactly_one_target(sandbox):
    done, _ = run(sandbox, "rollback", "infra", "dev")
    assert done.returncode == 2
    assert "name exactly one of --to-ref GIT_REF or --to-state-version ID" in done.stderr
    missing, _ = run(sandbox, "--yes", "rollback", "infra", "dev", "--to-ref", "v9.9.9")
    assert missing.returncode == 2
    assert "'v9.9.9' names no commit" in missing.stderr
