"""One module per runbook. Each declares its Procedure and registers it.

SCHEDULE is the maintenance schedule of the six runbooks: who owns each and how often it is
reviewed. A procedure takes its owner and review frequency from here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
