"""The local API gateway: serves an environment's API by running the code its `live` alias points at.

moto cannot invoke API Gateway stages in server mode nor run Lambda code without Docker, so this
plays both parts: it reads the REST API's routes from API Gateway, follows each integration to
the alias, finds that version's zip in the artifacts bucket by its SHA-256, and runs the handler
with the function's environment, as Lambda would. Handlers return their audit event in an extra
`audit` field, which stands in for the asynchronous invoke of the audit writer they would make
in AWS; the gateway strips it and runs the audit writer.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import os
import random
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3

from amops.sandbox.accounts import Account, credentials

# Handlers share os.environ, stdout and boto3's default session: one invocation at a time.
_INVOCATION = threading.Lock()
_INTEGRATION = re.compile(r"functions/arn:aws:lambda:[^:]+:\d+:function:([^:/]+)(?::([^/]+))?/invocations")


class InvocationError(Exception):
    """The handler raised: API Gateway answers 502."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    qualifier: str
    authorizer: tuple[str, str] | None  # (function, qualifier)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        template, actual = self.path.strip("/").split("/"), path.strip("/").split("/")
        if len(template) != len(actual):
            return None
        params = {}
        for want, got in zip(template, actual, strict=True):
            if want.startswith("{") and want.endswith("}"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


class FunctionRunner:
    """Runs a function's published code the way Lambda would."""

    def __init__(self, account: Account, region: str, artifacts_bucket: str, code_dir: Path) -> None:
        self.account = account
        self.region = region
        self.artifacts_bucket = artifacts_bucket
        self.code_dir = code_dir
        self._modules: dict[str, ModuleType] = {}
        self._logs = account.client("logs", region)
        self._known_streams: set[tuple[str, str]] = set()

    def resolve(self, function: str, qualifier: str) -> dict[str, Any]:
        """The configuration of the version the qualifier points at (weighted, for canaries)."""
        lam = self.account.client("lambda", self.region)
        version = qualifier
        if not qualifier.isdigit() and qualifier != "$LATEST":
            alias = lam.get_alias(FunctionName=function, Name=qualifier)
            version = alias["FunctionVersion"]
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            draw = random.random()
            for other, weight in weights.items():
                if draw < weight:
                    version = other
                    break
                draw -= weight
        return lam.get_function(FunctionName=function, Qualifier=version)["Configuration"]

    def invoke(self, function: str, qualifier: str, event: Mapping[str, Any]) -> Any:
        configuration = self.resolve(function, qualifier)
        module = self._module(function, configuration)
        handler_name = configuration.get("Handler", "handler.handler").rsplit(".", 1)[1]
        request_id = str(uuid.uuid4())
        context = SimpleNamespace(
            function_name=function,
            function_version=configuration["Version"],
            invoked_function_arn=configuration["FunctionArn"],
            memory_limit_in_mb=configuration.get("MemorySize", 128),
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function}",
            get_remaining_time_in_millis=lambda: 10_000,
        )
        variables = {
            **((configuration.get("Environment") or {}).get("Variables") or {}),
            "AWS_ENDPOINT_URL": self.account.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_LAMBDA_FUNCTION_VERSION": configuration["Version"],
            **{key.upper(): value for key, value in credentials(self.account.endpoint, self.account.env).items()},
        }
        captured = io.StringIO()
        error: BaseException | None = None
        with _INVOCATION, _environment(variables), contextlib.redirect_stdout(captured):
            boto3.DEFAULT_SESSION = None  # a handler's boto3 must see this function's credentials
            try:
                result = getattr(module, handler_name)(dict(event), context)
            except Exception as raised:  # what the handler raised is the function's error, not ours
                error = raised
            finally:
                boto3.DEFAULT_SESSION = None
        lines = captured.getvalue().splitlines()
        if error is not None and getattr(error, "error_code", None) is None:
            lines.append(
                json.dumps(
                    {
                        "level": "ERROR",
                        "message": f"Unhandled exception: {error!r}",
                        "errorType": type(error).__name__,
                        "request_id": request_id,
                    }
                )
            )
        self._ship_logs(function, configuration, lines)
        if error is not None:
            raise InvocationError(str(error)) from error
        return result

    def _module(self, function: str, configuration: Mapping[str, Any]) -> ModuleType:
        sha_hex = base64.b64decode(configuration["CodeSha256"]).hex()
        if sha_hex in self._modules:
            return self._modules[sha_hex]
        target = self.code_dir / sha_hex
        if not (target / "handler.py").is_file():
            short = function.split("-", 2)[2] if function.count("-") >= 2 else function
            s3 = self.account.client("s3")
            key = f"lambdas/{short}/{sha_hex}.zip"
            try:
                data = s3.get_object(Bucket=self.artifacts_bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                raise InvocationError(
                    f"no code for {function} version {configuration['Version']}: "
                    f"s3://{self.artifacts_bucket}/{key} does not exist"
                ) from None
            target.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(target)
        module_file = configuration.get("Handler", "handler.handler").rsplit(".", 1)[0] + ".py"
        spec = importlib.util.spec_from_file_location(f"am_sandbox_{sha_hex[:16]}", target / module_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self._modules[sha_hex] = module
        return module

    def _ship_logs(self, function: str, configuration: Mapping[str, Any], lines: list[str]) -> None:
        if not lines:
            return
        group = f"/aws/lambda/{function}"
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{configuration['Version']}]sandbox"
        if (group, stream) not in self._known_streams:
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known_streams.add((group, stream))
        now = int(time.time() * 1000)
        self._logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": line} for line in lines],
        )


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]):  # a context manager
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class ApiGateway:
    """One environment's API in one region."""

    def __init__(
        self,
        account: Account,
        region: str,
        api_name: str,
        stage: str,
        audit_function: str,
        access_log_group: str,
        runner: FunctionRunner,
    ) -> None:
        self.account = account
        self.region = region
        self.api_name = api_name
        self.stage = stage
        self.audit_function = audit_function
        self.access_log_group = access_log_group
        self.runner = runner
        self._routes: list[Route] = []
        self._deployment: str | None = None
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        """The routes of the deployed stage, re-read whenever a new deployment is made."""
        client = self.account.client("apigateway", self.region)
        api_id = next(api["id"] for api in client.get_rest_apis()["items"] if api["name"] == self.api_name)
        deployment = client.get_stage(restApiId=api_id, stageName=self.stage)["deploymentId"]
        with self._lock:
            if deployment != self._deployment:
                self._routes = self._read_routes(client, api_id)
                self._deployment = deployment
            return self._routes

    def _read_routes(self, client: Any, api_id: str) -> list[Route]:
        authorizers = {item["id"]: item for item in client.get_authorizers(restApiId=api_id)["items"]}
        routes = []
        for resource in client.get_resources(restApiId=api_id)["items"]:
            for method in resource.get("resourceMethods") or {}:
                detail = client.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
                found = _INTEGRATION.search((detail.get("methodIntegration") or {}).get("uri", ""))
                if not found:
                    continue
                authorizer = None
                if detail.get("authorizationType") == "CUSTOM":
                    auth = _INTEGRATION.search(authorizers[detail["authorizerId"]]["authorizerUri"])
                    authorizer = (auth.group(1), auth.group(2) or "$LATEST")
                routes.append(Route(method, resource["path"], found.group(1), found.group(2) or "$LATEST", authorizer))
        return routes

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: str | None, source_ip: str
    ) -> tuple[int, dict[str, str], str]:
        started = time.time()
        request_id = str(uuid.uuid4())
        path = raw_path.split("?", 1)[0]
        prefix = f"/{self.stage}"
        status, answer_headers, answer = 404, {}, json.dumps({"message": "Not Found"})
        audit = None
        if path == prefix or path.startswith(prefix + "/"):
            resource_path = path[len(prefix) :] or "/"
            for route in self.routes():
                params = route.match(method, resource_path)
                if params is None:
                    continue
                status, answer_headers, answer, audit = self._run(
                    route, params, resource_path, method, headers, body, source_ip, request_id
                )
                break
        if audit is not None:
            self._audit({**audit, "request_id": request_id, "source_ip": source_ip})
        self._access_log(request_id, source_ip, method, path, status, started)
        return (
            status,
            {"content-type": "application/json", "x-amzn-requestid": request_id, **answer_headers},
            answer,
        )

    def _run(
        self,
        route: Route,
        params: dict[str, str],
        resource_path: str,
        method: str,
        headers: Mapping[str, str],
        body: str | None,
        source_ip: str,
        request_id: str,
    ):
        principal = None
        if route.authorizer:
            token = next((value for key, value in headers.items() if key.lower() == "authorization"), "")
            try:
                policy = self.runner.invoke(
                    *route.authorizer,
                    {
                        "type": "TOKEN",
                        "authorizationToken": token,
                        "methodArn": f"arn:aws:execute-api:{self.region}:{self.account.env}:api/{self.stage}/"
                        f"{method}{route.path}",
                    },
                )
            except InvocationError:
                denied = {
                    "actor": "anonymous",
                    "action": "auth.denied",
                    "outcome": "deny",
                    "team_id": None,
                    "resource": resource_path,
                }
                return 401, {}, json.dumps({"message": "Unauthorized"}), denied
            effects = {s.get("Effect") for s in policy.get("policyDocument", {}).get("Statement", [])}
            if effects != {"Allow"}:
                return 403, {}, json.dumps({"message": "Forbidden"}), None
            principal = {"principalId": policy["principalId"], **(policy.get("context") or {})}
        event = {
            "resource": route.path,
            "path": resource_path,
            "httpMethod": method,
            "headers": dict(headers),
            "pathParameters": params or None,
            "body": body,
            "isBase64Encoded": False,
            "requestContext": {
                "requestId": request_id,
                "stage": self.stage,
                "resourcePath": route.path,
                "httpMethod": method,
                "identity": {"sourceIp": source_ip},
                "authorizer": principal,
            },
        }
        try:
            result = self.runner.invoke(route.function, route.qualifier, event)
        except InvocationError:
            return 502, {}, json.dumps({"message": "Internal server error"}), None
        if not isinstance(result, dict) or "statusCode" not in result:
            return 502, {}, json.dumps({"message": "Internal server error"}), None
        audit = result.pop("audit", None)
        body_text = result.get("body") or ""
        return int(result["statusCode"]), dict(result.get("headers") or {}), body_text, audit

    def _audit(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(InvocationError):  # the audit writer logs its own failures (AM-AUD-…)
            self.runner.invoke(self.audit_function, "live", event)

    def _access_log(self, request_id: str, ip: str, method: str, path: str, status: int, started: float) -> None:
        logs = self.account.client("logs", self.region)
        stream = f"{self.stage}-{time.strftime('%Y-%m-%d', time.gmtime())}"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=self.access_log_group, logStreamName=stream)
        record = {
            "requestId": request_id,
            "ip": ip,
            "httpMethod": method,
            "path": path,
            "status": status,
            "responseLatency": int((time.time() - started) * 1000),
        }
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.put_log_events(
                logGroupName=self.access_log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(record)}],
            )


def serve(gateway: ApiGateway, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server on loopback for one gateway; the caller runs serve_forever in a thread."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else None
            try:
                status, headers, answer = gateway.handle(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
            except Exception as error:  # the gateway itself broke: say so, keep serving
                status, headers, answer = (
                    500,
                    {"content-type": "application/json"},
                    json.dumps({"message": f"sandbox gateway error: {error}"}),
                )
            data = answer.encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # http.server's names

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            pass  # the access log goes to CloudWatch Logs, as API Gateway's does

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
