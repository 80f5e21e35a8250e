"""Step and procedure declarations, and the declaration check every registered procedure passes."""

from __future__ import annotations

from datetime import date

import pytest

from amops.procedures import load_all
from amops.runbook.step import Confirmation, Procedure, Step, StepKind


def step(**changes) -> Step:
    fields = {
        "id": "move-alias",
        "title": "Move the alias",
        "why": "Ships it.",
        "command": "aws lambda update-alias --function-name {function} --function-version {version}",
        "expect": "The alias moved.",
        "kind": StepKind.MUTATING,
        "iam": ("lambda:UpdateAlias",),
        "run": lambda ctx: None,
        "verify": lambda ctx: None,
        "undo": lambda ctx: None,
    }
    return Step(**{**fields, **changes})


def procedure(*steps: Step) -> Procedure:
    return Procedure(
        name="demo",
        title="Demo",
        command="amops demo {env}",
        purpose="p",
        scope="s",
        audience="a",
        steps=steps,
        owner="DevOps",
        review_months=3,
        last_reviewed=date(2026, 12, 1),
    )


def test_the_command_shows_known_values_and_keeps_unknown_placeholders_visible():
    rendered = step().render_command({"function": "am-dev-teams"})

    assert rendered == "aws lambda update-alias --function-name am-dev-teams --function-version {version}"


def test_confirmation_follows_the_kind_and_the_environment():
    assert step(kind=StepKind.READ_ONLY).confirmation("prod") is Confirmation.NONE
    assert step().confirmation("dev") is Confirmation.YES_NO
    assert step().confirmation("prod") is Confirmation.TYPE_ENVIRONMENT
    assert step(kind=StepKind.DESTRUCTIVE).confirmation("dev") is Confirmation.TYPE_ENVIRONMENT


def test_a_changing_step_without_undo_or_a_reason_is_a_declaration_problem():
    assert procedure(step(undo=None)).declaration_problems() == [
        "step 'move-alias' changes things but has neither undo nor irreversible="
    ]
    assert procedure(step(undo=None, irreversible="versions are immutable")).declaration_problems() == []


def test_a_step_without_verify_or_a_reason_is_a_declaration_problem():
    assert procedure(step(verify=None)).declaration_problems() == [
        "step 'move-alias' has no verify and no unverified= reason"
    ]
    assert procedure(step(verify=None, unverified="update-alias answers with the alias")).declaration_problems() == []


def test_duplicate_step_ids_and_missing_iam_are_declaration_problems():
    problems = procedure(step(), step(iam=())).declaration_problems()

    assert "step 'move-alias' changes things but declares no IAM actions" in problems
    assert "step id 'move-alias' is declared twice" in problems


def test_access_requirements_are_the_union_of_the_steps_iam_actions():
    both = procedure(step(), step(id="b", iam=("lambda:UpdateAlias", "s3:PutObject")))

    assert both.iam_actions == ["lambda:UpdateAlias", "s3:PutObject"]


@pytest.mark.parametrize("name", sorted(load_all()) or ["(none registered yet)"])
def test_every_registered_procedure_is_declared_completely(name):
    procedures = load_all()
    if name not in procedures:
        pytest.skip("no procedure is registered yet")
    assert procedures[name].declaration_problems() == []
