"""The runner: confirmations, dry-run, journal, resume, lock and undo, for every procedure."""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from amops import __version__
from amops.runbook.context import StepContext
from amops.runbook.errors import (
    AmopsError,
    AwaitingError,
    ExitCode,
    LockHeldError,
    RefusedError,
    UsageError,
    WrongAccountError,
)
from amops.runbook.journal import (
    DONE_STATUSES,
    RESUMABLE_RUN_STATUSES,
    Journal,
    RecordedRun,
    git_commit,
    iso,
    new_run_id,
    utc_now,
)
from amops.runbook.ports import (
    CallerIdentity,
    Console,
    EnvironmentServices,
    LockInfo,
    Prompter,
    RunSummary,
)
from amops.runbook.redact import redact_text
from amops.runbook.step import Confirmation, Procedure, Step

LOCK_LIFETIME = timedelta(hours=4)

RETRY, SKIP, UNDO, STOP = "retry", "skip", "undo completed steps", "stop"


@dataclass(frozen=True)
class RunOptions:
    yes: bool = False
    confirm_env: str | None = None
    dry_run: bool = False
    on_failure: str = "ask"  # ask (stop without a terminal), stop, or undo


@dataclass
class StepRecord:
    id: str
    title: str
    status: str  # ok, failed, skipped, dry-run, declined, interrupted, undone, not run
    duration_s: float = 0.0
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    procedure: str
    environment: str | None
    status: str  # succeeded, failed, stopped, declined, interrupted, rolled back, dry-run
    exit_code: ExitCode
    journal: Path
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "procedure": self.procedure,
            "environment": self.environment,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "journal": str(self.journal),
            "steps": [record.__dict__ for record in self.steps],
            "outputs": self.outputs,
        }


def _shared(procedure: Procedure, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The outputs a procedure shares with the team, by "step.output" name, where the run made them."""
    shared = {}
    for name in procedure.shared_outputs:
        step, _, key = name.partition(".")
        if key in outputs.get(step, {}):
            shared[name] = outputs[step][key]
    return shared


def check_account(identity: CallerIdentity, expected: str | None, environment: str | None) -> None:
    """Refuse to touch an environment with another account's credentials."""
    if expected and identity.account != expected:
        raise WrongAccountError(
            f"the AWS credentials in use are for account {identity.account} ({identity.arn}), "
            f"but {environment} is account {expected}",
            f"use the profile or role for {environment} (--profile), or fix "
            f"environments.{environment}.account_id in amops.toml",
        )


class _Interrupted(Exception):
    def __init__(self, record: StepRecord | None = None) -> None:
        super().__init__("interrupted")
        self.record = record


class _Stop(Exception):
    def __init__(self, status: str, exit_code: ExitCode, record: StepRecord) -> None:
        super().__init__(status)
        self.status = status
        self.exit_code = exit_code
        self.record = record


class Runner:
    """Runs a procedure's steps in order; owns everything the procedures must not."""

    def __init__(
        self,
        console: Console,
        prompter: Prompter,
        runs_dir: Path,
        options: RunOptions,
        services: EnvironmentServices | None = None,
        operator: str | None = None,
    ) -> None:
        self.console = console
        self.prompter = prompter
        self.runs_dir = runs_dir
        self.options = options
        self.services = services
        self.operator = operator or getpass.getuser()

    # -- the whole run -------------------------------------------------------------------

    def run(
        self,
        procedure: Procedure,
        environment: str | None,
        params: Mapping[str, Any] | None = None,
        *,
        names: Mapping[str, Any] | None = None,
        config: Any = None,
        resume: str | None = None,
    ) -> RunResult:
        recorded = self._recorded_run(resume, procedure, environment) if resume else None
        if recorded:
            params = recorded.params
        params = dict(params or {})
        self._refuse_what_cannot_be_asked(procedure, environment)
        identity = self._check_identity(procedure, environment, recorded)

        run_id = recorded.run_id if recorded else new_run_id(procedure.name, environment)
        ctx = StepContext(
            run_id=run_id,
            environment=environment,
            params=params,
            console=self.console,
            aws=self.services.aws if self.services else None,
            config=config,
            dry_run=self.options.dry_run,
            names=dict(names or {}),
            prompter=self.prompter,
            outputs=recorded.outputs() if recorded else {},
        )
        takes_lock = procedure.changes_things and not self.options.dry_run
        if takes_lock:
            self._acquire_lock(procedure, environment, run_id, identity)
        try:
            journal = Journal(recorded.path, run_id) if recorded else Journal.create(self.runs_dir, run_id)
            summary = RunSummary(
                run_id=run_id,
                procedure=procedure.name,
                environment=environment or "",
                operator=self.operator,
                caller_arn=identity.arn if identity else "",
                status="running",
                started_at=iso(utc_now()),
            )
            if recorded:
                journal.write("run.resume", operator=self.operator, caller_arn=summary.caller_arn)
            else:
                journal.write(
                    "run.start",
                    procedure=procedure.name,
                    environment=environment,
                    params=params,
                    operator=self.operator,
                    host=socket.gethostname(),
                    caller_arn=identity.arn if identity else None,
                    account=identity.account if identity else None,
                    amops_version=__version__,
                    git_commit=git_commit(),
                    dry_run=self.options.dry_run,
                    options={"yes": self.options.yes, "confirm_env": self.options.confirm_env},
                )
            self._record_summary(summary, journal)
            result = self._run_steps(procedure, ctx, journal, recorded)
            journal.write("run.end", status=result.status, exit_code=int(result.exit_code))
            summary.status = result.status
            summary.ended_at = iso(utc_now())
            summary.details = _shared(procedure, ctx.outputs)
            self._record_summary(summary, journal)
            return result
        finally:
            if takes_lock:
                self._release_lock(environment, run_id)

    # -- before the first step -----------------------------------------------------------

    def _recorded_run(self, run_id: str, procedure: Procedure, environment: str | None) -> RecordedRun:
        recorded = RecordedRun.load(self.runs_dir, run_id)
        if recorded.procedure != procedure.name or recorded.environment != environment:
            raise UsageError(
                f"run {run_id} was {recorded.procedure} in {recorded.environment}, "
                f"not {procedure.name} in {environment}",
                "resume it with the command that started it (see `amops runs show`)",
            )
        if recorded.status not in RESUMABLE_RUN_STATUSES:
            raise UsageError(f"run {run_id} {recorded.status}; there is nothing to resume")
        return recorded

    def _refuse_what_cannot_be_asked(self, procedure: Procedure, environment: str | None) -> None:
        if procedure.needs_environment and not environment:
            raise UsageError(f"{procedure.title} needs an environment", "name one, e.g. dev")
        if self.options.confirm_env and self.options.confirm_env != environment:
            raise UsageError(
                f"--confirm-env {self.options.confirm_env} does not match the environment {environment}",
                f"pass --confirm-env {environment} to confirm changes to {environment}",
            )
        if self.options.dry_run or self.prompter.interactive:
            return
        confirmations = {step.confirmation(environment) for step in procedure.steps}
        if confirmations & {Confirmation.YES_NO, Confirmation.TYPE_ENVIRONMENT} and not self.options.yes:
            needed = "--yes"
            if Confirmation.TYPE_ENVIRONMENT in confirmations:
                needed = f"--yes --confirm-env {environment}"
            raise RefusedError(
                f"{procedure.title} changes {environment or 'things'} and stdin is not a terminal, "
                "so amops cannot ask for confirmation",
                f"run it on a terminal, or pass {needed} to confirm every step in advance",
            )
        if Confirmation.TYPE_ENVIRONMENT in confirmations and self.options.confirm_env != environment:
            raise RefusedError(
                f"{procedure.title} has steps that need the environment name typed, and stdin is not a terminal",
                f"pass --confirm-env {environment} as well as --yes",
            )

    def _check_identity(
        self, procedure: Procedure, environment: str | None, recorded: RecordedRun | None
    ) -> CallerIdentity | None:
        if not self.services:
            return None
        identity = self.services.identity()
        check_account(identity, self.services.expected_account, environment)
        if recorded and recorded.start.get("account") not in (None, identity.account):
            raise WrongAccountError(
                f"run {recorded.run_id} ran in account {recorded.start.get('account')}, "
                f"the credentials in use are for {identity.account}",
                "resume it with the same environment's credentials",
            )
        return identity

    def _acquire_lock(
        self,
        procedure: Procedure,
        environment: str | None,
        run_id: str,
        identity: CallerIdentity | None,
    ) -> None:
        locks = self.services.locks if self.services else None
        if not locks or not environment:
            return
        now = utc_now()
        holder = locks.acquire(
            LockInfo(
                environment=environment,
                run_id=run_id,
                holder=self.operator,
                caller_arn=identity.arn if identity else "",
                procedure=procedure.name,
                since=iso(now),
                expires=iso(now + LOCK_LIFETIME),
            )
        )
        if holder is not None:
            raise LockHeldError(
                f"{environment} is locked: {holder.describe()}",
                f"wait for that run to finish, or, if it is dead, `amops lock release {environment} --force`",
            )

    def _release_lock(self, environment: str | None, run_id: str) -> None:
        locks = self.services.locks if self.services else None
        if not locks or not environment:
            return
        try:
            locks.release(environment, run_id)
        except AmopsError as error:
            self.console.warning(
                f"could not release the lock on {environment}: {error} "
                f"(it expires by itself; `amops lock release {environment} --force` frees it now)"
            )

    def _record_summary(self, summary: RunSummary, journal: Journal) -> None:
        runs = self.services.runs if self.services else None
        if not runs or not summary.environment:
            return
        try:
            runs.record(summary)
        except AmopsError as error:
            # The local journal is the record of truth; the shared table is a convenience.
            journal.write("run.summary_not_shared", error=str(error))
            self.console.warning(f"the team's run history was not updated: {error}")

    # -- the steps -----------------------------------------------------------------------

    def _run_steps(
        self, procedure: Procedure, ctx: StepContext, journal: Journal, recorded: RecordedRun | None
    ) -> RunResult:
        result = RunResult(
            run_id=ctx.run_id,
            procedure=procedure.name,
            environment=ctx.environment,
            status="dry-run" if self.options.dry_run else "succeeded",
            exit_code=ExitCode.OK,
            journal=journal.path,
            outputs=ctx.outputs,
        )
        done = {s for s, status in (recorded.step_statuses() if recorded else {}).items() if status in DONE_STATUSES}
        completed: list[Step] = [step for step in procedure.steps if step.id in done]
        total = len(procedure.steps)
        self.console.heading(
            f"{procedure.title} — {ctx.environment or ''} — run {ctx.run_id}"
            + (" (dry run: nothing will change)" if self.options.dry_run else "")
        )
        try:
            for number, step in enumerate(procedure.steps, start=1):
                if step.id in done:
                    result.steps.append(StepRecord(step.id, step.title, "ok (earlier)"))
                    continue
                record = self._run_one(number, total, step, ctx, journal, completed)
                result.steps.append(record)
                if record.status == "ok":
                    completed.append(step)
        except (_Interrupted, KeyboardInterrupt) as interrupted:
            result.status, result.exit_code = "interrupted", ExitCode.INTERRUPTED
            if isinstance(interrupted, _Interrupted) and interrupted.record:
                result.steps.append(interrupted.record)
        except _Stop as stop:
            result.status, result.exit_code = stop.status, stop.exit_code
            result.steps.append(stop.record)
        ran = {record.id for record in result.steps}
        result.steps += [StepRecord(s.id, s.title, "not run") for s in procedure.steps if s.id not in ran]
        return result

    def _run_one(
        self,
        number: int,
        total: int,
        step: Step,
        ctx: StepContext,
        journal: Journal,
        completed: list[Step],
    ) -> StepRecord:
        shown = step.rendered(ctx.template_values())
        self.console.step(number, total, shown, shown.command)
        journal.write("step.start", step=step.id, number=number, kind=step.kind.value, command=shown.command)
        if self.options.dry_run and step.changes_things:
            self.console.info("dry run: not run")
            journal.write("step.end", step=step.id, status="dry-run")
            return StepRecord(step.id, step.title, "dry-run")
        try:
            nothing_to_do = step.needed(ctx) if step.needed else None
        except Exception as error:  # can't tell: run the step, which will say what is wrong
            nothing_to_do = None
            self.console.warning(f"could not tell whether '{step.title}' has work to do: {redact_text(str(error))}")
        if nothing_to_do:
            ctx.outputs[step.id] = {}
            self.console.info(f"Nothing to do: {nothing_to_do}.")
            journal.write("step.end", step=step.id, status="ok", outputs={}, note=f"nothing to do: {nothing_to_do}")
            return StepRecord(step.id, step.title, "ok", 0.0, None)
        try:
            if not self._confirmed(step, ctx.environment, journal):
                journal.write("step.end", step=step.id, status="declined")
                self.console.info(f"Stopped before step {number} at your request; it did not run.")
                raise _Stop("declined", ExitCode.FAILED, StepRecord(step.id, step.title, "declined"))
        except KeyboardInterrupt:
            journal.write("step.end", step=step.id, status="interrupted", note="before it ran")
            raise _Interrupted(StepRecord(step.id, step.title, "interrupted")) from None
        while True:
            started = time.monotonic()
            try:
                outputs = dict(step.run(ctx) or {})
                ctx.outputs[step.id] = outputs
                if step.verify:
                    step.verify(ctx)
            except KeyboardInterrupt:
                duration = time.monotonic() - started
                journal.write("step.end", step=step.id, status="interrupted", duration_s=round(duration, 3))
                self.console.failure(f"Interrupted during step {number}: {step.title}")
                raise _Interrupted(StepRecord(step.id, step.title, "interrupted", round(duration, 3))) from None
            except Exception as error:  # one place maps every failure of a step to a status
                duration = time.monotonic() - started
                ctx.outputs.pop(step.id, None)
                message = redact_text(str(error) or type(error).__name__)
                failed = "waiting" if isinstance(error, AwaitingError) else "failed"
                journal.write(
                    "step.end",
                    step=step.id,
                    status=failed,
                    duration_s=round(duration, 3),
                    error=message,
                    error_type=type(error).__name__,
                )
                if failed == "waiting":
                    self.console.warning(f"Step {number} is waiting: {message}")
                else:
                    self.console.failure(f"Step {number} failed: {message}")
                choice = self._after_failure(step, completed, journal)
                if choice == RETRY:
                    continue
                if choice == SKIP:
                    journal.write("step.end", step=step.id, status="skipped")
                    return StepRecord(step.id, step.title, "skipped", round(duration, 3), message)
                exit_code = error.exit_code if isinstance(error, AmopsError) else ExitCode.FAILED
                record = StepRecord(step.id, step.title, failed, round(duration, 3), message)
                if choice == UNDO:
                    self._undo(completed, ctx, journal)
                    raise _Stop("rolled back", ExitCode.FAILED, record) from None
                raise _Stop(failed, exit_code, record) from None
            duration = round(time.monotonic() - started, 3)
            journal.write("step.end", step=step.id, status="ok", duration_s=duration, outputs=outputs)
            self.console.success(f"Step {number} done ({duration:.1f}s)")
            return StepRecord(step.id, step.title, "ok", duration)

    def _confirmed(self, step: Step, environment: str | None, journal: Journal) -> bool:
        confirmation = step.confirmation(environment)
        if confirmation is Confirmation.NONE:
            return True
        if confirmation is Confirmation.YES_NO and self.options.yes:
            how = "--yes"
        elif (
            confirmation is Confirmation.TYPE_ENVIRONMENT
            and self.options.yes
            and self.options.confirm_env == environment
        ):
            how = f"--yes --confirm-env {environment}"
        elif confirmation is Confirmation.YES_NO:
            how, answer = "prompt", self.prompter.confirm(f"Run step '{step.title}'?")
            journal.write("confirmation", step=step.id, answer=answer, by=self.operator, how=how)
            return answer
        else:
            what = "destructive step" if step.kind.value == "destructive" else "step"
            answer = self.prompter.type_to_confirm(
                f"This {what} changes {environment}. Type '{environment}' to run '{step.title}'",
                environment or "",
            )
            journal.write(
                "confirmation",
                step=step.id,
                answer=answer,
                by=self.operator,
                how="typed environment",
            )
            return answer
        journal.write("confirmation", step=step.id, answer=True, by=self.operator, how=how)
        return True

    def _after_failure(self, step: Step, completed: list[Step], journal: Journal) -> str:
        can_undo = any(done.undo for done in completed)
        if self.options.on_failure == "undo":
            choice = UNDO if can_undo else STOP
        elif self.options.on_failure == "stop" or not self.prompter.interactive:
            choice = STOP
        else:
            choices = [RETRY] if step.gate else [RETRY, SKIP]  # a gate is passed, never skipped
            if can_undo:
                choices.append(UNDO)
            choices.append(STOP)
            try:
                choice = self.prompter.choose(f"Step '{step.title}' failed. What now?", choices)
            except KeyboardInterrupt:
                raise _Interrupted(StepRecord(step.id, step.title, "failed")) from None
        journal.write("failure.choice", step=step.id, choice=choice, by=self.operator)
        return choice

    def _undo(self, completed: list[Step], ctx: StepContext, journal: Journal) -> None:
        for step in reversed(completed):
            if step.undo is None:
                if step.changes_things:
                    self.console.warning(f"'{step.title}' cannot be undone: {step.irreversible}")
                continue
            self.console.info(f"Undoing '{step.title}'")
            try:
                step.undo(ctx)
            except Exception as error:  # keep undoing the others; the journal says which failed
                message = redact_text(str(error))
                journal.write("step.undo", step=step.id, status="failed", error=message)
                self.console.failure(f"Undo of '{step.title}' failed: {message}")
            else:
                ctx.outputs.pop(step.id, None)  # what it made is gone: its outputs no longer describe anything
                journal.write("step.undo", step=step.id, status="ok")
                self.console.success(f"Undid '{step.title}'")
