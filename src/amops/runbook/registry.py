"""The procedures amops knows: each procedure module registers its Procedure here."""

from __future__ import annotations

from amops.runbook.step import Procedure

_procedures: dict[str, Procedure] = {}


def register(procedure: Procedure) -> Procedure:
    if procedure.name in _procedures and _procedures[procedure.name] is not procedure:
        raise ValueError(f"procedure {procedure.name!r} is registered twice")
    _procedures[procedure.name] = procedure
    return procedure


def registered() -> dict[str, Procedure]:
    return dict(sorted(_procedures.items()))
