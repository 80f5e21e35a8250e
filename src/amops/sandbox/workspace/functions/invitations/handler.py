"""POST /invitations: invite an email address to a team; the invitation is sent through SES."""

import json
import os
import re
import time
import uuid

import boto3
from botocore.exceptions import ClientError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SEND_INVITATIONS = {"owner", "admin"}


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
    audit = {
        "actor": user,
        "resource": event["path"],
        "action": "invitation.send",
        "team_id": None,
        "outcome": "allow",
    }
    try:
        body = json.loads(event.get("body") or "{}")
        team_id, email = body["team_id"], body["email"]
        if not EMAIL.match(email):
            raise ValueError(email)
    except (ValueError, KeyError, TypeError):
        _log("WARN", "invalid invitation", request_id, error_code="AM-INV-001")
        return _answer(
            400,
            {"error": "AM-INV-001", "message": "body must be {team_id, email}"},
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
            f"{user} invited to a team it is not in",
            request_id,
            error_code="AM-TEAM-003",
            team_id=team_id,
        )
        return _answer(
            403,
            {"error": "AM-TEAM-003", "message": "not a member of that team"},
            {**audit, "action": "team.isolation.violation", "outcome": "deny"},
        )
    if member["role"] not in SEND_INVITATIONS:
        _log("WARN", f"{member['role']} may not invite", request_id, error_code="AM-PERM-001", team_id=team_id)
        return _answer(
            403, {"error": "AM-PERM-001", "message": "your role may not invite"}, {**audit, "outcome": "deny"}
        )
    invitation_id = "inv-" + uuid.uuid4().hex[:10]
    try:
        boto3.client("ses").send_email(
            Source=os.environ["SENDER"],
            Destination={"ToAddresses": [email]},
            Message={
                "Subject": {"Data": "You are invited to a team"},
                "Body": {"Text": {"Data": f"Join team {team_id}: invitation {invitation_id}"}},
            },
        )
    except ClientError as error:
        _log(
            "ERROR",
            f"SES refused the invitation email: {error.response['Error']['Code']}",
            request_id,
            error_code="AM-INV-004",
            team_id=team_id,
        )
        return _answer(
            502,
            {"error": "AM-INV-004", "message": "the invitation email could not be sent"},
            {**audit, "outcome": "error"},
        )
    now = int(time.time())
    dynamodb.Table(os.environ["INVITATIONS_TABLE"]).put_item(
        Item={
            "invitation_id": invitation_id,
            "team_id": team_id,
            "email": email,
            "invited_by": user,
            "status": "sent",
            "created_at": now,
            "expires_at": now + 7 * 86400,
        }
    )
    return _answer(201, {"invitation_id": invitation_id, "team_id": team_id, "email": email}, audit)
