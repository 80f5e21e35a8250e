"""The sandbox's data, deterministic from a seed: users, teams, grants, audit events, log lines.

Planted problems, one environment each, so the others stay clean:
- dev: a burst of authorizer failures in the last hour, throttled audit writes yesterday, and a
  log line for every error code (the troubleshooting playground);
- sit: one day missing from the audit archive (45 days ago);
- prod: none.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from amops.catalog import ERROR_CODES

SEED = 7
DAYS = 400
HOT_DAYS = 30
WARM_DAYS = 90
DEFAULT_EVENTS = 50_000

USERS = {  # user: (team, role)
    "alice": ("team-alpha", "owner"),
    "bob": ("team-alpha", "member"),
    "carol": ("team-bravo", "owner"),
    "dave": ("team-bravo", "admin"),
    "erin": ("team-charlie", "owner"),
    "frank": ("team-charlie", "member"),
}
SMOKE_USER = "amops-smoke"  # belongs to no team: the smoke tests create and delete their own
TEAMS = {"team-alpha": "Alpha", "team-bravo": "Bravo", "team-charlie": "Charlie"}
PERMISSIONS = (
    "team.read",
    "team.update",
    "team.delete",
    "team.member.add",
    "team.member.remove",
    "invitation.send",
    "role.assign",
    "permission.check",
)
GRANTS = {
    "owner": PERMISSIONS,
    "admin": (
        "team.read",
        "team.update",
        "team.member.add",
        "team.member.remove",
        "invitation.send",
        "permission.check",
    ),
    "member": ("team.read", "permission.check"),
}

# action: (weight, outcome, path template)
ACTIONS = {
    "team.read": (30, "allow", "/teams/{team}"),
    "team.member.list": (20, "allow", "/teams/{team}/members"),
    "permission.check.allowed": (20, "allow", "/permissions/check"),
    "permission.check.denied": (6, "deny", "/permissions/check"),
    "team.member.add": (6, "allow", "/teams/{team}/members"),
    "team.member.remove": (3, "allow", "/teams/{team}/members"),
    "role.assign": (2, "allow", "/teams/{team}/members"),
    "invitation.send": (8, "allow", "/invitations"),
    "auth.denied": (3, "deny", "/teams"),
    "team.isolation.violation": (2, "deny", "/teams/{team}"),
}
PLANTED_MISSING_ARCHIVE = {"sit": 45}  # env: age in days of the archive day that is missing


def days(today: date) -> list[date]:
    """The seeded days: the 400 full days before today, oldest first."""
    return [today - timedelta(days=age) for age in range(DAYS, 0, -1)]


def generate_events(
    env: str, count: int, today: date, seed: int = SEED, hot_count: int | None = None
) -> Iterator[dict]:
    """Every seeded audit event of env, in time order: the truth the sandbox is built from.

    count is spread evenly over the 400 days; hot_count, when given, over the 30 hot days instead.
    """
    all_days = days(today)
    per_day, extra = divmod(count, len(all_days))
    hot_days = [day for day in all_days if tier(day, today) == "hot"]
    hot_per_day, hot_extra = divmod(hot_count or 0, len(hot_days))
    users = sorted(USERS)
    actions = sorted(ACTIONS)
    cumulative = list(accumulate(ACTIONS[action][0] for action in actions))
    other_teams = {team: sorted(set(TEAMS) - {team}) for team in TEAMS}
    for index, day in enumerate(all_days):
        rng = random.Random(f"{seed}:{env}:{day.isoformat()}")
        n = per_day + (1 if index < extra else 0)
        if hot_count is not None and day in hot_days:
            n = hot_per_day + (1 if hot_days.index(day) < hot_extra else 0)
        stamp = day.isoformat()
        for millis in sorted(rng.randrange(86_400_000) for _ in range(n)):
            actor = users[int(rng.random() * len(users))]
            team, _ = USERS[actor]
            action = actions[bisect(cumulative, rng.random() * cumulative[-1])]
            _, outcome, template = ACTIONS[action]
            if action == "team.isolation.violation":
                team = other_teams[team][int(rng.random() * len(other_teams[team]))]
            elif action == "auth.denied":
                actor = "anonymous"
            elif action == "invitation.send" and rng.random() < 0.02:
                outcome = "error"
            seconds, ms = divmod(millis, 1000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            yield {
                "event_id": _uuid(rng.getrandbits(128)),
                "ts": f"{stamp}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z",
                "actor": actor,
                "action": action,
                "team_id": team,
                "resource": template.format(team=team),
                "outcome": outcome,
                "source_ip": f"198.51.100.{int(rng.random() * 254) + 1}",  # TEST-NET-2: documentation only
                "request_id": _uuid(rng.getrandbits(128)),
            }


def _uuid(bits: int) -> str:
    """A version-4 UUID's text from 128 random bits (uuid.UUID is the slow part of seeding)."""
    text = f"{(bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def tier(day: date, today: date) -> str:
    """Where the retention policy keeps a day: hot (table), warm (S3 Standard), cold (Glacier)."""
    age = (today - day).days
    if age < HOT_DAYS:
        return "hot"
    return "warm" if age < WARM_DAYS else "cold"


def table_item(event: dict) -> dict:
    """An audit event as the audit table stores it."""
    moment = datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return {
        "pk": f"TEAM#{event['team_id'] or 'NONE'}",
        "sk": f"{event['ts']}#{event['event_id']}",
        "day": event["ts"][:10],
        **event,
        "expires_at": int((moment + timedelta(days=HOT_DAYS)).timestamp()),
    }


def archive_key(day: date) -> str:
    return f"audit/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/events.jsonl.gz"


def log_lines(env: str, now: datetime, seed: int = SEED) -> dict[str, list[tuple[int, dict]]]:
    """Seeded Lambda log lines by function: (epoch millis, JSON record)."""
    rng = random.Random(f"{seed}:{env}:logs")
    lines: dict[str, list[tuple[int, dict]]] = {}

    def add(function: str, moment: datetime, record: dict) -> None:
        lines.setdefault(function, []).append((int(moment.timestamp() * 1000), record))

    for hour in range(24 * 3):
        moment = now - timedelta(hours=hour, minutes=rng.randrange(60))
        for function in ("teams", "permissions", "health"):
            add(
                function,
                moment,
                {
                    "level": "INFO",
                    "message": "request handled",
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "latency_ms": rng.randrange(8, 120),
                },
            )
    if env == "dev":
        for code, entry in ERROR_CODES.items():
            for _ in range(3):
                moment = now - timedelta(hours=rng.randrange(2, 48), minutes=rng.randrange(60))
                add(
                    entry.function,
                    moment,
                    {
                        "level": "ERROR",
                        "message": entry.title,
                        "error_code": code,
                        "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "team_id": rng.choice(sorted(TEAMS)),
                    },
                )
        for _ in range(200):  # the authorizer failure burst: a client with a stale signing key
            moment = now - timedelta(minutes=rng.randrange(50))
            add(
                "authorizer",
                moment,
                {
                    "level": "ERROR",
                    "message": "token signature invalid",
                    "error_code": "AM-AUTH-002",
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
                },
            )
        for _ in range(40):  # throttled audit writes yesterday
            moment = now - timedelta(days=1, minutes=rng.randrange(30))
            add(
                "audit-writer",
                moment,
                {
                    "level": "ERROR",
                    "message": "audit write failed: throttled",
                    "error_code": "AM-AUD-002",
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "team_id": rng.choice(sorted(TEAMS)),
                },
            )
    for function in lines:
        lines[function].sort(key=lambda pair: pair[0])
    return lines
