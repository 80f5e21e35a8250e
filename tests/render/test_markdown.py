"""Runbooks rendered from procedures: structure, determinism, and the check CI runs."""

from __future__ import annotations

from datetime import date

from amops.render.files import diff_runbooks, expected_runbooks, write_runbooks
from amops.render.markdown import Contacts, add_months, render_runbook
from tests.runbook.test_runner import Platform, demo_procedure

CONTACTS = Contacts(escalation=["On-call DevOps", "Platform lead"], oncall={"sev1": "Page on-call"})


def test_a_runbook_has_the_standard_sections_in_order():
    text = render_runbook(demo_procedure(Platform(), destructive=True), CONTACTS)

    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Overview",
        "## 2. Prerequisites",
        "## 3. Procedure",
        "## 4. Verification",
        "## 5. Troubleshooting",
        "## 6. Rollback",
        "## Contacts",
    ]
    assert "| Owner | DevOps |" in text
    assert "| Review frequency | quarterly |" in text
    assert "| Last reviewed | 2026-12-01 |" in text
    assert "| Next review due | 2027-03-01 |" in text


def test_steps_show_the_template_command_kind_and_undo():
    text = render_runbook(demo_procedure(Platform(), destructive=True), CONTACTS)

    assert "### Step 2. Move the live alias" in text
    assert "**With amops:** `amops demo {env}` (step 2)" in text
    assert "aws lambda update-alias --function-name {function} --function-version {new_version}" in text
    assert "*changes the environment; confirm with y (in prod: type the environment name)*" in text
    assert "### Step 4. Drop the old table" in text
    assert "*destructive; you type the environment name to confirm*" in text
    assert "**Cannot be undone.** a deleted table is gone" in text
    assert "- `dynamodb:DeleteTable`\n- `lambda:UpdateAlias`" in text
    assert "1. On-call DevOps\n2. Platform lead" in text
    assert "| sev1 | Page on-call |" in text


def test_rendering_is_deterministic():
    procedures = {"demo": demo_procedure(Platform())}

    assert expected_runbooks(procedures, CONTACTS, {}) == expected_runbooks(procedures, CONTACTS, {})


def test_the_index_lists_the_maintenance_schedule_including_runbooks_not_yet_written():
    index = expected_runbooks({"deployment": demo_procedure(Platform())}, CONTACTS, {"rollback": "SRE"})["README.md"]

    assert "| Troubleshooting (not yet written) | Support | monthly | — | — |" in index
    assert "| Audit compliance (not yet written) | Security | annually | — | — |" in index
    assert "| Disaster recovery (not yet written) | DevOps | bi-annually | — | — |" in index
    assert "| Rollback (not yet written) | SRE | quarterly | — | — |" in index
    assert "| [Demo deployment](access-management-deployment-runbook.md) | DevOps | quarterly | 2026-12-01 |" in index


def test_check_finds_an_edited_runbook_and_passes_after_generate(tmp_path):
    files = expected_runbooks({"demo": demo_procedure(Platform())}, CONTACTS, {})
    write_runbooks(tmp_path, files)
    assert diff_runbooks(tmp_path, files) == ""

    runbook = tmp_path / "access-management-demo-runbook.md"
    runbook.write_text(runbook.read_text().replace("Ships the new version.", "Ships it, probably."))
    diff = diff_runbooks(tmp_path, files)

    assert "-**Why.** Ships it, probably." in diff
    assert "+**Why.** Ships the new version." in diff
    assert write_runbooks(tmp_path, files) == ["access-management-demo-runbook.md"]
    assert diff_runbooks(tmp_path, files) == ""


def test_review_dates_roll_over_month_ends():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 4), 12) == date(2027, 12, 4)
