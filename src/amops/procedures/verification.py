"""Health checks and smoke tests: what every deploy, promotion and rollback verifies with."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from amops.aws.apigateway import Apis
from amops.aws.clients import ClientProvider
from amops.aws.lambdas import Lambdas
from amops.aws.monitoring import Monitoring
from amops.config import Config
from amops.runbook.context import StepContext
from amops.runbook.errors import AmopsError, StepFailed
from amops.runbook.step import Step, StepKind
from amops.tokens import sign_token

SMOKE_USER = "amops-smoke"
SMOKE_MEMBER = "amops-smoke-member"


@dataclass
class Check:
    name: str
    region: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def api_urls(
    config: Config, env: str, clients: ClientProvider, terraform_outputs: dict | None = None
) -> dict[str, str]:
    """Each region's stage URL: from amops.toml, else Terraform's outputs, else API Gateway's own URL."""
    environment = config.environment(env)
    configured = {environment.region: environment.api_url}
    if environment.dr_region:
        configured[environment.dr_region] = environment.dr_api_url
    from_terraform = (terraform_outputs or {}).get("api_urls") or {}
    names = config.resource_names(env)
    urls = {}
    for region, url in configured.items():
        if not url:
            url = from_terraform.get(region)
        if not url:
            api_id = Apis(clients, region).api_id(names["api"])
            url = f"https://{api_id}.execute-api.{region}.amazonaws.com/{names['stage']}"
        urls[region] = url.rstrip("/")
    return urls


def http(
    url: str, method: str = "GET", token: str | None = None, body: dict | None = None, timeout: float = 15
) -> tuple[int, Any]:
    headers = {"content-type": "application/json", "user-agent": "amops"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # the platform's own API
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return 0, {"error": f"no answer: {getattr(error, 'reason', error)}"}
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, {"raw": raw[:200].decode(errors="replace")}


# -- health -------------------------------------------------------------------------------------


def health_checks(
    config: Config,
    env: str,
    clients: ClientProvider,
    expected: dict[str, str] | None = None,
    terraform_outputs: dict | None = None,
) -> list[Check]:
    """Aliases where expected, /health 200 with the live version, alarms OK, tables ACTIVE — every region."""
    names = config.resource_names(env)
    environment = config.environment(env)
    urls = api_urls(config, env, clients, terraform_outputs)
    checks: list[Check] = []
    shas: dict[str, dict[str, str]] = {}
    for region in environment.regions:
        lambdas = Lambdas(clients, region)
        targets = {short: lambdas.alias_target(name, names["alias"]) for short, name in names["functions"].items()}
        shas[region] = {short: target.sha256 for short, target in targets.items()}
        for short, target in targets.items():
            want = (expected or {}).get(f"{region}/{short}")
            ok = (want is None or target.version == want) and not target.weights
            detail = f"live → v{target.version}" + (f" (expected v{want})" if want and not ok else "")
            if target.weights:
                detail += f"; canary weights {target.weights} still set"
            checks.append(Check(f"alias {short}", region, ok, detail))
        started = time.monotonic()
        status, body = http(f"{urls[region]}/health")
        health_version = targets["health"].version
        ok = status == 200 and isinstance(body, dict) and str(body.get("function_version")) == health_version
        checks.append(
            Check(
                "GET /health",
                region,
                ok,
                f"{status} {json.dumps(body)[:120]}",
                round(time.monotonic() - started, 3),
            )
        )
        states = Monitoring(clients, region).alarm_states(list(names["alarms"].values()))
        bad = {name: state for name, state in states.items() if state != "OK"}
        checks.append(
            Check(
                "alarms",
                region,
                not bad,
                "all OK" if not bad else ", ".join(f"{n} {s}" for n, s in bad.items()),
            )
        )
    monitoring = Monitoring(clients)
    for short, table in names["tables"].items():
        status = monitoring.table_status(table)
        checks.append(Check(f"table {short}", environment.region, status == "ACTIVE", status))
    if environment.dr_region:
        differs = [s for s in shas[environment.region] if shas[environment.region][s] != shas[environment.dr_region][s]]
        checks.append(
            Check(
                "DR code matches primary",
                environment.dr_region,
                not differs,
                "same SHA-256 for every function" if not differs else f"differs: {', '.join(differs)}",
            )
        )
    return checks


# -- smoke tests --------------------------------------------------------------------------------


class SmokeRun:
    """A real pass through the API as a dedicated smoke user, cleaning up what it creates."""

    def __init__(self, config: Config, env: str, clients: ClientProvider, base_url: str) -> None:
        self.config = config
        self.env = env
        self.clients = clients
        self.url = base_url
        self.names = config.resource_names(env)
        self.results: list[Check] = []
        self.team: str | None = None
        key = Monitoring(clients).secret_parameter(self.names["token_signing_key"])
        self.owner = sign_token(key, SMOKE_USER, minutes=15)
        self.member = sign_token(key, SMOKE_MEMBER, minutes=15)
        self.started = datetime.now(UTC)

    def check(self, name: str, test: Callable[[], tuple[bool, str]]) -> bool:
        started = time.monotonic()
        try:
            ok, detail = test()
        except (AmopsError, KeyError, TypeError, ValueError) as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
        self.results.append(
            Check(name, self.clients.environment.region, ok, detail, round(time.monotonic() - started, 3))
        )
        return ok

    def run(self) -> list[Check]:
        try:
            self._steps()
        finally:
            if self.team:
                self.check("clean up: delete the smoke team", self._delete_team)
        return self.results

    def _steps(self) -> None:
        u = self.url
        self.check("health answers 200", lambda: _expect(http(f"{u}/health"), 200))
        self.check("no token is refused (401)", lambda: _expect(http(f"{u}/teams"), 401))
        if not self.check("create a team", self._create_team):
            return
        team = self.team
        self.check(
            "add a member",
            lambda: _expect(
                http(f"{u}/teams/{team}/members", "POST", self.owner, {"user": SMOKE_MEMBER, "role": "member"}),
                201,
            ),
        )
        self.check(
            "an allowed permission is allowed",
            lambda: _expect(
                http(
                    f"{u}/permissions/check",
                    "POST",
                    self.owner,
                    {"team_id": team, "permission": "team.member.add"},
                ),
                200,
                allowed=True,
            ),
        )
        self.check(
            "a denied permission is denied",
            lambda: _expect(
                http(
                    f"{u}/permissions/check",
                    "POST",
                    self.member,
                    {"team_id": team, "permission": "role.assign"},
                ),
                200,
                allowed=False,
            ),
        )
        self.check(
            "send an invitation",
            lambda: _expect(
                http(
                    f"{u}/invitations",
                    "POST",
                    self.owner,
                    {"team_id": team, "email": "smoke-test@example.com"},
                ),
                201,
            ),
        )
        self.check("each action wrote its audit event", self._audit_trail)

    def _create_team(self) -> tuple[bool, str]:
        status, body = http(f"{self.url}/teams", "POST", self.owner, {"name": f"smoke-{uuid.uuid4().hex[:6]}"})
        if status == 201 and isinstance(body, dict) and body.get("team_id"):
            self.team = body["team_id"]
            return True, f"201 {self.team}"
        return False, f"{status} {json.dumps(body)[:120]}"

    def _delete_team(self) -> tuple[bool, str]:
        return _expect(http(f"{self.url}/teams/{self.team}", "DELETE", self.owner), 200)

    def _audit_trail(self) -> tuple[bool, str]:
        wanted = {
            "team.create",
            "team.member.add",
            "permission.check.allowed",
            "permission.check.denied",
            "invitation.send",
        }
        dynamodb = self.clients.client("dynamodb")
        found: set[str] = set()
        deadline = time.monotonic() + 20  # audit events are written asynchronously in AWS
        while time.monotonic() < deadline:
            items = dynamodb.query(
                TableName=self.names["tables"]["audit"],
                KeyConditionExpression="pk = :pk AND sk >= :since",
                ExpressionAttributeValues={
                    ":pk": {"S": f"TEAM#{self.team}"},
                    ":since": {"S": self.started.strftime("%Y-%m-%dT%H:%M:%S")},
                },
            )["Items"]
            found = {item["action"]["S"] for item in items}
            if wanted <= found:
                return True, f"{len(items)} events: " + ", ".join(sorted(found))
            time.sleep(1)
        return False, "missing: " + ", ".join(sorted(wanted - found))


def _expect(answer: tuple[int, Any], status: int, **fields: Any) -> tuple[bool, str]:
    got, body = answer
    ok = got == status and all(isinstance(body, dict) and body.get(k) == v for k, v in fields.items())
    return ok, f"{got} {json.dumps(body)[:120]}"


def smoke_tests(
    config: Config, env: str, clients: ClientProvider, terraform_outputs: dict | None = None
) -> list[Check]:
    url = api_urls(config, env, clients, terraform_outputs)[config.environment(env).region]
    return SmokeRun(config, env, clients, url).run()


def junit_xml(suite: str, checks: list[Check]) -> str:
    """Checks as a JUnit report, for CI systems."""
    root = ElementTree.Element(
        "testsuite",
        name=suite,
        tests=str(len(checks)),
        failures=str(sum(not c.ok for c in checks)),
        time=f"{sum(c.seconds for c in checks):.3f}",
    )
    for check in checks:
        case = ElementTree.SubElement(
            root,
            "testcase",
            classname=f"{suite}.{check.region}",
            name=check.name,
            time=f"{check.seconds:.3f}",
        )
        if not check.ok:
            ElementTree.SubElement(case, "failure", message=check.detail)
        ElementTree.SubElement(case, "system-out").text = check.detail
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


# -- the same two steps close every procedure that changes code ---------------------------------


def health_step(why: str) -> Step:
    return Step(
        id="health",
        amops="amops health {env}",
        title="Health checks",
        why=why,
        command="amops health {env}   # by hand: curl -s API_URL/health; aws lambda get-alias ...",
        expect="Every check ✓.",
        kind=StepKind.READ_ONLY,
        iam=("lambda:GetAlias", "lambda:GetFunction", "cloudwatch:DescribeAlarms", "dynamodb:DescribeTable"),
        run=_run_health,
        unverified="it is itself the verification",
    )


def smoke_step(why: str, expect: str = "Every test ✓.") -> Step:
    return Step(
        id="smoke",
        amops="amops smoke {env}",
        title="Smoke tests",
        why=why,
        command="amops smoke {env}",
        expect=expect,
        kind=StepKind.MUTATING,
        iam=("ssm:GetParameter", "dynamodb:Query"),
        run=_run_smoke,
        irreversible="it writes real data: a test team (deleted at the end), audit events, and one invitation "
        "email to smoke-test@example.com",
        unverified="it is itself the verification",
    )


def _run_health(ctx: StepContext) -> dict[str, Any]:
    """Expects every alias where this run's `live` output put it."""
    expected = {
        f"{region}/{short}": version
        for region, versions in (ctx.output("live") or {}).items()
        for short, version in versions.items()
    }
    checks = health_checks(ctx.config, ctx.environment, ctx.aws, expected, ctx.output("terraform_outputs"))
    _raise_on_failures(ctx, f"Health of {ctx.environment}", checks)
    return {"health": "ok"}


def _run_smoke(ctx: StepContext) -> dict[str, Any]:
    checks = smoke_tests(ctx.config, ctx.environment, ctx.aws, ctx.output("terraform_outputs"))
    _raise_on_failures(ctx, f"Smoke tests in {ctx.environment}", checks)
    return {"smoke": f"{len(checks)} passed"}


def _raise_on_failures(ctx: StepContext, title: str, checks: list[Check]) -> None:
    ctx.console.table(
        title, ["check", "region", "", "detail"], [(c.name, c.region, "✓" if c.ok else "✗", c.detail) for c in checks]
    )
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise StepFailed(f"{len(failed)} failed: {', '.join(failed)}")
