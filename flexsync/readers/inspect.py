"""What flexsync reads from a file, the way ffprobe shows a video: ``flexsync inspect FILE``.

``inspect_file`` runs the same reader the pipeline runs and summarises every stream (kind,
format, channel or marker names and count, units, nominal rate, sample count, first and last
device timestamp, warnings, and the timing facts a reader found: effective rate, gaps, what a
container declares against what it holds) as a JSON-serialisable dict; ``format_inspection``
renders it as a text block. Nothing here interprets the data: a surprise in the summary is a
surprise in what the pipeline will see.

A truncated file is shown, not refused: inspect reads with ``on_truncated="warn"`` (the
pipeline's readers default to ``"raise"``), and the truncation is a warning with the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flexsync.readers.registry import check_readable, on_truncated_option, resolve_format
from flexsync.readers.stream import EventList, SignalStream, VideoStream

__all__ = ["format_inspection", "inspect_file"]

# Names shown per stream in the text view before eliding.
MAX_NAMES_SHOWN = 12


def inspect_file(path: Path | str, *, format: str | None = None, on_truncated: str = "warn") -> dict[str, Any]:
    """A JSON-serialisable summary of everything the reader gets out of ``path``.

    ``on_truncated`` is passed to the reader: ``"warn"`` (default) summarises what a truncated
    file holds, with the truncation (declared vs actual) among the warnings; ``"raise"`` refuses
    it as the pipeline does.

    Raises the reader's errors (InputFileError naming the file and problem).
    """
    path = check_readable(path)
    spec = resolve_format(path, format)
    options = {**spec.inspect_options, "on_truncated": on_truncated_option({"on_truncated": on_truncated}, path)}
    contents = spec.load()(path, options)
    streams: list[dict[str, Any]] = []
    streams += [_video_summary(v) for v in contents.videos.values()]
    streams += [_signal_summary(s) for s in contents.signals.values()]
    streams += [_events_summary(e, contents.warnings) for e in contents.events.values()]
    return _json_ready(
        {
            "file": str(path),
            "format": spec.name,
            "size_bytes": path.stat().st_size,
            "streams": streams,
            "warnings": list(contents.warnings),
            "metadata": contents.metadata,
        }
    )


def _range(timestamps: np.ndarray) -> tuple[float | None, float | None]:
    if timestamps.size == 0:
        return None, None
    return float(timestamps[0]), float(timestamps[-1])


def _video_summary(video: VideoStream) -> dict[str, Any]:
    first, last = _range(video.timestamps_s)
    return {
        "kind": "video",
        "name": video.name,
        "format": video.format,
        "stream_index": video.stream_index,
        "codec": video.codec,
        "width": video.width,
        "height": video.height,
        "rotation_deg": video.rotation_deg,
        "channels": [],
        "n_channels": 0,
        "units": [],
        "nominal_rate_hz": video.nominal_rate_hz,
        "n_samples": video.n_frames,
        "first_timestamp_s": first,
        "last_timestamp_s": last,
        "variable_frame_rate": video.metadata.get("variable_frame_rate"),
        "frame_interval_s": video.metadata.get("frame_interval_s"),
        "time_base": video.metadata.get("time_base"),
        "gaps": _video_gaps(video.metadata.get("gaps")),
        "declared": _declared(video),
        "warnings": list(video.warnings),
    }


def _video_gaps(gaps: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if gaps is None:
        return None
    largest = max(gaps, key=lambda g: g["gap_s"]) if gaps else None
    return {
        "count": len(gaps),
        "missing_frames": int(sum(g["n_missing"] for g in gaps)),
        "largest_s": float(largest["gap_s"]) if largest else 0.0,
        "largest_after_s": float(largest["t_device_s"]) if largest else None,
    }


def _declared(video: VideoStream) -> dict[str, Any] | None:
    """What the container declares for the stream against what it holds (from the reader's facts)."""
    facts = video.metadata.get("truncation")
    if not facts:
        return None
    return {
        "frames": facts.get("expected_frames"),
        "frames_in_header": facts.get("frames_in_header"),
        "duration_s": facts.get("declared_duration_s"),
        "by": facts.get("declared_by"),
        "held_frames": facts.get("frames"),
        "held_duration_s": facts.get("duration_s"),
        "truncated": bool(facts.get("truncated")),
    }


def _signal_summary(signal: SignalStream) -> dict[str, Any]:
    first, last = _range(signal.timestamps_s)
    summary = {
        "kind": signal.kind,
        "name": signal.name,
        "format": signal.format,
        "channels": list(signal.channel_names),
        "n_channels": len(signal.channel_names),
        "units": sorted(set(signal.units)),
        "nominal_rate_hz": signal.nominal_rate_hz,
        "n_samples": signal.n_samples,
        "first_timestamp_s": first,
        "last_timestamp_s": last,
        "warnings": list(signal.warnings),
    }
    if signal.valid is not None and signal.valid.size:
        summary["valid_fraction"] = float(signal.valid.mean())
    if signal.metadata.get("irregular_rate"):
        summary["irregular_rate"] = True
    effective = signal.metadata.get("effective_rate_hz")
    if effective and not signal.metadata.get("irregular_rate"):
        summary["effective_rate_hz"] = float(effective)
    if "gaps" in signal.metadata:
        summary["gaps"] = dict(signal.metadata["gaps"])
    if "rate_source" in signal.metadata:
        summary["rate_source"] = signal.metadata["rate_source"]
    return summary


def _events_summary(events: EventList, file_warnings: list[str]) -> dict[str, Any]:
    first, last = _range(events.times_s)
    distinct = sorted(set(events.labels))
    return {
        "kind": "events",
        "name": events.name,
        "format": events.format,
        "channels": distinct,
        "n_channels": len(distinct),
        "units": [],
        "nominal_rate_hz": None,
        "n_samples": len(events.labels),
        "first_timestamp_s": first,
        "last_timestamp_s": last,
        "warnings": [w for w in file_warnings if w.startswith(f"stream {events.name!r}:")],
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


_NOUNS = {"events": "labels", "mocap": "markers", "rotation": "segments"}


def _gap_lines(stream: dict[str, Any]) -> list[str]:
    gaps = stream.get("gaps")
    if not gaps:
        return []
    if not gaps["count"]:
        return ["    gaps: none"]
    missing = f", about {gaps['missing_frames']} frames missing" if gaps.get("missing_frames") else ""
    return [
        f"    gaps: {gaps['count']}, largest {gaps['largest_s']:.3f} s after t = {gaps['largest_after_s']:.6f} s"
        + (f", {gaps['total_s']:.3f} s in all" if "total_s" in gaps else "")
        + missing
    ]


def format_inspection(summary: dict[str, Any]) -> str:
    """A readable text block of an ``inspect_file`` summary (one paragraph per stream)."""
    lines = [f"Input: {summary['file']}", f"  format: {summary['format']}, {summary['size_bytes']} bytes"]
    metadata = summary.get("metadata") or {}
    if metadata.get("meas_date"):
        lines.append(f"  start: {metadata['meas_date']}")
    if metadata.get("c3d_first_frame") is not None:
        lines.append(
            f"  frames {metadata['c3d_first_frame']} .. {metadata['c3d_last_frame']} (numbered as in the file)"
        )
    for i, stream in enumerate(summary["streams"]):
        lines.append(f"  Stream #{i}: {stream['kind']} {stream['name']!r}")
        if stream["kind"] == "video":
            lines.append(
                f"    {stream['codec']} {stream['width']}x{stream['height']}, container stream "
                f"{stream['stream_index']}, time base {stream['time_base']}, rotation {stream['rotation_deg']} deg"
                + (", variable frame rate" if stream.get("variable_frame_rate") else "")
            )
            intervals = stream.get("frame_interval_s")
            if stream.get("variable_frame_rate") and intervals:
                lines.append(
                    f"    frame intervals {1e3 * intervals['min']:.1f} .. {1e3 * intervals['max']:.1f} ms "
                    f"(median {1e3 * intervals['median']:.1f} ms), gaps aside"
                )
        else:
            noun = _NOUNS.get(stream["kind"], "channels")
            names = [n if len(n) <= 40 else n[:37] + "..." for n in stream["channels"]]
            shown = ", ".join(names[:MAX_NAMES_SHOWN]) + (
                f", ... (+{len(names) - MAX_NAMES_SHOWN})" if len(names) > MAX_NAMES_SHOWN else ""
            )
            lines.append(f"    {stream['n_channels']} {noun}: {shown}")
            if stream["units"]:
                lines.append(f"    units: {', '.join(u or '(none)' for u in stream['units'])}")
        rate = stream["nominal_rate_hz"]
        rate_text = (
            "irregular"
            if rate is None
            else f"{rate:g} Hz"
            + (" (measured, irregular)" if stream.get("irregular_rate") else "")
            + (f" (effective {stream['effective_rate_hz']:.4f} Hz)" if stream.get("effective_rate_hz") else "")
            + (f" (from {stream['rate_source']})" if stream.get("rate_source") else "")
        )
        count = "events" if stream["kind"] == "events" else "frames" if stream["kind"] == "video" else "samples"
        span = (
            "no timestamps"
            if stream["first_timestamp_s"] is None
            else f"t = {stream['first_timestamp_s']:.6f} .. {stream['last_timestamp_s']:.6f} s"
        )
        lines.append(f"    rate {rate_text}, {stream['n_samples']} {count}, {span}")
        if "valid_fraction" in stream:
            lines.append(f"    valid: {100 * stream['valid_fraction']:.2f}%")
        lines += _gap_lines(stream)
        lines += [f"    warning: {w}" for w in stream["warnings"]]
    lines += [f"  warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)
