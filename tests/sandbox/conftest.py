"""One sandbox for the end-to-end tests of this folder: a real moto server process on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from amops.config import load_config
from amops.sandbox.accounts import Account
from amops.sandbox.control import Running, Sandbox

TEST_EVENTS = 4_000  # per environment: enough for every day to hold events, quick to seed


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "workspace"


@pytest.fixture(scope="session")
def sandbox(sandbox_dir: Path):
    manager = Sandbox(sandbox_dir)
    _, started = manager.up(events=TEST_EVENTS)
    assert started
    yield manager
    manager.down()


@pytest.fixture(scope="session")
def running(sandbox: Sandbox) -> Running:
    current = sandbox.running()
    assert current is not None
    return current


@pytest.fixture(scope="session")
def sandbox_config(sandbox: Sandbox):
    return load_config(sandbox.workspace.config_file)


@pytest.fixture(scope="session")
def account(running: Running):
    return lambda env: Account(running.endpoint, env)


def http(url: str, method: str = "GET", token: str | None = None, body: dict | None = None):
    """(status, parsed JSON body) of one request to a local gateway."""
    headers = {"content-type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
