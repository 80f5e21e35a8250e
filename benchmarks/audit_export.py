"""Exporting audit events from the sandbox: amops beside the shell-script way, in one run.

1. The last 7 days from a 30-day hot table of 300,000 events: `amops audit export --since 7d` against
   `aws dynamodb scan --filter-expression` on `ts`, turned into JSON lines with jq — what a shell script does.
   Goal: amops at least 3× faster, peak memory under 150 MB.
2. 1,000,000 archived events (S3 Standard and Glacier, gzipped day objects) exported by amops.
   Goal: peak memory still under 150 MB.

Peak memory is the exporting process's maximum resident set size (wait4's ru_maxrss).

Usage: python benchmarks/audit_export.py    (needs the dev extra — amops[sandbox], awscli — and jq;
       seeding the sandbox takes a few minutes)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _measure import measured

from amops.sandbox.control import Sandbox

BIN = Path(sys.executable).parent
HOT_EVENTS = 300_000
ARCHIVED_PER_DAY = 2_696  # × 371 archived days ≈ 1,000,000 events
EVENTS = ARCHIVED_PER_DAY * 400

SCAN = r"""
set -euo pipefail
aws dynamodb scan --table-name am-prod-audit \
    --filter-expression '#ts >= :since' \
    --expression-attribute-names '{"#ts": "ts"}' \
    --expression-attribute-values "{\":since\": {\"S\": \"$SINCE\"}}" --output json \
  | jq -c '.Items[] | map_values(to_entries[0].value) | del(.pk, .sk, .day, .expires_at)' > "$OUT"
"""


def lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox = Sandbox(work / "workspace")
        started = time.perf_counter()
        sandbox.up(events=EVENTS, hot_events=HOT_EVENTS, bulk_env="prod")
        seeding = time.perf_counter() - started
        try:
            env = {
                **os.environ,
                "PATH": f"{BIN}:{os.environ['PATH']}",
                "AMOPS_SANDBOX": "1",
                "AMOPS_SANDBOX_WORKSPACE": str(sandbox.workspace.path),
                "AMOPS_STATE_DIR": str(work / "state"),
            }
            since = datetime.now(UTC) - timedelta(days=7)
            hot_amops = work / "hot-amops.jsonl"
            hot = measured(
                [str(BIN / "amops"), "audit", "export", "--env", "prod", "--since", since.isoformat(),
                 "--out", str(hot_amops)],
                env,
                work,
            )  # fmt: skip
            aws_env = {**env, "OUT": str(work / "hot-scan.jsonl"), "SINCE": since.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
            for line in sandbox.env_lines("prod"):
                if line.startswith("export "):
                    key, _, value = line[len("export ") :].partition("=")
                    aws_env[key] = value
            scan = measured(["bash", "-c", SCAN], aws_env, work)
            cold = work / "archive-amops.jsonl"
            archive = measured(
                [str(BIN / "amops"), "audit", "export", "--env", "prod", "--since", "400d", "--until", "31d",
                 "--out", str(cold)],
                env,
                work,
            )  # fmt: skip
            counts = (lines(hot_amops), lines(work / "hot-scan.jsonl"), lines(cold))
        finally:
            sandbox.down()
    print(
        f"sandbox seeded in {seeding:.0f}s: prod has {HOT_EVENTS:,} hot events and ~{ARCHIVED_PER_DAY * 371:,} archived"
    )
    print("1. the last 7 days from the 30-day hot table")
    print(f"  {'':44} {'wall':>8} {'peak RSS':>10} {'events':>9}")
    print(f"  {'amops audit export --since 7d':44} {hot.wall:7.2f}s {hot.peak_mb:8.0f}MB {counts[0]:9,}")
    print(f"  {'aws dynamodb scan --filter-expression | jq':44} {scan.wall:7.2f}s {scan.peak_mb:8.0f}MB {counts[1]:9,}")
    ratio = scan.wall / hot.wall
    verdict = "meets" if ratio >= 3 and hot.peak_mb < 150 else "misses"
    print(f"  scan / amops = {ratio:.1f}× faster; amops peak {hot.peak_mb:.0f} MB ({verdict} the goal: ≥3×, <150 MB)")
    print("2. the archive: 371 days from S3 Standard and Glacier")
    label = "amops audit export --since 400d --until 31d"
    print(f"  {label:44} {archive.wall:7.2f}s {archive.peak_mb:8.0f}MB {counts[2]:9,}")
    print(f"  peak {archive.peak_mb:.0f} MB ({'meets' if archive.peak_mb < 150 else 'misses'} the goal: <150 MB)")


if __name__ == "__main__":
    main()
