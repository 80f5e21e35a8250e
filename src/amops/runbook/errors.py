"""Exit codes and the errors amops reports to an operator as one line plus a remedy."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a procedure step failed or a check found a problem
    USAGE = 2  # bad usage or bad input: unknown environment, unparseable date, missing config
    WAITING = 3  # the run waits for someone else (an approval); resume it later
    INTERRUPTED = 130


class AmopsError(Exception):
    """An error the operator can act on: printed as one line and a remedy, never a traceback."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        return f"{self.message} — {self.remedy}" if self.remedy else self.message


class UsageError(AmopsError):
    """Bad input: the command line, a date, an environment name."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """amops.toml is missing or wrong."""


class WrongAccountError(UsageError):
    """The AWS account in use is not the one configured for the environment."""


class RefusedError(UsageError):
    """amops would have to ask, but cannot (no terminal) or was not allowed to."""


class AwsError(AmopsError):
    """An AWS call failed; the message names the fix."""


class LockHeldError(AmopsError):
    """Another run holds the environment's lock."""


class StepFailed(AmopsError):
    """A step's run or verification found a problem."""


class AwaitingError(AmopsError):
    """A step waits for something outside this run, such as another person's approval."""

    exit_code = ExitCode.WAITING


class NotAvailableError(AmopsError):
    """A part of amops that this version does not have yet."""
