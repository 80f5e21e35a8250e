"""The runbook engine: steps, procedures, the runner. Imports no UI or AWS library."""

from amops.runbook.context import StepContext
from amops.runbook.errors import AmopsError, ExitCode, StepFailed, UsageError
from amops.runbook.step import Procedure, Step, StepKind, TroubleshootingEntry

__all__ = [
    "AmopsError",
    "ExitCode",
    "Procedure",
    "Step",
    "StepContext",
    "StepFailed",
    "StepKind",
    "TroubleshootingEntry",
    "UsageError",
]
