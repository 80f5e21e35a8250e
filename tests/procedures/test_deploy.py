"""`amops deploy` against the sandbox, as an operator or a CI job runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox

pytestmark = pytest.mark.e2e
FUNCTIONS = ("authorizer", "teams", "permissions", "invitations", "audit-writer", "health")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("deploy") / "workspace")
    manager.up(events=400)
    yield manager
    manager.down()


@pytest.fixture
def workspace(sandbox) -> Path:
    return sandbox.workspace.path


def amops(sandbox, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "AMOPS_SANDBOX_WORKSPACE": str(sandbox.workspace.path),
        "AMOPS_SANDBOX": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "amops", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=sandbox.workspace.path,
    )


def deploy(sandbox, env="dev", *extra: str, confirm: str | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    flags = ["-o", "json", "--yes", *(["--confirm-env", confirm] if confirm else [])]
    done = amops(sandbox, *flags, "deploy", env, *extra)
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def live(sandbox, env="dev", region="af-south-1") -> dict[str, str]:
    lam = Account(sandbox.running().endpoint, env).client("lambda", region)
    return {f: lam.get_alias(FunctionName=f"am-{env}-{f}", Name="live")["FunctionVersion"] for f in FUNCTIONS}


def git(workspace: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", *args], cwd=workspace, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def edit_handler(workspace: Path, function: str, old: str, new: str, message: str) -> None:
    handler = workspace / "functions" / function / "handler.py"
    text = handler.read_text()
    assert old in text
    handler.write_text(text.replace(old, new))
    git(workspace, "commit", "-qam", message)
    git(workspace, "push", "-q")


def statuses(document: dict) -> dict[str, str]:
    return {step["id"]: step["status"] for step in document["steps"]}


def test_a_fresh_sandbox_deploys_and_a_second_run_changes_nothing(sandbox):
    before = live(sandbox)

    first, document = deploy(sandbox)
    second, again = deploy(sandbox)

    assert first.returncode == 0, first.stderr
    assert document["status"] == "succeeded"
    assert set(statuses(document).values()) == {"ok"}
    assert document["outputs"]["package"]["changed"] == []
    assert document["outputs"]["terraform-apply"]["terraform_outputs"]["function_names"]["teams"] == "am-dev-teams"
    assert live(sandbox) == before
    created = document["outputs"]["api"]["api_deployments"]["af-south-1"]
    stage = Account(sandbox.running().endpoint, "dev").client("apigateway")
    api_id = stage.get_rest_apis()["items"][0]["id"]
    assert stage.get_stage(restApiId=api_id, stageName="v1")["deploymentId"] == created
    assert second.returncode == 0
    assert again["outputs"]["terraform-plan"]["has_changes"] is False
    assert again["outputs"]["package"]["changed"] == []
    assert again["outputs"]["api"] == {}
    assert "Nothing to do: the API definition is unchanged." in second.stderr
    assert "Nothing to do: no function changed." in second.stderr


def test_an_edited_handler_ships_a_new_version_that_the_aws_cli_sees(sandbox, workspace):
    before = live(sandbox)
    edit_handler(workspace, "teams", '{"teams": teams}', '{"teams": teams, "count": len(teams)}', "Count teams")

    done, document = deploy(sandbox, "dev", "--only", "lambdas")

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workspace),
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    for line in sandbox.env_lines("dev"):
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value
    alias = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "lambda",
                "get-alias",
                "--function-name",
                "am-dev-teams",
                "--name",
                "live",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    version = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "lambda",
                "get-function",
                "--function-name",
                "am-dev-teams",
                "--qualifier",
                "live",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert done.returncode == 0, done.stderr
    assert document["outputs"]["package"]["changed"] == ["teams"]
    assert alias["FunctionVersion"] == str(int(before["teams"]) + 1)
    assert {f: v for f, v in live(sandbox).items() if f != "teams"} == {f: v for f, v in before.items() if f != "teams"}
    sha = document["outputs"]["package"]["sha256"]["teams"]
    assert version["Configuration"]["Description"] == f"sha256={sha} commit={git(workspace, 'rev-parse', 'HEAD')}"


def test_a_broken_handler_fails_its_smoke_tests_and_undo_restores_every_alias(sandbox, workspace):
    before = live(sandbox)
    edit_handler(
        workspace,
        "permissions",
        "    request_id = context.aws_request_id\n",
        "    request_id = context.aws_request_id\n    raise RuntimeError('broken permissions')\n",
        "Break permissions",
    )
    try:
        done, document = deploy(sandbox, "dev", "--on-failure", "undo")

        assert done.returncode == 1
        assert document["status"] == "rolled back"
        assert statuses(document)["smoke"] == "failed"
        assert "an allowed permission is allowed" in document["steps"][-1]["error"]
        assert live(sandbox) == before
        journal = [json.loads(line) for line in Path(document["journal"]).read_text().splitlines()]
        undone = [(e.get("step"), e.get("status")) for e in journal if e["event"] == "step.undo"]
        assert undone == [("api", "ok"), ("shift", "ok")]  # newest first
        assert amops(sandbox, "smoke", "dev").returncode == 0
    finally:
        git(workspace, "revert", "--no-edit", "HEAD")
        git(workspace, "push", "-q")


def test_a_failed_check_stops_the_deploy_unless_overridden(sandbox, workspace):
    cloudwatch = Account(sandbox.running().endpoint, "dev").client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="am-dev-api-5xx", StateValue="ALARM", StateReason="test")
    try:
        refused, document = deploy(sandbox, "dev", "--only", "lambdas")
        _allowed, overridden = deploy(sandbox, "dev", "--only", "lambdas", "--override", "alarms-af-south-1")
    finally:
        cloudwatch.set_alarm_state(AlarmName="am-dev-api-5xx", StateValue="OK", StateReason="test")

    assert refused.returncode == 1
    assert statuses(document) == {
        "checklist": "failed",
        "package": "not run",
        "upload": "not run",
        "publish": "not run",
        "shift": "not run",
        "health": "not run",
        "smoke": "not run",
    }
    assert "checklist failed: alarms-af-south-1" in document["steps"][0]["error"]
    assert overridden["outputs"]["checklist"]["overridden"] == ["alarms-af-south-1"]
    assert statuses(overridden)["health"] == "failed"  # the health checks still see the alarm


def test_a_dirty_tree_fails_the_checklist(sandbox, workspace):
    (workspace / "functions" / "health" / "notes.txt").write_text("work in progress")
    try:
        done, document = deploy(sandbox, "dev", "--only", "lambdas")
    finally:
        (workspace / "functions" / "health" / "notes.txt").unlink()

    assert done.returncode == 1
    assert "checklist failed: clean-tree" in document["steps"][0]["error"]


def test_a_canary_that_sees_an_alarm_is_undone(sandbox, workspace):
    before = live(sandbox)
    edit_handler(workspace, "health", '"status": "ok"', '"status": "ok", "canary": True', "Canary build")
    cloudwatch = Account(sandbox.running().endpoint, "dev").client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="am-dev-authorizer-errors", StateValue="ALARM", StateReason="test")
    try:
        done, document = deploy(
            sandbox,
            "dev",
            "--only",
            "lambdas",
            "--canary",
            "10",
            "--canary-minutes",
            "0",
            "--override",
            "alarms-af-south-1",
            "--on-failure",
            "undo",
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName="am-dev-authorizer-errors", StateValue="OK", StateReason="test")
    lam = Account(sandbox.running().endpoint, "dev").client("lambda")

    assert done.returncode == 1 and document["status"] == "failed"
    assert (
        "canary: am-dev-authorizer-errors in ALARM (af-south-1); all traffic is back on the previous versions"
        in (document["steps"][4]["error"])
    )
    assert live(sandbox) == before
    assert (
        lam.get_alias(FunctionName="am-dev-health", Name="live")
        .get("RoutingConfig", {})
        .get("AdditionalVersionWeights", {})
        == {}
    )

    shipped, good = deploy(sandbox, "dev", "--only", "lambdas", "--canary", "10", "--canary-minutes", "0")

    assert shipped.returncode == 0, shipped.stderr
    assert live(sandbox)["health"] == good["outputs"]["publish"]["published"]["af-south-1"]["health"]


def test_prod_deploys_from_main_only_and_to_both_regions(sandbox, workspace):
    assert amops(sandbox, "--yes", "deploy", "prod").returncode == 2  # typed confirmation needed
    git(workspace, "checkout", "-qb", "feature/x")
    try:
        refused, document = deploy(sandbox, "prod", "--only", "lambdas", confirm="prod")
    finally:
        git(workspace, "checkout", "-q", "main")
    assert refused.returncode == 1
    assert "branch" in document["steps"][0]["error"]

    edit_handler(workspace, "invitations", "SEND_INVITATIONS = {", "SEND_INVITATIONS = {  # v2\n   ", "v2")
    git(workspace, "tag", "v1.1.0")
    git(workspace, "push", "-q", "--tags")
    done, document = deploy(sandbox, "prod", confirm="prod")

    assert done.returncode == 0, done.stderr
    primary, standby = live(sandbox, "prod", "af-south-1"), live(sandbox, "prod", "eu-west-1")
    published = document["outputs"]["publish"]["published"]
    assert primary["invitations"] == published["af-south-1"]["invitations"]
    assert standby["invitations"] == published["eu-west-1"]["invitations"]
    prod = Account(sandbox.running().endpoint, "prod")
    shas = {
        region: prod.client("lambda", region).get_function(FunctionName="am-prod-invitations", Qualifier="live")[
            "Configuration"
        ]["CodeSha256"]
        for region in ("af-south-1", "eu-west-1")
    }
    assert len(set(shas.values())) == 1


def test_answering_no_at_the_first_change_leaves_the_environment_as_it_was(sandbox, workspace):
    before = live(sandbox, "sit")
    state_files = sorted((workspace / "terraform").rglob("terraform.tfstate"))
    env = {
        **os.environ,
        "AMOPS_SANDBOX_WORKSPACE": str(workspace),
        "AMOPS_SANDBOX": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "NO_COLOR": "1",
        "TERM": "xterm",
    }
    git(workspace, "checkout", "-qb", "release/1.1")
    git(workspace, "push", "-q", "-u", "origin", "release/1.1")
    try:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "amops", "deploy", "sit"],
            cwd=str(workspace),
            env=env,
            encoding="utf-8",
            timeout=120,
            dimensions=(50, 200),
        )
        child.expect(re.compile(r"Type 'sit' to run|Run step 'Apply the reviewed plan'\?"))
        child.sendline("n")
        child.expect("at your request")
        child.expect(pexpect.EOF)
        child.close()
    finally:
        git(workspace, "checkout", "-q", "main")

    assert child.exitstatus == 1
    assert live(sandbox, "sit") == before
    assert sorted((workspace / "terraform").rglob("terraform.tfstate")) == state_files


def test_the_scripts_pass_their_arguments_through(sandbox, workspace):
    root = Path(__file__).parents[2]
    env = {
        **os.environ,
        "AMOPS_SANDBOX_WORKSPACE": str(workspace),
        "AMOPS_SANDBOX": "1",
        "AMOPS_YES": "1",
        "AMOPS": str(Path(sys.executable).parent / "amops"),
        "AMOPS_OUTPUT": "json",
    }
    junit = workspace.parent / "smoke.xml"

    lambdas = subprocess.run(
        [str(root / "scripts/deploy-lambdas.sh"), "dev", "--on-failure", "stop"],
        env=env,
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=300,
    )
    smoke = subprocess.run(
        [str(root / "scripts/run-smoke-tests.sh"), "dev", "--junit", str(junit)],
        env=env,
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=300,
    )
    health = subprocess.run(
        [str(root / "scripts/health-check.sh"), "prod"],
        env=env,
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=300,
    )
    usage = subprocess.run([str(root / "scripts/health-check.sh")], env=env, capture_output=True, text=True)

    assert lambdas.returncode == 0, lambdas.stderr
    assert [s["id"] for s in json.loads(lambdas.stdout)["steps"]] == [
        "checklist",
        "package",
        "upload",
        "publish",
        "shift",
        "health",
        "smoke",
    ]
    assert smoke.returncode == 0 and json.loads(smoke.stdout)["failed"] == 0
    assert '<testsuite name="smoke"' in junit.read_text() and 'failures="0"' in junit.read_text()
    assert health.returncode == 0
    regions = {c["region"] for c in json.loads(health.stdout)["checks"]}
    assert regions == {"af-south-1", "eu-west-1"}
    assert usage.returncode == 2 and "usage: health-check.sh ENV" in usage.stderr


def test_a_dry_run_shows_every_step_and_changes_nothing(sandbox, workspace):
    before = live(sandbox)
    edit_handler(workspace, "health", '"status": "ok"', '"status": "ok", "dry": True', "Dry run build")
    try:
        done = amops(sandbox, "-o", "json", "--dry-run", "deploy", "dev")
    finally:
        git(workspace, "revert", "--no-edit", "HEAD")
        git(workspace, "push", "-q")
    document = json.loads(done.stdout)

    assert done.returncode == 0, done.stderr
    assert statuses(document) == {
        "checklist": "ok",
        "terraform-plan": "ok",
        "terraform-apply": "dry-run",
        "package": "ok",
        "upload": "dry-run",
        "publish": "dry-run",
        "shift": "dry-run",
        "api": "dry-run",
        "health": "ok",
        "smoke": "dry-run",
    }
    assert document["outputs"]["package"]["changed"] == ["health"]
    assert live(sandbox) == before
    assert "update-alias --function-name am-dev-FUNCTION" in done.stderr
