"""Reproducible packages: the same source gives the same bytes, whoever builds it and whenever."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

from amops.packaging import package_function

SHIPPED = Path(__file__).parents[1] / "src/amops/sandbox/workspace/functions"


def build_in_another_process(source: Path) -> str:
    code = (
        "import sys; from pathlib import Path; from amops.packaging import package_function; "
        "print(package_function('f', Path(sys.argv[1])).sha256)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(source)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_same_source_gives_the_same_sha256_in_two_processes_despite_times_and_modes(tmp_path):
    source = tmp_path / "teams"
    source.mkdir()
    (source / "handler.py").write_text((SHIPPED / "teams" / "handler.py").read_text())
    (source / "lib").mkdir()
    (source / "lib" / "util.py").write_text("X = 1\n")
    first = build_in_another_process(source)

    os.utime(source / "handler.py", (0, 0))
    (source / "handler.py").chmod(0o600)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00junk")

    assert build_in_another_process(source) == first == package_function("f", source).sha256


def test_a_changed_byte_changes_the_sha256_and_entries_are_sorted_with_fixed_metadata(tmp_path):
    source = tmp_path / "f"
    source.mkdir()
    (source / "b.py").write_text("B = 1\n")
    (source / "a.py").write_text("A = 1\n")
    before = package_function("f", source)
    (source / "b.py").write_text("B = 2\n")
    after = package_function("f", source)

    entries = zipfile.ZipFile(BytesIO(after.data)).infolist()
    assert before.sha256 != after.sha256
    assert [e.filename for e in entries] == ["a.py", "b.py"]
    assert {e.date_time for e in entries} == {(1980, 1, 1, 0, 0, 0)}
    assert {e.external_attr >> 16 for e in entries} == {0o644}
    assert after.key == f"lambdas/f/{after.sha256}.zip"
