"""What a runbook is made of: steps and procedures, declared as data."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amops.runbook.context import StepContext

StepFunction = Callable[["StepContext"], Mapping[str, Any] | None]
CheckFunction = Callable[["StepContext"], None]
NeededFunction = Callable[["StepContext"], str | None]  # None: run it; else why there is nothing to do


class StepKind(StrEnum):
    """How much a step can change; the runner derives the confirmation from it."""

    READ_ONLY = "read-only"
    MUTATING = "mutating"
    DESTRUCTIVE = "destructive"


class Confirmation(StrEnum):
    NONE = "none"
    YES_NO = "y/N"
    TYPE_ENVIRONMENT = "type the environment name"


PRODUCTION_ENVIRONMENTS = frozenset({"prod"})


@dataclass(frozen=True)
class Step:
    """One step of a procedure: its explanation is its documentation."""

    id: str
    title: str
    why: str
    command: str  # the equivalent manual command, with {placeholders}
    expect: str
    kind: StepKind
    run: StepFunction
    iam: tuple[str, ...] = ()
    verify: CheckFunction | None = None
    undo: CheckFunction | None = None
    irreversible: str | None = None  # why a changing step has no undo
    unverified: str | None = None  # why a step has no verify
    needed: NeededFunction | None = None  # asked before the confirmation: nothing to do means no question
    amops: str | None = None  # the amops command that runs just this step (or the part it belongs to)
    gate: bool = False  # a check the run must pass: when it fails, "skip" is not offered

    @property
    def changes_things(self) -> bool:
        return self.kind is not StepKind.READ_ONLY

    def confirmation(self, environment: str | None) -> Confirmation:
        if not self.changes_things:
            return Confirmation.NONE
        if self.kind is StepKind.DESTRUCTIVE or environment in PRODUCTION_ENVIRONMENTS:
            return Confirmation.TYPE_ENVIRONMENT
        return Confirmation.YES_NO

    def placeholders(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.command) if name]

    def render_command(self, values: Mapping[str, Any]) -> str:
        """The manual command with every known placeholder filled; unknown ones stay visible."""
        return string.Formatter().vformat(self.command, (), _KeepMissing(values))

    def rendered(self, values: Mapping[str, Any]) -> Step:
        """This step with its command, why and expect filled in, as an operator sees it during a run."""
        fill = string.Formatter()
        return replace(
            self,
            command=self.render_command(values),
            why=fill.vformat(self.why, (), _KeepMissing(values)),
            expect=fill.vformat(self.expect, (), _KeepMissing(values)),
        )

    def declaration_problems(self) -> list[str]:
        problems = []
        if self.changes_things and self.undo is None and not self.irreversible:
            problems.append(f"step {self.id!r} changes things but has neither undo nor irreversible=")
        if self.verify is None and not self.unverified:
            problems.append(f"step {self.id!r} has no verify and no unverified= reason")
        for text in (self.command, self.why, self.expect):
            try:
                list(string.Formatter().parse(text))
            except ValueError as error:
                problems.append(f"step {self.id!r}: {error} in {text[:40]!r}… (write a literal brace as {{{{ or }}}})")
        if not self.why.strip() or not self.expect.strip() or not self.command.strip():
            problems.append(f"step {self.id!r} needs why, expect and command")
        if self.changes_things and not self.iam:
            problems.append(f"step {self.id!r} changes things but declares no IAM actions")
        return problems


class _KeepMissing(dict):
    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class TroubleshootingEntry:
    symptom: str
    cause: str
    fix: str


@dataclass(frozen=True)
class Procedure:
    """A runbook: overview, prerequisites, steps, verification, troubleshooting, rollback."""

    name: str  # the runbook's short name: deployment, promotion, ...
    title: str
    command: str  # how an operator starts it, e.g. "amops deploy {env}"
    purpose: str
    scope: str
    audience: str
    steps: tuple[Step, ...]
    owner: str
    review_months: int
    last_reviewed: date
    tools: tuple[str, ...] = ()
    knowledge: tuple[str, ...] = ()
    verification: tuple[str, ...] = ()
    troubleshooting: tuple[TroubleshootingEntry, ...] = ()
    rollback: str = ""
    needs_environment: bool = True
    extra_sections: tuple[tuple[str, str], ...] = field(default=())  # (heading, markdown) after the overview
    shared_outputs: tuple[str, ...] = ()  # "step.output" kept in the team's run record, not only the journal
    parts: tuple[Procedure, ...] = ()  # procedures of their own command, documented in this runbook
    steps_heading: str = ""  # with parts: the heading of this procedure's own steps

    @property
    def with_parts(self) -> tuple[Procedure, ...]:
        return (self, *self.parts)

    @property
    def changes_things(self) -> bool:
        return any(step.changes_things for step in self.steps)

    @property
    def iam_actions(self) -> list[str]:
        """Every action the steps need; one covered by a `service:*` the steps also need is left out."""
        actions = {action for procedure in self.with_parts for step in procedure.steps for action in step.iam}
        wildcards = {action.split(":")[0] for action in actions if action.endswith(":*")}
        return sorted(a for a in actions if a.endswith(":*") or a.split(":")[0] not in wildcards)

    def step(self, step_id: str) -> Step:
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        raise KeyError(step_id)

    def declaration_problems(self) -> list[str]:
        problems = [p for step in self.steps for p in step.declaration_problems()]
        ids = [step.id for step in self.steps]
        problems += [f"step id {i!r} is declared twice" for i in sorted(set(ids)) if ids.count(i) > 1]
        if not self.steps:
            problems.append(f"procedure {self.name!r} has no steps")
        return problems + [p for part in self.parts for p in part.declaration_problems()]
