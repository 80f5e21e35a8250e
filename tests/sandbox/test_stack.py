"""Provisioning: every resource of DESIGN.md §1 exists in the sandbox with the right settings."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from amops.config import FUNCTIONS
from amops.sandbox import ACCOUNTS
from amops.sandbox.seed import archive_key, days, generate_events, tier
from tests.sandbox.conftest import TEST_EVENTS

pytestmark = pytest.mark.e2e
ENVS = ["dev", "sit", "prod"]


def names(sandbox_config, env):
    return sandbox_config.resource_names(env)


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_is_its_own_account_reached_by_assuming_the_role(account, env):
    identity = account(env).client("sts").get_caller_identity()

    assert identity["Account"] == ACCOUNTS[env]
    assert ":assumed-role/amops-operator/" in identity["Arn"]


@pytest.mark.parametrize(
    ("env", "region"),
    [("dev", "af-south-1"), ("sit", "af-south-1"), ("prod", "af-south-1"), ("prod", "eu-west-1")],
)
def test_functions_run_behind_a_live_alias_whose_zip_is_in_the_artifacts_bucket(account, sandbox_config, env, region):
    n = names(sandbox_config, env)
    lam = account(env).client("lambda", region)
    s3 = account(env).client("s3")
    for short in FUNCTIONS:
        alias = lam.get_alias(FunctionName=n["functions"][short], Name="live")
        version = lam.get_function(FunctionName=n["functions"][short], Qualifier="live")["Configuration"]
        sha_hex = base64.b64decode(version["CodeSha256"]).hex()
        body = s3.get_object(Bucket=n["artifacts_bucket"], Key=f"lambdas/{short}/{sha_hex}.zip")["Body"].read()
        assert alias["FunctionVersion"] == version["Version"] != "$LATEST"
        assert f"sha256={sha_hex}" in version["Description"]
        assert version["Environment"]["Variables"]["AUDIT_TABLE"] == n["tables"]["audit"]
        import hashlib

        assert hashlib.sha256(body).hexdigest() == sha_hex


@pytest.mark.parametrize("env", ENVS)
def test_tables_have_their_keys_indexes_ttl_and_pitr(account, sandbox_config, env):
    n = names(sandbox_config, env)
    dynamodb = account(env).client("dynamodb")
    audit = dynamodb.describe_table(TableName=n["tables"]["audit"])["Table"]

    assert [k["AttributeName"] for k in audit["KeySchema"]] == ["pk", "sk"]
    assert [
        (i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in audit["GlobalSecondaryIndexes"]
    ] == [("by-day", ["day", "sk"])]
    ttl = dynamodb.describe_time_to_live(TableName=n["tables"]["audit"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    for table in n["tables"].values():
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    present = set(dynamodb.list_tables()["TableNames"])
    assert {n["lock_table"], n["runs_table"], n["tf_lock_table"]} <= present


@pytest.mark.parametrize("env", ENVS)
def test_buckets_are_versioned_encrypted_and_the_archive_keeps_seven_years(account, sandbox_config, env):
    n = names(sandbox_config, env)
    s3 = account(env).client("s3")
    for bucket in (
        n["artifacts_bucket"],
        n["audit_archive_bucket"],
        n["dr_exports_bucket"],
        n["tfstate_bucket"],
    ):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=n["audit_archive_bucket"])["Rules"]
    assert rule["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"}]
    assert rule["Expiration"] == {"Days": 2555}


def test_prod_replicates_its_archive_and_exports_to_the_dr_region(account, sandbox_config):
    n = names(sandbox_config, "prod")
    s3 = account("prod").client("s3")
    for source, target in (
        (n["audit_archive_bucket"], n["audit_archive_dr_bucket"]),
        (n["dr_exports_bucket"], n["dr_exports_dr_bucket"]),
    ):
        rules = s3.get_bucket_replication(Bucket=source)["ReplicationConfiguration"]["Rules"]
        assert rules[0]["Destination"]["Bucket"] == f"arn:aws:s3:::{target}"
        assert s3.get_bucket_location(Bucket=target)["LocationConstraint"] == "eu-west-1"


def test_the_dr_region_has_code_and_api_but_no_tables(account, sandbox_config):
    n = names(sandbox_config, "prod")
    client = account("prod")
    assert client.client("dynamodb", "eu-west-1").list_tables()["TableNames"] == []
    apis = client.client("apigateway", "eu-west-1").get_rest_apis()["items"]
    assert [api["name"] for api in apis] == [n["api"]]
    primary = client.client("lambda").get_function(FunctionName=n["functions"]["teams"], Qualifier="live")
    standby = client.client("lambda", "eu-west-1").get_function(FunctionName=n["functions"]["teams"], Qualifier="live")
    assert primary["Configuration"]["CodeSha256"] == standby["Configuration"]["CodeSha256"]


def test_the_api_has_every_route_behind_the_authorizer_but_health(account, sandbox_config):
    client = account("dev").client("apigateway")
    (api,) = client.get_rest_apis()["items"]
    methods = {}
    for resource in client.get_resources(restApiId=api["id"])["items"]:
        for method in resource.get("resourceMethods") or {}:
            detail = client.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod=method)
            methods[(method, resource["path"])] = detail["authorizationType"]

    assert methods[("GET", "/health")] == "NONE"
    assert methods[("POST", "/permissions/check")] == "CUSTOM"
    assert {("GET", "/teams"), ("GET", "/teams/{id}/members"), ("POST", "/invitations")} <= set(methods)
    assert client.get_stage(restApiId=api["id"], stageName="v1")["deploymentId"]


def test_prod_has_failover_dns_alarms_email_and_logs(account, sandbox_config):
    n = names(sandbox_config, "prod")
    client = account("prod")
    route53 = client.client("route53")
    (zone,) = route53.list_hosted_zones()["HostedZones"]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    failover = {r["Failover"]: r for r in records if r.get("Failover")}
    assert set(failover) == {"PRIMARY", "SECONDARY"}
    assert failover["PRIMARY"]["HealthCheckId"]
    alarms = client.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(n["alarms"].values())
    assert {a["StateValue"] for a in alarms} == {"OK"}
    for region in ("af-south-1", "eu-west-1"):
        identities = client.client("ses", region).list_identities()["Identities"]
        assert identities == [n["ses_identity"]]
    groups = {g["logGroupName"] for g in client.client("logs").describe_log_groups()["logGroups"]}
    assert {f"/aws/lambda/{f}" for f in n["functions"].values()} | {n["api_log_group"]} <= groups


# -- seeded data --------------------------------------------------------------------------------


def seeded_today(running) -> date:
    return date.fromisoformat(running.state["seeded_on"])


@pytest.mark.parametrize("env", ENVS)
def test_the_hot_tier_holds_exactly_the_last_30_days_of_seeded_events(account, sandbox_config, running, env):
    today = seeded_today(running)
    expected = Counter(
        e["ts"][:10]
        for e in generate_events(env, TEST_EVENTS, today)
        if tier(date.fromisoformat(e["ts"][:10]), today) == "hot"
    )
    dynamodb = account(env).client("dynamodb")
    table = names(sandbox_config, env)["tables"]["audit"]
    found = Counter()
    for day in expected:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            IndexName="by-day",
            KeyConditionExpression="#d = :d",
            ExpressionAttributeNames={"#d": "day"},
            ExpressionAttributeValues={":d": {"S": day}},
            Select="COUNT",
        )
        found[day] = sum(page["Count"] for page in pages)

    assert len(expected) == 29  # ages 1 to 29 days: the seed covers the 400 days before today
    assert found == expected


def test_older_days_are_daily_archive_objects_in_standard_then_glacier(account, sandbox_config, running):
    today = seeded_today(running)
    s3 = account("prod").client("s3")
    bucket = names(sandbox_config, "prod")["audit_archive_bucket"]
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="audit/"):
        objects.update({item["Key"]: item.get("StorageClass", "STANDARD") for item in page.get("Contents", [])})
    archived_days = [d for d in days(today) if tier(d, today) != "hot"]

    assert set(objects) == {archive_key(d) for d in archived_days}
    assert {objects[archive_key(d)] for d in archived_days if tier(d, today) == "warm"} == {"STANDARD"}
    assert {objects[archive_key(d)] for d in archived_days if tier(d, today) == "cold"} == {"GLACIER"}
    warm_day = next(d for d in archived_days if tier(d, today) == "warm")
    body = s3.get_object(Bucket=bucket, Key=archive_key(warm_day))["Body"].read()
    archived = [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]
    assert archived == [e for e in generate_events("prod", TEST_EVENTS, today) if e["ts"][:10] == str(warm_day)]


def test_sit_misses_one_archive_day_as_planted(account, sandbox_config, running):
    from datetime import timedelta

    today = seeded_today(running)
    s3 = account("sit").client("s3")
    bucket = names(sandbox_config, "sit")["audit_archive_bucket"]
    missing = archive_key(today - timedelta(days=45))
    present = archive_key(today - timedelta(days=44))

    assert s3.list_objects_v2(Bucket=bucket, Prefix=missing)["KeyCount"] == 0
    assert s3.list_objects_v2(Bucket=bucket, Prefix=present)["KeyCount"] == 1


def test_dev_logs_carry_every_error_code_and_the_authorizer_burst(account, sandbox_config):
    from amops.catalog import ERROR_CODES

    logs = account("dev").client("logs")
    n = names(sandbox_config, "dev")
    found = set()
    for function in n["functions"].values():
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{function}", filterPattern="AM-"
        ):
            found |= {json.loads(e["message"]).get("error_code") for e in page["events"]}
    burst = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{n['functions']['authorizer']}",
        filterPattern="AM-AUTH-002",
        startTime=int(datetime.now(UTC).timestamp() * 1000) - 3_600_000,
    )["events"]

    assert set(ERROR_CODES) <= found
    assert len(burst) >= 200
