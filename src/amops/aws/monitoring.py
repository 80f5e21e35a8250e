"""CloudWatch alarms, DynamoDB table status and SSM parameters: what the checks read."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from amops.aws.clients import ClientProvider
from amops.aws.errors import translate, translated


class Monitoring:
    def __init__(self, clients: ClientProvider, region: str | None = None) -> None:
        self.clients = clients
        self.region = region or clients.environment.region

    @translated("reading alarm states")
    def alarm_states(self, names: list[str]) -> dict[str, str]:
        """Each named alarm's state; a missing alarm is reported as MISSING."""
        answer = self.clients.client("cloudwatch", self.region).describe_alarms(AlarmNames=names)
        found = {alarm["AlarmName"]: alarm["StateValue"] for alarm in answer["MetricAlarms"]}
        return {name: found.get(name, "MISSING") for name in names}

    @translated("reading table status")
    def table_status(self, table: str) -> str:
        return self.clients.client("dynamodb", self.region).describe_table(TableName=table)["Table"]["TableStatus"]

    @translated("reading a secure parameter")
    def secret_parameter(self, name: str) -> str:
        ssm = self.clients.client("ssm", self.region)
        return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

    def log_messages(self, group: str, since_ms: int) -> Iterator[str]:
        """Every message logged to group since since_ms (epoch ms); none when the group does not exist."""
        logs = self.clients.client("logs", self.region)
        try:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms):
                yield from (event["message"] for event in page["events"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise translate(error, f"reading {group}") from error
