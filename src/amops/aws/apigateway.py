"""API Gateway: the REST API's definition, its stage, and new deployments."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from amops.aws.clients import ClientProvider
from amops.aws.errors import translated
from amops.runbook.errors import AwsError

DEFINITION_MARK = "definition="


@dataclass(frozen=True)
class StageState:
    api_id: str
    deployment_id: str
    deployed_definition: str | None  # the definition hash amops recorded in the deployment


class Apis:
    def __init__(self, clients: ClientProvider, region: str | None = None) -> None:
        self.region = region or clients.environment.region
        self.client = clients.client("apigateway", self.region)

    @translated("finding the REST API")
    def api_id(self, name: str) -> str:
        for page in self.client.get_paginator("get_rest_apis").paginate():
            for api in page["items"]:
                if api["name"] == name:
                    return api["id"]
        raise AwsError(f"no REST API named {name} in {self.region}", "check names.api in amops.toml")

    @translated("reading the API definition")
    def definition_hash(self, api_id: str) -> str:
        """A hash of routes, methods, authorization and integrations: what a deployment freezes."""
        routes = []
        for page in self.client.get_paginator("get_resources").paginate(restApiId=api_id):
            for resource in page["items"]:
                for method in sorted(resource.get("resourceMethods") or {}):
                    detail = self.client.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
                    routes.append(
                        [
                            resource["path"],
                            method,
                            detail.get("authorizationType"),
                            (detail.get("methodIntegration") or {}).get("uri"),
                        ]
                    )
        return hashlib.sha256(json.dumps(sorted(routes)).encode()).hexdigest()

    @translated("reading the stage")
    def stage(self, api_id: str, stage: str) -> StageState:
        deployment_id = self.client.get_stage(restApiId=api_id, stageName=stage)["deploymentId"]
        description = self.client.get_deployment(restApiId=api_id, deploymentId=deployment_id).get("description", "")
        recorded = next(
            (part[len(DEFINITION_MARK) :] for part in description.split() if part.startswith(DEFINITION_MARK)),
            None,
        )
        return StageState(api_id, deployment_id, recorded)

    @translated("deploying the API")
    def deploy(self, api_id: str, stage: str, definition: str, note: str) -> str:
        answer = self.client.create_deployment(
            restApiId=api_id, stageName=stage, description=f"{DEFINITION_MARK}{definition} {note}"
        )
        return answer["id"]

    @translated("pointing the stage at a deployment")
    def point_stage(self, api_id: str, stage: str, deployment_id: str) -> None:
        self.client.update_stage(
            restApiId=api_id,
            stageName=stage,
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment_id}],
        )
