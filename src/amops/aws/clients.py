"""One place that makes boto3 clients: per environment, region and service, cached."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from amops.aws.errors import aws_errors
from amops.config import Environment
from amops.runbook.ports import CallerIdentity

_BOTO_CONFIG = BotoConfig(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    user_agent_extra="amops",
)


class ClientProvider:
    """Clients for one environment: its profile or assumed role, its regions, its endpoint."""

    def __init__(
        self,
        environment: Environment,
        profile: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        self.environment = environment
        self._profile = profile or environment.profile
        self._base_session = session
        self._clients: dict[tuple[str, str], Any] = {}

    @cached_property
    def session(self) -> boto3.Session:
        with aws_errors("opening an AWS session"):
            base = self._base_session or boto3.Session(profile_name=self._profile)
            if not self.environment.role_arn:
                return base
            sts = base.client("sts", region_name=self.environment.region, **self._endpoint())
            credentials = sts.assume_role(RoleArn=self.environment.role_arn, RoleSessionName="amops")["Credentials"]
            return boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )

    def for_environment(self, environment: Environment) -> ClientProvider:
        """Clients for another environment (a promotion's source): its own profile or role."""
        return ClientProvider(environment, session=self._base_session)

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.environment.region
        key = (service, region)
        if key not in self._clients:
            with aws_errors(f"creating the {service} client"):
                self._clients[key] = self.session.client(
                    service, region_name=region, config=_BOTO_CONFIG, **self._endpoint()
                )
        return self._clients[key]

    def caller_identity(self) -> CallerIdentity:
        with aws_errors("asking STS who the caller is"):
            answer = self.client("sts").get_caller_identity()
        return CallerIdentity(account=answer["Account"], arn=answer["Arn"])

    def _endpoint(self) -> dict[str, str]:
        return {"endpoint_url": self.environment.endpoint_url} if self.environment.endpoint_url else {}
