"""Plain fakes of the engine's ports: a console that records, a prompter that follows a script."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from amops.runbook.ports import CallerIdentity, LockInfo, RunSummary
from amops.runbook.step import Step


class RecordingConsole:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tables: list[tuple[str, list[str], list[tuple[Any, ...]]]] = []

    def heading(self, text: str) -> None:
        self.lines.append(f"# {text}")

    def step(self, number: int, total: int, step: Step, command: str) -> None:
        self.lines.append(f"step {number}/{total} {step.title}: {command}")

    def info(self, text: str) -> None:
        self.lines.append(text)

    def success(self, text: str) -> None:
        self.lines.append(f"ok: {text}")

    def warning(self, text: str) -> None:
        self.lines.append(f"warning: {text}")

    def failure(self, text: str) -> None:
        self.lines.append(f"failure: {text}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.lines.append(f"table {title}: {list(columns)} {[list(r) for r in rows]}")
        self.tables.append((title, list(columns), [tuple(r) for r in rows]))

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda advance=1: None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class UnexpectedQuestion(AssertionError):
    pass


@dataclass
class ScriptedPrompter:
    """Answers the questions it expects, in order, and fails on any other."""

    script: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, words in question, answer)
    interactive: bool = True
    asked: list[str] = field(default_factory=list)

    def _answer(self, kind: str, question: str) -> Any:
        self.asked.append(question)
        if not self.script:
            raise UnexpectedQuestion(f"unexpected {kind} question: {question!r}")
        expected_kind, words, answer = self.script.pop(0)
        if expected_kind != kind or words not in question:
            raise UnexpectedQuestion(f"expected {expected_kind} about {words!r}, got {kind}: {question!r}")
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def confirm(self, question: str) -> bool:
        return self._answer("confirm", question)

    def type_to_confirm(self, question: str, expected: str) -> bool:
        return self._answer("type", question) == expected

    def choose(self, question: str, choices: Sequence[str]) -> str:
        answer = self._answer("choose", question)
        assert answer in choices, f"{answer!r} is not offered: {choices}"
        return answer

    def assert_done(self) -> None:
        assert not self.script, f"questions never asked: {self.script}"


class MemoryLockStore:
    def __init__(self) -> None:
        self.locks: dict[str, LockInfo] = {}
        self.history: list[tuple[str, str]] = []

    def acquire(self, lock: LockInfo) -> LockInfo | None:
        if lock.environment in self.locks:
            return self.locks[lock.environment]
        self.locks[lock.environment] = lock
        self.history.append(("acquire", lock.run_id))
        return None

    def release(self, environment: str, run_id: str) -> None:
        if environment in self.locks and self.locks[environment].run_id == run_id:
            del self.locks[environment]
            self.history.append(("release", run_id))

    def current(self, environment: str) -> LockInfo | None:
        return self.locks.get(environment)

    def force_release(self, environment: str) -> LockInfo | None:
        return self.locks.pop(environment, None)


class MemoryRunStore:
    def __init__(self) -> None:
        self.runs: dict[str, RunSummary] = {}
        self.statuses: list[str] = []

    def record(self, summary: RunSummary) -> None:
        self.runs[summary.run_id] = RunSummary(**summary.as_dict())
        self.statuses.append(summary.status)

    def list(self, environment: str, limit: int = 50) -> list[RunSummary]:
        return [s for s in self.runs.values() if s.environment == environment][:limit]

    def get(self, environment: str, run_id: str) -> RunSummary | None:
        return self.runs.get(run_id)

    def add_approval(self, environment: str, run_id: str, approval: dict[str, str]) -> None:
        self.runs[run_id].approvals.append(dict(approval))


def held_lock(run_id: str = "run-dead", holder: str = "bob", env: str = "dev") -> LockInfo:
    """A lock another operator's run holds, until far in the future."""
    return LockInfo(env, run_id, holder, f"arn:{holder}", "deployment", "2026-12-04T09:00:00Z", "2099-01-01T00:00:00Z")


def identity(account: str = "111111111111") -> Callable[[], CallerIdentity]:
    return lambda: CallerIdentity(account=account, arn=f"arn:aws:sts::{account}:assumed-role/ops/alice")
