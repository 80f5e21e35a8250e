"""The sandbox's moto speed-up keeps every answer: queries and scans see each put and delete."""

from __future__ import annotations

from moto import mock_aws

from amops.sandbox.speedups import install
from tests.tables import create_by_day_table


def test_cached_table_order_follows_puts_and_deletes():
    install()
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="af-south-1")
        create_by_day_table(dynamodb, "t")

        def put(pk: str, sk: str, day: str) -> None:
            dynamodb.put_item(TableName="t", Item={"pk": {"S": pk}, "sk": {"S": sk}, "day": {"S": day}})

        def day(value: str) -> list[str]:
            answer = dynamodb.query(
                TableName="t",
                IndexName="by-day",
                KeyConditionExpression="#d = :d",
                ExpressionAttributeNames={"#d": "day"},
                ExpressionAttributeValues={":d": {"S": value}},
            )
            return [item["sk"]["S"] for item in answer["Items"]]

        def scanned() -> list[str]:
            pages = dynamodb.get_paginator("scan").paginate(TableName="t", PaginationConfig={"PageSize": 2})
            return sorted(item["sk"]["S"] for page in pages for item in page["Items"])

        put("A", "3", "d1")
        put("B", "1", "d1")
        put("A", "2", "d2")
        assert day("d1") == ["1", "3"] and scanned() == ["1", "2", "3"]
        put("C", "0", "d1")  # a new item
        put("A", "3", "d2")  # the same key, moved to another day: same count, new content
        assert day("d1") == ["0", "1"] and day("d2") == ["2", "3"]
        dynamodb.delete_item(TableName="t", Key={"pk": {"S": "B"}, "sk": {"S": "1"}})
        assert day("d1") == ["0"] and scanned() == ["0", "2", "3"]


def test_every_attribute_type_reads_back_as_written():
    install()
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="af-south-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        item = {
            "pk": {"S": "a"},
            "n": {"N": "12.5"},
            "b": {"B": b"\x00\x01"},
            "flag": {"BOOL": True},
            "none": {"NULL": True},
            "list": {"L": [{"S": "x"}, {"N": "1"}]},
            "map": {"M": {"k": {"SS": ["p", "q"]}}},
            "ns": {"NS": ["1", "2"]},
        }
        dynamodb.put_item(TableName="t", Item=item)

        got = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        scanned = dynamodb.scan(TableName="t")["Items"][0]

        assert got == scanned == item


def test_pages_of_an_index_query_follow_each_other_without_gaps_or_repeats():
    install()
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="af-south-1")
        create_by_day_table(dynamodb, "t")
        for n in range(57):
            dynamodb.put_item(
                TableName="t",
                Item={"pk": {"S": f"T{n % 3}"}, "sk": {"S": f"{n:04d}"}, "day": {"S": "d1" if n % 5 else "d2"}},
            )
        pages = dynamodb.get_paginator("query").paginate(
            TableName="t",
            IndexName="by-day",
            KeyConditionExpression="#d = :d",
            ExpressionAttributeNames={"#d": "day"},
            ExpressionAttributeValues={":d": {"S": "d1"}},
            PaginationConfig={"PageSize": 7},
        )
        seen = [item["sk"]["S"] for page in pages for item in page["Items"]]

        assert seen == [f"{n:04d}" for n in range(57) if n % 5]
