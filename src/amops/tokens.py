"""The platform's bearer tokens: base64url(claims) '.' HMAC-SHA256, signed with the environment's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def sign_token(key: str, user: str, minutes: float = 15, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": user, "iat": issued, "exp": issued + int(minutes * 60)}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return payload + "." + hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()
