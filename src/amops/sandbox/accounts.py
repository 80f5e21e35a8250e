"""Sessions into the sandbox's accounts: assume each environment's role, as an operator would."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config as BotoConfig

from amops.sandbox import BASE_CREDENTIALS, PRIMARY_REGION, role_arn

_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60)


def base_session() -> boto3.Session:
    return boto3.Session(region_name=PRIMARY_REGION, **BASE_CREDENTIALS)


@cache
def credentials(endpoint: str, env: str) -> dict[str, str]:
    sts = base_session().client("sts", endpoint_url=endpoint)
    answer = sts.assume_role(RoleArn=role_arn(env), RoleSessionName="amops-sandbox")["Credentials"]
    return {
        "aws_access_key_id": answer["AccessKeyId"],
        "aws_secret_access_key": answer["SecretAccessKey"],
        "aws_session_token": answer["SessionToken"],
    }


class Account:
    """Clients for one environment's account in the sandbox."""

    def __init__(self, endpoint: str, env: str) -> None:
        self.endpoint = endpoint
        self.env = env
        self.session = boto3.Session(**credentials(endpoint, env))
        self._clients: dict[tuple[str, str], object] = {}

    def client(self, service: str, region: str = PRIMARY_REGION):  # a boto3 client
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=region, endpoint_url=self.endpoint, config=_CONFIG
            )
        return self._clients[key]
