"""Dependencies point inward (DESIGN.md §2): checked on the imports in the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent.parent / "src" / "amops"

UI_LIBRARIES = {"typer", "rich", "questionary", "click", "prompt_toolkit"}
AWS_LIBRARIES = {"boto3", "botocore"}

FORBIDDEN = {
    # package: what its modules must not import
    "runbook": UI_LIBRARIES | AWS_LIBRARIES | {"amops.cli", "amops.ui", "amops.aws", "amops.procedures"},
    "render": UI_LIBRARIES | AWS_LIBRARIES | {"amops.cli", "amops.ui", "amops.aws"},
    "procedures": UI_LIBRARIES | {"amops.cli", "amops.ui"},
    "aws": UI_LIBRARIES | {"amops.cli", "amops.ui", "amops.procedures"},
    "terraform": UI_LIBRARIES | {"amops.cli", "amops.ui", "amops.procedures"},
    "audit": UI_LIBRARIES | {"amops.cli", "amops.ui", "amops.procedures"},
    "ui": AWS_LIBRARIES | {"amops.cli", "amops.aws", "amops.procedures", "typer"},
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((SOURCE / package).rglob("*.py")):
        for module in imported_modules(path):
            for banned in FORBIDDEN[package]:
                if module == banned or module.startswith(banned + "."):
                    found.append(f"{path.relative_to(SOURCE)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_points_inward(package):
    assert violations(package) == []


def test_the_check_catches_a_forbidden_import(tmp_path, monkeypatch):
    fake = tmp_path / "runbook"
    fake.mkdir()
    (fake / "bad.py").write_text("import boto3\nfrom rich.console import Console\n")
    monkeypatch.setitem(globals(), "SOURCE", tmp_path)

    assert sorted(violations("runbook")) == [
        "runbook/bad.py imports boto3",
        "runbook/bad.py imports rich.console",
    ]
