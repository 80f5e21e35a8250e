"""amops init: write the commented example configuration."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from amops.cli.state import AppState
from amops.runbook.errors import ExitCode, RefusedError


def example_config() -> str:
    return files("amops").joinpath("templates/amops.toml").read_text(encoding="utf-8")


def write_example(state: AppState, path: Path) -> int:
    if path.exists():
        if state.dry_run:
            state.console.info(f"dry run: would overwrite {path}")
            return ExitCode.OK
        if not state.yes:
            if not state.prompter.interactive:
                raise RefusedError(f"{path} exists and stdin is not a terminal", "pass --yes to overwrite it")
            if not state.prompter.confirm(f"{path} exists. Overwrite it?"):
                state.console.info(f"Left {path} as it was.")
                return ExitCode.FAILED
    elif state.dry_run:
        state.console.info(f"dry run: would write {path}")
        return ExitCode.OK
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(example_config(), encoding="utf-8")
    temporary.replace(path)
    state.emit(
        {"written": str(path)},
        lambda: state.console.success(f"Wrote {path}: fill in each environment's account_id and profile."),
    )
    return ExitCode.OK
