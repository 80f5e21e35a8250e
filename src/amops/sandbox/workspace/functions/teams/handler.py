"""Teams and members: /teams, /teams/{id}, /teams/{id}/members. Team isolation is enforced."""

import json
import os
import time
import uuid

import boto3
from botocore.exceptions import ClientError

MANAGE_MEMBERS = {"owner", "admin"}


def _log(level, message, request_id, **fields):
    print(json.dumps({"level": level, "message": message, "request_id": request_id, **fields}))


def _answer(status, body, audit):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
        "audit": audit,
    }


def _error(status, code, message, request_id, audit, **fields):
    _log("ERROR" if status >= 500 else "WARN", message, request_id, error_code=code, **fields)
    return _answer(
        status,
        {"error": code, "message": message},
        {**audit, "outcome": "error" if status >= 500 else "deny"},
    )


def _table():
    return boto3.resource("dynamodb").Table(os.environ["TEAMS_TABLE"])


def _membership(table, team_id, user):
    return table.get_item(Key={"pk": f"TEAM#{team_id}", "sk": f"MEMBER#{user}"}).get("Item")


def _team(table, team_id):
    return table.get_item(Key={"pk": f"TEAM#{team_id}", "sk": "META"}).get("Item")


def handler(event, context):
    request_id = context.aws_request_id
    user = event["requestContext"]["authorizer"]["user"]
    method, resource = event["httpMethod"], event["resource"]
    params = event.get("pathParameters") or {}
    team_id = params.get("id")
    audit = {"actor": user, "team_id": team_id, "resource": event["path"], "outcome": "allow"}
    table = _table()
    started = time.time()
    try:
        if resource == "/teams" and method == "GET":
            items = table.query(
                IndexName="by-user",
                KeyConditionExpression="#u = :u",
                ExpressionAttributeNames={"#u": "user"},
                ExpressionAttributeValues={":u": user},
            )["Items"]
            teams = [{"team_id": item["pk"][5:], "role": item["role"]} for item in items]
            return _answer(200, {"teams": teams}, {**audit, "action": "team.list"})
        if resource == "/teams" and method == "POST":
            try:
                name = json.loads(event.get("body") or "{}")["name"]
            except (ValueError, KeyError, TypeError):
                return _error(
                    400,
                    "AM-REQ-001",
                    'body must be {"name": ...}',
                    request_id,
                    {**audit, "action": "team.create"},
                )
            new_id = "team-" + uuid.uuid4().hex[:8]
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            table.put_item(
                Item={
                    "pk": f"TEAM#{new_id}",
                    "sk": "META",
                    "name": name,
                    "created_by": user,
                    "created_at": now,
                }
            )
            table.put_item(Item={"pk": f"TEAM#{new_id}", "sk": f"MEMBER#{user}", "user": user, "role": "owner"})
            _log(
                "INFO",
                "team created",
                request_id,
                team_id=new_id,
                latency_ms=int((time.time() - started) * 1000),
            )
            return _answer(
                201, {"team_id": new_id, "name": name}, {**audit, "team_id": new_id, "action": "team.create"}
            )
        action = {
            ("GET", "/teams/{id}"): "team.read",
            ("DELETE", "/teams/{id}"): "team.delete",
            ("GET", "/teams/{id}/members"): "team.member.list",
            ("POST", "/teams/{id}/members"): "team.member.add",
            ("DELETE", "/teams/{id}/members/{user}"): "team.member.remove",
        }.get((method, resource))
        if action is None:
            return _error(
                404,
                "AM-REQ-001",
                f"no route {method} {resource}",
                request_id,
                {**audit, "action": "request.unknown"},
            )
        audit["action"] = action
        if _team(table, team_id) is None:
            return _error(404, "AM-TEAM-001", f"team {team_id} not found", request_id, audit, team_id=team_id)
        member = _membership(table, team_id, user)
        if member is None:
            return _error(
                403,
                "AM-TEAM-003",
                f"{user} is not a member of team {team_id}",
                request_id,
                {**audit, "action": "team.isolation.violation"},
                team_id=team_id,
                user=user,
            )
        if action == "team.read":
            return _answer(
                200,
                {
                    "team_id": team_id,
                    **{k: v for k, v in _team(table, team_id).items() if k not in ("pk", "sk")},
                },
                audit,
            )
        if action == "team.member.list":
            items = table.query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                ExpressionAttributeValues={":pk": f"TEAM#{team_id}", ":m": "MEMBER#"},
            )["Items"]
            return _answer(200, {"members": [{"user": i["user"], "role": i["role"]} for i in items]}, audit)
        if action == "team.delete":
            if member["role"] != "owner":
                return _error(403, "AM-PERM-001", "only the owner deletes a team", request_id, audit, team_id=team_id)
            items = table.query(
                KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"TEAM#{team_id}"}
            )["Items"]
            for item in items:
                table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            return _answer(200, {"deleted": team_id}, audit)
        if member["role"] not in MANAGE_MEMBERS:
            return _error(
                403,
                "AM-PERM-001",
                f"{member['role']} may not add members",
                request_id,
                audit,
                team_id=team_id,
            )
        if action == "team.member.remove":
            removed = params["user"]
            table.delete_item(Key={"pk": f"TEAM#{team_id}", "sk": f"MEMBER#{removed}"})
            return _answer(200, {"team_id": team_id, "removed": removed}, audit)
        try:
            body = json.loads(event.get("body") or "{}")
            new_user, role = body["user"], body.get("role", "member")
        except (ValueError, KeyError, TypeError):
            return _error(400, "AM-REQ-001", 'body must be {"user": ..., "role": ...}', request_id, audit)
        try:
            table.put_item(
                Item={"pk": f"TEAM#{team_id}", "sk": f"MEMBER#{new_user}", "user": new_user, "role": role},
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return _error(
                    409,
                    "AM-TEAM-002",
                    f"{new_user} is already in team {team_id}",
                    request_id,
                    audit,
                    team_id=team_id,
                )
            raise
        return _answer(201, {"team_id": team_id, "user": new_user, "role": role}, audit)
    except ClientError as error:
        if error.response["Error"]["Code"] in (
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
        ):
            return _error(429, "AM-THR-001", "throttled by DynamoDB", request_id, audit, team_id=team_id)
        return _error(500, "AM-INT-001", f"DynamoDB error: {error}", request_id, audit, team_id=team_id)
