"""The options several commands share, each defined once so that name, help and env var agree.

Location options are resolved through ``flexsync.config`` (explicit value, then env var, then
default); their help names the env var and the default in plain text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flexsync import config

__all__ = ["JSON_STDOUT", "JsonOpt", "RawOpt", "SetOpt", "StoreOpt", "TruthOpt", "location_help", "parse_settings"]

JSON_STDOUT = "-"


def location_help(what: str, env: str, default: Path) -> str:
    """Help of a location option: what it is, then its env var and default."""
    return f"{what} [env {env}, default {default}]"


# Raw and store roots are folders or object-store URLs (s3://bucket/prefix): strings, which a
# Path would mangle ("s3:/bucket"); flexsync.config tells them apart.
RawOpt = Annotated[
    str | None,
    typer.Option(
        "--raw",
        metavar="DIR",
        show_default=False,
        help=location_help(
            "Raw dataset root (a folder or s3://bucket/prefix)", "FLEXSYNC_RAW_ROOT", config.DEFAULT_RAW_ROOT
        ),
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
    str | None,
    typer.Option(
        "--store",
        metavar="DIR",
        show_default=False,
        help=location_help(
            "Output store root (a folder or s3://bucket/prefix)", "FLEXSYNC_STORE_ROOT", config.DEFAULT_STORE_ROOT
        ),
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

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        show_default=False,
        help="Override a processing setting (VALUE as JSON; repeatable); docs/pipeline.md lists the settings",
    ),
]


def parse_settings(values: list[str] | None) -> dict[str, object]:
    """``--set`` values as {setting: value}; a bad name is a usage error that lists the settings."""
    out: dict[str, object] = {}
    for text in values or []:
        try:
            name, value = config.PipelineSettings.parse_override(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--set") from None
        out[name] = value
    return out
