"""Lambda authorizer: accepts 'Bearer <token>' signed with the environment's signing key."""

import base64
import hashlib
import hmac
import json
import os
import time

import boto3

_keys = {}


def _signing_key():
    name = os.environ["SIGNING_KEY_PARAMETER"]
    if name not in _keys:
        ssm = boto3.client("ssm")
        _keys[name] = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return _keys[name].encode()


def _log(level, message, request_id, **fields):
    print(json.dumps({"level": level, "message": message, "request_id": request_id, **fields}))


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Unauthorized(Exception):
    """API Gateway answers 401 when an authorizer raises 'Unauthorized'."""

    def __init__(self, code):
        super().__init__("Unauthorized")
        self.error_code = code


def handler(event, context):
    request_id = context.aws_request_id
    header = event.get("authorizationToken") or ""
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or token.count(".") != 1:
        _log("ERROR", "missing or malformed bearer token", request_id, error_code="AM-AUTH-001")
        raise Unauthorized("AM-AUTH-001")
    payload_part, signature = token.split(".")
    expected = hmac.new(_signing_key(), payload_part.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        _log("ERROR", "token signature invalid", request_id, error_code="AM-AUTH-002")
        raise Unauthorized("AM-AUTH-002")
    claims = json.loads(_b64decode(payload_part))
    if claims.get("exp", 0) < time.time():
        _log("ERROR", "token expired", request_id, error_code="AM-AUTH-003", user=claims.get("sub"))
        raise Unauthorized("AM-AUTH-003")
    _log("INFO", "authorized", request_id, user=claims["sub"])
    return {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": {"user": claims["sub"]},
    }
