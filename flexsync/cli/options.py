"""The options several commands share, each defined once so that name, help and env var agree.

Location options are resolved through ``flexsync.config`` (explicit value, then env var, then
default); their help names the env var and the default in plain text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flexsync import config

__all__ = ["JSON_STDOUT", "JsonOpt", "RawOpt", "StoreOpt", "TruthOpt", "location_help"]

JSON_STDOUT = "-"


def location_help(what: str, env: str, default: Path) -> str:
    """Help of a location option: what it is, then its env var and default."""
    return f"{what} [env {env}, default {default}]"


RawOpt = Annotated[
    Path | None,
    typer.Option(
        "--raw",
        metavar="DIR",
        show_default=False,
        help=location_help("Raw dataset root", "FLEXSYNC_RAW_ROOT", config.DEFAULT_RAW_ROOT),
    ),
]
TruthOpt = Annotated[
    Path | None,
    typer.Option(
        "--truth",
        metavar="DIR",
        show_default=False,
        help=location_help("Generator ground-truth folder", "FLEXSYNC_TRUTH_ROOT", config.DEFAULT_TRUTH_ROOT),
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="DIR",
        show_default=False,
        help=location_help("Output store root", "FLEXSYNC_STORE_ROOT", config.DEFAULT_STORE_ROOT),
    ),
]
JsonOpt = Annotated[
    Path | None,
    typer.Option(
        "--json",
        metavar="PATH",
        show_default=False,
        help=f"Write the JSON object to PATH; '{JSON_STDOUT}' prints it to stdout instead of the text report",
    ),
]
