"""The incident update every rollback ends with: declared once, filled in by each kind of rollback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from amops.runbook.context import StepContext
from amops.runbook.step import Step, StepKind


def communicate_step(run: Callable[[StepContext], dict[str, Any]]) -> Step:
    return Step(
        id="communicate",
        title="Write the incident update",
        why="People need to know what was rolled back, from what to what, and what happens next; the "
        "filled template is ready to paste into the incident channel or an email.",
        command="cat ~/.local/state/amops/runs/RUN_ID.rollback.md",
        expect="The update, printed and saved beside the journal.",
        kind=StepKind.READ_ONLY,
        run=run,
        unverified="it only writes a text",
    )


def write_update(ctx: StepContext, kind: str, rolled_back: list[str], done_at: str | None) -> dict[str, Any]:
    """Print the update and save it as RUN_ID.rollback.md beside the journal."""
    lines = [
        f"**{kind} in {ctx.environment}** — run {ctx.run_id}",
        "",
        "**What happened:** " + (ctx.params.get("reason") or "(fill in: the symptom and when it started)"),
        "**Rolled back:** " + (rolled_back[0] if rolled_back else "nothing"),
        *rolled_back[1:],
        f"**Impact window:** from (fill in: first alert) to {done_at or 'now'} (rollback done)",
        "**Verification:** the checks after the rollback passed (see the journal).",
        "**Next steps:** find the cause; fix forward with a new deployment; post-incident review.",
    ]
    text = "\n".join(lines) + "\n"
    path = Path(ctx.params.get("runs_dir") or ".") / f"{ctx.run_id}.rollback.md"
    path.write_text(text, encoding="utf-8")
    for line in lines:
        ctx.console.info(line)
    ctx.console.info(f"Saved to {path}")
    return {"communication": str(path)}
