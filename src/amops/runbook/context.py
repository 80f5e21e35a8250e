"""The narrow facade a step sees: its environment, its inputs, earlier outputs, the console."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from amops.runbook.ports import Console, Prompter


@dataclass
class StepContext:
    run_id: str
    environment: str | None
    params: Mapping[str, Any]
    console: Console
    aws: Any = None
    config: Any = None
    dry_run: bool = False
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # by step id
    names: Mapping[str, Any] = field(default_factory=dict)  # resource names for commands
    prompter: Prompter | None = None  # for a step that must ask more than the runner's confirmation

    def output(self, name: str, default: Any = None) -> Any:
        """The latest value any earlier step produced under name."""
        for step_outputs in reversed(list(self.outputs.values())):
            if name in step_outputs:
                return step_outputs[name]
        return default

    def template_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"env": self.environment or "", **self.names, **self.params}
        for step_outputs in self.outputs.values():
            values.update(step_outputs)
        return values
