"""Lambda: what the live alias points at, publishing new code, moving the alias."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from amops.aws.clients import ClientProvider
from amops.aws.errors import translated


def sha256_hex(code_sha256: str) -> str:
    """Lambda reports CodeSha256 as base64; artifacts are keyed by hex."""
    return base64.b64decode(code_sha256).hex()


@dataclass(frozen=True)
class AliasTarget:
    function: str
    region: str
    version: str
    sha256: str  # hex
    description: str
    weights: dict[str, float] = field(default_factory=dict)  # canary: other version → share of traffic


class Lambdas:
    def __init__(self, clients: ClientProvider, region: str | None = None) -> None:
        self.region = region or clients.environment.region
        self.client = clients.client("lambda", self.region)

    @translated("reading a function's live alias")
    def alias_target(self, function: str, alias: str = "live") -> AliasTarget:
        answer = self.client.get_alias(FunctionName=function, Name=alias)
        version = self.client.get_function(FunctionName=function, Qualifier=answer["FunctionVersion"])
        configuration = version["Configuration"]
        return AliasTarget(
            function=function,
            region=self.region,
            version=answer["FunctionVersion"],
            sha256=sha256_hex(configuration["CodeSha256"]),
            description=configuration.get("Description", ""),
            weights=dict((answer.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}),
        )

    @translated("publishing new code")
    def publish(
        self,
        function: str,
        sha256: str,
        description: str,
        *,
        bucket: str | None = None,
        key: str | None = None,
        zip_file: bytes | None = None,
    ) -> str:
        """Update the code (from S3, or the zip itself), wait for it, publish a version; its number."""
        code = {"S3Bucket": bucket, "S3Key": key} if bucket else {"ZipFile": zip_file}
        self.client.update_function_code(FunctionName=function, **code)
        self.client.get_waiter("function_updated_v2").wait(
            FunctionName=function, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        published = self.client.publish_version(
            FunctionName=function,
            Description=description,
            CodeSha256=base64.b64encode(bytes.fromhex(sha256)).decode(),  # refuse if someone raced us
        )
        return published["Version"]

    @translated("moving the live alias")
    def point_alias(
        self, function: str, version: str, alias: str = "live", weights: dict[str, float] | None = None
    ) -> None:
        self.client.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )

    @translated("listing published versions")
    def versions(self, function: str) -> list[str]:
        found = []
        for page in self.client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
            found += [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]
        return sorted(found, key=int)
