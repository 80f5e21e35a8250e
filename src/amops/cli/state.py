"""What every command gets: the global options, and the objects built from them on demand."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amops.runbook.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from amops.config import Config
    from amops.runbook.ports import EnvironmentServices
    from amops.runbook.runner import Runner, RunResult
    from amops.runbook.step import Procedure
    from amops.ui.console import TerminalConsole
    from amops.ui.prompter import TerminalPrompter


def state_dir() -> Path:
    """Where journals live: $AMOPS_STATE_DIR, or the user state directory."""
    if os.environ.get("AMOPS_STATE_DIR"):
        return Path(os.environ["AMOPS_STATE_DIR"])
    from platformdirs import user_state_dir

    return Path(user_state_dir("amops"))


@dataclass
class AppState:
    config_path: Path | None = None
    sandbox: bool = False
    profile: str | None = None
    yes: bool = False
    confirm_env: str | None = None
    dry_run: bool = False
    output: str = "text"
    verbose: bool = False
    on_failure: str = "ask"
    data_on_stdout: bool = False  # a command writes its data to stdout: everything human goes to stderr
    _services: dict[str, EnvironmentServices] = field(default_factory=dict)

    @property
    def json_output(self) -> bool:
        return self.output == "json"

    @property
    def runs_dir(self) -> Path:
        return state_dir() / "runs"

    @cached_property
    def config(self) -> Config:
        from amops.config import load_config

        if self.sandbox:
            from amops.sandbox.control import Sandbox
            from amops.sandbox.workspace import default_workspace

            sandbox = Sandbox(default_workspace())
            running, started = sandbox.up(
                events=_sandbox_events(),
                progress=lambda line: None,
                on_dead=lambda dead: self.console.warning("the sandbox had died; starting a new one"),
            )
            if started:
                self.console.info(f"Started the sandbox at {running.endpoint} ({sandbox.workspace.path})")
            return load_config(sandbox.workspace.config_file)
        return load_config(self.config_path)

    @cached_property
    def console(self) -> TerminalConsole:
        from amops.ui.console import TerminalConsole

        return TerminalConsole(json_output=self.json_output or self.data_on_stdout)

    @cached_property
    def prompter(self) -> TerminalPrompter:
        from amops.ui.prompter import TerminalPrompter

        return TerminalPrompter()

    def services(self, env: str) -> EnvironmentServices:
        """The AWS side of one environment: identity, lock, run history, clients."""
        if env not in self._services:
            from amops.aws.clients import ClientProvider
            from amops.aws.state import DynamoLockStore, DynamoRunStore
            from amops.runbook.ports import EnvironmentServices

            environment = self.config.environment(env)
            session = None
            if self.sandbox:
                from amops.sandbox.accounts import base_session

                session = base_session()
            clients = ClientProvider(environment, profile=self.profile, session=session)
            self._services[env] = EnvironmentServices(
                identity=clients.caller_identity,
                expected_account=environment.account_id,
                locks=DynamoLockStore(clients, self.config.names.lock_table),
                runs=DynamoRunStore(clients, self.config.names.runs_table),
                aws=clients,
            )
        return self._services[env]

    def runner(self, env: str | None) -> Runner:
        from amops.runbook.runner import Runner, RunOptions

        return Runner(
            console=self.console,
            prompter=self.prompter,
            runs_dir=self.runs_dir,
            options=RunOptions(
                yes=self.yes, confirm_env=self.confirm_env, dry_run=self.dry_run, on_failure=self.on_failure
            ),
            services=self.services(env) if env else None,
        )

    def run_procedure(
        self,
        procedure: Procedure,
        env: str | None,
        params: dict[str, Any],
        resume: str | None = None,
    ) -> RunResult:
        """Run a procedure, show its summary, and leave the exit code to the caller."""
        names = self.config.resource_names(env) if env else {}
        result = self.runner(env).run(procedure, env, params, names=names, config=self.config, resume=resume)
        self.emit(result.as_dict(), lambda: self._show_result(result))
        return result

    def _show_result(self, result: RunResult) -> None:
        rows = [(record.id, record.status, f"{record.duration_s:.1f}s", record.error or "") for record in result.steps]
        self.console.table(f"Run {result.run_id}: {result.status}", ["step", "status", "time", "error"], rows)
        self.console.info(f"Journal: {result.journal}")
        if result.exit_code not in (ExitCode.OK,) and result.status in (
            "failed",
            "interrupted",
            "declined",
            "waiting",
        ):
            self.console.info(f"Resume with --resume {result.run_id} once the cause is fixed.")

    def emit(self, document: Any, show_text: Callable[[], None]) -> None:
        """One JSON document on stdout with --output json; otherwise the human rendering."""
        if self.json_output:
            self.console.print_json(document)
        else:
            show_text()

    def require_environment(self, env: str) -> str:
        self.config.environment(env)
        return env


def _sandbox_events() -> int:
    """How many audit events a sandbox started on demand seeds per environment: $AMOPS_SANDBOX_EVENTS."""
    text = os.environ.get("AMOPS_SANDBOX_EVENTS", "50000")
    if not text.isdigit():
        raise UsageError(f"AMOPS_SANDBOX_EVENTS must be a whole number, not {text!r}")
    return int(text)


def parse_output(value: str) -> str:
    if value not in ("text", "json"):
        raise UsageError(f"--output must be text or json, not {value!r}")
    return value
