"""POST /permissions/check: does the caller's role in a team grant a permission?"""

import json
import os

import boto3


def _log(level, message, request_id, **fields):
    print(json.dumps({"level": level, "message": message, "request_id": request_id, **fields}))


def _answer(status, body, audit):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
        "audit": audit,
    }


def handler(event, context):
    request_id = context.aws_request_id
    user = event["requestContext"]["authorizer"]["user"]
    audit = {"actor": user, "resource": event["path"], "action": "permission.check", "team_id": None}
    try:
        body = json.loads(event.get("body") or "{}")
        team_id, permission = body["team_id"], body["permission"]
    except (ValueError, KeyError, TypeError):
        _log("WARN", "bad permission check", request_id, error_code="AM-REQ-001")
        return _answer(
            400,
            {"error": "AM-REQ-001", "message": "body must be {team_id, permission}"},
            {**audit, "outcome": "deny"},
        )
    audit["team_id"] = team_id
    dynamodb = boto3.resource("dynamodb")
    member = (
        dynamodb.Table(os.environ["TEAMS_TABLE"])
        .get_item(Key={"pk": f"TEAM#{team_id}", "sk": f"MEMBER#{user}"})
        .get("Item")
    )
    if member is None:
        _log(
            "WARN",
            f"{user} checked a permission in a team it is not in",
            request_id,
            error_code="AM-TEAM-003",
            team_id=team_id,
        )
        return _answer(
            403,
            {"error": "AM-TEAM-003", "message": "not a member of that team"},
            {**audit, "action": "team.isolation.violation", "outcome": "deny"},
        )
    grant = (
        dynamodb.Table(os.environ["PERMISSIONS_TABLE"])
        .get_item(Key={"role": member["role"], "permission": permission})
        .get("Item")
    )
    if grant is None:
        _log(
            "WARN",
            f"{permission} denied for role {member['role']}",
            request_id,
            error_code="AM-PERM-001",
            team_id=team_id,
        )
        return _answer(
            200,
            {"allowed": False, "role": member["role"], "permission": permission},
            {**audit, "action": "permission.check.denied", "outcome": "deny"},
        )
    return _answer(
        200,
        {"allowed": True, "role": member["role"], "permission": permission},
        {**audit, "action": "permission.check.allowed", "outcome": "allow"},
    )
