"""The console port, drawn with rich."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console as RichConsole
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from amops.runbook.redact import redact_text
from amops.runbook.step import Step, StepKind

_KIND_STYLE = {
    StepKind.READ_ONLY: "green",
    StepKind.MUTATING: "yellow",
    StepKind.DESTRUCTIVE: "bold red",
}


class TerminalConsole:
    """Human output. With --output json it goes to stderr, so stdout holds one JSON document."""

    def __init__(self, json_output: bool = False, quiet: bool = False) -> None:
        self.json_output = json_output
        self.quiet = quiet
        self.out = RichConsole(stderr=json_output, highlight=False, soft_wrap=False)
        self.err = RichConsole(stderr=True, highlight=False, soft_wrap=True)

    def heading(self, text: str) -> None:
        self.out.print()
        self.out.rule(f"[bold]{escape(text)}[/]", align="left")

    def step(self, number: int, total: int, step: Step, command: str) -> None:
        style = _KIND_STYLE[step.kind]
        self.out.print()
        self.out.print(f"[bold]Step {number}/{total} · {escape(step.title)}[/]  [{style}]\\[{step.kind.value}][/]")
        self.out.print(f"  [dim]Why:[/] {escape(step.why)}")
        self.out.print(f"  [dim]Command:[/] [cyan]{escape(redact_text(command))}[/]", soft_wrap=True)
        self.out.print(f"  [dim]Expect:[/] {escape(step.expect)}")

    def info(self, text: str) -> None:
        self.out.print(f"  {escape(redact_text(text))}")

    def success(self, text: str) -> None:
        self.out.print(f"  [green]✓[/] {escape(redact_text(text))}")

    def warning(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {escape(redact_text(text))}")

    def failure(self, text: str) -> None:
        self.err.print(f"[red]✗[/] {escape(redact_text(text))}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        table = Table(title=title, title_justify="left", show_lines=False)
        for index, column in enumerate(columns):
            table.add_column(column, no_wrap=index == 0)  # the first column names the row: keep it whole
        for row in rows:
            table.add_row(*(escape(redact_text("" if cell is None else str(cell))) for cell in row))
        self.out.print(table)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=self.err, transient=False, disable=self.quiet) as bar:
            task = bar.add_task(description, total=total)
            yield lambda advance=1: bar.advance(task, advance)

    def error_line(self, message: str) -> None:
        """The error boundary's one line."""
        self.err.print(f"[red]amops: error:[/] {escape(redact_text(message))}", soft_wrap=True)

    def print_json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, default=str, sort_keys=False) + "\n")
