"""One run's figures: :class:`StoreBenchmark`, its JSON and the tables printed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flexsync.bench.store.candidates import DEFAULT_CANDIDATE, REFERENCE
from flexsync.bench.store.targets import (
    TARGET_BYTES_RATIO,
    TARGET_LOADER_RATIO,
    TARGET_PSNR_DB,
    FlexSize,
    check_targets,
    extrapolate,
)
from flexsync.jsonsafe import json_safe

__all__ = ["StoreBenchmark"]


@dataclass
class StoreBenchmark:
    """Figures of one run: per input, per candidate; FLEX-size extrapolation; targets."""

    inputs: list[dict[str, Any]]
    flex_size: FlexSize
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)

    def extrapolation(self) -> dict[str, Any]:
        return {measured["name"]: extrapolate(measured, self.flex_size) for measured in self.inputs}

    def targets(self) -> list[dict[str, Any]]:
        return [check_targets(measured) for measured in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "inputs": self.inputs,
                "flex_size": self.flex_size.to_dict(),
                "extrapolation": self.extrapolation(),
                "default_candidate": DEFAULT_CANDIDATE,
                "reference": REFERENCE,
                "targets": self.targets(),
                "target_values": {
                    "bytes_ratio_max": TARGET_BYTES_RATIO,
                    "psnr_db_min": TARGET_PSNR_DB,
                    "loader_ratio_cold_min": TARGET_LOADER_RATIO,
                },
                "skipped": self.skipped,
                "notes": self.notes,
                "seconds": self.seconds,
                "machine": self.machine,
            }
        )

    def format(self) -> str:
        lines: list[str] = []
        for measured in self.inputs:
            lines += _format_input(measured)
        lines += _format_extrapolation(self.extrapolation(), self.flex_size)
        lines += _format_targets(self.targets())
        lines += [f"skipped: {line}" for line in self.skipped]
        lines += [f"note: {line}" for line in self.notes]
        if self.machine:
            m = self.machine
            lines.append(
                f"machine: {m['cpus']} CPUs, load average {m['load_start']:.1f} at the start, {m['load_end']:.1f} "
                f"at the end (wall-clock figures are disturbed by other work when it exceeds the CPUs); "
                f"{self.seconds:.0f} s"
            )
        return "\n".join(lines)


def _fmt_psnr(value: float) -> str:
    return "  inf" if math.isinf(value) else f"{value:5.1f}"


def _format_input(measured: dict[str, Any]) -> list[str]:
    cands = measured["candidates"]
    jpeg = cands.get(REFERENCE, {}).get("samples", {})
    jpeg_bpf = jpeg.get("bytes_per_frame")
    jpeg_cold = jpeg.get("loader", {}).get("loader", {}).get("cold")
    lines = [
        "",
        f"input {measured['name']}: {measured['source']}; {measured['frames']} frames at {measured['frame_size']}, "
        f"{measured['clips']} clips of {measured['clip_frames']} frames",
        "candidate    layout      B/frame  disk B/f  x flex  PSNR dB  min   SSIM    enc ms/f"
        "  reader    cold clip/s (per CPU s)  warm clip/s  x flex cold (per CPU s)",
    ]
    for name, figures in cands.items():
        for layout in ("recordings", "samples"):
            f = figures[layout]
            ratio = f"{f['bytes_per_frame'] / jpeg_bpf:6.3f}" if jpeg_bpf else "     -"
            head = (
                f"{name:12s} {layout:10s} {f['bytes_per_frame']:8.0f} {f['disk_bytes_per_frame']:9.0f}"
                f"  {ratio}    {_fmt_psnr(f['psnr_db'])}"
                f"  {_fmt_psnr(f['min_frame_psnr_db'])}  {f['ssim']:.4f}  {f['encode_cpu_s_per_frame'] * 1e3:7.2f}"
            )
            if layout == "recordings":
                lines.append(head)
                continue
            for i, (reader, loader) in enumerate(f["loader"].items()):
                cold, warm = loader["cold"], loader["warm"]
                vs = (
                    f"{cold['clips_per_s'] / jpeg_cold['clips_per_s']:11.2f} "
                    f"({cold['clips_per_cpu_s'] / jpeg_cold['clips_per_cpu_s']:9.2f})"
                    if jpeg_cold
                    else "          -"
                )
                tail = (
                    f"  {reader:8s} {cold['clips_per_s']:11.1f} ({cold['clips_per_cpu_s']:10.1f})"
                    f"  {warm['clips_per_s']:11.1f}  {vs}"
                )
                lines.append((head if i == 0 else " " * len(head)) + tail)
    return lines


def _format_extrapolation(extrapolation: dict[str, Any], size: FlexSize) -> list[str]:
    lines = [
        "",
        f"at FLEX size: {size.recording_frames:,} recording frames ({size.video_hours:g} h over {size.views} views at "
        f"{size.rate_hz:g} fps, assumed for every view), {size.sample_frames:,} sample frames "
        f"({size.samples:,} x {size.views} x {size.clip_frames})",
        "input               candidate          recordings GB  samples GB   total GB",
    ]
    for input_name, rows in extrapolation.items():
        for name, row in rows.items():
            recordings = row.get("recordings_bytes")
            rec = f"{recordings / 1e9:13.1f}" if recordings is not None else "            -"
            lines.append(
                f"{input_name:19s} {name:17s} {rec} {row['samples_bytes'] / 1e9:11.1f} {row['total_bytes'] / 1e9:10.1f}"
            )
    return lines


def _format_targets(targets: list[dict[str, Any]]) -> list[str]:
    lines = ["", f"targets for {DEFAULT_CANDIDATE} against {REFERENCE} (the realistic input is the one that counts):"]
    for target in targets:
        if not target["available"]:
            lines.append(f"  {target['input']}: not measured ({DEFAULT_CANDIDATE} or {REFERENCE} missing)")
            continue
        parts = [
            f"{name} {_fmt_value(v['value'])} ({v['target']}: {'ok' if v['ok'] else 'MISSED'})"
            for name, v in target.items()
            if isinstance(v, dict)
        ]
        lines.append(f"  {target['input']}: " + "; ".join(parts))
    return lines


def _fmt_value(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"
