"""The typer applications, the global options and how a failed command is reported.

Help is plain text (``rich_markup_mode=None``) so that brackets such as ``[env X, default Y]``
print as written. A command that raises prints two lines on stderr and exits 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from flexsync.errors import FlexsyncError

__all__ = ["app", "bench_app", "main"]

CONTEXT = {"max_content_width": 120}


def _error_line(exc: Exception) -> str:
    """What went wrong, in one line; the message of flexsync's own and OS errors names the file."""
    message = " ".join(str(exc).split())
    if isinstance(exc, FlexsyncError | OSError | ValueError) and message:
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class FlexsyncGroup(TyperGroup):
    """The root command: turns an unexpected exception into a short message unless ``--debug``."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Exit, Abort and usage errors carry their own exit code and message: typer reports them.
            if hasattr(exc, "exit_code") or ctx.params.get("debug"):
                raise
            where = f"flexsync {ctx.invoked_subcommand}" if ctx.invoked_subcommand else "flexsync"
            typer.echo(f"{where}: error: {_error_line(exc)}", err=True)
            typer.echo(f"check the file or option named above ({where} --help); --debug shows the traceback", err=True)
            raise typer.Exit(code=1) from exc


app = typer.Typer(
    cls=FlexsyncGroup,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
    help="Generate FLEX-style captures, run the flexsync pipeline on them, inspect files, benchmark.",
)
bench_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=CONTEXT,
    help="Benchmarks that print ratios measured in one run.",
)


@app.callback()
def _global_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress details, and stream the runs' warnings and errors.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback when a command fails.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if verbose or debug:
        os.environ["FLEXSYNC_RUN_LOGS"] = "warnings"  # read by the runner, inherited by its worker processes


def main() -> None:
    """Entry point of the ``flexsync`` console script, ``python -m flexsync`` and ``python -m flexsync.cli``."""
    app(prog_name="flexsync")
