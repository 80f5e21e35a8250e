"""The audit report for a period: what the numbers are, as Markdown and as one self-contained HTML page."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from amops.runbook.errors import UsageError

PERMISSION_CHANGES = frozenset({"role.assign", "team.member.add", "team.member.remove"})
CROSS_TEAM = "team.isolation.violation"
_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # exclusive


def parse_period(text: str) -> Period:
    """2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year)."""
    match = _PERIOD.match(text.strip())
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise UsageError(
            f"--period {text!r} is not a period", "use a month (2026-11), a quarter (2026-Q4) or a year (2026)"
        )
    year = int(match.group(1))
    if match.group(2):
        month = int(match.group(2))
        start, end = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    elif match.group(3):
        quarter = int(match.group(3))
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    else:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return Period(text.strip(), start, end)


@dataclass
class AuditSummary:
    """Everything the report says, counted in one pass over the events."""

    total: int = 0
    by_action: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)
    by_action_outcome: Counter = field(default_factory=Counter)
    denied_actors: Counter = field(default_factory=Counter)
    denied_teams: Counter = field(default_factory=Counter)
    permission_changes: Counter = field(default_factory=Counter)  # action → count
    changes_by_team: Counter = field(default_factory=Counter)
    cross_team_actors: Counter = field(default_factory=Counter)
    cross_team_targets: Counter = field(default_factory=Counter)
    per_day: dict[str, int] = field(default_factory=dict)

    def add(self, event: dict) -> None:
        action, outcome = event.get("action") or "", event.get("outcome") or ""
        self.total += 1
        self.by_action[action] += 1
        self.by_outcome[outcome] += 1
        self.by_action_outcome[f"{action} {outcome}"] += 1
        day = (event.get("ts") or "")[:10]
        self.per_day[day] = self.per_day.get(day, 0) + 1
        if outcome == "deny":
            self.denied_actors[event.get("actor") or "?"] += 1
            self.denied_teams[event.get("team_id") or "(none)"] += 1
        if action in PERMISSION_CHANGES:
            self.permission_changes[action] += 1
            self.changes_by_team[event.get("team_id") or "(none)"] += 1
        if action == CROSS_TEAM:
            self.cross_team_actors[event.get("actor") or "?"] += 1
            self.cross_team_targets[event.get("team_id") or "?"] += 1

    def as_dict(self) -> dict[str, Any]:
        return {key: dict(value) if isinstance(value, Counter) else value for key, value in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditSummary:
        return cls(
            **{
                key: Counter(value) if isinstance(value, dict) and key != "per_day" else value
                for key, value in data.items()
            }
        )


def _top(counter: Counter, n: int = 10) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:n]


def sections(summary: AuditSummary) -> list[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """(heading, columns, rows) for each table of the report, shared by both renderings."""
    return [
        (
            "Totals by action and outcome",
            ["action", "outcome", "events"],
            [(*key.rsplit(" ", 1), n) for key, n in sorted(summary.by_action_outcome.items())],
        ),
        ("Totals by outcome", ["outcome", "events"], sorted(summary.by_outcome.items())),
        ("Denied attempts: top actors", ["actor", "denied"], _top(summary.denied_actors)),
        ("Denied attempts: top teams", ["team", "denied"], _top(summary.denied_teams)),
        ("Permission and role changes", ["action", "events"], sorted(summary.permission_changes.items())),
        ("Permission and role changes by team", ["team", "changes"], _top(summary.changes_by_team)),
        ("Cross-team access attempts: actors", ["actor", "attempts"], _top(summary.cross_team_actors)),
        ("Cross-team access attempts: target teams", ["team", "attempts"], _top(summary.cross_team_targets)),
    ]


def chart_svg(summary: AuditSummary, period: Period) -> str:
    """Events per day, drawn by pygal as inline SVG (no script: the page stays self-contained)."""
    import pygal

    days = sorted(summary.per_day)
    chart = pygal.Bar(
        title=f"Audit events per day, {period.label}",
        show_legend=False,
        x_label_rotation=60,
        show_minor_x_labels=False,
        width=1000,
        height=360,
        js=[],
        disable_xml_declaration=True,
    )
    chart.x_labels = days
    chart.x_labels_major = days[:: max(1, len(days) // 12)]
    chart.add("events", [summary.per_day[d] for d in days])
    return chart.render(is_unicode=True)


def _intro(env: str, period: Period, summary: AuditSummary, missing: list[str]) -> list[str]:
    return [
        f"Environment **{env}**, {period.start.isoformat()} to {period.end.isoformat()} (exclusive), "
        f"generated {datetime.now(UTC).isoformat(timespec='seconds')} by amops.",
        f"**{summary.total} events**; denied {summary.by_outcome.get('deny', 0)}, errors "
        f"{summary.by_outcome.get('error', 0)}; {sum(summary.permission_changes.values())} permission or role "
        f"changes; {sum(summary.cross_team_actors.values())} cross-team access attempts.",
        *([f"Missing archive days (not in the numbers): {', '.join(missing)}."] if missing else []),
    ]


def render_markdown(env: str, period: Period, summary: AuditSummary, checks: list[dict], missing: list[str]) -> str:
    lines = [f"# Audit report — {env} — {period.label}", ""]
    lines += [line + "\n" for line in _intro(env, period, summary, missing)]
    for heading, columns, rows in sections(summary):
        lines += [f"## {heading}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] or [
            "| (none) |" + " |" * (len(columns) - 1)
        ]
        lines.append("")
    lines += ["## Events per day", "", "| day | events |", "|---|---|"]
    lines += [f"| {day} | {n} |" for day, n in sorted(summary.per_day.items())]
    lines += ["", "## Compliance checks", "", "| check | result | evidence | remediation |", "|---|---|---|---|"]
    lines += [f"| {c['name']} | {c['status']} | {c['evidence']} | {c['remediation']} |" for c in checks]
    return "\n".join(lines) + "\n"


def render_html(env: str, period: Period, summary: AuditSummary, checks: list[dict], missing: list[str]) -> str:
    def table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>(none)</td></tr>'}</tbody></table>"

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Audit report — {html.escape(env)} — {html.escape(period.label)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;"
        "margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
        "th{background:#f3f3f3}.FAIL{color:#b00020;font-weight:bold}.WARN{color:#a05a00}.PASS{color:#1b5e20}</style>",
        "</head><body>",
        f"<h1>Audit report — {html.escape(env)} — {html.escape(period.label)}</h1>",
        *[f"<p>{html.escape(line).replace('**', '')}</p>" for line in _intro(env, period, summary, missing)],
        "<h2>Events per day</h2>",
        chart_svg(summary, period),
    ]
    for heading, columns, rows in sections(summary):
        parts += [f"<h2>{html.escape(heading)}</h2>", table(columns, rows)]
    parts.append("<h2>Compliance checks</h2>")
    rows = "".join(
        f"<tr><td>{html.escape(c['name'])}</td><td class='{c['status']}'>{c['status']}</td>"
        f"<td>{html.escape(c['evidence'])}</td><td>{html.escape(c['remediation'])}</td></tr>"
        for c in checks
    )
    parts += [
        "<table><thead><tr><th>check</th><th>result</th><th>evidence</th><th>remediation</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
