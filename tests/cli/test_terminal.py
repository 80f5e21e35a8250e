"""Real confirmations in a pseudo-terminal: amops as an operator runs it."""

from __future__ import annotations

import os
import re
import socket
import sys
import urllib.request

import pexpect
import pytest
from moto.server import ThreadedMotoServer

from amops.aws.clients import ClientProvider
from amops.aws.state import DynamoLockStore, create_state_tables
from amops.config import load_config
from tests.conftest import config_text
from tests.fakes import held_lock

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def moto_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its state per process, across servers: start every test from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    yield endpoint
    server.stop()


def spawn(*args: str, cwd) -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "NO_COLOR": "1"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "amops", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 160),
    )


def test_declining_to_overwrite_the_config_leaves_it_as_it_was(tmp_path):
    target = tmp_path / "amops.toml"
    target.write_text("# my settings\n")

    child = spawn("init", cwd=tmp_path)
    child.expect(re.compile(r"amops\.toml exists\. Overwrite it\?"))
    child.sendline("n")
    child.expect("Left amops.toml as it was")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 1
    assert target.read_text() == "# my settings\n"


def test_accepting_the_overwrite_writes_the_example(tmp_path):
    target = tmp_path / "amops.toml"
    target.write_text("# my settings\n")

    child = spawn("init", cwd=tmp_path)
    child.expect("Overwrite it?")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    assert "[environments.prod]" in target.read_text()


def test_releasing_a_lock_needs_the_environment_name_typed(tmp_path, moto_server):
    (tmp_path / "amops.toml").write_text(config_text(endpoint=moto_server))
    clients = ClientProvider(load_config(tmp_path / "amops.toml").environment("dev"))
    create_state_tables(clients.client("dynamodb"), "amops-locks", "amops-runs")
    locks = DynamoLockStore(clients, "amops-locks")
    locks.acquire(held_lock("run-dead"))

    mistyped = spawn("lock", "release", "dev", "--force", cwd=tmp_path)
    mistyped.expect("holds it for deployment run run-dead")
    mistyped.expect("Type 'dev' to release this lock")
    mistyped.sendline("prod")
    mistyped.expect("not confirmed")
    mistyped.expect(pexpect.EOF)
    mistyped.close()
    assert mistyped.exitstatus == 1
    assert locks.current("dev").run_id == "run-dead"

    typed = spawn("lock", "release", "dev", "--force", cwd=tmp_path)
    typed.expect("Type 'dev' to release this lock")
    typed.sendline("dev")
    typed.expect("Released the lock on dev")
    typed.expect(pexpect.EOF)
    typed.close()
    assert typed.exitstatus == 0
    assert locks.current("dev") is None


def test_a_pipe_instead_of_a_terminal_is_refused_not_hung(tmp_path, moto_server):
    import subprocess

    (tmp_path / "amops.toml").write_text(config_text(endpoint=moto_server))
    clients = ClientProvider(load_config(tmp_path / "amops.toml").environment("dev"))
    create_state_tables(clients.client("dynamodb"), "amops-locks", "amops-runs")
    DynamoLockStore(clients, "amops-locks").acquire(held_lock("run-dead"))

    done = subprocess.run(
        [sys.executable, "-m", "amops", "lock", "release", "dev", "--force"],
        cwd=tmp_path,
        input="dev\n",
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert "stdin is not a terminal — pass --yes --confirm-env dev" in done.stderr


def test_amops_alone_on_a_terminal_offers_a_menu_of_procedures(tmp_path):
    (tmp_path / "amops.toml").write_text(config_text())

    child = spawn(cwd=tmp_path)
    child.expect("What do you want to do?")
    child.expect("Runbooks and their review dates")
    for _ in range(7):  # down to the last entry
        child.send("\x1b[B")
    child.send("\r")
    child.expect("not yet written")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0


def test_amops_alone_without_a_terminal_prints_help(tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "amops"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )

    assert done.returncode == 0
    assert "Usage: amops" in done.stdout
