"""The root command, its global options, and the one error boundary."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from amops import __version__
from amops.cli import lock, operations, runbooks, runs, sandbox
from amops.cli.state import AppState, parse_output
from amops.runbook.errors import AmopsError, ExitCode

app = typer.Typer(
    name="amops",
    help=(
        "Operate the Access Management platform: every runbook, as a command that explains "
        "each step, shows the manual command, asks before it changes anything, and checks "
        "the result.\n\n"
        "\b\nExamples:\n"
        "  amops --sandbox deploy dev    practise a deployment in the local sandbox\n"
        "  amops deploy prod --dry-run   see every step and command, change nothing\n"
        "  amops runs list --env prod    what the team has run against prod\n"
        "  amops runbooks list           the runbooks and their review dates"
    ),
    no_args_is_help=False,
    pretty_exceptions_enable=False,  # the error boundary below decides what an operator sees
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)

operations.register(app)
app.add_typer(runbooks.app, name="runbooks")
app.add_typer(runs.app, name="runs")
app.add_typer(lock.app, name="lock")
app.add_typer(sandbox.app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amops {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", envvar="AMOPS_CONFIG", help="amops.toml to use.")] = None,
    sandbox_: Annotated[
        bool, typer.Option("--sandbox", envvar="AMOPS_SANDBOX", help="Use the local sandbox AWS.")
    ] = False,
    profile: Annotated[
        str | None, typer.Option("--profile", envvar="AMOPS_PROFILE", help="AWS profile to use.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", envvar="AMOPS_YES", help="Answer yes to ordinary confirmations.")
    ] = False,
    confirm_env: Annotated[
        str | None,
        typer.Option(
            "--confirm-env", metavar="ENV", envvar="AMOPS_CONFIRM_ENV", help="Confirm destructive and prod steps."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", envvar="AMOPS_DRY_RUN", help="Show every step; change nothing.")
    ] = False,
    output: Annotated[
        str, typer.Option("--output", "-o", envvar="AMOPS_OUTPUT", callback=parse_output, help="text or json.")
    ] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state: AppState = ctx.ensure_object(AppState)
    state.config_path = config
    state.sandbox = sandbox_
    state.profile = profile
    state.yes = yes
    state.confirm_env = confirm_env
    state.dry_run = dry_run
    state.output = output
    state.verbose = verbose
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from amops.cli.menu import guided_menu

            raise typer.Exit(guided_menu(ctx, state))
        typer.echo(ctx.get_help())


@app.command("init")
def init(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("amops.toml"),
) -> None:
    """Write a commented example amops.toml to fill in.

    Example: amops init && $EDITOR amops.toml
    """
    from amops.cli.init import write_example

    raise typer.Exit(write_example(ctx.ensure_object(AppState), path))


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app inside the error boundary."""
    state = AppState()
    args = sys.argv[1:] if argv is None else argv
    state.verbose = "-v" in args or "--verbose" in args
    try:
        app(args=args, prog_name="amops", obj=state)
    except AmopsError as error:
        if state.verbose:
            traceback.print_exception(error)
        _report(state, error, error.exit_code)
    except Exception as error:
        if type(error).__module__.startswith("botocore"):
            # An AWS error no adapter caught: still one line and a fix, never a traceback.
            from amops.aws.errors import translate

            translated = translate(error)
            _report(state, translated, translated.exit_code)
        # Anything else is a bug in amops: say so; the traceback only with -v.
        if state.verbose:
            traceback.print_exception(error)  # frames only; locals can hold credentials
        _report(state, error, ExitCode.FAILED, bug=True)


def _report(state: AppState, error: Exception, code: ExitCode, bug: bool = False) -> None:
    from amops.runbook.redact import redact_text

    text = redact_text(str(error) or type(error).__name__)
    if bug:
        text = f"internal error: {type(error).__name__}: {text}" + (
            "" if state.verbose else " (run with -v for the traceback, and report it)"
        )
    if state.json_output:
        import json

        error_doc = {
            "error": {"type": type(error).__name__, "message": text},
            "exit_code": int(code),
        }
        sys.stdout.write(json.dumps(error_doc) + "\n")
    sys.stderr.write(f"amops: error: {text}\n")
    sys.exit(int(code))
