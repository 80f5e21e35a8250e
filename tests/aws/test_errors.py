"""botocore errors become one line that names the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from amops.aws.errors import translate, translated
from amops.runbook.errors import AwsError, ConfigError, ExitCode


def client_error(code: str, message: str = "details", operation: str = "UpdateAlias") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "expected", "remedy"),
    [
        (
            "AccessDeniedException",
            "access denied: UpdateAlias while moving the alias: details",
            "Access requirements",
        ),
        ("ExpiredTokenException", "expired or invalid", "aws sso login"),
        ("ThrottlingException", "AWS is throttling UpdateAlias", "--resume"),
        ("ResourceNotFoundException", "not found: UpdateAlias", "resource names in amops.toml"),
    ],
)
def test_client_errors_name_the_cause_and_the_fix(code, expected, remedy):
    error = translate(client_error(code), "moving the alias")

    assert isinstance(error, AwsError)
    assert expected in error.message
    assert remedy in error.remedy
    assert "\n" not in str(error)


def test_missing_credentials_are_bad_configuration_with_exit_2():
    error = translate(NoCredentialsError())

    assert isinstance(error, ConfigError) and error.exit_code == ExitCode.USAGE
    assert "--sandbox" in error.remedy


def test_no_region_and_no_endpoint():
    assert "region" in translate(NoRegionError()).remedy
    assert "http://127.0.0.1:1" in translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")).message


def test_the_decorator_translates_and_keeps_the_cause():
    @translated("reading the alias")
    def read():
        raise client_error("AccessDenied", operation="GetAlias")

    with pytest.raises(AwsError, match="access denied: GetAlias while reading the alias") as error:
        read()
    assert isinstance(error.value.__cause__, ClientError)
