"""`amops promote approve`: who may approve what, recorded where the operator's run reads it."""

from __future__ import annotations

import json

import pytest

from amops.procedures.promote import approve, environment_of, release_digest
from amops.runbook.errors import UsageError
from amops.runbook.ports import RunSummary
from tests.fakes import MemoryRunStore, RecordingConsole

RUN_ID = "20261204-101500-promotion-prod-1a2b"
RELEASE = {"teams": {"version": "4", "sha256": "ab" * 32, "commit": "c0ffee" * 6 + "beef"}}


def waiting_run(status: str = "waiting", procedure: str = "promotion") -> MemoryRunStore:
    runs = MemoryRunStore()
    runs.record(
        RunSummary(
            run_id=RUN_ID,
            procedure=procedure,
            environment="prod",
            operator="alice",
            caller_arn="arn:alice",
            status=status,
            started_at="2026-12-04T10:15:00Z",
            details={
                "release.source": "sit",
                "release.release": RELEASE,
                "release.commit": RELEASE["teams"]["commit"],
                "release.changed": ["teams"],
                "release.digest": release_digest(RELEASE),
                "release.previous": {"af-south-1": {"teams": "3"}, "eu-west-1": {"teams": "2"}},
            },
        )
    )
    return runs


def approving(runs, tmp_path, by="bob", approver="bob", answer=True, console=None):
    asked = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return answer

    approval = approve(runs, RUN_ID, by, approver, "arn:bob", console or RecordingConsole(), confirm, tmp_path)
    return approval, asked


def test_an_approval_is_recorded_on_the_run_with_both_names_and_the_release(tmp_path):
    runs, console = waiting_run(), RecordingConsole()

    approval, asked = approving(runs, tmp_path, console=console)

    assert asked == ["Approve promoting this release to prod as bob?"]
    recorded = runs.get("prod", RUN_ID).approvals
    assert recorded == [approval]
    assert (approval["by"], approval["operator"], approval["release"]) == ("bob", "alice", release_digest(RELEASE))
    table = console.tables[0]
    assert table[2][0][:3] == ("teams", "v4 " + "ab" * 6, RELEASE["teams"]["commit"][:12])
    assert table[2][0][3] == "v2 / v3"  # what prod runs now, in both regions
    journal = [json.loads(line) for line in (tmp_path / f"{RUN_ID}.approval.bob.jsonl").read_text().splitlines()]
    assert journal[0]["event"] == "approval"
    assert (journal[0]["by"], journal[0]["operator"], journal[0]["source"]) == ("bob", "alice", "sit")


@pytest.mark.parametrize(("by", "approver"), [("alice", "bob"), ("bob", "alice")])
def test_the_operator_cannot_approve_their_own_run(tmp_path, by, approver):
    runs = waiting_run()

    with pytest.raises(UsageError, match=r"alice started run .* and cannot approve it"):
        approving(runs, tmp_path, by=by, approver=approver)

    assert runs.get("prod", RUN_ID).approvals == []


def test_a_run_that_is_not_waiting_has_nothing_to_approve(tmp_path):
    runs = waiting_run(status="succeeded")

    with pytest.raises(UsageError, match="is succeeded, not waiting for approval"):
        approving(runs, tmp_path)


def test_declining_records_nothing(tmp_path):
    runs = waiting_run()

    with pytest.raises(UsageError, match="you declined"):
        approving(runs, tmp_path, answer=False)

    assert runs.get("prod", RUN_ID).approvals == []


def test_approving_twice_records_one_approval(tmp_path):
    runs = waiting_run()
    approving(runs, tmp_path)

    again, asked = approving(runs, tmp_path)

    assert again == {} and asked == []
    assert len(runs.get("prod", RUN_ID).approvals) == 1


def test_a_run_id_names_its_target_environment():
    assert environment_of(RUN_ID) == "prod"
    assert environment_of("20261204-101500-promotion-pre-prod-1a2b") == "pre-prod"
    with pytest.raises(UsageError, match="not a promotion run id"):
        environment_of("20261204-101500-deployment-prod-1a2b")
