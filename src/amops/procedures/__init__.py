"""One module per runbook. Each declares its Procedure and registers it.

SCHEDULE is the maintenance schedule of the six runbooks: who owns each and how often it is
reviewed. A procedure takes its owner and review frequency from here.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from amops.runbook import registry
from amops.runbook.step import Procedure


def load_all() -> dict[str, Procedure]:
    """Import every procedure module, only when a command needs them (they pull in boto3)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return registry.registered()


@dataclass(frozen=True)
class Maintenance:
    title: str
    owner: str
    review_months: int


SCHEDULE: dict[str, Maintenance] = {
    "deployment": Maintenance("Deployment", "DevOps", 3),
    "troubleshooting": Maintenance("Troubleshooting", "Support", 1),
    "promotion": Maintenance("Promotion", "DevOps", 3),
    "rollback": Maintenance("Rollback", "DevOps", 3),
    "audit-compliance": Maintenance("Audit compliance", "Security", 12),
    "disaster-recovery": Maintenance("Disaster recovery", "DevOps", 6),
}
