"""Where the data lives and the knobs of the pipeline, resolved once.

Locations come from explicit arguments first, then the environment
(``FLEXSYNC_RAW_ROOT``, ``FLEXSYNC_TRUTH_ROOT``, ``FLEXSYNC_STORE_ROOT``), then the demo
defaults under the working folder (``data/raw``, ``data/truth``, ``data/store``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_RAW_ROOT",
    "DEFAULT_STORE_ROOT",
    "DEFAULT_TRUTH_ROOT",
    "PipelineSettings",
    "raw_root",
    "store_root",
    "truth_root",
]

DEFAULT_RAW_ROOT = Path("data/raw")
DEFAULT_TRUTH_ROOT = Path("data/truth")
DEFAULT_STORE_ROOT = Path("data/store")


def _resolve(explicit: str | Path | None, env: str, default: Path) -> Path:
    if explicit:
        return Path(explicit)
    value = os.environ.get(env)
    return Path(value) if value else default


def raw_root(explicit: str | Path | None = None) -> Path:
    """The raw dataset root (what recorders write, what the pipeline reads)."""
    return _resolve(explicit, "FLEXSYNC_RAW_ROOT", DEFAULT_RAW_ROOT)


def truth_root(explicit: str | Path | None = None) -> Path:
    """The generator's ground-truth folder (never read by the pipeline)."""
    return _resolve(explicit, "FLEXSYNC_TRUTH_ROOT", DEFAULT_TRUTH_ROOT)


def store_root(explicit: str | Path | None = None) -> Path:
    """The output store root (Zarr recordings, Parquet tables, reports)."""
    return _resolve(explicit, "FLEXSYNC_STORE_ROOT", DEFAULT_STORE_ROOT)


@dataclass(frozen=True)
class PipelineSettings:
    """Processing parameters; they are recorded in every output's provenance.

    Thresholds carry their unit in the name. ``device_latency_s`` (by stream name or kind):
    seconds a stream's data is stamped after its own sync events, e.g. a wireless EMG whose
    sensors lag the base station's trigger input; that stream's data then maps to
    model(t - latency) on the reference clock (the reference's own latency likewise).

    A video stream with fewer than two sync events (a missed flash) is fitted by motion
    cross-correlation against the reference's joint speed; the ``clock_residuals`` check accepts
    such a model when its quality is under ``max_fallback_residual_s`` (s) and its confidence at
    least ``min_fallback_confidence``. With exactly one event, the event's offset is kept when it
    agrees with the motion fit within ``fallback_agreement_s`` (s).
    """

    frame_width: int = 455
    frame_height: int = 256
    frame_chunk: int = 16
    frame_codec: str = "zstd"  # "zstd" or "none"
    frame_zstd_level: int = 1  # level 1 writes ~25% faster than 3 at a similar ratio on frames
    luma_grid: tuple[int, int] = (27, 48)
    grid_rate_hz: float = 60.0
    emg_envelope_rate_hz: float = 100.0
    emg_band_hz: tuple[float, float] = (20.0, 450.0)
    sync_pulse_s: float = 0.1
    max_residual_s: dict[str, float] = field(
        default_factory=lambda: {"video": 0.004, "mocap": 0.001, "emg": 0.001, "physio": 0.05}
    )
    device_latency_s: dict[str, float] = field(default_factory=dict)
    pose_max_gap_s: float = 0.1
    # Motion cross-correlation fallback for a video stream that missed a sync flash.
    max_fallback_residual_s: float = 0.02  # about one frame at 60 fps
    min_fallback_confidence: float = 0.25
    fallback_agreement_s: float = 0.05  # one event + motion: trust the event's offset if they agree this well

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def residual_limit_s(self, kind: str) -> float:
        return float(self.max_residual_s.get(kind, 0.004))
