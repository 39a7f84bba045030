"""FLEX's size and the targets: bytes extrapolated to the whole dataset, the default codec judged.

Targets for the default codec against FLEX's JPEG folders (``REFERENCE``), on one input: store
bytes <= 0.25x the JPEG folders for the same frames, PSNR >= 40 dB, and a cold-cache loader
>= 2x FLEX's JPEG loader in clips/s, per wall second and per CPU second (one core's work).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexsync.bench.store.candidates import CLIP_FRAMES, DEFAULT_CANDIDATE, REFERENCE

__all__ = ["FlexSize", "check_targets", "extrapolate"]

# FLEX's size: 760 recordings with about 37 h of video summed over its 5 views; 7,512 samples.
FLEX_RECORDINGS = 760
FLEX_VIDEO_HOURS = 37.0
FLEX_SAMPLES = 7512
FLEX_VIEWS = 5
TARGET_BYTES_RATIO = 0.25
TARGET_PSNR_DB = 40.0
TARGET_LOADER_RATIO = 2.0
# Readers that give RGB frames, checked against the loader target ("yuv" is a diagnostic floor).
TARGET_READERS = ("loader", "chunk")


@dataclass(frozen=True)
class FlexSize:
    """FLEX's frame counts: recordings (37 h summed over the views at ``rate_hz``) and sample clips."""

    rate_hz: float
    recordings: int = FLEX_RECORDINGS
    video_hours: float = FLEX_VIDEO_HOURS
    samples: int = FLEX_SAMPLES
    views: int = FLEX_VIEWS
    clip_frames: int = CLIP_FRAMES

    @property
    def recording_frames(self) -> int:
        return round(self.video_hours * 3600.0 * self.rate_hz)

    @property
    def sample_frames(self) -> int:
        return self.samples * self.views * self.clip_frames

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordings": self.recordings,
            "video_hours_all_views": self.video_hours,
            "rate_hz": self.rate_hz,
            "recording_frames": self.recording_frames,
            "samples": self.samples,
            "views": self.views,
            "clip_frames": self.clip_frames,
            "sample_frames": self.sample_frames,
            "assumption": (
                f"{self.video_hours:g} h of video summed over the {self.views} views, every view at the generated "
                f"cinema cameras' {self.rate_hz:g} fps (FLEX's phone view runs slower: an upper bound)"
            ),
        }


def extrapolate(measured: dict[str, Any], size: FlexSize) -> dict[str, Any]:
    """Bytes at FLEX's size per candidate: bytes per frame of each layout x its frame count."""
    out = {}
    for name, figures in measured["candidates"].items():
        recordings = figures["recordings"]["bytes_per_frame"] * size.recording_frames
        samples = figures["samples"]["bytes_per_frame"] * size.sample_frames
        out[name] = {"recordings_bytes": recordings, "samples_bytes": samples, "total_bytes": recordings + samples}
    if REFERENCE in measured["candidates"]:
        release = measured["candidates"][REFERENCE]["samples"]["bytes_per_frame"] * size.sample_frames
        out["flex jpeg release"] = {"samples_bytes": release, "total_bytes": release}
    return out


def check_targets(measured: dict[str, Any], candidate: str = DEFAULT_CANDIDATE) -> dict[str, Any]:
    """The default codec against the three targets on one input (both layouts where they differ)."""
    figures = measured["candidates"].get(candidate)
    reference = measured["candidates"].get(REFERENCE)
    if figures is None or reference is None:
        return {"candidate": candidate, "input": measured["name"], "available": False}
    jpeg_bpf = reference["samples"]["bytes_per_frame"]
    jpeg_cold = reference["samples"]["loader"]["loader"]["cold"]
    out: dict[str, Any] = {"candidate": candidate, "input": measured["name"], "available": True}
    for layout in ("recordings", "samples"):
        ratio = figures[layout]["bytes_per_frame"] / jpeg_bpf
        out[f"bytes_ratio_{layout}"] = {
            "value": ratio,
            "target": f"<= {TARGET_BYTES_RATIO}",
            "ok": ratio <= TARGET_BYTES_RATIO,
        }
        psnr = figures[layout]["psnr_db"]
        out[f"psnr_db_{layout}"] = {"value": psnr, "target": f">= {TARGET_PSNR_DB}", "ok": psnr >= TARGET_PSNR_DB}
    # Per wall second (what a user waits for, disturbed by other work on a shared machine) and per
    # CPU second of this process (one core's worth of work, whatever else runs; no I/O waits in it).
    for reader, loader in figures["samples"]["loader"].items():
        if reader not in TARGET_READERS:
            continue
        for suffix, key in (("", "clips_per_s"), ("_cpu", "clips_per_cpu_s")):
            ratio = loader["cold"][key] / jpeg_cold[key]
            out[f"loader_ratio_cold{suffix}_{reader}"] = {
                "value": ratio,
                "target": f">= {TARGET_LOADER_RATIO}",
                "ok": ratio >= TARGET_LOADER_RATIO,
            }
    out["all_ok"] = all(v["ok"] for v in out.values() if isinstance(v, dict))
    return out
