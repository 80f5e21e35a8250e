"""Glacier restores that are still pending, and each compliance check failing, against moto in-process."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from amops.audit.checks import archive_checks, table_checks, writer_checks
from amops.aws.audit import archive_key
from amops.aws.clients import ClientProvider
from amops.procedures.audit import audit_export
from amops.runbook.errors import ExitCode
from amops.runbook.ports import EnvironmentServices
from amops.runbook.runner import Runner, RunOptions
from amops.sandbox.stack import ARCHIVE_LIFECYCLE
from tests.conftest import MOTO_ACCOUNT
from tests.fakes import RecordingConsole, ScriptedPrompter, identity
from tests.tables import create_by_day_table

NOW = datetime.now(UTC)
TODAY = NOW.date()


def archived_events(day) -> list[dict]:
    return [
        {
            "event_id": f"{day}-{n}",
            "ts": f"{day}T0{n}:00:00.000Z",
            "actor": "alice",
            "action": "team.read",
            "team_id": "team-alpha",
            "resource": "/teams/team-alpha",
            "outcome": "allow",
            "source_ip": "198.51.100.1",
            "request_id": f"r{n}",
        }
        for n in (1, 2)
    ]


def put_day(s3, bucket: str, day, storage_class: str = "STANDARD") -> None:
    body = gzip.compress("".join(json.dumps(e) + "\n" for e in archived_events(day)).encode())
    s3.put_object(Bucket=bucket, Key=archive_key(day), Body=body, StorageClass=storage_class)


def make_bucket(s3, name: str, region: str = "af-south-1") -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


# -- Glacier: pending, then resumed -------------------------------------------------------------------------


@pytest.fixture
def glacier(config, tmp_path):
    with mock_aws():
        clients = ClientProvider(config.environment("dev"))
        names = config.resource_names("dev")
        s3 = clients.client("s3")
        make_bucket(s3, names["audit_archive_bucket"])
        day = TODAY - timedelta(days=200)
        put_day(s3, names["audit_archive_bucket"], day, "GLACIER")
        still_restoring = {"on": True}

        def pretend_restoring(parsed, **_):
            # moto completes a restore at once; AWS takes hours. While on, S3 says it is still going.
            if still_restoring["on"] and "Restore" in parsed:
                parsed["Restore"] = 'ongoing-request="true"'

        s3.meta.events.register("after-call.s3.HeadObject", pretend_restoring)
        since = datetime.combine(day, datetime.min.time(), UTC)
        params = {
            "since": since.isoformat(),
            "until": (since + timedelta(days=1)).isoformat(),
            "filters": {},
            "format": "jsonl",
            "gzip": False,
            "out": str(tmp_path / "cold.jsonl"),
            "wait": False,
            "poll_seconds": 0,
        }
        yield clients, names, day, params, still_restoring


def runner(clients, tmp_path) -> Runner:
    return Runner(
        console=RecordingConsole(),
        prompter=ScriptedPrompter(interactive=False),
        runs_dir=tmp_path / "runs",
        options=RunOptions(),
        services=EnvironmentServices(identity=identity(MOTO_ACCOUNT), expected_account=MOTO_ACCOUNT, aws=clients),
    )


def test_a_pending_glacier_restore_stops_the_export_and_a_resume_finishes_it(glacier, config, tmp_path):
    clients, names, day, params, still_restoring = glacier

    waiting = runner(clients, tmp_path).run(audit_export(True), "dev", params, names=names, config=config)

    assert (waiting.status, waiting.exit_code) == ("waiting", ExitCode.WAITING)
    assert [s.status for s in waiting.steps] == ["ok", "waiting", "not run"]
    assert f"1 Glacier object(s) are being restored ({day})" in waiting.steps[1].error
    assert f"--resume {waiting.run_id}" in waiting.steps[1].error
    assert not (tmp_path / "cold.jsonl").exists()

    still_restoring["on"] = False
    resumed = runner(clients, tmp_path).run(
        audit_export(True), "dev", params, names=names, config=config, resume=waiting.run_id
    )

    assert resumed.status == "succeeded", resumed.steps
    assert resumed.outputs["restore"]["requested"] == 0  # requested by the first run, not again
    exported = [json.loads(line) for line in (tmp_path / "cold.jsonl").read_text().splitlines()]
    assert exported == archived_events(day)
    assert resumed.outputs["export"]["per_tier"] == {"table": 0, "warm": 0, "cold": 2}


def test_with_wait_the_export_waits_for_the_restore(glacier, config, tmp_path):
    clients, names, _, params, still_restoring = glacier
    polls = {"n": 0}

    def restored_after_two_polls(**_):
        polls["n"] += 1
        still_restoring["on"] = polls["n"] < 6  # plan, request, first look, then two polls still pending

    clients.client("s3").meta.events.register("before-call.s3.HeadObject", restored_after_two_polls)

    result = runner(clients, tmp_path).run(
        audit_export(True), "dev", {**params, "wait": True}, names=names, config=config
    )

    assert result.status == "succeeded", result.steps
    assert polls["n"] >= 6  # it polled until S3 said the restore was done
    assert len((tmp_path / "cold.jsonl").read_text().splitlines()) == 2


# -- each compliance check, passing and failing ---------------------------------------------------------------


@pytest.fixture
def healthy(config):
    """prod's audit storage as Terraform builds it, with a month of archive and a day in the table."""
    with mock_aws():
        clients = ClientProvider(config.environment("prod"))
        names = config.resource_names("prod")
        dynamodb, s3 = clients.client("dynamodb"), clients.client("s3")
        create_by_day_table(dynamodb, names["audit_table"])
        dynamodb.update_time_to_live(
            TableName=names["audit_table"], TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
        dynamodb.update_continuous_backups(
            TableName=names["audit_table"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        put_item(dynamodb, names, NOW - timedelta(hours=1))
        bucket, dr_bucket = names["audit_archive_bucket"], names["audit_archive_dr_bucket"]
        make_bucket(s3, bucket)
        make_bucket(clients.client("s3", "eu-west-1"), dr_bucket, "eu-west-1")
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
            },
        )
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=ARCHIVE_LIFECYCLE)
        s3.put_bucket_replication(
            Bucket=bucket,
            ReplicationConfiguration={
                "Role": f"arn:aws:iam::{MOTO_ACCOUNT}:role/replication",
                "Rules": [
                    {
                        "ID": "to-dr",
                        "Status": "Enabled",
                        "Priority": 1,
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Disabled"},
                        "Destination": {"Bucket": f"arn:aws:s3:::{dr_bucket}"},
                    }
                ],
            },
        )
        for age in range(30, 61):
            put_day(s3, bucket, TODAY - timedelta(days=age))
        cloudwatch = clients.client("cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName=names["alarms"]["audit-write-failures"],
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=names["alarms"]["audit-write-failures"], StateValue="OK", StateReason="t")
        clients.client("logs").create_log_group(logGroupName="/aws/lambda/am-prod-audit-writer")
        yield clients, names


def put_item(dynamodb, names, moment: datetime, horizon_days: int = 30) -> None:
    ts = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dynamodb.put_item(
        TableName=names["audit_table"],
        Item={
            "pk": {"S": "TEAM#team-alpha"},
            "sk": {"S": f"{ts}#{ts}"},
            "day": {"S": ts[:10]},
            "event_id": {"S": ts},
            "ts": {"S": ts},
            "expires_at": {"N": str(int((moment + timedelta(days=horizon_days)).timestamp()))},
        },
    )


def results(clients, names, config) -> dict[str, dict]:
    checks = [
        *table_checks(clients, names, TODAY),
        *archive_checks(clients, names, TODAY, replicated=True),
        *writer_checks(clients, names, config, "prod"),
    ]
    return {c.name: c.as_dict() for c in checks}


def test_healthy_audit_storage_passes_every_check(healthy, config):
    clients, names = healthy

    found = results(clients, names, config)

    assert {name: c["status"] for name, c in found.items()} == dict.fromkeys(found, "PASS")
    assert len(found) == 12


def _ttl_off(clients, names):
    clients.client("dynamodb").update_time_to_live(
        TableName=names["audit_table"], TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"}
    )


def _pitr_off(clients, names):
    clients.client("dynamodb").update_continuous_backups(
        TableName=names["audit_table"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )


def _wrong_horizon(clients, names):
    put_item(clients.client("dynamodb"), names, NOW - timedelta(minutes=5), horizon_days=90)


def _stale_item(clients, names):
    put_item(clients.client("dynamodb"), names, NOW - timedelta(days=40))


def _versioning_suspended(clients, names):
    clients.client("s3").put_bucket_versioning(
        Bucket=names["audit_archive_bucket"], VersioningConfiguration={"Status": "Suspended"}
    )


def _no_encryption(clients, names):
    clients.client("s3").delete_bucket_encryption(Bucket=names["audit_archive_bucket"])


def _lifecycle_by_hand(clients, names):
    rules = json.loads(json.dumps(ARCHIVE_LIFECYCLE))
    rules["Rules"][0]["Expiration"]["Days"] = 365
    clients.client("s3").put_bucket_lifecycle_configuration(
        Bucket=names["audit_archive_bucket"], LifecycleConfiguration=rules
    )


def _no_replication(clients, names):
    clients.client("s3").delete_bucket_replication(Bucket=names["audit_archive_bucket"])


def _missing_day(clients, names):
    clients.client("s3").delete_object(
        Bucket=names["audit_archive_bucket"], Key=archive_key(TODAY - timedelta(days=45))
    )


def _writer_alarm(clients, names):
    clients.client("cloudwatch").set_alarm_state(
        AlarmName=names["alarms"]["audit-write-failures"], StateValue="ALARM", StateReason="t"
    )


def _audit_error_logged(clients, names):
    logs = clients.client("logs")
    logs.create_log_stream(logGroupName="/aws/lambda/am-prod-audit-writer", logStreamName="s")
    logs.put_log_events(
        logGroupName="/aws/lambda/am-prod-audit-writer",
        logStreamName="s",
        logEvents=[{"timestamp": int(NOW.timestamp() * 1000), "message": '{"code": "AM-AUD-001"}'}],
    )


@pytest.mark.parametrize(
    ("breakage", "check", "evidence"),
    [
        (_ttl_off, "ttl", "TTL DISABLED"),
        (_wrong_horizon, "ttl-horizon", "90 days"),
        (_pitr_off, "pitr", "point-in-time recovery DISABLED"),
        (_stale_item, "table-age", "1 item(s) older than 30+2 days"),
        (_versioning_suspended, "archive-versioning", "versioning Suspended"),
        (_no_encryption, "archive-encryption", "no default encryption"),
        (_lifecycle_by_hand, "archive-lifecycle", "expire after 365 days"),
        (_no_replication, "archive-replication", "no enabled replication rule"),
        (_missing_day, "archive-gaps", (TODAY - timedelta(days=45)).isoformat()),
        (_writer_alarm, "writer-failures", "is ALARM"),
        (_audit_error_logged, "audit-error-codes", "AM-AUD-001 ×1"),
    ],
)
def test_each_check_fails_with_its_evidence_and_a_remediation(healthy, config, breakage, check, evidence):
    clients, names = healthy
    breakage(clients, names)

    found = results(clients, names, config)

    assert found[check]["status"] == "FAIL", found[check]
    assert evidence in found[check]["evidence"]
    assert found[check]["remediation"]
    assert [name for name, c in found.items() if c["status"] != "PASS"] == [check]
