"""The command line as a script or operator meets it: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto import mock_aws

from amops.aws.clients import ClientProvider
from amops.aws.state import DynamoLockStore, create_state_tables
from tests.conftest import config_text
from tests.fakes import held_lock


def one_line_error(outcome) -> str:
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("amops: error: ")
    assert "Traceback" not in outcome.stderr
    return lines[0]


@pytest.fixture
def moto_env(config):
    with mock_aws():
        create_state_tables(ClientProvider(config.environment("dev")).client("dynamodb"), "amops-locks", "amops-runs")
        yield


def test_an_unknown_environment_is_bad_usage_in_one_line(amops, config_file):
    outcome = amops("--config", str(config_file), "deploy", "staging")

    assert outcome.exit_code == 2
    assert "unknown environment 'staging' (configured: dev, sit, prod)" in one_line_error(outcome)


def test_a_missing_config_is_bad_usage_in_one_line(amops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    outcome = amops("lock", "status", "dev")

    assert outcome.exit_code == 2
    assert "no amops.toml in" in one_line_error(outcome)
    assert "`amops init`" in outcome.stderr


def test_an_invalid_config_names_the_key(amops, tmp_path):
    path = tmp_path / "amops.toml"
    path.write_text('[environments.dev]\naccount_id = "1234"\n')

    outcome = amops("--config", str(path), "lock", "status", "dev")

    assert outcome.exit_code == 2
    assert f"{path}: environments.dev.account_id: must be a 12-digit AWS account id" in one_line_error(outcome)


def test_no_credentials_is_bad_usage_that_names_the_fix(amops, config_file, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    outcome = amops("--config", str(config_file), "lock", "status", "dev")

    assert outcome.exit_code == 2
    assert "no AWS credentials found" in one_line_error(outcome)


def test_the_wrong_account_is_refused(amops, tmp_path, moto_env):
    path = tmp_path / "amops.toml"
    path.write_text(config_text(account="111111111111"))

    outcome = amops("--config", str(path), "--yes", "--confirm-env", "dev", "lock", "release", "dev", "--force")

    assert outcome.exit_code == 2
    assert "for account 123456789012" in one_line_error(outcome)
    assert "but dev is account 111111111111" in outcome.stderr


def test_verbose_shows_a_traceback_for_a_bug_but_never_by_default(amops, config_file, monkeypatch):
    monkeypatch.setattr("amops.runbook.journal.list_recorded_runs", lambda *_: 1 / 0)

    quiet = amops("--config", str(config_file), "runs", "list")
    loud = amops("-v", "--config", str(config_file), "runs", "list")

    assert quiet.exit_code == loud.exit_code == 1
    assert "internal error: ZeroDivisionError" in one_line_error(quiet)
    assert "run with -v" in quiet.stderr
    assert "Traceback" in loud.stderr


def test_lock_status_names_the_holder(amops, config_file, config, moto_env):
    DynamoLockStore(ClientProvider(config.environment("dev")), "amops-locks").acquire(
        held_lock("20261204-090000-deployment-dev-abcd")
    )

    text = amops("--config", str(config_file), "lock", "status", "dev")
    document = json.loads(amops("--config", str(config_file), "-o", "json", "lock", "status", "dev").stdout)

    assert text.exit_code == 0
    assert "dev is locked: bob (arn:bob) holds it for deployment run 20261204-090000-deployment-dev-abcd" in (
        " ".join(text.stdout.split())
    )
    assert document["locked"] is True and document["holder"]["holder"] == "bob"


def test_releasing_a_lock_without_a_terminal_needs_the_flags_and_is_journalled(amops, config_file, config, moto_env):
    locks = DynamoLockStore(ClientProvider(config.environment("dev")), "amops-locks")
    locks.acquire(held_lock("run-dead"))

    refused = amops("--config", str(config_file), "lock", "release", "dev", "--force")
    assert refused.exit_code == 2
    assert "pass --yes --confirm-env dev" in one_line_error(refused)
    assert locks.current("dev") is not None

    released = amops(
        "--config",
        str(config_file),
        "-o",
        "json",
        "--yes",
        "--confirm-env",
        "dev",
        "lock",
        "release",
        "dev",
        "--force",
    )
    assert released.exit_code == 0, released.stderr
    document = json.loads(released.stdout)
    assert document["released"]["run_id"] == "run-dead"
    assert locks.current("dev") is None
    journal = [json.loads(line) for line in Path(document["journal"]).read_text().splitlines()]
    assert journal[0]["event"] == "lock.force_release"
    assert journal[0]["released"]["holder"] == "bob"
    assert journal[0]["caller_arn"].startswith("arn:aws:sts::123456789012:")


def test_a_command_not_built_yet_says_so(amops, config_file):
    outcome = amops("--config", str(config_file), "dr", "drill", "prod")

    assert outcome.exit_code == 1
    assert "`amops dr drill` is not built yet" in one_line_error(outcome)


def test_json_output_of_an_error_is_one_document(amops, config_file):
    outcome = amops("--config", str(config_file), "--output", "json", "deploy", "nowhere")

    assert outcome.exit_code == 2
    document = json.loads(outcome.stdout)
    assert document["exit_code"] == 2 and "unknown environment" in document["error"]["message"]


def test_a_bad_output_format_is_bad_usage(amops, config_file):
    assert amops("--output", "yaml", "runbooks", "list").exit_code == 2


def test_runbooks_check_fails_on_an_edited_runbook_and_passes_after_generate(amops, config_file, tmp_path):
    folder = tmp_path / "rb"
    assert amops("--config", str(config_file), "runbooks", "generate", "--dir", str(folder)).exit_code == 0
    assert amops("--config", str(config_file), "runbooks", "check", "--dir", str(folder)).exit_code == 0

    index = folder / "README.md"
    index.write_text(index.read_text().replace("| Support |", "| Nobody |"))
    failed = amops("--config", str(config_file), "runbooks", "check", "--dir", str(folder))

    assert failed.exit_code == 1
    assert "-| Troubleshooting (not yet written) | Nobody |" in failed.stdout
    assert "run `amops runbooks generate` and commit" in failed.stdout
    assert amops("--config", str(config_file), "runbooks", "generate", "--dir", str(folder)).exit_code == 0
    assert amops("--config", str(config_file), "runbooks", "check", "--dir", str(folder)).exit_code == 0


def test_init_writes_the_example_and_refuses_to_overwrite_without_a_terminal(amops, tmp_path):
    target = tmp_path / "amops.toml"

    assert amops("init", str(target)).exit_code == 0
    target.write_text("# mine\n")
    refused = amops("init", str(target))

    assert refused.exit_code == 2
    assert "pass --yes to overwrite it" in one_line_error(refused)
    assert target.read_text() == "# mine\n"
    assert amops("--yes", "init", str(target)).exit_code == 0
    assert "[environments.prod]" in target.read_text()


def test_runs_list_and_show_read_the_local_journals(amops, config_file, tmp_path):
    from amops.cli.state import state_dir
    from amops.runbook.ports import EnvironmentServices
    from amops.runbook.runner import Runner, RunOptions
    from tests.fakes import RecordingConsole, ScriptedPrompter, identity
    from tests.runbook.test_runner import Platform, demo_procedure

    runner = Runner(
        RecordingConsole(),
        ScriptedPrompter(interactive=False),
        state_dir() / "runs",
        RunOptions(yes=True),
        EnvironmentServices(identity=identity()),
        operator="alice",
    )
    result = runner.run(demo_procedure(Platform()), "dev")

    listed = json.loads(amops("--config", str(config_file), "-o", "json", "runs", "list").stdout)
    shown = json.loads(amops("--config", str(config_file), "-o", "json", "runs", "show", result.run_id).stdout)
    text = amops("--config", str(config_file), "runs", "show", result.run_id)

    assert [(r["run_id"], r["status"], r["operator"]) for r in listed["runs"]] == [
        (result.run_id, "succeeded", "alice")
    ]
    assert [(s["step"], s["status"]) for s in shown["steps"]] == [
        ("look", "ok"),
        ("publish", "ok"),
        ("report", "ok"),
    ]
    assert shown["confirmations"][0]["how"] == "--yes"
    assert "publish: confirmed by alice (--yes)" in text.stdout
    missing = amops("--config", str(config_file), "runs", "show", "20990101-000000-x-dev-0000")
    assert missing.exit_code == 2 and "no journal for run" in one_line_error(missing)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "dev", "--only", "db"], "--only must be one of infra, lambdas, api, not 'db'"),
        (["deploy", "dev", "--on-failure", "retry"], "--on-failure must be ask, stop or undo, not 'retry'"),
        (["deploy", "dev", "--canary", "100"], "--canary is a percentage of traffic below 100, not 100"),
        (["rollback", "lambda", "dev", "--to-version", "3"], "--to-version needs --function"),
        (["deploy", "qa"], "unknown environment 'qa' (configured: dev, sit, prod)"),
        (["promote", "dev", "prod"], "promotions go dev → sit → prod; dev → prod is not one of them"),
        (["promote", "sit", "dev"], "promotions go dev → sit → prod; sit → dev is not one of them"),
        (["promote", "dev", "sit", "--auto-rollback"], "--auto-rollback needs --watch MINUTES"),
        (["promote", "approve", "20261204-101500-deployment-prod-1a2b", "--by", "bob"], "is not a promotion run id"),
    ],
)
def test_bad_procedure_options_are_one_line_and_exit_2_before_anything_runs(amops, config_file, args, message):
    outcome = amops("--config", str(config_file), *args)

    assert outcome.exit_code == 2
    assert message in one_line_error(outcome)
