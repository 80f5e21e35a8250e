"""Every test runs with fake AWS credentials, no AWS config files, and its own state folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from amops.cli.init import example_config
from amops.config import Config, parse_config

MOTO_ACCOUNT = "123456789012"  # the account moto answers as


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AMOPS_YES",
        "AMOPS_CONFIRM_ENV",
        "AMOPS_DRY_RUN",
        "AMOPS_OUTPUT",
        "AMOPS_SANDBOX_WORKSPACE",
        "AMOPS_SANDBOX_EVENTS",
        "AMOPS_CONFIG",
        "AMOPS_SANDBOX",
        "AMOPS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "af-south-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the instance metadata address
    monkeypatch.setenv("AMOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def config_text(account: str = MOTO_ACCOUNT, endpoint: str | None = None) -> str:
    """The example amops.toml with every environment on one account and no profiles."""
    lines = []
    for line in example_config().splitlines():
        if line.startswith("account_id"):
            line = f'account_id = "{account}"'
        elif line.startswith("profile ="):
            line = f'endpoint_url = "{endpoint}"' if endpoint else ""
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "platform" / "amops.toml"
    path.parent.mkdir()
    path.write_text(config_text())
    return path


@pytest.fixture
def config(config_file: Path) -> Config:
    import tomllib

    return parse_config(tomllib.loads(config_file.read_text()), config_file)
