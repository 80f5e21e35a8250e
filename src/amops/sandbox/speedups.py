"""moto, inside the sandbox server, answering big tables in reasonable time: the same answers, faster.

moto sorts every item of a table on each query and scan page (`Table.all_items`), answers a query on an
index by looking at every item, and serializes each attribute of each item through the service model
(about 2 ms an item), which makes a 300,000-item audit table take minutes per request where DynamoDB
takes milliseconds. Here the sorted items, and the items grouped by an index's partition key, are kept
until the table changes (a put or delete, or a different item count), so moto's own query code runs over
the one group that can match; and reads of items, already in DynamoDB's JSON form, are written as JSON.
"""

from __future__ import annotations

import json
import threading
from typing import Any

_candidates = threading.local()  # the items one query in this thread may look at
_ITEM_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})  # results are wire-form JSON already


def install() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_amops_cached", False):
        return
    _install_json_reads()
    sorted_items, query, put_item, delete_item = Table.all_items, Table.query, Table.put_item, Table.delete_item

    def state(table: Any) -> tuple[int, int]:
        count = sum(len(v) for v in table.items.values()) if table.range_key_attr else len(table.items)
        return getattr(table, "_amops_version", 0), count

    def changed(table: Any) -> None:
        table._amops_version = getattr(table, "_amops_version", 0) + 1

    def cached_all_items(self: Any) -> list[Any]:
        if getattr(_candidates, "table", None) is self:
            return list(_candidates.items)
        key = state(self)
        cached = getattr(self, "_amops_sorted", None)
        if cached is None or cached[0] != key:
            cached = (key, sorted_items(self), {})
            self._amops_sorted = cached
        return list(cached[1])  # callers may reorder their copy

    def groups(self: Any, attribute: str) -> dict[tuple[str, str], list[Any]]:
        cached_all_items(self)  # refreshes the cache when the table changed
        by_attribute = self._amops_sorted[2]
        if attribute not in by_attribute:
            grouped: dict[tuple[str, str], list[Any]] = {}
            for item in self._amops_sorted[1]:
                value = item.attrs.get(attribute)
                if value is not None:
                    grouped.setdefault((value.type, str(value.value)), []).append(item)
            by_attribute[attribute] = grouped
        return by_attribute[attribute]

    def in_index_order(self: Any, index_name: str, attribute: str, value: Any) -> list[Any]:
        """The items with this partition key, already in the order moto sorts a page into."""
        key = ("sorted", index_name, attribute, value.type, str(value.value))
        by_key = self._amops_sorted[2]
        if key not in by_key:
            group = list(groups(self, attribute).get((value.type, str(value.value)), []))
            index = {i.name: i for i in self.all_indexes()}.get(index_name)
            if index is not None and group:
                hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
                range_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
                group = self.sorted_items([*hash_attrs, self.hash_key_attr], [*range_attrs, self.range_key_attr], group)
            by_key[key] = group
        return by_key[key]

    def indexed_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        conditions = kwargs.get("hash_key_conditions") or []
        if not index_name or not conditions:
            return query(self, *args, **kwargs)
        attribute, value = conditions[0]
        groups(self, attribute)  # refreshes the caches when the table changed
        ordered = in_index_order(self, index_name, attribute, value)
        args, kwargs, ordered = _after_start_key(self, args, kwargs, ordered)
        _candidates.table, _candidates.items = self, ordered
        try:
            return query(self, *args, **kwargs)
        finally:
            _candidates.table = _candidates.items = None

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
    Table.query = indexed_query
    Table.put_item = put
    Table.delete_item = delete
    Table._amops_cached = True


def _after_start_key(table: Any, args: tuple, kwargs: dict, ordered: list[Any]) -> tuple[tuple, dict, list[Any]]:
    """Start the next page where the last one ended, instead of moto walking the group from its first item."""
    start = kwargs.get("exclusive_start_key", args[4] if len(args) > 4 else None)
    forward = kwargs.get("scan_index_forward", args[5] if len(args) > 5 else True)
    if not start or forward is False or table.hash_key_attr not in start:
        return args, kwargs, ordered

    def plain(value: Any) -> str:
        return str(next(iter(value.values()))) if isinstance(value, dict) else str(getattr(value, "value", value))

    wanted = (plain(start[table.hash_key_attr]), plain(start.get(table.range_key_attr, {"": ""})))
    position = next(  # the last item of the previous page
        (
            n
            for n, item in enumerate(ordered)
            if (plain(item.hash_key), plain(item.range_key) if item.range_key is not None else "") == wanted
        ),
        None,
    )
    if position is None:
        return args, kwargs, ordered
    if "exclusive_start_key" in kwargs:
        kwargs = {**kwargs, "exclusive_start_key": None}
    else:
        args = (*args[:4], None, *args[5:])
    return args, kwargs, ordered[position + 1 :]


def _install_json_reads() -> None:
    from moto.core.serialize import BaseJSONSerializer

    serialize_result = BaseJSONSerializer._serialize_result

    def fast(self: Any, resp: Any, result: Any) -> Any:
        model = self.operation_model
        if model.service_model.service_name == "dynamodb" and model.name in _ITEM_READS and isinstance(result, dict):
            try:
                json.dumps(result)
            except (TypeError, ValueError):
                return serialize_result(self, resp, result)
            return self._serialized_result_to_response(resp, result, model.output_shape, result)
        return serialize_result(self, resp, result)

    BaseJSONSerializer._serialize_result = fast
