from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from amops.cli.app import main


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def amops(capsys):
    """Run the amops console script in-process, through its error boundary."""

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    assert not sys.stdin.isatty()  # the in-process tests are the non-terminal case
    return run
