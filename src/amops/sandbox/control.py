"""Start, find, stop and talk to the sandbox process; what `amops sandbox …` and `--sandbox` use."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amops.runbook.errors import AmopsError, UsageError
from amops.sandbox import ACCOUNTS, PRIMARY_REGION
from amops.sandbox.workspace import Workspace
from amops.tokens import sign_token


def start_timeout(events: int) -> float:
    """Seconds to wait for `up`: provisioning, plus seeding (about 10,000 events a second, measured)."""
    return 120.0 + events / 2_000


class SandboxError(AmopsError):
    """The sandbox could not start, or died."""


def require_extra() -> None:
    try:
        import moto.server  # noqa: F401  # only checking it is installed
    except ImportError:
        raise UsageError(
            "the sandbox needs moto's server, which is not installed",
            "pip install 'amops[sandbox]'",
        ) from None


@dataclass
class Running:
    state: dict[str, Any]

    @property
    def endpoint(self) -> str:
        return self.state["endpoint"]

    @property
    def pid(self) -> int:
        return int(self.state["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _request(url: str, method: str = "GET", timeout: float = 5.0) -> dict[str, Any]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # loopback only
        return json.loads(answer.read())


class Sandbox:
    def __init__(self, workspace: Path) -> None:
        self.workspace = Workspace(workspace)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One `up`, `down` or `reset` at a time, across processes."""
        self.workspace.runtime.mkdir(parents=True, exist_ok=True)
        with open(self.workspace.lock_file, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def running(self) -> Running | None:
        """The live sandbox of this workspace, or None. A dead one's leftovers are cleared."""
        path = self.workspace.state_file
        if not path.is_file():
            return None
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if not _alive(int(state.get("pid", 0))):
            return None
        try:
            _request(state["control"] + "/status", timeout=3)
        except (OSError, urllib.error.URLError, KeyError):
            return None
        return Running(state)

    def died(self) -> dict[str, Any] | None:
        """The state of a sandbox that was running and is not any more."""
        path = self.workspace.state_file
        if not path.is_file() or self.running():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def up(
        self,
        port: int = 0,
        events: int = 50_000,
        progress: Callable[[str], None] = lambda _: None,
        on_dead: Callable[[dict[str, Any]], None] = lambda _: None,
        hot_events: int | None = None,
        bulk_env: str | None = None,
    ) -> tuple[Running, bool]:
        """Start the sandbox, or reuse the running one. Returns it and whether it was started now."""
        require_extra()
        self.workspace.check()
        with self._exclusive():  # two `up`s at once: the second waits, then finds the first one's sandbox
            self.workspace.ensure()
            current = self.running()
            if current:
                return current, False
            dead = self.died()
            if dead is not None:
                on_dead(dead)
                self._kill(dead)
                self.workspace.state_file.unlink(missing_ok=True)
            return self._start(port, events, progress, hot_events, bulk_env), True

    def _start(
        self,
        port: int,
        events: int,
        progress: Callable[[str], None],
        hot_events: int | None = None,
        bulk_env: str | None = None,
    ) -> Running:
        log = self.workspace.log_file
        with open(log, "w") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "amops.sandbox.server",
                    "--workspace",
                    str(self.workspace.path),
                    "--port",
                    str(port),
                    "--events",
                    str(events),
                    *(["--hot-events", str(hot_events)] if hot_events is not None else []),
                    *(["--bulk-env", bulk_env] if bulk_env else []),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command, and a Ctrl-C in this terminal
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        timeout = start_timeout(events + (hot_events or 0))
        deadline = time.monotonic() + timeout
        shown = 0
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines()
            for line in lines[shown:]:
                progress(line.strip())
            shown = len(lines)
            if process.poll() is not None:
                reason = lines[-1] if lines else f"exit code {process.returncode}"
                if "is not free" in reason:
                    raise UsageError(
                        f"the sandbox cannot start: {reason}",
                        "choose another --port, or leave it out to pick a free one",
                    )
                raise SandboxError(f"the sandbox stopped while starting: {reason}", f"see {log}")
            running = self.running()
            if running and running.pid == process.pid:
                return running
            time.sleep(0.2)
        process.terminate()
        raise SandboxError(f"the sandbox did not become ready in {timeout:.0f}s", f"see {log}")

    def down(self) -> bool:
        """Stop the sandbox; False when none was running."""
        self.workspace.check()
        with self._exclusive():
            self.workspace.ensure()
            current = self.running()
            dead = None if current else self.died()
            if current is None:
                if dead is not None:
                    self._kill(dead)
                    self.workspace.state_file.unlink(missing_ok=True)
                return False
            with contextlib.suppress(OSError, urllib.error.URLError):  # it may be stopping already
                _request(current.state["control"] + "/shutdown", method="POST")
            self._wait_gone(current.pid)
            self.workspace.state_file.unlink(missing_ok=True)
            return True

    def _kill(self, state: dict[str, Any]) -> None:
        pid = int(state.get("pid") or 0)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            self._wait_gone(pid)

    def _wait_gone(self, pid: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it
                if finished:
                    return
            except ChildProcessError:
                pass  # started by another amops: not ours to reap
            if not _alive(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def reset(self, port: int = 0, events: int = 50_000, progress: Callable[[str], None] = lambda _: None) -> Running:
        """Stop, put the shipped workspace back (a new git repository too), and start from nothing."""
        self.down()
        self.workspace.recreate()
        running, _ = self.up(port=port, events=events, progress=progress)
        return running

    def status(self) -> dict[str, Any] | None:
        current = self.running()
        if current is None:
            return None
        return _request(current.state["control"] + "/status")

    def readiness(self) -> list[dict[str, Any]]:
        """Per environment and region: the API's /health, and how many functions have a live alias."""
        from amops.sandbox.accounts import Account

        current = self._require_running()
        rows = []
        for key, url in current.state["gateways"].items():
            env, region = key.split("/")
            lam = Account(current.endpoint, env).client("lambda", region)
            functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
            live = sum(1 for name in functions if lam.list_aliases(FunctionName=name)["Aliases"])
            rows.append(
                {
                    "environment": env,
                    "region": region,
                    "api_url": url,
                    "health": _health(url),
                    "functions": f"{live}/{len(functions)}",
                }
            )
        return rows

    def tick(self, hours: float) -> dict[str, Any]:
        current = self._require_running()
        return _request(f"{current.state['control']}/tick?hours={hours}", method="POST", timeout=600)

    def _require_running(self) -> Running:
        current = self.running()
        if current is None:
            if self.died() is not None:
                raise SandboxError("the sandbox has died", "start a new one with `amops sandbox up`")
            raise SandboxError("the sandbox is not running", "start it with `amops sandbox up`")
        return current

    def env_lines(self, env: str) -> list[str]:
        from amops.sandbox.accounts import credentials

        _check_env(env)
        current = self._require_running()
        creds = credentials(current.endpoint, env)
        return [
            f"export AWS_ENDPOINT_URL={current.endpoint}",
            f"export AWS_DEFAULT_REGION={PRIMARY_REGION}",
            f"export AWS_ACCESS_KEY_ID={creds['aws_access_key_id']}",
            f"export AWS_SECRET_ACCESS_KEY={creds['aws_secret_access_key']}",
            f"export AWS_SESSION_TOKEN={creds['aws_session_token']}",
            "unset AWS_PROFILE",
            f"# account {ACCOUNTS[env]} ({env}); API: {current.state['gateways'][f'{env}/{PRIMARY_REGION}']}",
        ]

    def token(self, user: str, env: str, hours: float = 1.0) -> str:
        from amops.sandbox.accounts import Account

        _check_env(env)
        current = self._require_running()
        key = (
            Account(current.endpoint, env)
            .client("ssm")
            .get_parameter(Name=f"/am/{env}/token-signing-key", WithDecryption=True)["Parameter"]["Value"]
        )
        return sign_token(key, user, minutes=hours * 60)


def _check_env(env: str) -> None:
    if env not in ACCOUNTS:
        raise UsageError(f"the sandbox has no environment {env!r}", f"use one of {', '.join(ACCOUNTS)}")


def _health(url: str) -> str:
    try:
        answer = _request(url + "/health")
    except (OSError, urllib.error.URLError, ValueError) as error:
        return f"down ({error})"
    return f"200 {answer.get('status')} (v{answer.get('function_version')})"
