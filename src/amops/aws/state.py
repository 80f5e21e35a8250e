"""amops's own shared state in each environment's account: the lock and run-history tables."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from amops.aws.clients import ClientProvider
from amops.aws.errors import translate
from amops.runbook.errors import AwsError, UsageError
from amops.runbook.ports import LockInfo, RunSummary

LOCK_KEY = "environment"
RUN_KEYS = ("environment", "run_id")


def _epoch(iso_moment: str) -> int:
    return int(datetime.fromisoformat(iso_moment.replace("Z", "+00:00")).timestamp())


class _Table:
    def __init__(self, clients: ClientProvider, name: str, purpose: str, config_key: str) -> None:
        self.client = clients.client("dynamodb")
        self.name = name
        self.purpose = purpose
        self.config_key = config_key
        self.where = f"account {clients.environment.account_id}, {clients.environment.region}"

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(TableName=self.name, **kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise AwsError(
                    f"amops's {self.purpose} table {self.name} does not exist in {self.where}",
                    "create it as the README's 'Setting up an environment' says, "
                    f"or fix {self.config_key} in amops.toml",
                ) from error
            raise


class DynamoLockStore:
    """One item per environment, taken with a conditional write so only one run holds it."""

    def __init__(self, clients: ClientProvider, table: str) -> None:
        self.table = _Table(clients, table, "lock", "names.lock_table")

    def acquire(self, lock: LockInfo) -> LockInfo | None:
        item = {key: {"S": value} for key, value in lock.__dict__.items()}
        item["expires_epoch"] = {"N": str(_epoch(lock.expires))}
        for _ in range(3):
            try:
                self.table.call(
                    "put_item",
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k) OR expires_epoch < :now",
                    ExpressionAttributeNames={"#k": LOCK_KEY},
                    ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
                )
                return None
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise translate(error, "taking the environment lock") from error
            holder = self.current(lock.environment)
            if holder is not None:
                return holder
        raise AwsError(f"could not take the lock on {lock.environment}", "run again")

    def release(self, environment: str, run_id: str) -> None:
        try:
            self.table.call(
                "delete_item",
                Key={LOCK_KEY: {"S": environment}},
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return  # someone released it by force; it is not ours to delete any more
            raise translate(error, "releasing the environment lock") from error

    def current(self, environment: str) -> LockInfo | None:
        try:
            item = self.table.call("get_item", Key={LOCK_KEY: {"S": environment}}, ConsistentRead=True)
        except ClientError as error:
            raise translate(error, "reading the environment lock") from error
        return _lock_from_item(item.get("Item"))

    def force_release(self, environment: str) -> LockInfo | None:
        try:
            answer = self.table.call("delete_item", Key={LOCK_KEY: {"S": environment}}, ReturnValues="ALL_OLD")
        except ClientError as error:
            raise translate(error, "releasing the environment lock") from error
        return _lock_from_item(answer.get("Attributes"))


def _lock_from_item(item: dict[str, Any] | None) -> LockInfo | None:
    if not item:
        return None
    if int(item.get("expires_epoch", {}).get("N", "0")) < time.time():
        return None  # expired: anyone may take it
    return LockInfo(**{key: item[key]["S"] for key in LockInfo.__dataclass_fields__})


class DynamoRunStore:
    """Each run's summary and approvals, keyed by environment and run id (time-ordered)."""

    def __init__(self, clients: ClientProvider, table: str) -> None:
        self.table = _Table(clients, table, "run history", "names.runs_table")

    def record(self, summary: RunSummary) -> None:
        fields = {
            key: json.dumps(value, sort_keys=True) if key == "details" else value
            for key, value in summary.as_dict().items()
            if key not in (*RUN_KEYS, "approvals") and value not in (None, {})
        }
        try:
            self.table.call(
                "update_item",
                Key={"environment": {"S": summary.environment}, "run_id": {"S": summary.run_id}},
                UpdateExpression="SET "
                + ", ".join(f"#{key} = :{key}" for key in fields)
                + ", approvals = if_not_exists(approvals, :none)",
                ExpressionAttributeNames={f"#{key}": key for key in fields},
                ExpressionAttributeValues={
                    **{f":{key}": {"S": str(value)} for key, value in fields.items()},
                    ":none": {"L": []},
                },
            )
        except ClientError as error:
            raise translate(error, "recording the run in the team's history") from error

    def add_approval(self, environment: str, run_id: str, approval: dict[str, str]) -> None:
        """Append an approval to a run's record; the run must exist."""
        try:
            self.table.call(
                "update_item",
                Key={"environment": {"S": environment}, "run_id": {"S": run_id}},
                UpdateExpression="SET approvals = list_append(if_not_exists(approvals, :none), :new)",
                ConditionExpression="attribute_exists(run_id)",
                ExpressionAttributeValues={
                    ":none": {"L": []},
                    ":new": {"L": [{"M": {key: {"S": str(value)} for key, value in approval.items()}}]},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise UsageError(
                    f"there is no run {run_id} in {environment}'s run history", "check the run id: amops runs list"
                ) from error
            raise translate(error, "recording the approval in the team's run history") from error

    def list(self, environment: str, limit: int = 50) -> list[RunSummary]:
        try:
            answer = self.table.call(
                "query",
                KeyConditionExpression="environment = :env",
                ExpressionAttributeValues={":env": {"S": environment}},
                ScanIndexForward=False,
                Limit=limit,
            )
        except ClientError as error:
            raise translate(error, "reading the team's run history") from error
        return [_summary_from_item(item) for item in answer.get("Items", [])]

    def get(self, environment: str, run_id: str) -> RunSummary | None:
        try:
            answer = self.table.call("get_item", Key={"environment": {"S": environment}, "run_id": {"S": run_id}})
        except ClientError as error:
            raise translate(error, "reading the team's run history") from error
        return _summary_from_item(answer["Item"]) if "Item" in answer else None


def _summary_from_item(item: dict[str, Any]) -> RunSummary:
    plain = {key: value["S"] for key, value in item.items() if "S" in value}
    approvals = [
        {key: value["S"] for key, value in entry["M"].items()} for entry in item.get("approvals", {}).get("L", [])
    ]
    return RunSummary(
        run_id=plain["run_id"],
        procedure=plain.get("procedure", ""),
        environment=plain["environment"],
        operator=plain.get("operator", ""),
        caller_arn=plain.get("caller_arn", ""),
        status=plain.get("status", ""),
        started_at=plain.get("started_at", ""),
        ended_at=plain.get("ended_at"),
        approvals=approvals,
        details=json.loads(plain["details"]) if plain.get("details") else {},
    )


def create_state_tables(dynamodb: Any, lock_table: str, runs_table: str) -> None:
    """Create amops's two tables (the sandbox and tests; real accounts get them from Terraform)."""
    dynamodb.create_table(
        TableName=lock_table,
        KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName=runs_table,
        KeySchema=[
            {"AttributeName": "environment", "KeyType": "HASH"},
            {"AttributeName": "run_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "environment", "AttributeType": "S"},
            {"AttributeName": "run_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
