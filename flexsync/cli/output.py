"""How commands print: a text report, or the JSON object for ``--json``, and progress bars."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer

from flexsync.cli.options import JSON_STDOUT

__all__ = ["json_to_stdout", "progress", "report", "status"]


def json_to_stdout(json_out: Path | None) -> bool:
    """Whether ``--json -`` was given: stdout then carries the JSON object only."""
    return json_out is not None and str(json_out) == JSON_STDOUT


def status(message: str, json_out: Path | None) -> None:
    """A progress line: on stdout, or on stderr when stdout is reserved for JSON."""
    typer.echo(message, err=json_to_stdout(json_out))


def report(text: str, data: dict[str, Any], json_out: Path | None, *, label: str = "figures") -> None:
    """Print ``text``; with ``--json PATH`` also write ``data`` there, with ``--json -`` print ``data`` instead."""
    if json_to_stdout(json_out):
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(text)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"{label} written to {json_out}")


def progress(desc: str) -> Callable[[Iterable[Any], int], Iterable[Any]]:
    """A tqdm wrapper (on stderr) for the generator's and runner's ``progress`` hooks."""
    from tqdm import tqdm

    def wrap(iterable: Iterable[Any], total: int) -> Iterable[Any]:
        return tqdm(iterable, total=total, desc=desc, unit="rec")

    return wrap
