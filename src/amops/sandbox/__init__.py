"""The sandbox: a local AWS (moto server) on loopback with the reference stack provisioned in it.

The parts: `control` starts and stops the sandbox process (used by the CLI); `server` is that
process; `stack` provisions the platform; `seed` makes its data; `gateway` serves each
environment's API by running the code its `live` alias points at; `simulator` plays the AWS
background processes moto does not run. Only the simulator and the gateway play AWS's part;
amops itself always calls the real AWS APIs.
"""

from __future__ import annotations

ACCOUNTS = {"dev": "100000000001", "sit": "100000000002", "prod": "100000000003"}
OPERATOR_ROLE = "amops-operator"
DOMAIN = "am.sandbox.local"
PRIMARY_REGION = "af-south-1"
DR_REGION = "eu-west-1"
# The credentials a caller starts from; assuming an environment's role gives that account.
BASE_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
LOOPBACK = "127.0.0.1"


def role_arn(env: str) -> str:
    return f"arn:aws:iam::{ACCOUNTS[env]}:role/{OPERATOR_ROLE}"


def regions(env: str) -> list[str]:
    return [PRIMARY_REGION, DR_REGION] if env == "prod" else [PRIMARY_REGION]
