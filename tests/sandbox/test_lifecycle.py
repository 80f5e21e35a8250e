"""Starting, stopping, restarting and the ways a sandbox goes wrong: no orphans, one clear line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amops.runbook.errors import UsageError
from amops.sandbox.control import Sandbox, require_extra
from tests.sandbox.conftest import http

pytestmark = pytest.mark.e2e
EVENTS = "400"


def amops(*args: str, workspace: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "AMOPS_SANDBOX_WORKSPACE": str(workspace), "AMOPS_SANDBOX_EVENTS": EVENTS}
    return subprocess.run(
        [sys.executable, "-m", "amops", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def servers_for(workspace: Path) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", f"amops.sandbox.server --workspace {workspace}"], capture_output=True, text=True
    ).stdout.split()
    return [int(pid) for pid in found]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_down_stops_the_process_and_up_starts_from_nothing(tmp_path):
    workspace = tmp_path / "ws"
    first = json.loads(amops("-o", "json", "sandbox", "up", "--events", EVENTS, workspace=workspace).stdout)
    api = first["gateways"]["dev/af-south-1"]
    sandbox = Sandbox(workspace)
    token = sandbox.token("alice", "dev")
    team = http(f"{api}/teams", "POST", token, {"name": "Before restart"})[1]["team_id"]

    assert amops("sandbox", "down", workspace=workspace).returncode == 0
    assert not alive(first["pid"])
    assert not (workspace / ".sandbox" / "state.json").exists()

    second = json.loads(amops("-o", "json", "sandbox", "up", "--events", EVENTS, workspace=workspace).stdout)
    try:
        assert second["pid"] != first["pid"] and second["started"] is True
        new_api = second["gateways"]["dev/af-south-1"]
        assert http(f"{new_api}/teams/{team}", token=sandbox.token("alice", "dev"))[1]["error"] == "AM-TEAM-001"
        again = json.loads(amops("-o", "json", "sandbox", "up", workspace=workspace).stdout)
        assert (again["pid"], again["started"]) == (second["pid"], False)
    finally:
        amops("sandbox", "down", workspace=workspace)
    assert servers_for(workspace.resolve()) == []


def test_two_concurrent_ups_start_one_sandbox(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    env = {**os.environ, "AMOPS_SANDBOX_WORKSPACE": str(workspace), "AMOPS_SANDBOX_EVENTS": EVENTS}
    command = [sys.executable, "-m", "amops", "-o", "json", "sandbox", "up", "--events", EVENTS]
    both = [
        subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        answers = [json.loads(process.communicate(timeout=240)[0]) for process in both]

        assert [process.returncode for process in both] == [0, 0]
        assert answers[0]["pid"] == answers[1]["pid"]
        assert sorted(answer["started"] for answer in answers) == [False, True]
        assert servers_for(workspace.resolve()) == [answers[0]["pid"]]
    finally:
        amops("sandbox", "down", workspace=workspace)
    assert servers_for(workspace.resolve()) == []


def test_a_dead_sandbox_is_reported_and_replaced(tmp_path):
    workspace = tmp_path / "ws"
    first = json.loads(amops("-o", "json", "sandbox", "up", "--events", EVENTS, workspace=workspace).stdout)
    os.kill(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)

    status = amops("sandbox", "status", workspace=workspace)
    tick = amops("sandbox", "tick", workspace=workspace)
    restarted = amops("-o", "json", "sandbox", "up", "--events", EVENTS, workspace=workspace)
    try:
        assert status.returncode == 1 and "the sandbox has died" in status.stdout
        assert tick.returncode == 1
        assert tick.stderr.strip().splitlines() == [
            "amops: error: the sandbox has died — start a new one with `amops sandbox up`"
        ]
        assert restarted.returncode == 0
        assert f"(pid {first['pid']}) had died; starting a new one" in restarted.stderr
        assert json.loads(restarted.stdout)["pid"] != first["pid"]
    finally:
        amops("sandbox", "down", workspace=workspace)


def test_a_busy_port_is_one_line_and_leaves_no_process(tmp_path):
    workspace = tmp_path / "ws"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        outcome = amops("sandbox", "up", "--port", str(port), workspace=workspace)

    assert outcome.returncode == 2
    lines = outcome.stderr.strip().splitlines()
    assert lines[-1].startswith(f"amops: error: the sandbox cannot start: port {port} on 127.0.0.1 is not free")
    assert "Traceback" not in outcome.stderr
    assert servers_for(workspace.resolve()) == []


def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path):
    folder = tmp_path / "my-project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")

    outcome = amops("sandbox", "up", workspace=folder)

    assert outcome.returncode == 2
    assert outcome.stderr.strip() == (
        f"amops: error: {folder} is not an amops sandbox workspace (it has files but no .amops-sandbox) "
        "— choose an empty or new folder with --workspace"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_reset_restores_the_shipped_sources_and_reprovisions(tmp_path):
    workspace = tmp_path / "ws"
    first = json.loads(amops("-o", "json", "sandbox", "up", "--events", EVENTS, workspace=workspace).stdout)
    handler = workspace / "functions" / "health" / "handler.py"
    shipped = handler.read_text()
    handler.write_text("raise SystemExit('broken')\n")
    try:
        reset = amops("-o", "json", "sandbox", "reset", "--events", EVENTS, workspace=workspace)
        assert reset.returncode == 0, reset.stderr
        assert json.loads(reset.stdout)["pid"] != first["pid"]
        assert handler.read_text() == shipped
        assert http(f"{json.loads(reset.stdout)['gateways']['dev/af-south-1']}/health")[0] == 200
    finally:
        amops("sandbox", "down", workspace=workspace)


def test_the_sandbox_flag_starts_the_sandbox_on_demand(tmp_path):
    workspace = tmp_path / "ws"
    try:
        outcome = amops("--sandbox", "lock", "status", "prod", workspace=workspace)

        assert outcome.returncode == 0, outcome.stderr
        assert "prod is not locked." in outcome.stdout
        assert "Started the sandbox" in outcome.stdout
        assert len(servers_for(workspace.resolve())) == 1
    finally:
        amops("sandbox", "down", workspace=workspace)


def test_without_the_sandbox_extra_it_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "moto.server", None)  # as if moto's server were not installed

    with pytest.raises(UsageError, match=r"pip install 'amops\[sandbox\]'"):
        require_extra()
