"""`amops audit` against the sandbox: exports checked against the seed, compliance checks, reports."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from amops.sandbox.accounts import Account
from amops.sandbox.control import Sandbox
from amops.sandbox.seed import generate_events
from amops.sandbox.stack import ARCHIVE_LIFECYCLE
from tests.procedures.test_deploy import amops, statuses

pytestmark = pytest.mark.e2e
EVENTS = 2000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    manager = Sandbox(tmp_path_factory.mktemp("audit") / "workspace")
    manager.up(events=EVENTS)
    yield manager
    manager.down()


def seeded(sandbox, env: str) -> list[dict]:
    state = sandbox.running().state
    return list(generate_events(env, state["events"], date.fromisoformat(state["seeded_on"])))


def run(sandbox, *args: str, cwd: Path | None = None):
    done = amops(sandbox, "-o", "json", *args)
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def test_a_400_day_export_holds_exactly_the_seeded_events_from_all_three_tiers(sandbox, tmp_path):
    out = tmp_path / "prod.jsonl"

    done, document = run(sandbox, "audit", "export", "--env", "prod", "--since", "400d", "--out", str(out))

    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "prod.jsonl.manifest.json").read_text())
    since, until = (datetime.fromisoformat(manifest["range"][k]) for k in ("since", "until"))
    expected = [
        e for e in seeded(sandbox, "prod") if since <= datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) < until
    ]
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(exported) == len(expected) == manifest["total"]
    assert exported == sorted(expected, key=lambda e: (e["ts"], e["event_id"]))
    assert all(manifest["per_tier"][tier] > 0 for tier in ("table", "warm", "cold"))
    assert document["outputs"]["restore"]["requested"] > 0  # the Glacier days were restored first
    assert manifest["exported_by"]["caller_arn"].startswith("arn:aws:sts::100000000003:")

    checked = amops(sandbox, "audit", "verify-export", str(out))
    assert checked.returncode == 0, checked.stderr
    data = bytearray(out.read_bytes())
    data[100] = ord("#") if data[100] != ord("#") else ord("$")
    out.write_bytes(bytes(data))
    tampered = amops(sandbox, "audit", "verify-export", str(out))
    assert tampered.returncode == 1
    assert "does not match its manifest: SHA-256" in tampered.stderr


def test_filters_csv_and_gzip(sandbox, tmp_path):
    import csv
    import gzip

    out = tmp_path / "denied.csv"
    done, _ = run(
        sandbox, "audit", "export", "--env", "prod", "--since", "20d", "--action", "permission.*",
        "--outcome", "deny", "--format", "csv", "--gzip", "--out", str(out),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    with gzip.open(tmp_path / "denied.csv.gz", "rt") as handle:
        rows = list(csv.DictReader(handle))
    since = datetime.now(UTC) - timedelta(days=20)
    expected = [
        e
        for e in seeded(sandbox, "prod")
        if e["action"].startswith("permission.")
        and e["outcome"] == "deny"
        and datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) >= since
    ]
    assert {r["event_id"] for r in rows} == {e["event_id"] for e in expected}
    assert rows and all(r["action"] == "permission.check.denied" for r in rows)
    assert amops(sandbox, "audit", "verify-export", str(tmp_path / "denied.csv.gz")).returncode == 0


def test_verify_passes_on_a_clean_environment(sandbox):
    done, document = run(sandbox, "audit", "verify", "--env", "prod")

    assert done.returncode == 0, done.stderr
    checks = [c for step in ("table", "archive", "writer") for c in document["outputs"][step]["checks"]]
    assert {c["name"] for c in checks} >= {
        "ttl", "ttl-horizon", "pitr", "table-age", "archive-versioning", "archive-encryption", "archive-lifecycle",
        "archive-replication", "archive-gaps", "archive-counts", "writer-failures", "audit-error-codes",
    }  # fmt: skip
    assert {c["status"] for c in checks} == {"PASS"}


def test_verify_reports_the_missing_archive_day_and_a_lifecycle_changed_by_hand(sandbox):
    missing_day = (date.fromisoformat(sandbox.running().state["seeded_on"]) - timedelta(days=45)).isoformat()
    done, document = run(sandbox, "audit", "verify", "--env", "sit")
    assert done.returncode == 1
    gaps = next(c for c in document["outputs"]["archive"]["checks"] if c["name"] == "archive-gaps")
    assert gaps["status"] == "FAIL" and missing_day in gaps["evidence"]

    s3 = Account(sandbox.running().endpoint, "prod").client("s3")
    bucket = "am-prod-audit-archive-100000000003"
    changed = json.loads(json.dumps(ARCHIVE_LIFECYCLE))
    changed["Rules"][0]["Transitions"][0]["Days"] = 30
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=changed)
    try:
        done, document = run(sandbox, "audit", "verify", "--env", "prod")
    finally:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=ARCHIVE_LIFECYCLE)
    assert done.returncode == 1
    lifecycle = next(c for c in document["outputs"]["archive"]["checks"] if c["name"] == "archive-lifecycle")
    assert lifecycle["status"] == "FAIL"
    assert "GLACIER after 30 days" in lifecycle["evidence"]
    assert "after 90 days" in lifecycle["remediation"]


def test_a_monthly_report_counts_what_the_seed_holds(sandbox, tmp_path):
    seeded_on = date.fromisoformat(sandbox.running().state["seeded_on"])
    month = (seeded_on.replace(day=1) - timedelta(days=62)).replace(day=1)  # two months back: warm and cold days
    period = f"{month:%Y-%m}"
    done, document = run(sandbox, "audit", "report", "--env", "prod", "--period", period, "--out-dir", str(tmp_path))

    assert done.returncode == 0, done.stderr
    in_month = [e for e in seeded(sandbox, "prod") if e["ts"].startswith(period)]
    markdown = (tmp_path / f"audit-report-prod-{period}.md").read_text()
    page = (tmp_path / f"audit-report-prod-{period}.html").read_text()
    assert f"**{len(in_month)} events**" in markdown
    denied = sum(1 for e in in_month if e["outcome"] == "deny")
    assert f"denied {denied}" in markdown
    by_action = Counter((e["action"], e["outcome"]) for e in in_month)
    for (action, outcome), n in by_action.items():
        assert f"| {action} | {outcome} | {n} |" in markdown
    cross = sum(1 for e in in_month if e["action"] == "team.isolation.violation")
    assert f"{cross} cross-team access attempts" in markdown
    assert "<svg" in page and "Audit events per day" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"http", page)  # self-contained
    assert statuses(document)["write"] == "ok"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "--since 'last tuesday' is not a date or time"),
        (["--since", "2026-11-10", "--until", "2026-11-01"], "is not before --until"),
        (["--since", "2999-01-01"], "is in the future"),
        (["--since", "2015-01-01"], "past retention"),
        (["--since", "7d", "--env", "qa"], "unknown environment 'qa'"),
        (["--since", "7d", "--outcome", "maybe"], "--outcome must be allow, deny or error"),
    ],
)
def test_bad_export_input_is_one_line_and_exit_2(sandbox, args, message):
    done = amops(sandbox, "audit", "export", *args)

    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_bad_period_is_one_line_and_exit_2(sandbox):
    done = amops(sandbox, "audit", "report", "--period", "2026-13")

    assert done.returncode == 2
    assert "--period '2026-13' is not a period" in done.stderr


def test_the_export_script_passes_its_arguments_through(sandbox, tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).parents[2]
    env = {
        **os.environ,
        "AMOPS_SANDBOX_WORKSPACE": str(sandbox.workspace.path),
        "AMOPS_SANDBOX": "1",
        "AMOPS": str(Path(sys.executable).parent / "amops"),
    }
    until = (date.fromisoformat(sandbox.running().state["seeded_on"]) - timedelta(days=1)).isoformat()
    since = (date.fromisoformat(until) - timedelta(days=2)).isoformat()
    out = tmp_path / "three-days.jsonl"

    done = subprocess.run(
        [str(root / "scripts/export-audit-logs.sh"), "dev", since, until, "--team", "team-bravo", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    expected = [e for e in seeded(sandbox, "dev") if since <= e["ts"][:10] <= until and e["team_id"] == "team-bravo"]
    expected.sort(key=lambda e: (e["ts"], e["event_id"]))
    assert [json.loads(line)["event_id"] for line in out.read_text().splitlines()] == [e["event_id"] for e in expected]
    assert expected


def test_an_export_to_stdout_and_one_to_s3(sandbox):
    to_stdout = amops(sandbox, "audit", "export", "--env", "prod", "--since", "3d", "--out", "-")
    assert to_stdout.returncode == 0, to_stdout.stderr
    events = [json.loads(line) for line in to_stdout.stdout.splitlines()]
    since = datetime.now(UTC) - timedelta(days=3)
    expected = [e for e in seeded(sandbox, "prod") if datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) >= since]
    assert {e["event_id"] for e in events} == {e["event_id"] for e in expected}
    assert "Exported" in to_stdout.stderr  # the summary went to stderr, not into the data

    uri = "s3://am-prod-dr-exports-100000000003/evidence/three-days.jsonl"
    to_s3 = amops(sandbox, "audit", "export", "--env", "prod", "--since", "3d", "--out", uri)
    assert to_s3.returncode == 0, to_s3.stderr
    s3 = Account(sandbox.running().endpoint, "prod").client("s3")
    body = s3.get_object(Bucket="am-prod-dr-exports-100000000003", Key="evidence/three-days.jsonl")["Body"].read()
    manifest = json.loads(
        s3.get_object(Bucket="am-prod-dr-exports-100000000003", Key="evidence/three-days.jsonl.manifest.json")[
            "Body"
        ].read()
    )
    assert len(body.splitlines()) == manifest["total"] == len(expected)
    assert manifest["output"]["path"] == uri
