"""The standard FLEX streams and the one entry point that ingests any of them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexsync.config import PipelineSettings
from flexsync.ingest.recording import RawRecording, naming_errors
from flexsync.quality import CheckOutcome
from flexsync.storage.layout import StoreLayout

__all__ = ["STREAMS", "StreamResult", "StreamSpec", "ingest_stream"]


@dataclass(frozen=True)
class StreamSpec:
    name: str
    kind: str
    description: str


STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        *(
            StreamSpec(f"cam{i}", "video", f"Cinema view {i}: frame PTS, dropped frames, sync flash, resized frames.")
            for i in range(1, 5)
        ),
        StreamSpec("phone", "video", "Phone view (variable frame rate): PTS, drops, sync flash, resized frames."),
        StreamSpec("mocap", "mocap", "Motion capture: 21 joints in metres with gap mask, analog sync pulses."),
        StreamSpec("emg", "emg", "sEMG: raw, cleaned (band-pass + notch) and envelope, channel quality, trigger."),
        StreamSpec("physio", "physio", "Heart and breathing rate with device timestamps and logged sync inputs."),
    )
}


@dataclass
class StreamResult:
    """What an ingest step tells the orchestrator."""

    stream: str
    kind: str
    staging_path: Path | None
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ingest_stream(recording: RawRecording, stream: str, store: StoreLayout, settings: PipelineSettings) -> StreamResult:
    """Read, process and stage one stream of a recording (atomically replacing any earlier staging).

    A stream the manifest does not list is reported as absent and any stale staging is removed.
    """
    from flexsync.ingest import emg, mocap, physio, video

    kind = STREAMS[stream].kind if stream in STREAMS else recording.stream(stream).kind
    target = store.staging_stream(recording.key, stream)
    if not recording.has_stream(stream):
        shutil.rmtree(target, ignore_errors=True)
        return StreamResult(stream, kind, None, {"present": False}, [], [f"stream {stream} not in the manifest"])
    ingest = {
        "video": video.ingest_video,
        "mocap": mocap.ingest_mocap,
        "emg": emg.ingest_emg,
        "physio": physio.ingest_physio,
    }
    with naming_errors(recording, stream):
        return ingest[kind](recording, stream, store, settings)
