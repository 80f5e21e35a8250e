"""botocore's errors, turned into amops errors that name the fix."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from amops.runbook.errors import AmopsError, AwsError, ConfigError

P = ParamSpec("P")
R = TypeVar("R")

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
}
NOT_FOUND = {
    "ResourceNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "404",
    "NoSuchEntity",
}


def translate(error: Exception, doing: str = "") -> AmopsError:
    """The amops error for a botocore error: one line, and what to do about it."""
    where = f" while {doing}" if doing else ""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        operation = error.operation_name
        if code in ACCESS_DENIED:
            return AwsError(
                f"access denied: {operation}{where}: {message}",
                "use a role or profile allowed to do this (see the runbook's Access requirements)",
            )
        if code in EXPIRED:
            return AwsError(
                f"the AWS credentials are expired or invalid ({code}){where}",
                "refresh them (e.g. `aws sso login --profile PROFILE`) and run again, or --resume the run",
            )
        if code in THROTTLED:
            return AwsError(
                f"AWS is throttling {operation}{where} ({code}), even after retries",
                "wait a minute and run again, or --resume the run",
            )
        if code in NOT_FOUND:
            return AwsError(
                f"not found: {operation}{where}: {message}",
                "check the environment and the resource names in amops.toml",
            )
        return AwsError(f"AWS refused {operation}{where}: {code}: {message}")
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return ConfigError(
            f"no AWS credentials found{where}",
            "set a profile (--profile or the environment's profile in amops.toml), or practise with --sandbox",
        )
    if isinstance(error, ProfileNotFound):
        return ConfigError(f"{error}{where}", "check the profile name, or run `aws configure sso`")
    if isinstance(error, TokenRetrievalError | UnauthorizedSSOTokenError):
        return AwsError(f"the SSO session has expired{where}", "run `aws sso login --profile PROFILE`")
    if isinstance(error, NoRegionError):
        return ConfigError(f"no AWS region{where}", "set the environment's region in amops.toml")
    if isinstance(error, EndpointConnectionError):
        return AwsError(
            f"cannot reach {error.kwargs.get('endpoint_url', 'the AWS endpoint')}{where}",
            "check the network (or, with --sandbox, `amops sandbox status`)",
        )
    return AwsError(f"AWS call failed{where}: {error}")


@contextmanager
def aws_errors(doing: str = "") -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error, doing) from error


def translated(doing: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an adapter method so that botocore errors leave it as amops errors."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with aws_errors(doing):
                return function(*args, **kwargs)

        return wrapper

    return decorate
