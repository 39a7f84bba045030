"""Knobs of the synthetic capture generator, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SynthOptions"]


@dataclass(frozen=True)
class SynthOptions:
    """What to generate and how hard to make it.

    The defaults make the demo dataset: a handful of short recordings at a small resolution.
    A FLEX-size layout is ``subjects=38, actions=20`` (use a small ``width``).
    """

    seed: int = 0
    subjects: int = 2
    actions: tuple[str, ...] = ("A01", "A13")
    takes: int = 1
    repetitions: int = 4
    width: int = 480
    height: int = 270
    phone_width: int = 270
    phone_height: int = 480
    cinema_rate_hz: float = 60.0
    phone_rate_hz: float = 30.0
    phone_jitter_s: float = 0.002
    mocap_rate_hz: float = 150.0
    mocap_analog_factor: int = 10
    emg_rate_hz: float = 2000.0
    emg_format: str = "bdf"
    mains_hz: float = 50.0
    sync_pulse_s: float = 0.1
    lead_in_s: float = 2.5
    lead_out_s: float = 2.5
    max_start_spread_s: float = 1.0
    dropped_frames_per_camera: int = 3
    clock_resets: int = 0
    missing_flash_probability: float = 0.0
    cinema_exposure_s: float = 1.0 / 60.0
    phone_exposure_s: float = 1.0 / 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.subjects < 1 or self.subjects > 99:
            problems.append(f"subjects must be 1..99, got {self.subjects}")
        for action in self.actions:
            if len(action) != 3 or not action.startswith("A") or not 1 <= int(action[1:]) <= 20:
                problems.append(f"action {action!r} is not one of A01..A20")
        if self.takes < 1:
            problems.append(f"takes must be >= 1, got {self.takes}")
        if self.repetitions < 1:
            problems.append(f"repetitions must be >= 1, got {self.repetitions}")
        for name in ("width", "height", "phone_width", "phone_height"):
            value = getattr(self, name)
            if value < 32 or value % 2:
                problems.append(f"{name} must be an even number >= 32 (H.264 4:2:0), got {value}")
        if self.emg_format not in ("bdf", "edf"):
            problems.append(f"emg_format must be 'bdf' or 'edf', got {self.emg_format!r}")
        if self.lead_in_s < self.max_start_spread_s + 1.0:
            problems.append(
                f"lead_in_s ({self.lead_in_s}) must exceed max_start_spread_s ({self.max_start_spread_s}) "
                "by at least 1 s so every device is running before the first sync event"
            )
        if not 0.0 <= self.missing_flash_probability <= 1.0:
            problems.append("missing_flash_probability must be in [0, 1]")
        if problems:
            raise ValueError("invalid synth options: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["actions"] = list(self.actions)
        return out
