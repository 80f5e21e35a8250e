"""Writes one audit event to the audit table, keyed by team and time, expiring after 30 days."""

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
from botocore.exceptions import ClientError

HOT_DAYS = 30


def _log(level, message, request_id, **fields):
    print(json.dumps({"level": level, "message": message, "request_id": request_id, **fields}))


def handler(event, context):
    moment = datetime.now(UTC)
    ts = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    event_id = str(uuid.uuid4())
    team = event.get("team_id") or "NONE"
    item = {
        "pk": f"TEAM#{team}",
        "sk": f"{ts}#{event_id}",
        "day": ts[:10],
        "event_id": event_id,
        "ts": ts,
        "actor": event.get("actor") or "anonymous",
        "action": event["action"],
        "team_id": event.get("team_id") or "",
        "resource": event.get("resource") or "",
        "outcome": event.get("outcome") or "allow",
        "source_ip": event.get("source_ip") or "",
        "request_id": event.get("request_id") or context.aws_request_id,
        "expires_at": int((moment + timedelta(days=HOT_DAYS)).timestamp()),
    }
    started = time.time()
    try:
        boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE"]).put_item(Item=item)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        throttled = code in ("ProvisionedThroughputExceededException", "ThrottlingException")
        _log(
            "ERROR",
            f"audit write failed: {code}",
            item["request_id"],
            error_code="AM-AUD-002" if throttled else "AM-AUD-001",
            team_id=item["team_id"],
        )
        raise
    _log(
        "INFO",
        "audit event written",
        item["request_id"],
        team_id=item["team_id"],
        latency_ms=int((time.time() - started) * 1000),
    )
    return {"event_id": event_id, "ts": ts}
