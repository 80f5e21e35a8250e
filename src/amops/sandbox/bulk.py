"""Bulk seeding straight into moto's in-process backends.

Hundreds of thousands of seeded audit events through HTTP would make `sandbox up` slow; what is
written here is the state AWS already holds when the sandbox starts (like data restored from a
backup), never anything amops does. Only the sandbox server, which runs moto in its own
process, uses this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.types import TypeSerializer

_serialize = TypeSerializer().serialize


class InProcessLoader:
    def __init__(self, account_id: str, region: str) -> None:
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import s3_backends

        self._dynamodb = dynamodb_backends[account_id][region]
        self._s3 = s3_backends[account_id]["aws"]

    def put_items(self, table: str, items: Iterable[Mapping[str, Any]]) -> int:
        count = 0
        for item in items:
            self._dynamodb.put_item(table, {key: _serialize(value) for key, value in item.items()})
            count += 1
        return count

    def put_object(self, bucket: str, key: str, body: bytes, storage_class: str) -> None:
        self._s3.put_object(bucket, key, body, storage=storage_class)
