"""CloudWatch alarms, DynamoDB table status and SSM parameters: what the checks read."""

from __future__ import annotations

from amops.aws.clients import ClientProvider
from amops.aws.errors import translated


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
