"""Audit compliance checks: each PASS, WARN or FAIL, with its evidence and the remediation."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from amops.audit.export import HOT_DAYS, RETENTION_DAYS, TTL_GRACE_DAYS, WARM_DAYS
from amops.aws.audit import AuditArchive, archive_key

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
_DAY_KEY = re.compile(r"^audit/year=(\d{4})/month=(\d{2})/day=(\d{2})/events\.jsonl\.gz$")
AUDIT_ERROR = re.compile(r"\bAM-AUD-\d{3}\b")


@dataclass(frozen=True)
class ComplianceCheck:
    name: str
    status: str
    evidence: str
    remediation: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


# -- the table ---------------------------------------------------------------------------------------------


def table_checks(clients: Any, names: dict[str, Any], today: date) -> list[ComplianceCheck]:
    dynamodb = clients.client("dynamodb")
    table = names["audit_table"]
    checks = []
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    on = ttl.get("TimeToLiveStatus") == "ENABLED" and ttl.get("AttributeName") == "expires_at"
    checks.append(
        ComplianceCheck(
            "ttl",
            PASS if on else FAIL,
            f"TTL {ttl.get('TimeToLiveStatus', 'DISABLED')} on {ttl.get('AttributeName', '-')}",
            ""
            if on
            else f"aws dynamodb update-time-to-live --table-name {table} "
            "--time-to-live-specification Enabled=true,AttributeName=expires_at",
        )
    )
    sample = [e for day in (today, today - timedelta(days=1)) for e in _raw_day(dynamodb, table, day, 20)]
    horizons = {round((int(i["expires_at"]) - _epoch(i["ts"])) / 86400) for i in sample if "expires_at" in i}
    right = horizons == {HOT_DAYS}
    checks.append(
        ComplianceCheck(
            "ttl-horizon",
            PASS if right else (WARN if not sample else FAIL),
            f"expires_at − ts = {', '.join(f'{h} days' for h in sorted(horizons))} in {len(sample)} recent items"
            if sample
            else "no recent item to sample",
            "" if right else f"the audit writer must set expires_at = ts + {HOT_DAYS} days",
        )
    )
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    checks.append(
        ComplianceCheck(
            "pitr",
            PASS if pitr == "ENABLED" else FAIL,
            f"point-in-time recovery {pitr}",
            ""
            if pitr == "ENABLED"
            else f"aws dynamodb update-continuous-backups --table-name {table} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
        )
    )
    # Items past the horizon plus TTL's grace: one COUNT query per day of the month after it, never a scan.
    stale_days = [today - timedelta(days=age) for age in range(HOT_DAYS + TTL_GRACE_DAYS + 1, 2 * HOT_DAYS + 4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = dict(zip(stale_days, pool.map(lambda d: _count_day(dynamodb, table, d), stale_days), strict=True))
    stale = {day: n for day, n in counts.items() if n}
    checks.append(
        ComplianceCheck(
            "table-age",
            FAIL if stale else PASS,
            (
                f"{sum(stale.values())} item(s) older than {HOT_DAYS}+{TTL_GRACE_DAYS} days, e.g. "
                + ", ".join(f"{d}: {n}" for d, n in sorted(stale.items())[:3])
            )
            if stale
            else f"no item older than {HOT_DAYS} days + {TTL_GRACE_DAYS} days of TTL grace",
            "check TTL is on and expires_at is set on every item; archive those days, then delete them"
            if stale
            else "",
        )
    )
    return checks


def _epoch(ts: str) -> float:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _raw_day(dynamodb: Any, table: str, day: date, limit: int) -> list[dict[str, str]]:
    answer = dynamodb.query(
        TableName=table,
        IndexName="by-day",
        KeyConditionExpression="#day = :day",
        ExpressionAttributeNames={"#day": "day"},
        ExpressionAttributeValues={":day": {"S": day.isoformat()}},
        Limit=limit,
    )
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in answer["Items"]]


def _count_day(dynamodb: Any, table: str, day: date) -> int:
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        IndexName="by-day",
        KeyConditionExpression="#day = :day",
        ExpressionAttributeNames={"#day": "day"},
        ExpressionAttributeValues={":day": {"S": day.isoformat()}},
        Select="COUNT",
    )
    return sum(page["Count"] for page in pages)


# -- the archive -------------------------------------------------------------------------------------------


def archive_checks(clients: Any, names: dict[str, Any], today: date, replicated: bool) -> list[ComplianceCheck]:
    s3 = clients.client("s3")
    bucket = names["audit_archive_bucket"]
    checks = []
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    checks.append(
        ComplianceCheck(
            "archive-versioning",
            PASS if versioning == "Enabled" else FAIL,
            f"versioning {versioning}",
            ""
            if versioning == "Enabled"
            else f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
        )
    )
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        algorithms = sorted({r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules})
    except ClientError as error:
        if _code(error) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        algorithms = []
    checks.append(
        ComplianceCheck(
            "archive-encryption",
            PASS if algorithms else FAIL,
            f"default encryption {', '.join(algorithms)}" if algorithms else "no default encryption",
            "" if algorithms else f"aws s3api put-bucket-encryption --bucket {bucket} ... (SSE-KMS)",
        )
    )
    checks.append(_lifecycle_check(s3, bucket))
    if replicated:
        checks.append(_replication_check(s3, bucket, names["audit_archive_dr_bucket"]))
    else:
        checks.append(ComplianceCheck("archive-replication", PASS, f"not required for {names['env']}"))
    archive = AuditArchive(clients, bucket)
    archived = {}
    for item in archive.objects():
        match = _DAY_KEY.match(item["Key"])
        if match:
            archived[date(*map(int, match.groups()))] = item
    checks.append(_gap_check(archived, today, bucket))
    checks.append(_count_check(clients, names, archive, archived, today))
    return checks


def _lifecycle_check(s3: Any, bucket: str) -> ComplianceCheck:
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        if _code(error) != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    found = []
    for rule in rules:
        prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
        if rule.get("Status") != "Enabled" or not "audit/".startswith(prefix):
            continue
        transitions = {t.get("StorageClass"): t.get("Days") for t in rule.get("Transitions", [])}
        found.append((rule.get("ID", "?"), transitions, (rule.get("Expiration") or {}).get("Days")))
    good = any(t.get("GLACIER") == WARM_DAYS and e == RETENTION_DAYS for _, t, e in found)
    evidence = (
        "; ".join(
            f"rule {rule_id}: "
            + ", ".join(f"{cls} after {days} days" for cls, days in transitions.items())
            + f", expire after {expiry} days"
            for rule_id, transitions, expiry in found
        )
        or "no enabled lifecycle rule covers audit/"
    )
    return ComplianceCheck(
        "archive-lifecycle",
        PASS if good else FAIL,
        evidence,
        ""
        if good
        else f"restore the rule from Terraform: Standard → GLACIER after {WARM_DAYS} days, expire after "
        f"{RETENTION_DAYS} days (amops deploy ENV --only infra)",
    )


def _replication_check(s3: Any, bucket: str, dr_bucket: str) -> ComplianceCheck:
    try:
        rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    except ClientError as error:
        if _code(error) != "ReplicationConfigurationNotFoundError":
            raise
        rules = []
    good = any(
        r.get("Status") == "Enabled" and r.get("Destination", {}).get("Bucket") == f"arn:aws:s3:::{dr_bucket}"
        for r in rules
    )
    return ComplianceCheck(
        "archive-replication",
        PASS if good else FAIL,
        f"replicates to {dr_bucket}" if good else f"no enabled replication rule to {dr_bucket}",
        "" if good else "restore the replication rule from Terraform (amops deploy ENV --only infra)",
    )


def _gap_check(archived: dict[date, Any], today: date, bucket: str) -> ComplianceCheck:
    if not archived:
        return ComplianceCheck(
            "archive-gaps", FAIL, f"no archive object in s3://{bucket}/audit/", "find out why the archive job never ran"
        )
    # Days leave the table after 30 days; every day since the first archived one must be in the archive by then.
    first, last = min(archived), today - timedelta(days=HOT_DAYS)
    expected = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    gaps = [day for day in expected if day not in archived]
    return ComplianceCheck(
        "archive-gaps",
        FAIL if gaps else PASS,
        f"{len(gaps)} day(s) missing since {first}: " + ", ".join(d.isoformat() for d in gaps[:10])
        if gaps
        else f"every day from {first} to {last} archived ({len(expected)} days)",
        f"re-archive from a DR export or backup: {', '.join(archive_key(d) for d in gaps[:3])}" if gaps else "",
    )


def _count_check(
    clients: Any, names: dict[str, Any], archive: AuditArchive, archived: dict[date, Any], today: date
) -> ComplianceCheck:
    """Days still in the table (the TTL grace) and already archived must hold the same events."""
    dynamodb = clients.client("dynamodb")
    overlap = [d for d in archived if (today - d).days <= HOT_DAYS + TTL_GRACE_DAYS]
    differing, compared = [], 0
    for day in overlap:
        in_table = _count_day(dynamodb, names["audit_table"], day)
        if in_table and archive.head(day).readable:
            compared += 1
            in_archive = sum(1 for _ in archive.day(day))
            if in_archive < in_table:
                differing.append(f"{day}: table {in_table}, archive {in_archive}")
    if differing:
        return ComplianceCheck(
            "archive-counts", FAIL, "; ".join(differing), "re-archive those days from the table before TTL removes them"
        )
    sizes = [item["Size"] for item in archived.values()]
    empty = [d.isoformat() for d, item in archived.items() if item["Size"] < 40]  # a gzip of nothing is ~20 bytes
    if empty:
        return ComplianceCheck(
            "archive-counts",
            WARN,
            f"empty archive day(s): {', '.join(empty[:5])}",
            "check the audit writer was running on those days",
        )
    return ComplianceCheck(
        "archive-counts",
        PASS,
        f"{compared} day(s) in both places agree"
        if compared
        else f"no day is in both places now; {len(sizes)} archive objects, none empty",
    )


# -- the writer --------------------------------------------------------------------------------------------


def writer_checks(clients: Any, names: dict[str, Any], config: Any, env: str, hours: int = 24) -> list[ComplianceCheck]:
    cloudwatch = clients.client("cloudwatch")
    alarm = names["alarms"]["audit-write-failures"]
    found = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    state = found[0]["StateValue"] if found else "MISSING"
    checks = [
        ComplianceCheck(
            "writer-failures",
            {"OK": PASS, "INSUFFICIENT_DATA": WARN}.get(state, FAIL),
            f"{alarm} is {state}",
            "" if state == "OK" else "amops troubleshoot ENV 'audit events missing'",
        )
    ]
    logs = clients.client("logs")
    since = int((time.time() - hours * 3600) * 1000)
    codes: dict[str, int] = {}
    for short in config.platform.functions:
        group = config.names.log_group.format(env=env, function=short)
        try:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since):
                for event in page["events"]:
                    for code in AUDIT_ERROR.findall(event["message"]):
                        codes[code] = codes.get(code, 0) + 1
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
    checks.append(
        ComplianceCheck(
            "audit-error-codes",
            FAIL if codes else PASS,
            ", ".join(f"{code} ×{n}" for code, n in sorted(codes.items())) + f" in the last {hours} h"
            if codes
            else f"no AM-AUD- code logged in the last {hours} h",
            "amops troubleshoot error AM-AUD-001" if codes else "",
        )
    )
    return checks
