"""The simulator plays TTL expiry, lifecycle, replication and hourly exports as the clock advances."""

from __future__ import annotations

from datetime import datetime

import pytest

from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox
from amops.sandbox.seed import archive_key, days, generate_events, table_item, tier

pytestmark = pytest.mark.e2e
EVENTS = 800


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("simulated") / "workspace")
    manager.up(events=EVENTS)
    yield manager
    manager.down()


def keys(s3, bucket, prefix=""):
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update({item["Key"]: item.get("StorageClass", "STANDARD") for item in page.get("Contents", [])})
    return found


def test_the_clock_advances_and_ttl_expiry_deletes_exactly_what_has_expired(sandbox):
    running = sandbox.running()
    today = datetime.fromisoformat(running.state["started_at"]).date()
    report = sandbox.tick(hours=48)

    now = int(datetime.fromisoformat(report["now"]).timestamp())
    hot = [
        table_item(e)
        for e in generate_events("dev", EVENTS, today)
        if tier(datetime.fromisoformat(e["ts"][:10]).date(), today) == "hot"
    ]
    remaining = (
        Account(running.endpoint, "dev").client("dynamodb").scan(TableName="am-dev-audit", Select="COUNT")["Count"]
    )

    assert sandbox.status()["clock_offset_hours"] == 48
    # ±1 s: the server's clock and the report's second may straddle an item's expiry
    assert sum(item["expires_at"] >= now + 1 for item in hot) <= remaining
    assert remaining <= sum(item["expires_at"] >= now - 1 for item in hot)
    assert remaining < len(hot)
    assert report["expired_items"] >= len(hot) - remaining


def test_each_tick_exports_every_table_and_replicates_prod_to_the_dr_region(sandbox):
    running = sandbox.running()
    report = sandbox.tick(hours=1)
    prod = Account(running.endpoint, "prod")
    s3, s3_dr = prod.client("s3"), prod.client("s3", "eu-west-1")
    exports = keys(s3, "am-prod-dr-exports-100000000003")
    archive = keys(s3, "am-prod-audit-archive-100000000003")

    assert report["exports"] == 12  # four tables in each of three environments
    for table in ("am-prod-teams", "am-prod-permissions", "am-prod-invitations", "am-prod-audit"):
        assert any(key.startswith(f"{table}/") and "/AWSDynamoDB/" in key for key in exports)
    assert set(keys(s3_dr, "am-prod-dr-exports-dr-100000000003")) == set(exports)
    assert keys(s3_dr, "am-prod-audit-archive-dr-100000000003").keys() == archive.keys()


def test_ninety_days_on_the_whole_archive_is_in_glacier(sandbox):
    running = sandbox.running()
    today = datetime.fromisoformat(running.state["started_at"]).date()
    s3 = Account(running.endpoint, "dev").client("s3")
    bucket = "am-dev-audit-archive-100000000001"
    warm = [d for d in days(today) if tier(d, today) == "warm"]
    assert {keys(s3, bucket, archive_key(d))[archive_key(d)] for d in warm} == {"STANDARD"}

    report = sandbox.tick(hours=24 * 91)

    assert report["transitioned"] >= len(warm)
    assert set(keys(s3, bucket).values()) == {"GLACIER"}
