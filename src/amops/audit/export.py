"""Audit export: which tier holds each day, reading days in parallel, writing in order, the manifest."""

from __future__ import annotations

import csv
import fnmatch
import gzip
import hashlib
import io
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from amops.aws.audit import EVENT_FIELDS
from amops.runbook.errors import StepFailed, UsageError

HOT_DAYS = 30  # the table keeps 30 days (TTL on expires_at)
TTL_GRACE_DAYS = 2  # DynamoDB deletes expired items within about 48 hours
WARM_DAYS = 90  # S3 Standard, then Glacier
RETENTION_DAYS = 2555  # seven years, then the lifecycle expires the object
DAYS_IN_FLIGHT = 3  # days read ahead of the writer: parallel, with memory bounded by three days


def ts_text(moment: datetime) -> str:
    """The audit events' own timestamp format, so ranges compare as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class DayPlan:
    day: date
    table: bool  # query the table's by-day index
    archive: bool  # read the archive object (if it exists)


def plan_days(since: datetime, until: datetime, today: date) -> list[DayPlan]:
    """Where each day of [since, until) is kept; near the 30-day boundary, both places (de-duplicated)."""
    plans = []
    day = since.astimezone(UTC).date()
    last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        age = (today - day).days
        plans.append(
            DayPlan(
                day,
                table=age <= HOT_DAYS + TTL_GRACE_DAYS,
                archive=age >= HOT_DAYS - 1 and age >= 1,  # today is archived tomorrow
            )
        )
        day += timedelta(days=1)
    return plans


def check_range(since: datetime, until: datetime, now: datetime) -> None:
    """One line, exit 2, for a range that cannot hold audit events."""
    if since > now:
        raise UsageError(f"--since {since.isoformat()} is in the future", "audit events exist only up to now")
    if since >= until:
        raise UsageError(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    horizon = now - timedelta(days=RETENTION_DAYS)
    if since < horizon:
        raise UsageError(
            f"--since {since.date().isoformat()} is older than the 7-year retention: events before "
            f"{horizon.date().isoformat()} are past retention and were deleted as the policy requires",
            f"start at {horizon.date().isoformat()} or later",
        )


@dataclass(frozen=True)
class Filters:
    team: str | None = None
    actor: str | None = None
    action: str | None = None  # a glob: permission.*
    outcome: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    def match(self, event: dict) -> bool:
        return (
            (self.team is None or event.get("team_id") == self.team)
            and (self.actor is None or event.get("actor") == self.actor)
            and (self.action is None or fnmatch.fnmatchcase(event.get("action") or "", self.action))
            and (self.outcome is None or event.get("outcome") == self.outcome)
        )


@dataclass
class DayResult:
    day: date
    events: list[dict]
    counts: dict[str, int]  # by source: table, warm, cold
    duplicates: int = 0


def read_day(
    plan: DayPlan,
    table_day: Callable[[date], Iterable[dict]],
    archive_day: Callable[[date], Iterable[dict] | None],
    archive_tier: Callable[[date], str | None],
    since_ts: str,
    until_ts: str,
    filters: Filters,
) -> DayResult:
    """One day from every place that holds it, de-duplicated by event_id, in time order."""
    seen: set[str] = set()
    events: list[dict] = []
    counts = {"table": 0, "warm": 0, "cold": 0}
    duplicates = 0
    sources: list[tuple[str, Iterable[dict] | None]] = []
    if plan.table:
        sources.append(("table", table_day(plan.day)))
    if plan.archive:
        tier = archive_tier(plan.day)
        if tier:
            sources.append((tier, archive_day(plan.day)))
    for source, stream in sources:
        for event in stream or ():
            if event["event_id"] in seen:
                duplicates += 1
                continue
            seen.add(event["event_id"])
            if since_ts <= event["ts"] < until_ts and filters.match(event):
                events.append(event)
                counts[source] += 1
    events.sort(key=lambda e: (e["ts"], e["event_id"]))
    return DayResult(plan.day, events, counts, duplicates)


def ordered(tasks: Iterable[Callable[[], DayResult]], workers: int = DAYS_IN_FLIGHT) -> Iterator[DayResult]:
    """Run tasks in parallel, at most `workers` ahead of the consumer, yielding results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[DayResult]] = deque()
        iterator = iter(tasks)
        try:
            for task in iterator:
                pending.append(pool.submit(task))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


# -- writing ---------------------------------------------------------------------------------------------


class _Hashing(io.RawIOBase):
    """A binary sink that hashes and counts what passes through to the real file."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # RawIOBase's buffer type
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


@dataclass
class Written:
    path: str
    sha256: str
    size: int
    count: int
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    per_tier: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


def write_export(
    days: Iterable[DayResult],
    destination: str,
    fmt: str,
    compress: bool,
    on_day: Callable[[DayResult], None] = lambda _: None,
) -> Written:
    """Write events in order: to a temporary name beside the destination, renamed only when complete."""
    if destination == "-":
        return _write(days, sys.stdout.buffer, "-", fmt, compress, on_day)
    final = Path(destination)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    try:
        with open(partial, "wb") as raw:
            written = _write(days, raw, str(final), fmt, compress, on_day)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)  # atomic: the final name only ever holds a complete export
    finally:
        partial.unlink(missing_ok=True)
    return written


def _write(
    days: Iterable[DayResult], raw: IO[bytes], name: str, fmt: str, compress: bool, on_day: Callable[[DayResult], None]
) -> Written:
    hashing = _Hashing(raw)
    binary: IO[bytes] = gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) if compress else hashing  # type: ignore[assignment]
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    written = Written(name, "", 0, 0, per_tier={"table": 0, "warm": 0, "cold": 0})
    writer = csv.DictWriter(text, fieldnames=EVENT_FIELDS, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for result in days:
        for event in result.events:
            if writer:
                writer.writerow(event)
            else:
                text.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
        written.count += len(result.events)
        written.duplicates += result.duplicates
        written.per_day[result.day.isoformat()] = {k: v for k, v in result.counts.items() if v}
        for source, count in result.counts.items():
            written.per_tier[source] += count
        on_day(result)
    text.flush()
    text.detach()
    if compress:
        binary.close()  # writes the gzip trailer into the hashing sink
    written.sha256, written.size = hashing.digest.hexdigest(), hashing.size
    return written


def manifest_path(export: str) -> str:
    return f"{export}.manifest.json"


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def verify_export(path: Path) -> dict[str, Any]:
    """Re-check an export against its manifest: size, SHA-256, event count. Raises StepFailed on a mismatch."""
    manifest_file = Path(manifest_path(str(path)))
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    if not manifest_file.is_file():
        raise UsageError(
            f"{manifest_file} does not exist", "an export's manifest sits beside it, named FILE.manifest.json"
        )
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        expected = manifest["output"]
    except (ValueError, KeyError) as error:
        raise UsageError(f"{manifest_file} is not an amops export manifest ({error})") from None
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    problems = []
    if size != expected["size"]:
        problems.append(f"size {size} bytes, the manifest says {expected['size']}")
    if digest.hexdigest() != expected["sha256"]:
        problems.append(f"SHA-256 {digest.hexdigest()[:16]}…, the manifest says {expected['sha256'][:16]}…")
    count = None
    if not problems:
        opener = gzip.open if expected.get("gzip") else open
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            count = sum(1 for line in handle if line.strip()) - (1 if expected.get("format") == "csv" else 0)
        if count != manifest["total"]:
            problems.append(f"{count} events, the manifest says {manifest['total']}")
    if problems:
        raise StepFailed(f"{path} does not match its manifest: {'; '.join(problems)}", "do not use it; export again")
    return {
        "file": str(path),
        "sha256": expected["sha256"],
        "size": size,
        "events": count,
        "manifest": str(manifest_file),
    }
