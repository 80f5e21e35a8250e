"""The pre-deployment checklist, one failing check at a time (moto in-process, real git, fake terraform)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from moto import mock_aws

from amops.aws.clients import ClientProvider
from amops.config import load_config
from amops.procedures.deploy import checklist, terraform_plan
from amops.runbook.context import StepContext
from amops.runbook.errors import RefusedError, StepFailed
from tests.conftest import config_text
from tests.fakes import RecordingConsole, ScriptedPrompter

FAKE_TERRAFORM = Path(__file__).parents[1] / "terraform" / "fake"
FIXTURES = Path(__file__).parents[1] / "terraform" / "fixtures"


def git(path: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)


@pytest.fixture
def platform(tmp_path, monkeypatch):
    """A platform repository on main, pushed and tagged, and its AWS environment in moto."""
    root = tmp_path / "platform"
    (root / "terraform" / "env").mkdir(parents=True)
    (root / "terraform" / "env" / "dev.tfvars").write_text('env = "dev"\n')
    (root / "amops.toml").write_text(config_text())
    (root / ".gitignore").write_text("terraform/.terraform/\nterraform/terraform.tfstate.d/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "platform")
    git(root, "init", "-q", "--bare", str(tmp_path / "origin.git"))
    git(root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(root, "push", "-q", "-u", "origin", "main")
    monkeypatch.setenv("PATH", f"{FAKE_TERRAFORM}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TF_PLAN", str(FIXTURES / "replaces-table.json"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))  # no bundled terraform either
    config = load_config(root / "amops.toml")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        for env in ("dev", "sit", "prod"):
            provision(config, env)
        yield root, config


def provision(config, env: str) -> None:
    clients = ClientProvider(config.environment(env))
    names = config.resource_names(env)
    role = clients.client("iam").create_role(RoleName=f"lambda-{env}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    for region in config.environment(env).regions:
        lam = clients.client("lambda", region)
        for function in names["functions"].values():
            lam.create_function(
                FunctionName=function,
                Runtime="python3.11",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": data.getvalue()},
            )
            version = lam.publish_version(FunctionName=function)["Version"]
            lam.create_alias(FunctionName=function, Name="live", FunctionVersion=version)
        cloudwatch = clients.client("cloudwatch", region)
        for alarm in names["alarms"].values():
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                MetricName="Errors",
                Namespace="AWS/Lambda",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanThreshold",
                Statistic="Sum",
            )
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")


def run_checklist(config, env: str, **params):
    console = RecordingConsole()
    ctx = StepContext(
        run_id="run-1",
        environment=env,
        params=params,
        console=console,
        aws=ClientProvider(config.environment(env)),
        config=config,
    )
    return checklist(ctx), console


def failed_checks(config, env: str, **params) -> str:
    with pytest.raises(StepFailed) as failure:
        run_checklist(config, env, **params)
    return failure.value.message


def test_a_clean_pushed_main_passes_in_dev(platform):
    _, config = platform

    result, console = run_checklist(config, "dev")

    assert result["overridden"] == []
    assert {name: status for name, status in result["checks"].items()} == {
        "identity": "✓",
        "terraform": "✓",
        "git": "✓",
        "branch": "✓",
        "clean-tree": "✓",
        "pushed": "✓",
        "lock": "✓",
        "last-deployment": "✓",
        "alarms-af-south-1": "✓",
    }
    assert "Terraform 1.5.7" in console.text


def test_sit_deploys_only_from_a_release_branch(platform):
    root, config = platform

    assert failed_checks(config, "sit") == "checklist failed: branch"
    git(root, "checkout", "-qb", "release/2.0")
    git(root, "push", "-q", "-u", "origin", "release/2.0")
    assert run_checklist(config, "sit")[0]["checks"]["branch"] == "✓"


def test_prod_needs_a_tag_on_the_commit(platform):
    root, config = platform

    assert failed_checks(config, "prod") == "checklist failed: tagged"
    git(root, "tag", "v2.0.0")
    result, _ = run_checklist(config, "prod")
    assert result["checks"]["tagged"] == "✓"
    assert result["checks"]["alarms-eu-west-1"] == "✓"  # both regions are checked


def test_an_unpushed_commit_fails_where_promotion_needs_it_and_warns_in_dev(platform):
    root, config = platform
    git(root, "checkout", "-qb", "release/2.1")
    git(root, "push", "-q", "-u", "origin", "release/2.1")
    (root / "README").write_text("x")
    git(root, "add", "README")
    git(root, "commit", "-qm", "local only")

    assert failed_checks(config, "sit") == "checklist failed: pushed"
    assert run_checklist(config, "dev")[0]["checks"]["pushed"] == "!"


def test_a_dirty_tree_fails(platform):
    root, config = platform
    (root / "amops.toml").write_text(config_text() + "\n# edited\n")

    assert failed_checks(config, "dev") == "checklist failed: clean-tree"


def test_missing_terraform_fails(platform, monkeypatch):
    _, config = platform
    monkeypatch.setenv("PATH", "/usr/bin:/bin")

    assert failed_checks(config, "dev") == "checklist failed: terraform"


def test_a_canary_left_half_way_fails(platform):
    _, config = platform
    lam = ClientProvider(config.environment("dev")).client("lambda")
    version = lam.publish_version(FunctionName="am-dev-teams")["Version"]
    lam.update_alias(
        FunctionName="am-dev-teams", Name="live", RoutingConfig={"AdditionalVersionWeights": {version: 0.1}}
    )

    assert failed_checks(config, "dev") == "checklist failed: last-deployment"


def test_an_alarm_fails_unless_overridden_and_the_override_is_recorded(platform):
    _, config = platform
    ClientProvider(config.environment("dev")).client("cloudwatch").set_alarm_state(
        AlarmName="am-dev-api-5xx", StateValue="ALARM", StateReason="test"
    )

    assert failed_checks(config, "dev") == "checklist failed: alarms-af-south-1"
    result, console = run_checklist(config, "dev", override=["alarms-af-south-1"])
    assert result["overridden"] == ["alarms-af-south-1"]
    assert "overridden by the operator: alarms-af-south-1 (journalled)" in console.text


def plan_step(config, tmp_path, prompter, **params):
    ctx = StepContext(
        run_id="run-1",
        environment="dev",
        params={"plans_dir": str(tmp_path / "plans"), **params},
        console=RecordingConsole(),
        aws=None,
        config=config,
        prompter=prompter,
    )
    return terraform_plan(ctx)


def test_a_plan_replacing_a_table_needs_its_address_typed(platform, tmp_path):
    _, config = platform
    prompter = ScriptedPrompter(
        [
            ("type", "replaces aws_dynamodb_table.audit", "aws_dynamodb_table.audit"),
            ("type", "deletes aws_s3_bucket.archive", "aws_s3_bucket.archive"),
        ]
    )

    outputs = plan_step(config, tmp_path, prompter)

    prompter.assert_done()
    assert outputs["allowed_destroy"] == ["aws_dynamodb_table.audit", "aws_s3_bucket.archive"]


def test_a_plan_deleting_a_bucket_is_refused_when_the_address_is_mistyped_or_no_terminal(platform, tmp_path):
    _, config = platform

    with pytest.raises(StepFailed, match=r"replaces aws_dynamodb_table\.audit; not allowed"):
        plan_step(config, tmp_path, ScriptedPrompter([("type", "Type its address", "yes")]))
    with pytest.raises(RefusedError, match=r"pass --allow-destroy aws_dynamodb_table\.audit"):
        plan_step(config, tmp_path, ScriptedPrompter(interactive=False))
    outputs = plan_step(
        config,
        tmp_path,
        ScriptedPrompter(interactive=False),
        allow_destroy=["aws_dynamodb_table.audit", "aws_s3_bucket.archive"],
    )
    assert outputs["has_changes"] is True
