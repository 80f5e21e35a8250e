"""amops runbooks generate|check|list."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from amops.cli.state import AppState
from amops.runbook.errors import ExitCode

app = typer.Typer(help="The Markdown runbooks generated from the procedures.", no_args_is_help=True)

Directory = Annotated[
    Path | None,
    typer.Option("--dir", help="The runbooks folder (default: runbooks/ beside amops.toml)."),
]


def _runbooks(state: AppState, directory: Path | None) -> tuple[Path, dict[str, str]]:
    from amops.procedures import load_all
    from amops.render.files import expected_runbooks
    from amops.render.markdown import Contacts

    config = state.config
    contacts = Contacts(escalation=config.contacts.escalation, oncall=config.contacts.oncall)
    files = expected_runbooks(load_all(), contacts, config.runbook_owners)
    return directory or config.root / "runbooks", files


@app.command("generate")
def generate(ctx: typer.Context, directory: Directory = None) -> None:
    """Write runbooks/ from the procedures.  Example: amops runbooks generate && git diff runbooks/"""
    from amops.render.files import write_runbooks

    state: AppState = ctx.ensure_object(AppState)
    folder, files = _runbooks(state, directory)
    written = write_runbooks(folder, files)
    state.emit(
        {
            "directory": str(folder),
            "written": written,
            "unchanged": sorted(set(files) - set(written)),
        },
        lambda: state.console.success(
            f"{len(written)} written, {len(files) - len(written)} already up to date, in {folder}"
        ),
    )


@app.command("check")
def check(ctx: typer.Context, directory: Directory = None) -> None:
    """Exit 1 with a diff when runbooks/ differs from the procedures (CI runs this)."""
    from amops.render.files import diff_runbooks

    state: AppState = ctx.ensure_object(AppState)
    folder, files = _runbooks(state, directory)
    diff = diff_runbooks(folder, files)
    state.emit(
        {"directory": str(folder), "up_to_date": not diff, "diff": diff},
        lambda: typer.echo(
            diff + "\nThe runbooks differ from the code: run `amops runbooks generate` and commit."
            if diff
            else f"The runbooks in {folder} match the code."
        ),
    )
    raise typer.Exit(ExitCode.FAILED if diff else ExitCode.OK)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Each runbook, its owner and whether its review is due or overdue."""
    from amops.procedures import SCHEDULE, load_all
    from amops.render.markdown import frequency_words, next_review, runbook_file

    state: AppState = ctx.ensure_object(AppState)
    procedures = load_all()
    owners = state.config.runbook_owners if state.config_path or _has_config() else {}
    today = date.today()
    rows = []
    for name in [*SCHEDULE, *(n for n in procedures if n not in SCHEDULE)]:
        procedure = procedures.get(name)
        if procedure is None:
            plan = SCHEDULE[name]
            rows.append(
                {
                    "runbook": name,
                    "file": None,
                    "owner": owners.get(name, plan.owner),
                    "review": frequency_words(plan.review_months),
                    "last_reviewed": None,
                    "next_review": None,
                    "status": "not yet written",
                }
            )
            continue
        due = next_review(procedure)
        days = (due - today).days
        status = "overdue" if days < 0 else "due" if days <= 14 else "ok"
        rows.append(
            {
                "runbook": name,
                "file": runbook_file(name),
                "owner": owners.get(name, procedure.owner),
                "review": frequency_words(procedure.review_months),
                "last_reviewed": procedure.last_reviewed.isoformat(),
                "next_review": due.isoformat(),
                "status": status,
            }
        )
    state.emit(
        {"runbooks": rows},
        lambda: state.console.table(
            "Runbooks",
            ["runbook", "owner", "review", "last reviewed", "next review", "status"],
            [
                (
                    r["runbook"],
                    r["owner"],
                    r["review"],
                    r["last_reviewed"] or "—",
                    r["next_review"] or "—",
                    r["status"],
                )
                for r in rows
            ],
        ),
    )
    if any(row["status"] == "overdue" for row in rows):
        raise typer.Exit(ExitCode.FAILED)


def _has_config() -> bool:
    from amops.config import find_config

    return find_config() is not None
