"""The export's parts: the date grammar, tier selection, de-duplication, filters, atomic writes, manifests."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from amops.audit.export import (
    DayPlan,
    DayResult,
    Filters,
    check_range,
    plan_days,
    read_day,
    verify_export,
    write_export,
    write_manifest,
)
from amops.runbook.errors import StepFailed, UsageError
from amops.when import parse_when

NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


def event(ts: str, event_id: str = "e1", **fields) -> dict:
    return {
        "event_id": event_id,
        "ts": ts,
        "actor": "alice",
        "action": "team.read",
        "team_id": "team-alpha",
        "resource": "/teams/team-alpha",
        "outcome": "allow",
        "source_ip": "198.51.100.1",
        "request_id": "r1",
        **fields,
    }


# -- the date grammar --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:30:00Z", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01T08:30:00", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),  # no offset: UTC
        ("2026-11-01T10:30:00+02:00", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01 00:30-05:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        (" 7D ", NOW - timedelta(days=7)),
    ],
)
def test_times_operators_type(text, expected):
    assert parse_when(text, NOW, "--since") == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2026-13-01", "2026/11/01", "-7d", ""])
def test_what_is_not_a_time_says_what_is(text):
    with pytest.raises(UsageError, match=r"--since .* is not a date or time") as raised:
        parse_when(text, NOW, "--since")
    assert "ISO 8601" in raised.value.remedy and "7d" in raised.value.remedy


def test_ranges_that_cannot_hold_audit_events_are_refused():
    with pytest.raises(UsageError, match="is not before --until"):
        check_range(NOW - timedelta(days=1), NOW - timedelta(days=2), NOW)
    with pytest.raises(UsageError, match="is in the future"):
        check_range(NOW + timedelta(hours=1), NOW + timedelta(days=1), NOW)
    with pytest.raises(UsageError, match="past retention") as raised:
        check_range(NOW - timedelta(days=2556), NOW, NOW)
    assert raised.value.remedy == "start at 2019-12-06 or later"
    check_range(NOW - timedelta(days=2554), NOW, NOW)  # inside retention: fine


# -- which tier holds each day ------------------------------------------------------------------------------


def test_days_near_the_30_day_boundary_are_read_from_both_places():
    since = datetime.combine(TODAY - timedelta(days=34), datetime.min.time(), UTC)
    plans = {(TODAY - p.day).days: (p.table, p.archive) for p in plan_days(since, NOW, TODAY)}

    assert plans[34] == (False, True)  # archive only: TTL has removed it from the table
    assert plans[33] == (False, True)
    assert plans[32] == (True, True)  # TTL's 48 hours of grace: maybe still in the table too
    assert plans[30] == (True, True)
    assert plans[29] == (True, True)  # the archive may already have it
    assert plans[28] == (True, False)
    assert plans[1] == (True, False)
    assert plans[0] == (True, False)  # today is archived tomorrow


def test_the_90_day_boundary_is_read_by_storage_class_not_by_age():
    # Warm or cold is whatever S3 says about the object; the plan only says "archive".
    since = datetime.combine(TODAY - timedelta(days=91), datetime.min.time(), UTC)
    until = datetime.combine(TODAY - timedelta(days=88), datetime.min.time(), UTC)
    plans = plan_days(since, until, TODAY)

    assert [(TODAY - p.day).days for p in plans] == [91, 90, 89]
    assert all(p.archive and not p.table for p in plans)


def test_midnight_utc_decides_the_day_whatever_the_offset_typed():
    since = parse_when("2026-11-05T00:00:00+02:00", NOW, "--since")  # 2026-11-04T22:00Z
    until = parse_when("2026-11-06T00:00:00Z", NOW, "--until")  # exclusive: 2026-11-06 is not read
    assert [p.day for p in plan_days(since, until, TODAY)] == [date(2026, 11, 4), date(2026, 11, 5)]


# -- one day, from every place that holds it ----------------------------------------------------------------


EVERYTHING = Filters()


def read(plan, table_events, archive_events, tier="warm", since="2026-11-04T00:00:00.000Z",
         until="2026-11-05T00:00:00.000Z", filters=EVERYTHING) -> DayResult:  # fmt: skip
    return read_day(plan, lambda _: table_events, lambda _: archive_events, lambda _: tier, since, until, filters)


def test_an_event_in_the_table_and_the_archive_is_exported_once():
    day = date(2026, 11, 4)
    table = [event("2026-11-04T10:00:00.000Z", "a"), event("2026-11-04T09:00:00.000Z", "b")]
    archive = [event("2026-11-04T09:00:00.000Z", "b"), event("2026-11-04T08:00:00.000Z", "c")]

    result = read(DayPlan(day, table=True, archive=True), table, archive)

    assert [e["event_id"] for e in result.events] == ["c", "b", "a"]  # time order
    assert result.duplicates == 1
    assert result.counts == {"table": 2, "warm": 1, "cold": 0}


def test_events_outside_the_range_or_the_filters_are_left_out():
    day = date(2026, 11, 4)
    events = [
        event("2026-11-04T07:59:59.999Z", "early"),
        event("2026-11-04T08:00:00.000Z", "first"),
        event("2026-11-04T09:00:00.000Z", "denied", action="permission.check.denied", outcome="deny"),
        event("2026-11-04T09:30:00.000Z", "bob", actor="bob", action="permission.check.allowed"),
        event("2026-11-04T10:00:00.000Z", "other", team_id="team-bravo", action="permission.check.denied"),
        event("2026-11-04T12:00:00.000Z", "late"),
    ]
    plan = DayPlan(day, table=False, archive=True)

    in_range = read(plan, [], events, since="2026-11-04T08:00:00.000Z", until="2026-11-04T12:00:00.000Z")
    permissions = read(plan, [], events, filters=Filters(action="permission.*"))
    alpha_denied = read(plan, [], events, filters=Filters(team="team-alpha", outcome="deny"))
    bob = read(plan, [], events, tier="cold", filters=Filters(actor="bob"))

    assert [e["event_id"] for e in in_range.events] == ["first", "denied", "bob", "other"]
    assert [e["event_id"] for e in permissions.events] == ["denied", "bob", "other"]
    assert [e["event_id"] for e in alpha_denied.events] == ["denied"]
    assert [e["event_id"] for e in bob.events] == ["bob"] and bob.counts["cold"] == 1


# -- writing -------------------------------------------------------------------------------------------------


def days_of(*events_per_day: list[dict]):
    for number, events in enumerate(events_per_day):
        yield DayResult(date(2026, 11, 1 + number), events, {"table": len(events), "warm": 0, "cold": 0})


def test_an_interrupted_export_leaves_no_file_under_the_final_name_and_no_partial(tmp_path):
    def interrupted():
        yield from days_of([event("2026-11-01T01:00:00.000Z")])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_export(interrupted(), str(tmp_path / "out.jsonl"), "jsonl", False)

    assert list(tmp_path.iterdir()) == []


def test_an_earlier_complete_export_survives_an_interrupted_one(tmp_path):
    path = tmp_path / "out.jsonl"
    write_export(days_of([event("2026-11-01T01:00:00.000Z")]), str(path), "jsonl", False)
    before = path.read_bytes()

    def failing():
        yield from days_of([event("2026-11-01T01:00:00.000Z", "x")], [event("2026-11-02T01:00:00.000Z", "y")])
        raise OSError("network gone")

    with pytest.raises(OSError, match="network gone"):
        write_export(failing(), str(path), "jsonl", False)

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


@pytest.mark.parametrize(("fmt", "compress"), [("jsonl", False), ("jsonl", True), ("csv", False), ("csv", True)])
def test_a_written_export_verifies_against_its_manifest_and_one_changed_byte_does_not(tmp_path, fmt, compress):
    path = tmp_path / f"out.{fmt}{'.gz' if compress else ''}"
    events = [event(f"2026-11-0{d}T0{h}:00:00.000Z", f"e{d}{h}") for d in (1, 2) for h in (1, 2, 3)]
    written = write_export(days_of(events[:3], events[3:]), str(path), fmt, compress)
    write_manifest(
        tmp_path / f"{path.name}.manifest.json",
        {"output": {"sha256": written.sha256, "size": written.size, "format": fmt, "gzip": compress}, "total": 6},
    )

    assert verify_export(path)["events"] == 6
    assert written.per_day == {"2026-11-01": {"table": 3}, "2026-11-02": {"table": 3}}
    if compress:
        with gzip.open(path, "rt") as handle:
            text = handle.read()
    else:
        text = path.read_text()
    assert text.count("e11") == 1 and ("event_id,ts" in text if fmt == "csv" else json.loads(text.splitlines()[0]))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StepFailed, match="does not match its manifest"):
        verify_export(path)


def test_verify_export_without_a_manifest_is_bad_input(tmp_path):
    (tmp_path / "x.jsonl").write_text("{}\n")
    with pytest.raises(UsageError, match=r"x\.jsonl\.manifest\.json does not exist"):
        verify_export(tmp_path / "x.jsonl")
