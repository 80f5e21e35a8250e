"""Reproducible Lambda packages: the same source always gives the same zip and the same SHA-256."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
SKIPPED = {"__pycache__", ".pytest_cache", ".DS_Store"}


@dataclass(frozen=True)
class Package:
    function: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def key(self) -> str:
        """Where it lives in the artifacts bucket."""
        return f"lambdas/{self.function}/{self.sha256}.zip"


def package_function(function: str, source: Path) -> Package:
    """Zip source with sorted entries, fixed timestamps and permissions."""
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and not SKIPPED & set(path.relative_to(source).parts) and path.suffix != ".pyc"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes(), compresslevel=9)
    return Package(function, buffer.getvalue())
