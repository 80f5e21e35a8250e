"""The lock and run-history tables, against moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from amops.aws.clients import ClientProvider
from amops.aws.state import DynamoLockStore, DynamoRunStore, create_state_tables
from amops.runbook.errors import AwsError
from amops.runbook.ports import LockInfo, RunSummary
from tests.conftest import MOTO_ACCOUNT


@pytest.fixture
def clients(config):
    with mock_aws():
        provider = ClientProvider(config.environment("dev"))
        create_state_tables(provider.client("dynamodb"), "amops-locks", "amops-runs")
        yield provider


def lock(run_id: str, holder: str = "alice", expires_in: timedelta = timedelta(hours=4)) -> LockInfo:
    now = datetime.now(UTC)
    return LockInfo(
        environment="dev",
        run_id=run_id,
        holder=holder,
        caller_arn=f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/ops/{holder}",
        procedure="deployment",
        since=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        expires=(now + expires_in).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )


def test_the_first_run_takes_the_lock_and_a_second_is_told_who_holds_it(clients):
    locks = DynamoLockStore(clients, "amops-locks")

    assert locks.acquire(lock("run-1", "alice")) is None
    holder = locks.acquire(lock("run-2", "bob"))

    assert (holder.run_id, holder.holder, holder.procedure) == ("run-1", "alice", "deployment")
    assert locks.current("dev").run_id == "run-1"


def test_release_frees_the_lock_only_for_its_own_run(clients):
    locks = DynamoLockStore(clients, "amops-locks")
    locks.acquire(lock("run-1"))

    locks.release("dev", "run-other")
    assert locks.current("dev").run_id == "run-1"

    locks.release("dev", "run-1")
    assert locks.current("dev") is None
    assert locks.acquire(lock("run-2", "bob")) is None


def test_an_expired_lock_can_be_taken_over(clients):
    locks = DynamoLockStore(clients, "amops-locks")
    locks.acquire(lock("run-dead", expires_in=timedelta(seconds=-60)))

    assert locks.current("dev") is None
    assert locks.acquire(lock("run-2", "bob")) is None
    assert locks.current("dev").holder == "bob"


def test_force_release_returns_what_it_released(clients):
    locks = DynamoLockStore(clients, "amops-locks")
    locks.acquire(lock("run-1"))

    released = locks.force_release("dev")

    assert released.run_id == "run-1"
    assert locks.current("dev") is None


def test_run_summaries_are_shared_newest_first_and_updates_keep_approvals(clients):
    runs = DynamoRunStore(clients, "amops-runs")
    for run_id in ("20261201-090000-deployment-dev-aaaa", "20261203-090000-deployment-dev-bbbb"):
        runs.record(RunSummary(run_id, "deployment", "dev", "alice", "arn", "running", "2026-12-01T09:00:00Z"))
    clients.client("dynamodb").update_item(
        TableName="amops-runs",
        Key={"environment": {"S": "dev"}, "run_id": {"S": "20261203-090000-deployment-dev-bbbb"}},
        UpdateExpression="SET approvals = list_append(approvals, :a)",
        ExpressionAttributeValues={":a": {"L": [{"M": {"by": {"S": "thandi"}}}]}},
    )

    runs.record(
        RunSummary(
            "20261203-090000-deployment-dev-bbbb",
            "deployment",
            "dev",
            "alice",
            "arn",
            "succeeded",
            "2026-12-03T09:00:00Z",
            ended_at="2026-12-03T09:05:00Z",
            details={"shift.live": {"af-south-1": {"teams": "8"}}},
        )
    )

    listed = runs.list("dev")
    assert [s.run_id for s in listed] == [
        "20261203-090000-deployment-dev-bbbb",
        "20261201-090000-deployment-dev-aaaa",
    ]
    assert listed[0].status == "succeeded" and listed[0].ended_at == "2026-12-03T09:05:00Z"
    assert listed[0].approvals == [{"by": "thandi"}]
    assert listed[0].details == {"shift.live": {"af-south-1": {"teams": "8"}}}
    assert listed[1].details == {}
    assert runs.get("dev", "nope") is None


def test_a_missing_state_table_says_which_table_and_account(config):
    with mock_aws():
        locks = DynamoLockStore(ClientProvider(config.environment("dev")), "amops-locks")
        with pytest.raises(AwsError, match=f"lock table amops-locks does not exist in account {MOTO_ACCOUNT}"):
            locks.current("dev")


def test_caller_identity_comes_from_sts(config):
    with mock_aws():
        identity = ClientProvider(config.environment("dev")).caller_identity()

    assert identity.account == MOTO_ACCOUNT
    assert identity.arn.startswith(f"arn:aws:sts::{MOTO_ACCOUNT}:")


def test_a_role_arn_is_assumed_and_its_account_is_what_sts_reports(config):
    from dataclasses import replace

    environment = replace(config.environment("dev"), role_arn="arn:aws:iam::210987654321:role/amops-operator")
    with mock_aws():
        identity = ClientProvider(environment).caller_identity()

    assert identity.account == "210987654321"
    assert "assumed-role/amops-operator/amops" in identity.arn
