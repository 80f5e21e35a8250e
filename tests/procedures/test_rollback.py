"""`amops rollback lambda` and scripts/rollback-lambda.sh against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox
from tests.procedures.test_deploy import deploy, edit_handler, git, live

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("rollback") / "workspace")
    manager.up(events=400)
    yield manager
    manager.down()


def rollback_script(sandbox, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **(env or {}),
        "AMOPS_SANDBOX_WORKSPACE": str(sandbox.workspace.path),
        "AMOPS_SANDBOX": "1",
        "AMOPS_YES": "1",
        "AMOPS_OUTPUT": "json",
        "AMOPS": str(Path(sys.executable).parent / "amops"),
    }
    return subprocess.run(
        [str(ROOT / "scripts/rollback-lambda.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=sandbox.workspace.path,
    )


def test_a_broken_deploy_is_rolled_back_from_the_journal_and_the_update_is_written(sandbox):
    workspace = sandbox.workspace.path
    before = live(sandbox)
    edit_handler(
        workspace,
        "teams",
        "    request_id = context.aws_request_id\n",
        "    request_id = context.aws_request_id\n    raise RuntimeError('broken teams')\n",
        "Break teams",
    )
    broken, document = deploy(sandbox, "dev", "--on-failure", "stop")
    assert broken.returncode == 1 and live(sandbox)["teams"] != before["teams"]

    done = rollback_script(sandbox, "dev")

    result = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert live(sandbox) == before
    assert result["outputs"]["decide"]["from_deployment"] == document["run_id"]
    assert result["outputs"]["move"]["moved"] == [
        {"function": "teams", "region": "af-south-1", "from": live_after(document), "to": before["teams"]}
    ]
    assert {step["id"]: step["status"] for step in result["steps"]}["smoke"] == "ok"
    update = Path(result["outputs"]["communicate"]["communication"]).read_text()
    assert f"- teams (af-south-1): v{live_after(document)} → v{before['teams']}" in update
    assert f"after deployment {document['run_id']}" in update
    git(workspace, "revert", "--no-edit", "HEAD")


def live_after(document: dict) -> str:
    return document["outputs"]["publish"]["published"]["af-south-1"]["teams"]


def test_one_function_to_a_named_version(sandbox):
    lam = Account(sandbox.running().endpoint, "dev").client("lambda")
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="am-dev-teams")["Versions"]]
    current = max(versions[1:], key=int)  # the newest published (the broken one of the test before)
    lam.update_alias(FunctionName="am-dev-teams", Name="live", FunctionVersion=current)
    assert int(current) > 1

    done = rollback_script(sandbox, "dev", "teams", "1")

    assert done.returncode == 0, done.stderr
    assert live(sandbox)["teams"] == "1"
    moved = json.loads(done.stdout)["outputs"]["move"]["moved"]
    assert moved == [{"function": "teams", "region": "af-south-1", "from": current, "to": "1"}]


def test_nothing_to_roll_back_to_says_so_and_changes_nothing(sandbox):
    before = live(sandbox, "sit")

    done = rollback_script(sandbox, "sit")

    result = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert result["outputs"]["decide"]["moves"] == []
    assert "Nothing to roll back" in done.stderr
    assert live(sandbox, "sit") == before


def test_a_version_that_does_not_exist_is_bad_input(sandbox):
    done = rollback_script(sandbox, "dev", "teams", "99")

    assert done.returncode == 2
    assert "am-dev-teams has no version 99" in done.stderr


def test_a_deployment_made_on_another_machine_is_rolled_back_from_the_team_record(sandbox, tmp_path):
    workspace = sandbox.workspace.path
    before = live(sandbox)
    edit_handler(workspace, "audit-writer", "HOT_DAYS = 30", "HOT_DAYS = 30  # v2", "Audit writer v2")
    shipped, document = deploy(sandbox, "dev", "--only", "lambdas")
    assert shipped.returncode == 0, shipped.stderr

    elsewhere = rollback_script(sandbox, "dev", env={"AMOPS_STATE_DIR": str(tmp_path / "another-machine")})

    result = json.loads(elsewhere.stdout)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert result["outputs"]["decide"]["from_deployment"] == document["run_id"]
    assert live(sandbox) == before
    git(workspace, "revert", "--no-edit", "HEAD")
