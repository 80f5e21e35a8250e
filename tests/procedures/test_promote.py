"""`amops promote` against the sandbox: dev → sit → prod, the refusals, the approval, the watch."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from amops.config import load_config
from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox
from tests.procedures.test_deploy import amops, deploy, edit_handler, git, live, statuses

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("promote") / "workspace")
    manager.up(events=400)
    yield manager
    manager.down()


def as_user(user: str) -> dict[str, str]:
    return {"USER": user, "LOGNAME": user}


def promote(sandbox, source: str, target: str, *extra: str, user: str = "alice"):
    confirm = ["--confirm-env", "prod"] if target == "prod" else []
    done = amops(sandbox, "-o", "json", "--yes", *confirm, "promote", source, target, *extra, env=as_user(user))
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def aws_cli(sandbox, env: str, *args: str) -> dict:
    """The plain AWS CLI, with the sandbox's credentials for env."""
    variables = {
        "PATH": os.environ["PATH"],
        "HOME": str(sandbox.workspace.path),
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    for line in sandbox.env_lines(env):
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            variables[key] = value
    done = subprocess.run(
        [sys.executable, "-m", "awscli", *args], env=variables, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def code_sha(sandbox, env: str, function: str, region: str = "af-south-1") -> str:
    answer = aws_cli(
        sandbox,
        env,
        "lambda",
        "get-function",
        "--function-name",
        f"am-{env}-{function}",
        "--qualifier",
        "live",
        "--region",
        region,
    )
    return answer["Configuration"]["CodeSha256"]


def release_branch(workspace: Path) -> None:
    """Point release/1.x at HEAD and push it: what cutting a release branch does."""
    git(workspace, "branch", "-f", "release/1.x", "HEAD")
    git(workspace, "push", "-q", "-f", "origin", "release/1.x")


def change_teams(sandbox, marker: str) -> None:
    workspace = sandbox.workspace.path
    edit_handler(workspace, "teams", '"teams": teams', f'"{marker}": 1, "teams": teams', f"teams: {marker}")
    done, document = deploy(sandbox, "dev", "--only", "lambdas")
    assert done.returncode == 0, done.stderr
    assert document["outputs"]["package"]["changed"] == ["teams"]


def test_a_release_climbs_from_dev_to_prod_with_a_second_persons_approval(sandbox):
    workspace = sandbox.workspace.path
    change_teams(sandbox, "v11")
    sit_before, prod_before = live(sandbox, "sit"), live(sandbox, "prod")

    from_main, _ = promote(sandbox, "dev", "sit")
    assert from_main.returncode == 1
    assert "is on no release/* branch (only: main)" in from_main.stderr
    assert live(sandbox, "sit") == sit_before

    release_branch(workspace)
    to_sit, document = promote(sandbox, "dev", "sit")
    assert to_sit.returncode == 0, to_sit.stderr
    assert document["outputs"]["release"]["changed"] == ["teams"]
    assert code_sha(sandbox, "sit", "teams") == code_sha(sandbox, "dev", "teams")
    assert live(sandbox, "sit")["teams"] != sit_before["teams"]

    untagged, _ = promote(sandbox, "sit", "prod")
    assert untagged.returncode == 1
    assert "has no tag" in untagged.stderr
    git(workspace, "tag", "v1.1.0")
    git(workspace, "push", "-q", "origin", "v1.1.0")

    waiting, document = promote(sandbox, "sit", "prod")
    assert waiting.returncode == 3, waiting.stderr
    assert document["status"] == "waiting"
    assert statuses(document)["approval"] == "waiting"
    assert statuses(document)["copy"] == "not run"
    assert live(sandbox, "prod") == prod_before
    run_id = document["run_id"]

    self_approved = amops(
        sandbox, "--yes", "--confirm-env", "prod", "promote", "approve", run_id, "--by", "carol", env=as_user("alice")
    )
    assert self_approved.returncode == 2
    assert "alice started run" in self_approved.stderr
    approved = amops(
        sandbox, "--yes", "--confirm-env", "prod", "promote", "approve", run_id, "--by", "bob", env=as_user("bob")
    )
    assert approved.returncode == 0, approved.stderr
    assert "bob approved run" in approved.stdout

    prod_alarms = Account(sandbox.running().endpoint, "prod").client("cloudwatch", "eu-west-1")
    prod_alarms.set_alarm_state(AlarmName="am-prod-api-5xx", StateValue="ALARM", StateReason="test: during the wait")
    try:
        noisy, _ = promote(sandbox, "sit", "prod", "--resume", run_id)
    finally:
        prod_alarms.set_alarm_state(AlarmName="am-prod-api-5xx", StateValue="OK", StateReason="test: over")
    assert noisy.returncode == 1
    assert "approved, but prod now has am-prod-api-5xx in ALARM (eu-west-1)" in noisy.stderr
    assert live(sandbox, "prod") == prod_before

    resumed, document = promote(sandbox, "sit", "prod", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert document["status"] == "succeeded"
    sit_code = code_sha(sandbox, "sit", "teams")
    assert code_sha(sandbox, "prod", "teams") == sit_code
    assert code_sha(sandbox, "prod", "teams", "eu-west-1") == sit_code
    # Not rebuilt: prod's artifact is the object dev uploaded, copied under the same key.
    sha = document["outputs"]["release"]["sha256"]["teams"]
    assert document["outputs"]["copy"]["copied"] == ["teams"]
    prod_s3 = Account(sandbox.running().endpoint, "prod").client("s3")
    dev_s3 = Account(sandbox.running().endpoint, "dev").client("s3")
    key = f"lambdas/teams/{sha}.zip"
    prod_zip = prod_s3.get_object(Bucket="am-prod-artifacts-100000000003", Key=key)["Body"].read()
    assert prod_zip == dev_s3.get_object(Bucket="am-dev-artifacts-100000000001", Key=key)["Body"].read()
    journal = [json.loads(line) for line in Path(document["journal"]).read_text().splitlines()]
    assert journal[0]["operator"] == "alice"
    approval_end = next(
        e for e in journal if e["event"] == "step.end" and e["step"] == "approval" and e["status"] == "ok"
    )
    assert [(a["by"], a["operator"]) for a in approval_end["outputs"]["approvals"]] == [("bob", "alice")]
    diff = next(e for e in journal if e["event"] == "step.end" and e["step"] == "diff")["outputs"]["diff"]
    assert {(d["function"], d["region"]) for d in diff if d["before"] != d["after"]} == {
        ("teams", "af-south-1"),
        ("teams", "eu-west-1"),
    }


def test_an_unhealthy_source_is_not_promoted(sandbox):
    change_teams(sandbox, "v12")
    release_branch(sandbox.workspace.path)
    cloudwatch = Account(sandbox.running().endpoint, "dev").client("cloudwatch")
    sit_before = live(sandbox, "sit")
    cloudwatch.set_alarm_state(AlarmName="am-dev-api-5xx", StateValue="ALARM", StateReason="test: 5xx")
    try:
        refused, document = promote(sandbox, "dev", "sit")
    finally:
        cloudwatch.set_alarm_state(AlarmName="am-dev-api-5xx", StateValue="OK", StateReason="test: over")

    assert refused.returncode == 1
    assert "checklist failed: dev: " in refused.stderr and "failing:" in refused.stderr
    assert statuses(document)["publish"] == "not run"
    assert live(sandbox, "sit") == sit_before


def test_an_artifact_whose_bytes_differ_from_its_hash_stops_the_promotion(sandbox):
    change_teams(sandbox, "v13")
    release_branch(sandbox.workspace.path)
    sha = code_sha(sandbox, "dev", "teams")
    hex_sha = base64.b64decode(sha).hex()
    sit_s3 = Account(sandbox.running().endpoint, "sit").client("s3")
    key = f"lambdas/teams/{hex_sha}.zip"
    sit_s3.put_object(Bucket="am-sit-artifacts-100000000002", Key=key, Body=b"not the release")
    sit_before = live(sandbox, "sit")

    refused, document = promote(sandbox, "dev", "sit")

    assert refused.returncode == 1
    assert "artifact hash mismatch" in refused.stderr
    assert live(sandbox, "sit") == sit_before
    sit_s3.delete_object(Bucket="am-sit-artifacts-100000000002", Key=key)
    resumed, _ = promote(sandbox, "dev", "sit", "--resume", document["run_id"])
    assert resumed.returncode == 0, resumed.stderr
    assert code_sha(sandbox, "sit", "teams") == sha


def test_the_watch_rolls_back_when_error_codes_pass_the_limit(sandbox):
    change_teams(sandbox, "v14")
    release_branch(sandbox.workspace.path)
    before = live(sandbox, "sit")
    api = load_config(sandbox.workspace.config_file).environment("sit").api_url
    stop = threading.Event()

    def denied_requests() -> None:
        # Once the new version is live, a client with a bad token: AM-AUTH-001 each time.
        while not stop.is_set():
            if live(sandbox, "sit")["teams"] != before["teams"]:
                request = urllib.request.Request(f"{api}/teams", headers={"Authorization": "Bearer forged"})
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(request, timeout=5)
            time.sleep(0.5)

    traffic = threading.Thread(target=denied_requests, daemon=True)
    traffic.start()
    try:
        watched, document = promote(
            sandbox, "dev", "sit", "--watch", "0.3", "--auto-rollback", "--max-error-codes", "3"
        )
    finally:
        stop.set()
        traffic.join()

    assert watched.returncode == 1
    assert "rolled back (automatically)" in watched.stderr
    assert "AM-AUTH-001" in watched.stderr
    assert statuses(document)["smoke"] == "ok"
    assert live(sandbox, "sit") == before
