"""The local API gateway runs the code the live alias points at, with the authorizer in front."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amops.packaging import package_function
from tests.sandbox.conftest import http

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(running):
    return lambda env="dev", region="af-south-1": running.state["gateways"][f"{env}/{region}"]


def audit_events_today(account, env, request_id_filter=None):
    from datetime import UTC, datetime

    dynamodb = account(env).client("dynamodb")
    items = dynamodb.query(
        TableName=f"am-{env}-audit",
        IndexName="by-day",
        KeyConditionExpression="#d = :d",
        ExpressionAttributeNames={"#d": "day"},
        ExpressionAttributeValues={":d": {"S": datetime.now(UTC).strftime("%Y-%m-%d")}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_health_answers_200_with_the_running_version(api):
    status, body = http(f"{api()}/health")

    assert status == 200
    assert body == {"status": "ok", "environment": "dev", "region": "af-south-1", "function_version": "1"}


def test_every_region_of_prod_answers(api):
    assert http(f"{api('prod', 'eu-west-1')}/health")[1]["region"] == "eu-west-1"


def test_an_unauthenticated_request_is_401_and_is_audited(api, account):
    before = len([e for e in audit_events_today(account, "sit") if e["action"] == "auth.denied"])

    status, body = http(f"{api('sit')}/teams")

    after = [e for e in audit_events_today(account, "sit") if e["action"] == "auth.denied"]
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert len(after) == before + 1
    assert after[-1]["outcome"] == "deny" and after[-1]["actor"] == "anonymous"


def test_a_request_across_teams_is_refused_with_its_code_and_audited(api, sandbox, account):
    token = sandbox.token("alice", "sit")

    status, body = http(f"{api('sit')}/teams/team-bravo/members", token=token)

    assert status == 403 and body["error"] == "AM-TEAM-003"
    violations = [e for e in audit_events_today(account, "sit") if e["action"] == "team.isolation.violation"]
    assert violations[-1]["actor"] == "alice" and violations[-1]["team_id"] == "team-bravo"


def test_a_token_from_another_environment_is_refused(api, sandbox):
    status, _ = http(f"{api('sit')}/teams", token=sandbox.token("alice", "dev"))

    assert status == 401


def test_teams_members_permissions_and_invitations_work_end_to_end(api, sandbox):
    owner = sandbox.token("carol", "sit")
    status, created = http(f"{api('sit')}/teams", "POST", owner, {"name": "Gateway test"})
    team = created["team_id"]
    added = http(f"{api('sit')}/teams/{team}/members", "POST", owner, {"user": "frank", "role": "member"})
    again = http(f"{api('sit')}/teams/{team}/members", "POST", owner, {"user": "frank"})
    members = http(f"{api('sit')}/teams/{team}/members", token=owner)[1]["members"]
    allowed = http(f"{api('sit')}/permissions/check", "POST", owner, {"team_id": team, "permission": "role.assign"})
    denied = http(
        f"{api('sit')}/permissions/check",
        "POST",
        sandbox.token("frank", "sit"),
        {"team_id": team, "permission": "role.assign"},
    )
    invited = http(f"{api('sit')}/invitations", "POST", owner, {"team_id": team, "email": "new@example.com"})
    removed = http(f"{api('sit')}/teams/{team}/members/frank", "DELETE", owner)
    after_removal = http(f"{api('sit')}/teams/{team}/members", token=owner)[1]["members"]
    deleted = http(f"{api('sit')}/teams/{team}", "DELETE", owner)

    assert status == 201
    assert added[0] == 201 and again == (
        409,
        {"error": "AM-TEAM-002", "message": f"frank is already in team {team}"},
    )
    assert allowed == (200, {"allowed": True, "role": "owner", "permission": "role.assign"})
    assert denied == (200, {"allowed": False, "role": "member", "permission": "role.assign"})
    assert invited[0] == 201 and invited[1]["email"] == "new@example.com"
    assert sorted((m["user"], m["role"]) for m in members) == [("carol", "owner"), ("frank", "member")]
    assert removed == (200, {"team_id": team, "removed": "frank"})
    assert after_removal == [{"user": "carol", "role": "owner"}]
    assert deleted == (200, {"deleted": team})
    assert http(f"{api('sit')}/teams/{team}", token=owner)[1]["error"] == "AM-TEAM-001"


def ship_health(account, sandbox_config, env, source, folder):
    """Publish a health handler the way a deploy would; returns (function, new, previous live version)."""
    folder.mkdir()
    (folder / "handler.py").write_text(source)
    package = package_function("health", folder)
    names = sandbox_config.resource_names(env)
    client = account(env)
    lam = client.client("lambda")
    function = names["functions"]["health"]
    client.client("s3").put_object(Bucket=names["artifacts_bucket"], Key=package.key, Body=package.data)
    lam.update_function_code(FunctionName=function, S3Bucket=names["artifacts_bucket"], S3Key=package.key)
    new_version = lam.publish_version(FunctionName=function)["Version"]
    return function, new_version, lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]


def test_moving_the_alias_changes_the_code_that_runs(api, account, sandbox, sandbox_config, tmp_path):
    shipped = (sandbox.workspace.path / "functions" / "health" / "handler.py").read_text()
    changed = shipped.replace('"status": "ok"', '"status": "ok", "build": "changed"')
    function, new_version, old_version = ship_health(account, sandbox_config, "dev", changed, tmp_path / "h")
    lam = account("dev").client("lambda")
    try:
        lam.update_alias(FunctionName=function, Name="live", FunctionVersion=new_version)
        after = http(f"{api()}/health")[1]
    finally:
        lam.update_alias(FunctionName=function, Name="live", FunctionVersion=old_version)
    back = http(f"{api()}/health")[1]

    assert after["build"] == "changed" and after["function_version"] == new_version
    assert "build" not in back and back["function_version"] == old_version


def test_a_handler_that_raises_gives_502_and_logs_the_exception(api, account, sandbox_config, tmp_path):
    broken_source = "def handler(event, context):\n    raise RuntimeError('broken build')\n"
    function, broken, old_version = ship_health(account, sandbox_config, "sit", broken_source, tmp_path / "h")
    lam = account("sit").client("lambda")
    try:
        lam.update_alias(FunctionName=function, Name="live", FunctionVersion=broken)
        status, body = http(f"{api('sit')}/health")
    finally:
        lam.update_alias(FunctionName=function, Name="live", FunctionVersion=old_version)
    logged = (
        account("sit")
        .client("logs")
        .filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="broken build")["events"]
    )

    assert (status, body) == (502, {"message": "Internal server error"})
    assert json.loads(logged[-1]["message"])["errorType"] == "RuntimeError"


def test_the_plain_aws_cli_sees_what_amops_sees(sandbox, sandbox_config, account, tmp_path):
    lines = sandbox.env_lines("prod")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    for line in lines:
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value
    aws = [sys.executable, "-m", "awscli"]
    names = sandbox_config.resource_names("prod")

    alias = json.loads(
        subprocess.run(
            [*aws, "lambda", "get-alias", "--function-name", names["functions"]["teams"], "--name", "live"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    count = json.loads(
        subprocess.run(
            [*aws, "dynamodb", "scan", "--table-name", names["tables"]["permissions"], "--select", "COUNT"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    listing = subprocess.run([*aws, "s3", "ls"], env=env, capture_output=True, text=True, check=True).stdout

    lam = account("prod").client("lambda")
    assert (
        alias["FunctionVersion"]
        == lam.get_alias(FunctionName=names["functions"]["teams"], Name="live")["FunctionVersion"]
    )
    assert (
        count["Count"]
        == account("prod").client("dynamodb").scan(TableName=names["tables"]["permissions"], Select="COUNT")["Count"]
        > 0
    )
    assert names["artifacts_bucket"] in listing and names["audit_archive_dr_bucket"] in listing
