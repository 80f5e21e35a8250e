"""Infrastructure rollback by state version, and the data restore's time handling, against moto in-process."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from amops.aws.clients import ClientProvider
from amops.procedures.rollback_data import restore, restored_name
from amops.procedures.rollback_infra import ROLLBACK_INFRA
from amops.runbook.context import StepContext
from amops.runbook.ports import EnvironmentServices
from amops.runbook.runner import Runner, RunOptions
from amops.when import parse_when
from tests.conftest import MOTO_ACCOUNT
from tests.fakes import RecordingConsole, ScriptedPrompter, identity

STATE_STEPS = ("target", "tf-lock", "save-state", "restore-state")


def state(serial: int, lineage: str = "lineage-1", resources: int = 3) -> bytes:
    return json.dumps(
        {"version": 4, "serial": serial, "lineage": lineage, "resources": [{"name": f"r{i}"} for i in range(resources)]}
    ).encode()


@pytest.fixture
def aws(config):
    with mock_aws():
        clients = ClientProvider(config.environment("dev"))
        names = config.resource_names("dev")
        s3 = clients.client("s3")
        s3.create_bucket(Bucket=names["tfstate_bucket"], CreateBucketConfiguration={"LocationConstraint": "af-south-1"})
        s3.put_bucket_versioning(Bucket=names["tfstate_bucket"], VersioningConfiguration={"Status": "Enabled"})
        clients.client("dynamodb").create_table(
            TableName=names["tf_lock_table"],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield clients, names


def write_state(aws, data: bytes) -> str:
    clients, names = aws
    return clients.client("s3").put_object(Bucket=names["tfstate_bucket"], Key=names["tfstate_key"], Body=data)[
        "VersionId"
    ]


def current_state(aws) -> bytes:
    clients, names = aws
    return clients.client("s3").get_object(Bucket=names["tfstate_bucket"], Key=names["tfstate_key"])["Body"].read()


def run_state_rollback(aws, config, tmp_path, version: str, on_failure: str = "stop"):
    clients, names = aws
    procedure = replace(ROLLBACK_INFRA, steps=tuple(s for s in ROLLBACK_INFRA.steps if s.id in STATE_STEPS))
    runner = Runner(
        console=RecordingConsole(),
        prompter=ScriptedPrompter(interactive=False),
        runs_dir=tmp_path,
        options=RunOptions(yes=True, confirm_env="dev", on_failure=on_failure),
        services=EnvironmentServices(identity=identity(MOTO_ACCOUNT), expected_account=MOTO_ACCOUNT, aws=clients),
    )
    params = {"to_state_version": version, "runs_dir": str(tmp_path)}
    return runner.run(procedure, "dev", params, names=names, config=config)


def test_an_earlier_state_version_becomes_current_and_the_one_it_replaced_is_saved(aws, config, tmp_path):
    clients, names = aws
    good = write_state(aws, state(7))
    write_state(aws, state(8, resources=1))

    result = run_state_rollback(aws, config, tmp_path, good)

    assert result.status == "succeeded", result.steps
    assert current_state(aws) == state(7)
    digest = clients.client("dynamodb").get_item(
        TableName=names["tf_lock_table"], Key={"LockID": {"S": f"{names['tfstate_bucket']}/{names['tfstate_key']}-md5"}}
    )["Item"]["Digest"]["S"]
    assert digest == hashlib.md5(state(7)).hexdigest()  # what Terraform's S3 backend compares
    saved = result.outputs["save-state"]
    assert (tmp_path / f"{result.run_id}.tfstate").read_bytes() == state(8, resources=1)
    backup = clients.client("s3").get_object(Bucket=names["tfstate_bucket"], Key=saved["backup_key"])
    assert backup["Body"].read() == state(8, resources=1)
    assert (result.outputs["target"]["serial_from"], result.outputs["target"]["serial_to"]) == (8, 7)


def test_undo_puts_the_replaced_state_back(aws, config):
    good = write_state(aws, state(7))
    write_state(aws, state(8))
    procedure = replace(ROLLBACK_INFRA, steps=tuple(s for s in ROLLBACK_INFRA.steps if s.id in STATE_STEPS))
    restore_step = procedure.step("restore-state")
    clients, _ = aws
    ctx = StepContext(
        run_id="r1",
        environment="dev",
        params={"to_state_version": good},
        console=RecordingConsole(),
        aws=clients,
        config=config,
    )
    for step in procedure.steps:
        ctx.outputs[step.id] = dict(step.run(ctx) or {})
    assert current_state(aws) == state(7)

    restore_step.undo(ctx)

    assert current_state(aws) == state(8)


def test_a_version_of_another_lineage_is_refused_and_nothing_changes(aws, config, tmp_path):
    other = write_state(aws, state(3, lineage="lineage-0"))
    write_state(aws, state(8))

    result = run_state_rollback(aws, config, tmp_path, other)

    assert result.status == "failed"
    assert "lineage differs" in result.steps[0].error
    assert current_state(aws) == state(8)


def test_a_running_terraform_stops_the_restore(aws, config, tmp_path):
    clients, names = aws
    good = write_state(aws, state(7))
    write_state(aws, state(8))
    clients.client("dynamodb").put_item(
        TableName=names["tf_lock_table"],
        Item={
            "LockID": {"S": f"{names['tfstate_bucket']}/{names['tfstate_key']}"},
            "Info": {"S": json.dumps({"Who": "bob@laptop", "Operation": "OperationTypeApply"})},
        },
    )

    result = run_state_rollback(aws, config, tmp_path, good)

    assert result.status == "failed"
    assert [s.status for s in result.steps] == ["ok", "failed", "not run", "not run"]
    assert "lock held by bob@laptop" in result.steps[1].error
    assert current_state(aws) == state(8)


def test_an_unknown_version_is_bad_input(aws, config, tmp_path):
    write_state(aws, state(8))

    result = run_state_rollback(aws, config, tmp_path, "no-such-version")

    assert result.exit_code == 2
    assert "has no version 'no-such-version'" in result.steps[0].error


def test_the_restore_asks_aws_for_the_time_the_operator_typed_in_utc(config):
    moment = parse_when("2026-12-04T10:00:00+02:00", datetime.now(UTC), "--to-time")
    with mock_aws():
        clients = ClientProvider(config.environment("dev"))
        dynamodb = clients.client("dynamodb")
        dynamodb.create_table(
            TableName="am-dev-teams",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_continuous_backups(
            TableName="am-dev-teams", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        sent = []
        dynamodb.meta.events.register(
            "provide-client-params.dynamodb.RestoreTableToPointInTime", lambda params, **_: sent.append(dict(params))
        )
        ctx = StepContext(
            run_id="r1",
            environment="dev",
            params={},
            console=RecordingConsole(),
            aws=clients,
            config=config,
            outputs={
                "check": {
                    "table": "am-dev-teams",
                    "restored": restored_name("am-dev-teams", moment),
                    "restore_time": moment.isoformat(),
                }
            },
        )

        restore(ctx)

        assert sent == [
            {
                "SourceTableName": "am-dev-teams",
                "TargetTableName": "am-dev-teams-restored-20261204T080000Z",
                "RestoreDateTime": datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
            }
        ]
        assert dynamodb.describe_table(TableName=sent[0]["TargetTableName"])["Table"]["TableStatus"] == "ACTIVE"
