"""``flexsync synth``: write a synthetic FLEX-style raw dataset and its ground truth."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from flexsync import config
from flexsync.cli.app import app
from flexsync.cli.options import RawOpt, TruthOpt
from flexsync.cli.output import progress
from flexsync.synth.options import ALL_ACTIONS, SYNC_SOURCES

__all__ = ["synth"]


@app.command()
def synth(
    ctx: typer.Context,
    raw: RawOpt = None,
    truth: TruthOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed and options, same bytes")] = 0,
    subjects: Annotated[int, typer.Option(help="Number of subjects (FLEX has 38)")] = 2,
    actions: Annotated[str, typer.Option(help="Comma-separated action ids, or 'all' for A01-A20")] = "A01,A13",
    takes: Annotated[int, typer.Option(help="Takes (sets) per subject and action")] = 1,
    repetitions: Annotated[int, typer.Option(help="Repetitions per set (FLEX: about 10)")] = 4,
    width: Annotated[int, typer.Option(help="Cinema camera frame width (even)")] = 480,
    height: Annotated[int, typer.Option(help="Cinema camera frame height (even)")] = 270,
    emg_format: Annotated[str, typer.Option(help="bdf or edf")] = "bdf",
    cinema_cameras: Annotated[int, typer.Option(help="Fixed cinema cameras cam1..camN (1-16; FLEX has 4)")] = 4,
    emg_devices: Annotated[
        int, typer.Option(help="sEMG devices emg, emg2, ... (1-8; extra devices have 8 channels)")
    ] = 1,
    look: Annotated[
        str,
        typer.Option(
            help="Camera look: realistic (textures, lighting, motion blur, sensor noise, phone AE and rolling "
            "shutter, camera-like bitrates) or flat (flat-shaded, noise-free: cheap, compresses ~50x)"
        ),
    ] = "realistic",
    sync_source: Annotated[
        str,
        typer.Option(
            help="What the sync box sends to the LED, EMG triggers, mocap SYNC and physio input: flashes (a start "
            "and an end flash), pulse_train (1 Hz, start/end markers) or coded_train (random intervals)"
        ),
    ] = "flashes",
    workers: Annotated[int, typer.Option(help="Recordings generated in parallel")] = 1,
    preset: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            show_default=False,
            help="Start from a named option set; options given explicitly override it. 'flex-mini': all 20 "
            "actions, 3 subjects, 1 repetition, 160x90 at 30 fps (every FLEX class and split trainable). "
            "'flex-size': the same for all 38 subjects, FLEX's 760 recordings (flexsync bench scale)",
        ),
    ] = None,
) -> None:
    """Write a synthetic FLEX-style raw dataset and its ground truth.

    The same seed and options give the same bytes, whatever the number of workers.
    The truth folder must not lie inside the raw root.
    """
    from flexsync.synth.dataset import generate_dataset
    from flexsync.synth.options import SynthOptions, preset_options

    given = {
        "seed": seed,
        "subjects": subjects,
        "actions": ALL_ACTIONS if actions == "all" else tuple(actions.split(",")),
        "takes": takes,
        "repetitions": repetitions,
        "width": width,
        "height": height,
        "emg_format": emg_format,
        "cinema_cameras": cinema_cameras,
        "emg_devices": emg_devices,
        "look": look,
        "sync_source": sync_source,
    }
    if sync_source not in SYNC_SOURCES:
        raise typer.BadParameter(
            f"must be one of {', '.join(SYNC_SOURCES)}, got {sync_source!r}", param_hint="--sync-source"
        )
    if preset is None:
        options = SynthOptions(**given, phone_width=_even(height), phone_height=_even(width))
    else:
        explicit = {name: value for name, value in given.items() if _explicit(ctx, name)}
        explicit["look"] = look  # the command's look (default realistic) applies over any preset
        if "width" in explicit or "height" in explicit:  # the phone follows the cinema size, as without a preset
            explicit |= {"phone_width": _even(height), "phone_height": _even(width)}
        try:
            options = preset_options(preset, **explicit)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--preset") from None
    raw_root, truth_root = config.raw_root(raw), config.truth_root(truth)
    started = time.perf_counter()
    keys = generate_dataset(raw_root, truth_root, options, workers=workers, progress=progress("synth"))
    size = sum(p.stat().st_size for p in raw_root.rglob("*") if p.is_file())
    typer.echo(
        f"wrote {len(keys)} recordings to {raw_root} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; "
        f"ground truth in {truth_root}"
    )


def _explicit(ctx: typer.Context, name: str) -> bool:
    """True when option ``name`` was given on the command line (not left at its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def _even(n: int) -> int:
    return n - (n % 2)
