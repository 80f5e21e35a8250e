"""The runner, against plain fakes: confirmations, refusals, dry-run, failures, journal, resume, lock."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from amops.runbook.errors import (
    ExitCode,
    LockHeldError,
    RefusedError,
    UsageError,
    WrongAccountError,
)
from amops.runbook.journal import RecordedRun
from amops.runbook.ports import EnvironmentServices, LockInfo
from amops.runbook.runner import RETRY, SKIP, STOP, UNDO, Runner, RunOptions
from amops.runbook.step import Procedure, Step, StepKind
from tests.fakes import (
    MemoryLockStore,
    MemoryRunStore,
    RecordingConsole,
    ScriptedPrompter,
    identity,
)


class Platform:
    """A pretend environment: an alias and a table the demo procedure reads and changes."""

    def __init__(self) -> None:
        self.alias = 7
        self.table_exists = True
        self.calls: list[str] = []
        self.fail_publish = 0  # how many times publish fails before it works
        self.interrupt_publish = False


def demo_procedure(platform: Platform, destructive: bool = False) -> Procedure:
    def look(ctx):
        platform.calls.append("look")
        return {"current_version": platform.alias}

    def publish(ctx):
        platform.calls.append("publish")
        if platform.interrupt_publish:
            raise KeyboardInterrupt
        if platform.fail_publish:
            platform.fail_publish -= 1
            raise RuntimeError("publish failed: token=abc123secret")
        platform.alias = ctx.output("current_version") + 1
        return {"new_version": platform.alias, "session_token": "FQoGZXIvYXdzEJr"}

    def unpublish(ctx):
        platform.calls.append("unpublish")
        platform.alias = ctx.output("current_version")

    def check(ctx):
        platform.calls.append("check")

    def drop(ctx):
        platform.calls.append("drop")
        platform.table_exists = False

    steps = [
        Step(
            id="look",
            title="Read the live alias",
            why="To know where to return to.",
            command="aws lambda get-alias --function-name {function} --name live",
            expect="The version live points at.",
            kind=StepKind.READ_ONLY,
            run=look,
            unverified="it only reads",
        ),
        Step(
            id="publish",
            title="Move the live alias",
            why="Ships the new version.",
            command="aws lambda update-alias --function-name {function} --function-version {new_version}",
            expect="live points at the new version.",
            kind=StepKind.MUTATING,
            iam=("lambda:UpdateAlias",),
            run=publish,
            verify=check,
            undo=unpublish,
        ),
        Step(
            id="report",
            title="Report",
            why="Says what happened.",
            command="echo {new_version}",
            expect="The new version.",
            kind=StepKind.READ_ONLY,
            run=lambda ctx: platform.calls.append("report") or {"reported": True},
            unverified="it only prints",
        ),
    ]
    if destructive:
        steps.append(
            Step(
                id="drop",
                title="Drop the old table",
                why="It is no longer used.",
                command="aws dynamodb delete-table --table-name old",
                expect="The table is gone.",
                kind=StepKind.DESTRUCTIVE,
                iam=("dynamodb:DeleteTable",),
                run=drop,
                irreversible="a deleted table is gone",
                unverified="delete-table reports success itself",
            )
        )
    return Procedure(
        name="demo",
        title="Demo deployment",
        command="amops demo {env}",
        purpose="p",
        scope="s",
        audience="a",
        steps=tuple(steps),
        owner="DevOps",
        review_months=3,
        last_reviewed=date(2026, 12, 1),
    )


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def locks() -> MemoryLockStore:
    return MemoryLockStore()


@pytest.fixture
def runs() -> MemoryRunStore:
    return MemoryRunStore()


@pytest.fixture
def make_runner(tmp_path: Path, locks: MemoryLockStore, runs: MemoryRunStore):
    def make(prompter: ScriptedPrompter, account: str = "111111111111", **options) -> tuple[Runner, RecordingConsole]:
        console = RecordingConsole()
        services = EnvironmentServices(
            identity=identity(account), expected_account="111111111111", locks=locks, runs=runs
        )
        runner = Runner(console, prompter, tmp_path / "runs", RunOptions(**options), services, operator="alice")
        return runner, console

    return make


def events(result) -> list[dict]:
    return [json.loads(line) for line in result.journal.read_text().splitlines()]


# -- confirmations -------------------------------------------------------------------------


def test_a_mutating_step_asks_yes_no_and_read_only_steps_ask_nothing(make_runner, platform):
    prompter = ScriptedPrompter([("confirm", "Move the live alias", True)])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev", names={"function": "am-dev-teams"})

    prompter.assert_done()
    assert result.status == "succeeded" and result.exit_code is ExitCode.OK
    assert platform.alias == 8
    assert platform.calls == ["look", "publish", "check", "report"]


def test_answering_no_stops_before_the_step_and_changes_nothing(make_runner, platform, locks):
    prompter = ScriptedPrompter([("confirm", "Move the live alias", False)])
    runner, console = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev")

    assert platform.alias == 7
    assert platform.calls == ["look"]
    assert result.status == "declined" and result.exit_code is ExitCode.FAILED
    assert [s.status for s in result.steps] == ["ok", "declined", "not run"]
    assert "Stopped before step 2 at your request" in console.text
    assert locks.locks == {}


def test_every_changing_step_in_prod_needs_the_environment_name_typed(make_runner, platform):
    prompter = ScriptedPrompter([("type", "Type 'prod'", "prod")])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "prod")

    prompter.assert_done()
    assert result.status == "succeeded"
    assert platform.alias == 8


def test_a_wrongly_typed_environment_name_does_not_confirm(make_runner, platform):
    prompter = ScriptedPrompter([("type", "Type 'prod'", "dev")])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "prod")

    assert result.status == "declined"
    assert platform.alias == 7


def test_destructive_steps_need_the_name_typed_even_in_dev(make_runner, platform):
    prompter = ScriptedPrompter([("confirm", "Move", True), ("type", "destructive step changes dev", "dev")])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform, destructive=True), "dev")

    prompter.assert_done()
    assert result.status == "succeeded"
    assert platform.table_exists is False


def test_yes_answers_ordinary_confirmations_but_not_typed_ones(make_runner, platform):
    prompter = ScriptedPrompter([("type", "destructive step", "dev")])
    runner, _ = make_runner(prompter, yes=True)

    result = runner.run(demo_procedure(platform, destructive=True), "dev")

    prompter.assert_done()  # the y/N question was answered by --yes; only the typed one was asked
    assert result.status == "succeeded"


def test_yes_with_confirm_env_answers_everything(make_runner, platform):
    runner, _ = make_runner(ScriptedPrompter(interactive=False), yes=True, confirm_env="prod")

    result = runner.run(demo_procedure(platform, destructive=True), "prod")

    assert result.status == "succeeded"
    confirmations = [e for e in events(result) if e["event"] == "confirmation"]
    assert [c["how"] for c in confirmations] == ["--yes --confirm-env prod"] * 2
    assert all(c["by"] == "alice" for c in confirmations)


def test_confirm_env_for_another_environment_is_bad_usage(make_runner, platform):
    runner, _ = make_runner(ScriptedPrompter(), yes=True, confirm_env="dev")

    with pytest.raises(UsageError, match="--confirm-env dev does not match the environment prod"):
        runner.run(demo_procedure(platform), "prod")
    assert platform.calls == []


# -- no terminal ------------------------------------------------------------------------------


def test_without_a_terminal_and_without_yes_it_refuses_before_doing_anything(make_runner, platform, tmp_path):
    runner, _ = make_runner(ScriptedPrompter(interactive=False))

    with pytest.raises(RefusedError, match="stdin is not a terminal") as refused:
        runner.run(demo_procedure(platform), "dev")

    assert "--yes" in str(refused.value)
    assert refused.value.exit_code == ExitCode.USAGE
    assert platform.calls == []
    assert not (tmp_path / "runs").exists()


def test_without_a_terminal_prod_needs_confirm_env_too(make_runner, platform):
    runner, _ = make_runner(ScriptedPrompter(interactive=False), yes=True)

    with pytest.raises(RefusedError, match="--confirm-env prod"):
        runner.run(demo_procedure(platform), "prod")
    assert platform.calls == []


# -- dry run ----------------------------------------------------------------------------------


def test_dry_run_shows_every_command_and_runs_only_read_only_steps(make_runner, platform, locks):
    runner, console = make_runner(ScriptedPrompter(interactive=False), dry_run=True)

    result = runner.run(demo_procedure(platform), "prod", names={"function": "am-prod-teams"})

    assert platform.alias == 7
    assert platform.calls == ["look", "report"]
    assert [s.status for s in result.steps] == ["ok", "dry-run", "ok"]
    assert result.status == "dry-run" and result.exit_code is ExitCode.OK
    assert "aws lambda get-alias --function-name am-prod-teams --name live" in console.text
    assert "update-alias --function-name am-prod-teams --function-version {new_version}" in console.text
    assert locks.history == []  # a dry run takes no lock


# -- failures ----------------------------------------------------------------------------------


def test_retry_runs_the_failed_step_again(make_runner, platform):
    platform.fail_publish = 1
    prompter = ScriptedPrompter([("confirm", "Move", True), ("choose", "failed. What now?", RETRY)])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev")

    prompter.assert_done()
    assert result.status == "succeeded"
    assert platform.calls == ["look", "publish", "publish", "check", "report"]


def test_skip_goes_on_with_the_next_step(make_runner, platform):
    platform.fail_publish = 1
    prompter = ScriptedPrompter([("confirm", "Move", True), ("choose", "What now?", SKIP)])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev")

    assert [s.status for s in result.steps] == ["ok", "skipped", "ok"]
    assert platform.alias == 7


def test_undo_reverses_the_completed_steps_and_stop_does_not(make_runner, platform):
    platform.fail_publish = 0
    procedure = demo_procedure(platform, destructive=True)
    failing_last = Step(
        id="smoke",
        title="Smoke tests",
        why="Proves the release works.",
        command="amops smoke {env}",
        expect="All pass.",
        kind=StepKind.READ_ONLY,
        run=lambda ctx: (_ for _ in ()).throw(RuntimeError("3 smoke tests failed")),
        unverified="it is itself a check",
    )
    procedure = Procedure(**{**procedure.__dict__, "steps": (*procedure.steps[:2], failing_last)})
    prompter = ScriptedPrompter([("confirm", "Move", True), ("choose", "Smoke tests' failed", UNDO)])
    runner, console = make_runner(prompter)

    result = runner.run(procedure, "dev")

    prompter.assert_done()
    assert platform.alias == 7
    assert platform.calls[-1] == "unpublish"
    assert result.status == "rolled back" and result.exit_code is ExitCode.FAILED
    undo_events = [e for e in events(result) if e["event"] == "step.undo"]
    assert undo_events == [
        {**undo_events[0], "step": "publish", "status": "ok"},
    ]
    assert "Undid 'Move the live alias'" in console.text


def test_stop_leaves_completed_steps_as_they_are(make_runner, platform):
    platform.fail_publish = 1
    prompter = ScriptedPrompter([("confirm", "Move", True), ("choose", "What now?", STOP)])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev")

    assert result.status == "failed" and result.exit_code is ExitCode.FAILED
    assert [s.status for s in result.steps] == ["ok", "failed", "not run"]
    assert result.steps[1].error == "publish failed: token=***redacted***"
    assert platform.alias == 7


def test_without_a_terminal_a_failure_stops_the_run(make_runner, platform):
    platform.fail_publish = 1
    runner, _ = make_runner(ScriptedPrompter(interactive=False), yes=True)

    result = runner.run(demo_procedure(platform), "dev")

    assert result.status == "failed"
    assert platform.calls == ["look", "publish"]


# -- interruption ------------------------------------------------------------------------------


def test_ctrl_c_during_a_step_stops_with_130_and_the_journal_names_the_step(make_runner, platform, locks):
    platform.interrupt_publish = True
    runner, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))

    result = runner.run(demo_procedure(platform), "dev")

    assert result.exit_code is ExitCode.INTERRUPTED and result.status == "interrupted"
    journal = events(result)
    assert {"step": "publish", "status": "interrupted"}.items() <= journal[-2].items()
    assert journal[-1]["event"] == "run.end" and journal[-1]["status"] == "interrupted"
    assert locks.locks == {}


def test_ctrl_c_at_a_question_is_an_interruption_too(make_runner, platform):
    runner, _ = make_runner(ScriptedPrompter([("confirm", "Move", KeyboardInterrupt())]))

    result = runner.run(demo_procedure(platform), "dev")

    assert result.exit_code is ExitCode.INTERRUPTED
    assert platform.alias == 7


# -- journal -----------------------------------------------------------------------------------


def test_the_journal_records_who_what_when_and_outputs_without_secrets(make_runner, platform, monkeypatch):
    platform.fail_publish = 1
    prompter = ScriptedPrompter([("confirm", "Move", True), ("choose", "What now?", RETRY)])
    runner, _ = make_runner(prompter)

    result = runner.run(demo_procedure(platform), "dev", {"only": "lambdas"})

    journal = events(result)
    start = journal[0]
    assert start["event"] == "run.start"
    assert start["procedure"] == "demo" and start["environment"] == "dev"
    assert start["params"] == {"only": "lambdas"}
    assert start["operator"] == "alice"
    assert start["caller_arn"] == "arn:aws:sts::111111111111:assumed-role/ops/alice"
    assert start["account"] == "111111111111"
    assert "amops_version" in start and "git_commit" in start
    kinds = [(e["event"], e.get("step"), e.get("status")) for e in journal[1:]]
    assert kinds == [
        ("step.start", "look", None),
        ("step.end", "look", "ok"),
        ("step.start", "publish", None),
        ("confirmation", "publish", None),
        ("step.end", "publish", "failed"),
        ("failure.choice", "publish", None),
        ("step.end", "publish", "ok"),
        ("step.start", "report", None),
        ("step.end", "report", "ok"),
        ("run.end", None, "succeeded"),
    ]
    raw = result.journal.read_text()
    assert "abc123secret" not in raw and "FQoGZXIvYXdzEJr" not in raw
    assert '"session_token": "***redacted***"' in raw
    publish_end = [e for e in journal if e["event"] == "step.end" and e["status"] == "ok"][1]
    assert publish_end["step"] == "publish" and publish_end["outputs"]["new_version"] == 8
    assert all(e["ts"].endswith("Z") for e in journal)


def test_the_team_history_gets_the_summary_at_start_and_end(make_runner, platform, runs):
    runner, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))

    result = runner.run(demo_procedure(platform), "dev")

    assert runs.statuses == ["running", "succeeded"]
    summary = runs.runs[result.run_id]
    assert summary.operator == "alice" and summary.procedure == "demo" and summary.ended_at


# -- resume --------------------------------------------------------------------------------------


def test_resume_starts_at_the_first_step_that_did_not_complete_with_recorded_outputs(make_runner, platform):
    platform.fail_publish = 1
    first, _ = make_runner(ScriptedPrompter([("confirm", "Move", True), ("choose", "What now?", STOP)]))
    failed = first.run(demo_procedure(platform), "dev", {"only": "lambdas"})
    assert failed.status == "failed"
    platform.calls.clear()

    second, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))
    resumed = second.run(demo_procedure(platform), "dev", resume=failed.run_id)

    assert resumed.run_id == failed.run_id
    assert platform.calls == ["publish", "check", "report"]  # look was not run again
    assert platform.alias == 8  # publish used look's recorded output
    assert resumed.status == "succeeded"
    recorded = RecordedRun.load(failed.journal.parent, failed.run_id)
    assert recorded.status == "succeeded"
    assert recorded.params == {"only": "lambdas"}
    assert [e["event"] for e in recorded.events].count("run.resume") == 1


def test_resume_refuses_another_procedure_or_environment(make_runner, platform):
    platform.interrupt_publish = True
    first, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))
    stopped = first.run(demo_procedure(platform), "dev")

    second, _ = make_runner(ScriptedPrompter())
    with pytest.raises(UsageError, match="was demo in dev, not demo in sit"):
        second.run(demo_procedure(platform), "sit", resume=stopped.run_id)


def test_resume_refuses_a_run_that_succeeded(make_runner, platform):
    first, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))
    done = first.run(demo_procedure(platform), "dev")

    with pytest.raises(UsageError, match="succeeded; there is nothing to resume"):
        make_runner(ScriptedPrompter())[0].run(demo_procedure(platform), "dev", resume=done.run_id)


def test_resume_rechecks_the_account(make_runner, platform):
    platform.interrupt_publish = True
    first, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))
    stopped = first.run(demo_procedure(platform), "dev")

    runner, _ = make_runner(ScriptedPrompter(), account="999999999999")
    with pytest.raises(WrongAccountError):
        runner.run(demo_procedure(platform), "dev", resume=stopped.run_id)


# -- account and lock ------------------------------------------------------------------------


def test_the_wrong_account_is_refused_before_any_step(make_runner, platform):
    runner, _ = make_runner(ScriptedPrompter(), account="999999999999")

    with pytest.raises(WrongAccountError, match=r"account 999999999999 .* but dev is account 111111111111"):
        runner.run(demo_procedure(platform), "dev")
    assert platform.calls == []


def test_a_held_lock_refuses_a_second_operator_and_names_the_holder(make_runner, platform, locks):
    locks.locks["dev"] = LockInfo(
        environment="dev",
        run_id="20261204-100000-deployment-dev-beef",
        holder="bob",
        caller_arn="arn:aws:sts::111111111111:assumed-role/ops/bob",
        procedure="deployment",
        since="2026-12-04T10:00:00Z",
        expires="2026-12-04T14:00:00Z",
    )
    runner, _ = make_runner(ScriptedPrompter())

    with pytest.raises(LockHeldError, match=r"bob .* holds it for deployment run 20261204-100000"):
        runner.run(demo_procedure(platform), "dev")
    assert platform.calls == []


def test_the_lock_is_held_during_the_run_and_released_after(make_runner, platform, locks):
    seen = []
    procedure = demo_procedure(platform)
    spy = Step(
        **{
            **procedure.steps[0].__dict__,
            "run": lambda ctx: seen.append(locks.current("dev")) or {"current_version": 7},
        }
    )
    procedure = Procedure(**{**procedure.__dict__, "steps": (spy, *procedure.steps[1:])})
    runner, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))

    result = runner.run(procedure, "dev")

    assert seen[0] is not None and seen[0].run_id == result.run_id and seen[0].holder == "alice"
    assert locks.locks == {}


def test_on_failure_undo_undoes_without_asking(make_runner, platform):
    procedure = demo_procedure(platform)
    failing = Step(**{**procedure.steps[2].__dict__, "run": lambda ctx: (_ for _ in ()).throw(RuntimeError("x"))})
    procedure = Procedure(**{**procedure.__dict__, "steps": (*procedure.steps[:2], failing)})
    runner, _ = make_runner(ScriptedPrompter(interactive=False), yes=True, on_failure="undo")

    result = runner.run(procedure, "dev")

    assert result.status == "rolled back"
    assert platform.alias == 7 and platform.calls[-1] == "unpublish"


def test_a_step_with_nothing_to_do_is_not_asked_about(make_runner, platform):
    procedure = demo_procedure(platform)
    idle = Step(**{**procedure.steps[1].__dict__, "needed": lambda ctx: "the alias is already there"})
    procedure = Procedure(**{**procedure.__dict__, "steps": (procedure.steps[0], idle, procedure.steps[2])})
    runner, console = make_runner(ScriptedPrompter())  # any question fails the test

    result = runner.run(procedure, "dev")

    assert result.status == "succeeded"
    assert platform.calls == ["look", "report"]
    assert "Nothing to do: the alias is already there." in console.text
    journal = events(result)
    assert [e.get("note") for e in journal if e.get("step") == "publish" and e["event"] == "step.end"] == [
        "nothing to do: the alias is already there"
    ]


def test_why_and_expect_are_shown_with_real_values(make_runner, platform):
    procedure = demo_procedure(platform)
    step = Step(**{**procedure.steps[0].__dict__, "expect": "The version {function} runs."})
    procedure = Procedure(**{**procedure.__dict__, "steps": (step,)})
    shown = []
    runner, console = make_runner(ScriptedPrompter())
    console.step = lambda number, total, step, command: shown.append(step)

    runner.run(procedure, "dev", names={"function": "am-dev-teams"})

    assert shown[0].expect == "The version am-dev-teams runs."


def test_shared_outputs_reach_the_team_record_and_undone_ones_do_not(make_runner, platform, runs):
    shared = Procedure(**{**demo_procedure(platform).__dict__, "shared_outputs": ("publish.new_version", "x.y")})
    runner, _ = make_runner(ScriptedPrompter([("confirm", "Move", True)]))
    done = runner.run(shared, "dev")

    failing = Step(**{**shared.steps[2].__dict__, "run": lambda ctx: (_ for _ in ()).throw(RuntimeError("x"))})
    undone_procedure = Procedure(**{**shared.__dict__, "steps": (*shared.steps[:2], failing)})
    runner, _ = make_runner(ScriptedPrompter(interactive=False), yes=True, on_failure="undo")
    undone = runner.run(undone_procedure, "dev")

    assert runs.runs[done.run_id].details == {"publish.new_version": 8}
    assert undone.status == "rolled back"
    assert runs.runs[undone.run_id].details == {}
