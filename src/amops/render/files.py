"""The runbooks/ folder: what it should hold, writing it, and checking it."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from amops.procedures import SCHEDULE
from amops.render.markdown import (
    INDEX_FILE,
    Contacts,
    IndexEntry,
    render_index,
    render_runbook,
    runbook_file,
)
from amops.runbook.step import Procedure


def expected_runbooks(
    procedures: Mapping[str, Procedure], contacts: Contacts, owners: Mapping[str, str]
) -> dict[str, str]:
    """File name → content for every runbook and the index."""
    files = {
        runbook_file(name): render_runbook(procedure, contacts, owners.get(name))
        for name, procedure in procedures.items()
    }
    entries = []
    for name in [*SCHEDULE, *(n for n in procedures if n not in SCHEDULE)]:
        procedure = procedures.get(name)
        plan = SCHEDULE.get(name)
        entries.append(
            IndexEntry(
                name=name,
                title=procedure.title if procedure else plan.title,
                owner=owners.get(name) or (procedure.owner if procedure else plan.owner),
                review_months=procedure.review_months if procedure else plan.review_months,
                last_reviewed=procedure.last_reviewed if procedure else None,
            )
        )
    files[INDEX_FILE] = render_index(entries)
    return files


def write_runbooks(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Write files that differ; return the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            written.append(name)
    return written


def diff_runbooks(directory: Path, files: Mapping[str, str]) -> str:
    """A unified diff from what is committed to what the code says; empty when they agree."""
    chunks = []
    for name, content in files.items():
        path = directory / name
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != content:
            chunks += difflib.unified_diff(
                current.splitlines(keepends=True),
                content.splitlines(keepends=True),
                fromfile=f"{directory.name}/{name} (committed)",
                tofile=f"{directory.name}/{name} (from the code)",
            )
    return "".join(chunks)
