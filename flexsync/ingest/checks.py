"""The registry of data checks: name, importance and what each one promises.

"error" checks block downstream assets (data would be wrong); "warn" checks are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexsync.quality import CheckOutcome, Severity

__all__ = ["CLOCK_CHECKS", "KEYPOINTS_IN_IMAGE", "RECORDING_CHECKS", "STREAM_CHECKS", "CheckDef", "outcome"]


@dataclass(frozen=True)
class CheckDef:
    name: str
    severity: Severity
    description: str


TIMESTAMPS = CheckDef(
    "timestamps_increasing", "error", "Device timestamps are strictly increasing (per clock segment)."
)
SYNC_EVENTS = CheckDef("sync_events_found", "warn", "Both sync events (start and end) were detected in the stream.")

STREAM_CHECKS: dict[str, tuple[CheckDef, ...]] = {
    "video": (
        TIMESTAMPS,
        CheckDef("dropped_frames", "warn", "Dropped frames (from PTS gaps) stay under 1% of the frames."),
        SYNC_EVENTS,
    ),
    "mocap": (
        TIMESTAMPS,
        CheckDef("occlusion_gaps", "warn", "Less than 20% of joint samples are occluded."),
        SYNC_EVENTS,
    ),
    "emg": (
        TIMESTAMPS,
        CheckDef("channel_quality", "warn", "No EMG channel is flat, saturated or powerline-dominated."),
        SYNC_EVENTS,
    ),
    "physio": (TIMESTAMPS, SYNC_EVENTS),
}

CLOCK_CHECKS: tuple[CheckDef, ...] = (
    CheckDef(
        "clock_residuals",
        "error",
        "Every stream's clock fit residual is under the configured threshold for its kind; a video that missed a "
        "flash passes on a motion cross-correlation fit under max_fallback_residual_s with confidence >= "
        "min_fallback_confidence, or on one event whose offset the motion fit confirmed. Names the fallback streams.",
    ),
    CheckDef("clock_models_table", "error", "The clock_models and sync_events tables match their schemas."),
    CheckDef(
        "clock_pulse_fit",
        "error",
        "Every stream placed by a sync pulse train: the RMS of its fitted pulses' residuals is under "
        "max_pulse_rms_s for its kind, at least min_pulse_match_fraction of its pulses were matched and fitted, "
        "every clock segment was placed by pulses of its own (none carried over) and no one-period ambiguity was left "
        "unsettled. Event uncertainty is reported beside the residuals, not mixed into them.",
    ),
)

KEYPOINTS_IN_IMAGE = CheckDef(
    "keypoints_in_image",
    "warn",
    "Valid mocap joints reprojected into every calibrated view land inside its image: at most 20% of them outside "
    "per view (more means a gross miscalibration, another lab frame or a wrong clock). Names the outlier frames.",
)

RECORDING_CHECKS: tuple[CheckDef, ...] = (
    CheckDef("zarr_layout", "error", "The published Zarr group conforms to the layout contract."),
    CheckDef("tables_schema", "error", "The recording's Parquet tables match their schemas."),
    KEYPOINTS_IN_IMAGE,
)


def outcome(check: CheckDef, passed: bool, description: str, **metadata: object) -> CheckOutcome:
    return CheckOutcome(
        name=check.name, passed=passed, severity=check.severity, description=description, metadata=dict(metadata)
    )
