"""The run journal: one JSON object per line, one file per run, secrets redacted."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amops.runbook.errors import UsageError
from amops.runbook.redact import redact

# Steps whose last recorded status is one of these are not run again on --resume.
DONE_STATUSES = frozenset({"ok"})
RESUMABLE_RUN_STATUSES = frozenset({"failed", "interrupted", "stopped", "declined", "running", "waiting"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id(procedure: str, environment: str | None, now: datetime | None = None) -> str:
    moment = (now or utc_now()).astimezone(UTC)
    parts = [
        moment.strftime("%Y%m%d-%H%M%S"),
        procedure,
        environment or "none",
        secrets.token_hex(2),
    ]
    return "-".join(parts)


def git_commit(directory: Path | None = None) -> str | None:
    """The commit checked out where amops runs, with '+dirty' when the tree has changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


class Journal:
    """Appends events to runs/<run-id>.jsonl under the state directory."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id

    @classmethod
    def create(cls, runs_dir: Path, run_id: str) -> Journal:
        runs_dir.mkdir(parents=True, exist_ok=True)
        path = runs_dir / f"{run_id}.jsonl"
        path.touch(exist_ok=False)
        os.chmod(path, 0o600)
        return cls(path, run_id)

    def write(self, event: str, **fields: Any) -> None:
        record = {"ts": iso(utc_now()), "run_id": self.run_id, "event": event, **redact(fields)}
        line = json.dumps(record, default=str, sort_keys=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass
class RecordedRun:
    """A run as its journal tells it."""

    run_id: str
    path: Path
    events: list[dict[str, Any]]
    start: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, runs_dir: Path, run_id: str) -> RecordedRun:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise UsageError(f"{run_id!r} is not a run id", "list runs with `amops runs list`")
        path = runs_dir / f"{run_id}.jsonl"
        if not path.is_file():
            raise UsageError(
                f"no journal for run {run_id} in {runs_dir}",
                "list this machine's runs with `amops runs list`",
            )
        events = []
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                # A run killed mid-write leaves a torn last line; everything before it stands.
                if number != len(lines):
                    raise UsageError(f"{path}: line {number} is not JSON", "the journal is damaged") from None
        starts = [event for event in events if event.get("event") == "run.start"]
        if not starts:
            raise UsageError(f"{path} has no run.start event", "the journal is damaged")
        return cls(run_id=run_id, path=path, events=events, start=starts[0])

    @property
    def procedure(self) -> str:
        return self.start["procedure"]

    @property
    def environment(self) -> str | None:
        return self.start.get("environment")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.start.get("params") or {})

    @property
    def status(self) -> str:
        ends = [event for event in self.events if event.get("event") == "run.end"]
        return ends[-1]["status"] if ends else "running"

    def step_statuses(self) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for event in self.events:
            if event.get("event") == "step.end":
                statuses[event["step"]] = event["status"]
            elif event.get("event") == "step.undo" and event.get("status") == "ok":
                statuses[event["step"]] = "undone"
        return statuses

    def outputs(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for event in self.events:
            if event.get("event") == "step.end" and event.get("status") == "ok":
                found[event["step"]] = event.get("outputs") or {}
        return found


def list_recorded_runs(runs_dir: Path) -> list[RecordedRun]:
    if not runs_dir.is_dir():
        return []
    runs = []
    for path in sorted(runs_dir.glob("*.jsonl"), reverse=True):
        try:
            runs.append(RecordedRun.load(runs_dir, path.stem))
        except UsageError:
            continue
    return runs
