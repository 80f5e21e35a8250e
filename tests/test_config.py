"""amops.toml: defaults, resource names, and one exact line for each kind of mistake."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from amops.cli.init import example_config
from amops.config import find_config, load_config, parse_config
from amops.runbook.errors import ConfigError, ExitCode, UsageError


def test_the_example_configuration_parses_with_the_design_defaults():
    config = parse_config(tomllib.loads(example_config()))

    assert list(config.environments) == ["dev", "sit", "prod"]
    assert config.environment("prod").regions == ["af-south-1", "eu-west-1"]
    assert config.environment("prod").approvals == 1
    assert config.environment("sit").branch == "release/*"
    assert config.targets.rto_hours == 4 and config.targets.rpo_hours == 1


def test_resource_names_follow_the_design_for_each_environment():
    config = parse_config(tomllib.loads(example_config()))

    names = config.resource_names("prod")

    assert names["functions"]["audit-writer"] == "am-prod-audit-writer"
    assert names["artifacts_bucket"] == "am-prod-artifacts-333333333333"
    assert names["tables"]["audit"] == "am-prod-audit"
    assert names["dr_exports_dr_bucket"] == "am-prod-dr-exports-dr-333333333333"
    assert names["tfstate_bucket"] == "am-tfstate-333333333333"
    assert names["alarms"]["api-5xx"] == "am-prod-api-5xx"
    assert names["dns_record"] == "api.am.example.com"
    assert names["lock_table"] == "amops-locks"


def test_an_unknown_environment_names_the_configured_ones():
    config = parse_config(tomllib.loads(example_config()))

    with pytest.raises(UsageError, match=r"unknown environment 'staging' \(configured: dev, sit, prod\)") as error:
        config.environment("staging")
    assert error.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[environments.dev]\nregion = "af-south-1"\n', "environments.dev.account_id: missing"),
        (
            '[environments.dev]\naccount_id = "12"\n',
            "environments.dev.account_id: must be a 12-digit AWS account id, got '12'",
        ),
        (
            "[environments.dev]\naccount_id = 111111111111\n",
            "environments.dev.account_id: must be a string",
        ),
        (
            '[environments.dev]\naccount_id = "111111111111"\nregoin = "af-south-1"\n',
            "environments.dev.regoin: unknown key",
        ),
        (
            '[environments.dev]\naccount_id = "111111111111"\nregion = "Cape Town"\n',
            "environments.dev.region: 'Cape Town' is not an AWS region",
        ),
        (
            '[environments.dev]\naccount_id = "111111111111"\napprovals = "two"\n',
            "environments.dev.approvals: must be a whole number",
        ),
        (
            '[environments.dev]\naccount_id = "111111111111"\nprofile = "a"\nrole_arn = "b"\n',
            "environments.dev: set profile or role_arn, not both",
        ),
        ('[platform]\ndomain = "x"\n', "environments: missing"),
        (
            '[environments.dev]\naccount_id = "111111111111"\n[names]\nalias = 3\n',
            "names.alias: must be a string",
        ),
        (
            '[environments.dev]\naccount_id = "111111111111"\n[targets]\nrto_hours = "4h"\n',
            "targets.rto_hours: must be a number",
        ),
        ('[environments.dev]\naccount_id = "111111111111"\n[extra]\n', "extra: unknown key"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(toml, message):
    with pytest.raises(ConfigError) as error:
        parse_config(tomllib.loads(toml), Path("/p/amops.toml"))

    assert str(error.value).startswith(f"/p/amops.toml: {message}")
    assert "\n" not in str(error.value)
    assert error.value.exit_code == ExitCode.USAGE


def test_invalid_toml_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "amops.toml"
    path.write_text('[environments.dev\naccount_id = "1"\n')

    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML: .*line 1"):
        load_config(path)


def test_a_missing_config_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError, match=r"no amops.toml in .* run `amops init`"):
        load_config()


def test_the_config_is_found_in_a_parent_folder(config_file, monkeypatch):
    nested = config_file.parent / "functions" / "teams"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    assert find_config() == config_file
    assert load_config().root == config_file.parent
