"""moto, inside the sandbox server, answering big tables in reasonable time: the same answers, faster.

moto sorts every item of a table on each query and scan page (`Table.all_items`), which makes a
300,000-item audit table take minutes per request where DynamoDB takes milliseconds. The sorted list
is kept until the table changes (a put or delete, or a different item count), so reads cost one
pass over the items instead of a sort.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_amops_cached", False):
        return
    sorted_items, put_item, delete_item = Table.all_items, Table.put_item, Table.delete_item

    def count(table: Any) -> int:
        return sum(len(v) for v in table.items.values()) if table.range_key_attr else len(table.items)

    def changed(table: Any) -> None:
        table._amops_version = getattr(table, "_amops_version", 0) + 1

    def cached_all_items(self: Any) -> list[Any]:
        key = (getattr(self, "_amops_version", 0), count(self))
        cached = getattr(self, "_amops_sorted", None)
        if cached is None or cached[0] != key:
            cached = (key, sorted_items(self))
            self._amops_sorted = cached
        return list(cached[1])  # callers may reorder their copy

    def put(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return put_item(self, *args, **kwargs)
        finally:
            changed(self)

    def delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return delete_item(self, *args, **kwargs)
        finally:
            changed(self)

    Table.all_items = cached_all_items
    Table.put_item = put
    Table.delete_item = delete
    Table._amops_cached = True
