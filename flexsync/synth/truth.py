"""Ground truth of one synthetic recording (truth.json), and the clock models the pipeline should find.

The generator knows every device clock against its own true time axis; the pipeline only sees
device times and fits each stream against the reference stream's clock. ``expected_model`` composes
the two so tests can compare the pipeline's fit with the truth. Layout: docs/raw-format.md,
"truth.json". The pipeline never reads this file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.synth.clocks import ClockSegment, DeviceClock

__all__ = ["TRUTH_FORMAT_VERSION", "RecordingTruth", "StreamTruth", "expected_model"]

logger = logging.getLogger(__name__)

TRUTH_FORMAT_VERSION = 1


@dataclass(frozen=True)
class StreamTruth:
    """What the generator did to one stream: its clock, dropped frames, where it saw the sync events.

    ``dropped_frames`` are indices into the nominal (undropped) frame sequence;
    ``event_device_times_s`` the sync event onsets on the stream's device clock (s);
    ``exposure_s`` the camera exposure (s), None for non-video streams.
    """

    segments: tuple[ClockSegment, ...]
    dropped_frames: tuple[int, ...] = ()
    event_device_times_s: tuple[float, ...] = ()
    exposure_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clock(self) -> DeviceClock:
        return DeviceClock(tuple(self.segments))

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": [
                {"device_start_s": float(s.device_start_s), "offset_s": float(s.offset_s), "drift": float(s.drift)}
                for s in self.segments
            ],
            "dropped_frames": [int(i) for i in self.dropped_frames],
            "event_device_times_s": [float(t) for t in self.event_device_times_s],
            "exposure_s": None if self.exposure_s is None else float(self.exposure_s),
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamTruth:
        return cls(
            segments=tuple(
                ClockSegment(float(s["device_start_s"]), float(s["offset_s"]), float(s["drift"]))
                for s in data["segments"]
            ),
            dropped_frames=tuple(int(i) for i in data.get("dropped_frames", ())),
            event_device_times_s=tuple(float(t) for t in data.get("event_device_times_s", ())),
            exposure_s=None if data.get("exposure_s") is None else float(data["exposure_s"]),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class RecordingTruth:
    """Everything the generator knows about one recording. ``repetitions`` are plain dicts
    (``index``, ``start_true_s``, ``end_true_s``, ``phases``, ...) as docs/raw-format.md shows.

    ``sync_source``: what the sync box sent (``SynthOptions.sync_source``). With a train,
    ``sync_events_true_s`` holds every pulse's onset, ``sync_pulse_widths_s`` their widths and
    ``sync_markers`` the indices of the pulse train's start/end markers; a stream's
    ``extra["seen_pulses"]`` lists the pulses that reached it. These three fields are written only
    for a train, so a flash-pair truth.json keeps its bytes.
    """

    recording: str
    sync_events_true_s: tuple[float, ...]
    sync_pulse_s: float
    streams: dict[str, StreamTruth]
    repetitions: tuple[dict[str, Any], ...] = ()
    seed: int | None = None
    sync_source: str = "flashes"
    sync_pulse_widths_s: tuple[float, ...] = ()
    sync_markers: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": TRUTH_FORMAT_VERSION,
            "recording": self.recording,
            "seed": self.seed,
            "sync_events_true_s": [float(t) for t in self.sync_events_true_s],
            "sync_pulse_s": float(self.sync_pulse_s),
        }
        if self.sync_source != "flashes":
            out["sync_source"] = self.sync_source
            out["sync_pulse_widths_s"] = [float(w) for w in self.sync_pulse_widths_s]
            out["sync_markers"] = [int(i) for i in self.sync_markers]
        out["streams"] = {name: stream.to_dict() for name, stream in self.streams.items()}
        out["repetitions"] = [dict(r) for r in self.repetitions]
        return out

    def to_json(self) -> str:
        """Indented JSON; floats in shortest round-trip form, so ``read`` gives back equal values."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_json_default) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordingTruth:
        version = data.get("format_version", TRUTH_FORMAT_VERSION)
        if version != TRUTH_FORMAT_VERSION:
            raise ValueError(f"truth for {data.get('recording')}: format_version {version} is not supported")
        return cls(
            recording=str(data["recording"]),
            seed=None if data.get("seed") is None else int(data["seed"]),
            sync_events_true_s=tuple(float(t) for t in data["sync_events_true_s"]),
            sync_pulse_s=float(data["sync_pulse_s"]),
            streams={name: StreamTruth.from_dict(s) for name, s in data["streams"].items()},
            repetitions=tuple(dict(r) for r in data.get("repetitions", ())),
            sync_source=str(data.get("sync_source", "flashes")),
            sync_pulse_widths_s=tuple(float(w) for w in data.get("sync_pulse_widths_s", ())),
            sync_markers=tuple(int(i) for i in data.get("sync_markers", ())),
        )

    def write(self, path: Path | str) -> None:
        """Write truth.json through a temporary file and a rename."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(self.to_json(), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def read(cls, path: Path | str) -> RecordingTruth:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a valid truth.json ({type(exc).__name__}: {exc})") from exc

    def stream(self, name: str) -> StreamTruth:
        try:
            return self.streams[name]
        except KeyError:
            raise KeyError(
                f"truth for {self.recording}: no stream {name!r}; streams are {', '.join(self.streams)}"
            ) from None


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in ``extra`` or repetitions become plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"truth.json cannot hold a {type(value).__name__}: {value!r}")


def expected_model(truth: RecordingTruth, stream: str, reference: str) -> list[tuple[float, float, float]]:
    """The clock model mapping ``stream`` device time to ``reference`` device time, per segment.

    With ``t_true = o_s + (1 + d_s) t_s`` for the stream and ``t_true = o_r + (1 + d_r) t_r`` for a
    reference without resets, ``t_r = (o_s - o_r) / (1 + d_r) + (1 + d_s) / (1 + d_r) t_s``, so each
    stream segment gives ``(device_start_s, (o_s - o_r) / (1 + d_r), (d_s - d_r) / (1 + d_r))`` in the
    form ``t_ref = offset_s + (1 + drift) * t_dev``. Exact (both maps are linear).

    Raises NotImplementedError when the reference clock has resets: the composition would then split
    stream segments at the reference's reset times, which no caller needs yet.
    """
    ref = truth.stream(reference)
    src = truth.stream(stream)
    if len(ref.segments) != 1:
        raise NotImplementedError(
            f"truth for {truth.recording}: reference stream {reference!r} has {len(ref.segments)} clock segments "
            "(clock resets); expected_model supports a reference with one segment only"
        )
    r = ref.segments[0]
    scale = 1.0 + r.drift
    return [(s.device_start_s, (s.offset_s - r.offset_s) / scale, (s.drift - r.drift) / scale) for s in src.segments]
