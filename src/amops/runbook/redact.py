"""Keep secrets out of the journal and the console."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***redacted***"

_SECRET_KEY = re.compile(
    r"(secret|passw(or)?d|token|credential|api[_-]?key|private[_-]?key|session[_-]?key|authorization)",
    re.IGNORECASE,
)
_SECRET_VALUES = [
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"),  # JWTs
    re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(
        r"(?i)\b(aws_secret_access_key|aws_session_token|secret|passw(or)?d|token|api[_-]?key)"
        r"(\s*[=:]\s*)['\"]?[^\s'\",;]+"
    ),
]


def redact_text(text: str) -> str:
    for pattern in _SECRET_VALUES:
        if pattern.groups >= 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any) -> Any:
    """A copy of value with credential-looking keys and values replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY.search(key) and value[key] else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
