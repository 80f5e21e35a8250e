"""The Terraform adapter: python-terraform's pitfalls pinned, the plan gate, the real binary."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from amops.runbook.errors import ConfigError
from amops.terraform.adapter import Terraform, TerraformError

HERE = Path(__file__).parent
FAKE = HERE / "fake"
FIXTURES = HERE / "fixtures"


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A root module folder with the fake terraform first on PATH and its calls logged."""
    folder = tmp_path / "terraform"
    (folder / "env").mkdir(parents=True)
    (folder / "env" / "dev.tfvars").write_text('env = "dev"\n')
    monkeypatch.setenv("PATH", f"{FAKE}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TF_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("FAKE_TF_PLAN", str(FIXTURES / "changes.json"))
    return folder


def calls(module) -> list[list[str]]:
    return [json.loads(line) for line in (module.parent / "calls.jsonl").read_text().splitlines()]


def test_plan_and_apply_pass_no_unrequested_var_file_and_apply_the_saved_plan(module, tmp_path):
    tf = Terraform(module)
    tf.init()
    tf.select_workspace("dev")
    plan = tf.plan("env/dev.tfvars", tmp_path / "plans" / "run.tfplan")
    tf.apply(plan)

    init, select, new, plan_call, show, apply = calls(module)
    assert init[0] == "init" and not any(a.startswith("-var-file") for a in init)
    assert select == ["workspace", "select", "dev"]  # no -no-color: workspace commands reject it
    assert new == ["workspace", "new", "dev"]
    assert plan_call[0] == "plan"
    assert [a for a in plan_call if a.startswith("-var-file")] == ["-var-file=env/dev.tfvars"]
    assert "-detailed-exitcode" in plan_call and "-input=false" in plan_call
    assert f"-out={tmp_path / 'plans' / 'run.tfplan'}" in plan_call
    assert show == ["show", "-json", "-no-color", str(plan.path)]
    assert apply == ["apply", "-input=false", "-no-color", str(plan.path)]


def test_exit_code_2_means_changes_and_the_plan_is_parsed(module, tmp_path):
    plan = Terraform(module).plan("env/dev.tfvars", tmp_path / "p.tfplan")

    assert plan.has_changes
    assert plan.summary() == [
        ("aws_cloudwatch_metric_alarm", 1, 0, 0, 0),
        ("aws_lambda_function", 0, 1, 0, 0),
    ]
    assert plan.output_changes == ("api_name",)
    assert plan.blocked() == []


def test_exit_code_0_means_no_changes(module, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_PLAN", str(FIXTURES / "no-changes.json"))

    plan = Terraform(module).plan("env/dev.tfvars", tmp_path / "p.tfplan")

    assert not plan.has_changes and plan.summary() == []


def test_deleting_or_replacing_stateful_resources_is_blocked_unless_allowed_by_address(module, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_PLAN", str(FIXTURES / "replaces-table.json"))

    plan = Terraform(module).plan("env/dev.tfvars", tmp_path / "p.tfplan")

    assert [c.address for c in plan.blocked()] == ["aws_dynamodb_table.audit", "aws_s3_bucket.archive"]
    assert [c.address for c in plan.blocked(["aws_dynamodb_table.audit"])] == ["aws_s3_bucket.archive"]
    assert plan.summary() == [
        ("aws_dynamodb_table", 0, 0, 1, 0),
        ("aws_lambda_function", 0, 0, 1, 0),
        ("aws_s3_bucket", 0, 0, 0, 1),
    ]


def test_a_plan_file_changed_after_review_is_not_applied(module, tmp_path):
    tf = Terraform(module)
    plan = tf.plan("env/dev.tfvars", tmp_path / "p.tfplan")
    plan.path.write_text(plan.path.read_text().replace("am-dev-api", "am-dev-evil"))

    with pytest.raises(TerraformError, match="is not the one that was reviewed"):
        tf.apply(plan)
    assert [c[0] for c in calls(module)] == ["plan", "show"]


def test_outputs_come_from_output_json(module, tmp_path):
    tf = Terraform(module)
    tf.select_workspace("dev")
    tf.apply(tf.plan("env/dev.tfvars", tmp_path / "p.tfplan"))

    assert tf.outputs() == {"api_name": "am-dev-api", "artifacts_bucket": "am-dev-artifacts-100000000001"}
    assert calls(module)[-1] == ["output", "-json", "-no-color"]


def test_a_failing_plan_is_one_line_with_terraforms_last_words(module, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_PLAN_FAILS", "Unsupported argument on main.tf line 3")

    with pytest.raises(TerraformError) as error:
        Terraform(module).plan("env/dev.tfvars", tmp_path / "p.tfplan")

    assert str(error.value).startswith("terraform plan failed (exit 1): Error: Unsupported argument on main.tf line 3")


def test_missing_terraform_is_a_clear_configuration_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))

    with pytest.raises(ConfigError, match="terraform is not installed or not on PATH"):
        Terraform(tmp_path)


def real_terraform() -> str | None:
    return shutil.which("terraform", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(real_terraform() is None, reason="the bundled Terraform (amops[sandbox]) is not installed")
def test_the_real_terraform_plans_applies_and_reports_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    module = tmp_path / "terraform"
    shutil.copytree(Path(__file__).parents[2] / "src/amops/sandbox/workspace/terraform", module)
    (module / "env").mkdir()
    (module / "env" / "dev.tfvars").write_text('env = "dev"\naccount_id = "100000000001"\napi_url = "http://x/v1"\n')
    tf = Terraform(module)

    assert tf.version() == "1.0.3"
    tf.init()
    tf.select_workspace("dev")
    first = tf.plan("env/dev.tfvars", tmp_path / "first.tfplan")
    tf.apply(first)
    second = tf.plan("env/dev.tfvars", tmp_path / "second.tfplan")

    assert first.has_changes and "function_names" in first.output_changes
    assert not second.has_changes
    assert tf.outputs()["function_names"]["audit-writer"] == "am-dev-audit-writer"
    assert (module / "terraform.tfstate.d" / "dev" / "terraform.tfstate").is_file()
