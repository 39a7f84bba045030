"""``flexsync view``: one published recording in the Rerun viewer, or saved as an .rrd file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from flexsync import config
from flexsync.cli.app import app
from flexsync.cli.options import StoreOpt

__all__ = ["view"]

VIDEO_MODES = ("h264", "jpeg", "none")


def _fail(message: str) -> NoReturn:
    """The one-line error of an expected failure (no rerun-sdk, no such recording), exit 1."""
    typer.echo(f"flexsync view: error: {message}", err=True)
    raise typer.Exit(code=1)


def _has_display() -> bool:
    """Whether a Linux session can open a window (the viewer needs X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("WAYLAND_SOCKET"))


@app.command()
def view(
    key: Annotated[str, typer.Argument(metavar="KEY", help="Recording key, e.g. S01_A01_T1")],
    store: StoreOpt = None,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="FILE.rrd",
            show_default=False,
            help="Write the recording here instead of opening the viewer",
        ),
    ] = None,
    views: Annotated[
        str | None,
        typer.Option("--views", metavar="V1,V2", show_default=False, help="Only these video views (comma-separated)"),
    ] = None,
    start: Annotated[
        float | None, typer.Option("--start", metavar="S", show_default=False, help="From this reference-clock time, s")
    ] = None,
    end: Annotated[
        float | None, typer.Option("--end", metavar="S", show_default=False, help="Up to this reference-clock time, s")
    ] = None,
    video: Annotated[
        str,
        typer.Option(
            help="Frames as the stored H.264 (h264), as JPEG images (jpeg: for a viewer without an H.264 decoder, "
            "about 5x bigger) or not at all (none)"
        ),
    ] = "h264",
    emg_raw: Annotated[bool, typer.Option(help="Log the raw EMG channels too, not only the envelopes")] = True,
) -> None:
    """Show a published recording in the Rerun viewer or save it as .rrd.

    Frames of every view, the 3D skeleton and 2D keypoints, EMG, heart and breathing rate, sync
    events and repetition spans.

    Every sample is on the reference clock (timeline 'reference') and on its stream's own clock
    (timeline 't_device_<stream>'). Needs rerun-sdk (pip install 'flexsync[view]'); docs/viewing.md.
    """
    if video not in VIDEO_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(VIDEO_MODES)}, got {video!r}", param_hint="--video")
    try:
        import rerun  # noqa: F401
    except ImportError:
        _fail("rerun-sdk is not installed; install it with: pip install 'flexsync[view]'")
    from flexsync.errors import InputFileError
    from flexsync.storage import Store
    from flexsync.view.rerun_recording import ViewOptions, write_rerun_recording

    if save is None and sys.platform.startswith("linux") and not _has_display():
        _fail("no display to open the Rerun viewer on; save the recording with --save FILE.rrd and open it elsewhere")
    store_root = config.store_root(store)
    if not Store(store_root).recording_path(key).is_dir():
        _fail(f"no published recording {key} in store {store_root} (run the pipeline first: flexsync run)")
    options = ViewOptions(
        views=None if views is None else tuple(v.strip() for v in views.split(",") if v.strip()),
        start_s=start,
        end_s=end,
        video=video,  # type: ignore[arg-type]
        emg_raw=emg_raw,
    )
    try:
        summary = write_rerun_recording(store_root, key, save=save, options=options)
    except InputFileError as exc:  # not complete, or a damaged chunk: the message names the file
        _fail(" ".join(str(exc).split()))
    frames = ", ".join(f"{v} {n}" for v, n in summary.frames.items()) or "none"
    where = f"{summary.path} ({summary.bytes / 1e6:.1f} MB)" if summary.path and summary.bytes else "the viewer"
    typer.echo(f"{key}: {len(summary.entities)} entities, frames {frames}, to {where} in {summary.seconds:.1f} s")
