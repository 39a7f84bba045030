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
    from flexsync.readers.inspect import format_inspection, inspect_file

    summary = inspect_file(file, format=format)
    text = "" if json_to_stdout(json_out) else format_inspection(summary)
    report(text, summary, json_out, label="summary")
