"""Local gate: `nox -s tests lint`. CI runs .ci/run, which does the same from scratch."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "runbooks"]
nox.options.reuse_existing_virtualenvs = True

DEV = ".[dev]"


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Run the test suite; arguments go to pytest (e.g. nox -s tests -- -k runner)."""
    session.install("-e", DEV)
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session(python="3.11")
def runbooks(session: nox.Session) -> None:
    """Fail when runbooks/ differs from the procedures; `-- generate` rewrites it."""
    session.install("-e", ".")
    session.run("amops", "runbooks", *(session.posargs or ["check"]))


@nox.session(python="3.11", default=False)
def benchmarks(session: nox.Session) -> None:
    """Print each benchmark's figure beside its baseline."""
    session.install("-e", DEV)
    session.run("python", "benchmarks/startup.py", *session.posargs)
    session.run("python", "benchmarks/deploy.py")
    session.run("python", "benchmarks/audit_export.py")
