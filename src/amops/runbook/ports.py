"""The interfaces the engine owns; the terminal and AWS implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from amops.runbook.step import Step


class Console(Protocol):
    """Everything a procedure or the runner shows an operator."""

    def heading(self, text: str) -> None: ...
    def step(self, number: int, total: int, step: Step, command: str) -> None: ...
    def info(self, text: str) -> None: ...
    def success(self, text: str) -> None: ...
    def warning(self, text: str) -> None: ...
    def failure(self, text: str) -> None: ...
    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...
    def progress(self, description: str, total: int | None) -> AbstractContextManager[Callable[[int], None]]: ...


class Prompter(Protocol):
    """Every question amops asks; `interactive` is False when stdin is not a terminal."""

    @property
    def interactive(self) -> bool: ...
    def confirm(self, question: str) -> bool: ...
    def type_to_confirm(self, question: str, expected: str) -> bool: ...
    def choose(self, question: str, choices: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str


@dataclass(frozen=True)
class LockInfo:
    environment: str
    run_id: str
    holder: str  # local user
    caller_arn: str
    procedure: str
    since: str  # ISO 8601 UTC
    expires: str  # ISO 8601 UTC

    def describe(self) -> str:
        return (
            f"{self.holder} ({self.caller_arn}) holds it for {self.procedure} run {self.run_id} "
            f"since {self.since}, until {self.expires} at the latest"
        )


class LockStore(Protocol):
    def acquire(self, lock: LockInfo) -> LockInfo | None:
        """Take the lock; on refusal return the current holder."""

    def release(self, environment: str, run_id: str) -> None: ...
    def current(self, environment: str) -> LockInfo | None: ...
    def force_release(self, environment: str) -> LockInfo | None: ...


@dataclass
class RunSummary:
    """What the team shares about a run, in the environment's account."""

    run_id: str
    procedure: str
    environment: str
    operator: str
    caller_arn: str
    status: str
    started_at: str
    ended_at: str | None = None
    approvals: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # the outputs the procedure shares with the team

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RunStore(Protocol):
    def record(self, summary: RunSummary) -> None: ...
    def list(self, environment: str, limit: int = 50) -> list[RunSummary]: ...
    def get(self, environment: str, run_id: str) -> RunSummary | None: ...


@dataclass
class EnvironmentServices:
    """What the runner needs from the environment a procedure runs against."""

    identity: Callable[[], CallerIdentity]
    expected_account: str | None = None
    locks: LockStore | None = None
    runs: RunStore | None = None
    aws: Any = None  # handed to steps as ctx.aws; the engine never looks inside
