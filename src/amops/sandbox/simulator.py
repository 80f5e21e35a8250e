"""The AWS background processes moto does not run, played on a clock that tests can advance.

TTL expiry, S3 lifecycle transitions and expiry, S3 replication to the DR buckets, and the
hourly point-in-time exports of every table to the DR-export bucket. Never imported by amops's
procedures: it plays AWS's part, inside the sandbox process only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from amops.config import Config
from amops.sandbox import DR_REGION, PRIMARY_REGION
from amops.sandbox.accounts import Account

MAX_EXPORT_ROUNDS = 1  # a long tick exports once, at the last hour it crossed: AWS keeps no backlog


@dataclass
class TickReport:
    now: str
    expired_items: int = 0
    transitioned: int = 0
    expired_objects: int = 0
    replicated: int = 0
    exports: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"exports": len(self.exports)}


class Simulator:
    def __init__(self, endpoint: str, config: Config) -> None:
        self.endpoint = endpoint
        self.config = config
        self.offset = timedelta(0)
        self._lock = threading.Lock()
        self._last_export = {env: None for env in config.environments}

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def tick(self, hours: float = 1.0) -> TickReport:
        """Advance the clock by hours and let every background process catch up."""
        with self._lock:
            before = self.now()
            self.offset += timedelta(hours=hours)
            now = self.now()
            report = TickReport(now=now.isoformat(timespec="seconds"))
            for env in self.config.environments:
                account = Account(self.endpoint, env)
                names = self.config.resource_names(env)
                report.expired_items += self._expire_items(account, names, now)
                transitioned, expired = self._lifecycle(account, names["audit_archive_bucket"], now)
                report.transitioned += transitioned
                report.expired_objects += expired
                report.exports += self._exports(account, env, names, before, now)
                if self.config.environment(env).dr_region:
                    report.replicated += self._replicate(
                        account, names["audit_archive_bucket"], names["audit_archive_dr_bucket"]
                    )
                    report.replicated += self._replicate(
                        account, names["dr_exports_bucket"], names["dr_exports_dr_bucket"]
                    )
            return report

    def _expire_items(self, account: Account, names: dict[str, Any], now: datetime) -> int:
        dynamodb = account.client("dynamodb")
        expired = 0
        for table in names["tables"].values():
            ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") != "ENABLED":
                continue
            attribute = ttl["AttributeName"]
            key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            paginator = dynamodb.get_paginator("scan")
            pages = paginator.paginate(
                TableName=table,
                FilterExpression="#t < :now",
                ExpressionAttributeNames={"#t": attribute},
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            )
            for page in pages:
                for item in page["Items"]:
                    dynamodb.delete_item(TableName=table, Key={k: item[k] for k in key_names})
                    expired += 1
        return expired

    def _lifecycle(self, account: Account, bucket: str, now: datetime) -> tuple[int, int]:
        s3 = account.client("s3")
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except s3.exceptions.ClientError:
            return 0, 0
        transitioned = expired = 0
        for rule in rules:
            if rule.get("Status") != "Enabled":
                continue
            prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    age = (now - item["LastModified"]).days
                    expiry = (rule.get("Expiration") or {}).get("Days")
                    if expiry is not None and age >= expiry:
                        s3.delete_object(Bucket=bucket, Key=item["Key"])
                        expired += 1
                        continue
                    for transition in rule.get("Transitions", []):
                        if age >= transition["Days"] and item.get("StorageClass", "STANDARD") == "STANDARD":
                            s3.copy_object(
                                Bucket=bucket,
                                Key=item["Key"],
                                StorageClass=transition["StorageClass"],
                                CopySource={"Bucket": bucket, "Key": item["Key"]},
                                MetadataDirective="COPY",
                            )
                            transitioned += 1
        return transitioned, expired

    def _replicate(self, account: Account, source: str, target: str) -> int:
        s3 = account.client("s3")
        s3_dr = account.client("s3", DR_REGION)
        present = {}
        for page in s3_dr.get_paginator("list_objects_v2").paginate(Bucket=target):
            present.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
        copied = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source):
            for item in page.get("Contents", []):
                if present.get(item["Key"]) == item["ETag"]:
                    continue
                if item.get("StorageClass", "STANDARD") != "STANDARD":
                    s3.restore_object(Bucket=source, Key=item["Key"], RestoreRequest={"Days": 1})
                body = s3.get_object(Bucket=source, Key=item["Key"])["Body"].read()
                s3_dr.put_object(
                    Bucket=target,
                    Key=item["Key"],
                    Body=body,
                    StorageClass=item.get("StorageClass", "STANDARD"),
                )
                copied += 1
        return copied

    def _exports(self, account: Account, env: str, names: dict[str, Any], before: datetime, now: datetime) -> list[str]:
        """One PITR export of every table per hour boundary crossed (the last 24 at most)."""
        hours = []
        moment = before.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while moment <= now:
            hours.append(moment)
            moment += timedelta(hours=1)
        dynamodb = account.client("dynamodb")
        account_id = self.config.environment(env).account_id
        started = []
        for hour in hours[-MAX_EXPORT_ROUNDS:]:
            stamp = hour.strftime("%Y-%m-%dT%H%MZ")
            for table in names["tables"].values():
                answer = dynamodb.export_table_to_point_in_time(
                    TableArn=f"arn:aws:dynamodb:{PRIMARY_REGION}:{account_id}:table/{table}",
                    S3Bucket=names["dr_exports_bucket"],
                    S3Prefix=f"{table}/{stamp}",
                    ExportFormat="DYNAMODB_JSON",
                )
                started.append(answer["ExportDescription"]["ExportArn"])
            self._last_export[env] = hour
        return started
