"""The times operators type: ISO 8601 dates and datetimes (UTC unless an offset is given), or 7d, 12h, 30m."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from amops.runbook.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*([wdhm])$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def parse_when(text: str, now: datetime, option: str = "the time") -> datetime:
    """An aware UTC datetime; a relative form counts back from now."""
    value = text.strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date or time",
            "use ISO 8601 (2026-11-01, 2026-11-01T08:30:00Z, 2026-11-01T10:30:00+02:00) or a span back from now "
            "(7d, 12h, 30m, 2w)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
