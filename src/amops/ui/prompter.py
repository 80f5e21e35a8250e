"""The prompter port, asked with questionary; refuses rather than hangs without a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from amops.runbook.errors import RefusedError


class TerminalPrompter:
    def __init__(self, interactive: bool | None = None) -> None:
        self._interactive = sys.stdin.isatty() if interactive is None else interactive

    @property
    def interactive(self) -> bool:
        return self._interactive

    def _require_terminal(self, question: str) -> None:
        if not self._interactive:
            raise RefusedError(
                f"amops needs an answer ({question}) but stdin is not a terminal",
                "run it on a terminal, or answer in advance with --yes (and --confirm-env ENV)",
            )

    def confirm(self, question: str) -> bool:
        import questionary

        self._require_terminal(question)
        # auto_enter=False: "y" then Enter, as operators type it; otherwise the Enter would answer
        # the next question with its default before the operator has read it.
        return bool(questionary.confirm(question, default=False, auto_enter=False).unsafe_ask())

    def type_to_confirm(self, question: str, expected: str) -> bool:
        import questionary

        self._require_terminal(question)
        typed = questionary.text(f"{question}:").unsafe_ask().strip()
        if typed != expected:
            sys.stderr.write(f"You typed {typed!r}, not {expected!r}: not confirmed.\n")
            return False
        return True

    def choose(self, question: str, choices: Sequence[str]) -> str:
        import questionary

        self._require_terminal(question)
        return str(questionary.select(question, choices=list(choices)).unsafe_ask())
