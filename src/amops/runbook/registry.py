"""The procedures amops knows, registered by the modules in amops.procedures."""

from __future__ import annotations

import importlib
import pkgutil

from amops.runbook.step import Procedure

_procedures: dict[str, Procedure] = {}


def register(procedure: Procedure) -> Procedure:
    if procedure.name in _procedures and _procedures[procedure.name] is not procedure:
        raise ValueError(f"procedure {procedure.name!r} is registered twice")
    _procedures[procedure.name] = procedure
    return procedure


def load_all() -> dict[str, Procedure]:
    """Import every procedure module (only when a command needs them: they pull in boto3)."""
    import amops.procedures as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(_procedures.items()))


def get(name: str) -> Procedure:
    return load_all()[name]
