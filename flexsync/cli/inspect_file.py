"""``flexsync inspect``: what flexsync reads from one file, like ffprobe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flexsync.cli.app import app
from flexsync.cli.options import JsonOpt
from flexsync.cli.output import json_to_stdout, report

__all__ = ["inspect"]


@app.command()
def inspect(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Any supported file (mp4, c3d, trc, edf, bdf, xdf, csv)")
    ],
    format: Annotated[str | None, typer.Option("--format", help="Force a reader instead of the extension")] = None,
    json_out: JsonOpt = None,
) -> None:
    """Show what flexsync reads from a file (like ffprobe).

    Per stream: kind, channel or marker names, units, nominal rate, sample count, first and
    last device timestamp, and warnings.
    """
    from flexsync.errors import FlexsyncError
    from flexsync.readers.inspect import format_inspection, inspect_file

    try:
        summary = inspect_file(file, format=format)
    except (FlexsyncError, OSError) as error:
        if json_out is None:
            raise  # the two-line error of every command
        # With --json the caller parses the output: the error is a JSON object too.
        failure = {"file": str(file), "error": {"type": type(error).__name__, "message": str(error)}}
        report(f"error: {error}", failure, json_out, label="error")
        raise typer.Exit(code=1) from None
    text = "" if json_to_stdout(json_out) else format_inspection(summary)
    report(text, summary, json_out, label="summary")
