"""The platform's error codes: every Lambda log line that reports an error carries one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    title: str
    function: str  # the function that reports it
    http_status: int
    meaning: str
    fix: str


ERROR_CODES: dict[str, ErrorCode] = {
    entry.code: entry
    for entry in [
        ErrorCode(
            "AM-AUTH-001",
            "Missing or malformed bearer token",
            "authorizer",
            401,
            "The request had no Authorization header, or it was not 'Bearer <token>'.",
            "The caller must send a token; check the client's auth configuration.",
        ),
        ErrorCode(
            "AM-AUTH-002",
            "Token signature invalid",
            "authorizer",
            401,
            "The token was not signed with the environment's signing key.",
            "A token from another environment, or a rotated key: issue a new token.",
        ),
        ErrorCode(
            "AM-AUTH-003",
            "Token expired",
            "authorizer",
            401,
            "The token's expiry time has passed.",
            "The client must refresh its token; a burst means a clock or refresh bug.",
        ),
        ErrorCode(
            "AM-PERM-001",
            "Permission denied",
            "permissions",
            403,
            "The caller's role in the team does not grant the permission asked for.",
            "Expected for denied checks; a spike after a deploy points at the role mapping.",
        ),
        ErrorCode(
            "AM-TEAM-001",
            "Team not found",
            "teams",
            404,
            "No team with that id exists.",
            "Check the id; if teams vanished, check the teams table and recent restores.",
        ),
        ErrorCode(
            "AM-TEAM-002",
            "Member already in team",
            "teams",
            409,
            "The user is already a member of the team.",
            "Nothing to fix: the client should treat it as done.",
        ),
        ErrorCode(
            "AM-TEAM-003",
            "Team isolation violation",
            "teams",
            403,
            "A caller asked for another team's data. Refused; every attempt is audited.",
            "Look at the audit log for the actor: repeated attempts are a security incident.",
        ),
        ErrorCode(
            "AM-INV-001",
            "Invalid invitation",
            "invitations",
            400,
            "The invitation had no valid email address or team.",
            "Fix the request body.",
        ),
        ErrorCode(
            "AM-INV-004",
            "Invitation email failure",
            "invitations",
            502,
            "SES refused or failed to send the invitation email.",
            "Check the SES identity is verified and not in sandbox limits; retry the invitation.",
        ),
        ErrorCode(
            "AM-AUD-001",
            "Audit write failure",
            "audit-writer",
            500,
            "An audit event could not be written to the audit table.",
            "Check the audit table exists and the audit-writer's role; events may be missing: "
            "run `amops audit verify`.",
        ),
        ErrorCode(
            "AM-AUD-002",
            "Audit write throttled",
            "audit-writer",
            503,
            "DynamoDB throttled the audit table; the write was retried and then dropped.",
            "Check the table's capacity and throttling alarm; run `amops audit verify`.",
        ),
        ErrorCode(
            "AM-THR-001",
            "Request throttled",
            "teams",
            429,
            "DynamoDB or the API throttled the request.",
            "Clients should back off and retry; sustained throttling needs capacity review.",
        ),
        ErrorCode(
            "AM-REQ-001",
            "Bad request",
            "teams",
            400,
            "The request body was not the JSON the route expects.",
            "Fix the client's request.",
        ),
        ErrorCode(
            "AM-INT-001",
            "Internal error",
            "teams",
            500,
            "An unexpected exception in a handler.",
            "Read the function's log around the request_id; roll back if a deploy caused it.",
        ),
    ]
}
