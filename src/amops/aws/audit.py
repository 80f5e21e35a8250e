"""The audit log where the retention policy keeps it: the table's by-day index, and the daily archive."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from botocore.exceptions import ClientError

from amops.aws.clients import ClientProvider
from amops.aws.errors import translate

EVENT_FIELDS = ("event_id", "ts", "actor", "action", "team_id", "resource", "outcome", "source_ip", "request_id")
COLD_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
PAGE_ITEMS = 500  # items per query page: a couple of hundred KB parsed, instead of up to 1 MB


def archive_key(day: date) -> str:
    return f"audit/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/events.jsonl.gz"


def _plain(item: dict) -> dict:
    """A DynamoDB item (low-level JSON) as an audit event."""
    event = {}
    for field in EVENT_FIELDS:
        value = item.get(field)
        event[field] = None if value is None or "NULL" in value else next(iter(value.values()))
    return event


class AuditTable:
    def __init__(self, clients: ClientProvider, table: str, index: str = "by-day") -> None:
        self.client = clients.client("dynamodb")
        self.table = table
        self.index = index

    def day(self, day: date) -> Iterator[dict]:
        """One day's events through the by-day index, in sk (time) order: one query, paginated."""
        try:
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table,
                IndexName=self.index,
                KeyConditionExpression="#day = :day",
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues={":day": {"S": day.isoformat()}},
                # At most PAGE_ITEMS a page: a day is never held raw. (No ProjectionExpression: the extra
                # attributes are few, and moto projects at about 2 ms an item.)
                PaginationConfig={"PageSize": PAGE_ITEMS},
            )
            for page in pages:
                yield from (_plain(item) for item in page["Items"])
        except ClientError as error:
            raise translate(error, f"reading {day} from {self.table}") from error


@dataclass(frozen=True)
class ArchiveObject:
    day: date
    key: str
    exists: bool
    storage_class: str = "STANDARD"
    restore: str | None = None  # the x-amz-restore header: ongoing-request="true|false", ...

    @property
    def tier(self) -> str:
        return "cold" if self.storage_class in COLD_CLASSES else "warm"

    @property
    def readable(self) -> bool:
        if not self.exists:
            return False
        return self.tier == "warm" or (self.restore is not None and 'ongoing-request="false"' in self.restore)

    @property
    def restoring(self) -> bool:
        return self.restore is not None and 'ongoing-request="true"' in self.restore


class AuditArchive:
    def __init__(self, clients: ClientProvider, bucket: str) -> None:
        self.client = clients.client("s3")
        self.bucket = bucket

    def head(self, day: date) -> ArchiveObject:
        key = archive_key(day)
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return ArchiveObject(day, key, exists=False)
            raise translate(error, f"looking for s3://{self.bucket}/{key}") from error
        return ArchiveObject(day, key, True, answer.get("StorageClass", "STANDARD"), answer.get("Restore"))

    def request_restore(self, item: ArchiveObject, days: int = 7, tier: str = "Standard") -> None:
        try:
            self.client.restore_object(
                Bucket=self.bucket,
                Key=item.key,
                RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "RestoreAlreadyInProgress":
                return
            raise translate(error, f"requesting the restore of s3://{self.bucket}/{item.key}") from error

    def day(self, day: date) -> Iterator[dict]:
        """One day's archived events, decompressed as they stream in."""
        key = archive_key(day)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            raise translate(error, f"reading s3://{self.bucket}/{key}") from error
        with gzip.GzipFile(fileobj=body) as unzipped:
            for line in io.TextIOWrapper(unzipped, encoding="utf-8"):
                if line.strip():
                    event = json.loads(line)
                    yield {field: event.get(field) for field in EVENT_FIELDS}

    def objects(self) -> Iterator[dict]:
        """Every archived day object: key, size, storage class."""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="audit/"):
                yield from page.get("Contents", [])
        except ClientError as error:
            raise translate(error, f"listing s3://{self.bucket}/audit/") from error
