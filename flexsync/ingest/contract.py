"""The stream contract: what every per-kind ingester is given, what it returns, and its interface.

A leaf module: the kind modules (video, mocap, emg, physio), the registry and the shared
ingest skeleton all import it, and it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.ingest.checks import CheckDef
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.staging import StreamSummary
from flexsync.quality import CheckOutcome
from flexsync.raw.manifest import StreamEntry

__all__ = ["Ingester", "StageOutput", "StreamResult", "StreamSource"]


@dataclass(frozen=True)
class StreamSource:
    """One stream of a recording, located and verified against the manifest, ready to be read."""

    recording: RawRecording
    stream: str
    entry: StreamEntry
    path: Path
    sha256: str
    size: int
    settings: PipelineSettings
    alongside: bool = False  # other streams are ingested at the same time (a video then decodes on one thread)

    @property
    def key(self) -> str:
        return self.recording.key

    @property
    def where(self) -> str:
        """How check descriptions name the stream: ``recording S01_A01_T1, stream cam1``."""
        return f"recording {self.recording.key}, stream {self.stream}"

    def summary(self, **fields: Any) -> StreamSummary:
        """The stream's summary, with the file's identity filled in (see ``StreamSummary.measure``)."""
        return StreamSummary.measure(
            self.entry, stream=self.stream, kind=self.entry.kind, sha256=self.sha256, size=self.size, **fields
        )


@dataclass
class StageOutput:
    """What an ingester wrote into its staging group, and what it found (before the shared checks)."""

    summary: StreamSummary
    t_device: np.ndarray  # the device timestamps as staged, for the shared timestamp check
    metadata: dict[str, Any]
    # The kind's own checks (the shared timestamp and sync-event checks are added by the skeleton).
    checks: list[CheckOutcome] = field(default_factory=list)
    # Why no sync events are expected, when the manifest wires no sync input (trigger_channel null, ...).
    no_sync_reason: str | None = None


@dataclass
class StreamResult:
    """What ingesting one stream tells the orchestrator."""

    stream: str
    kind: str
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Ingester(Protocol):
    """One stream kind: reads its files, writes its staging group, reports what it found.

    ``stage`` writes the staging arrays and attributes into ``group_dir`` (an empty folder that
    becomes the staged stream only if it returns) and must not write anywhere else.
    """

    kind: str
    description: str
    checks: tuple[CheckDef, ...]
    time_noun: str  # "PTS", "sample times", ...: how the timestamp check names the stream's clock
    events_noun: str  # "sync flashes", "sync events"

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput: ...

    def work_estimate(self, source_path: Path) -> float:
        """Relative cost of ingesting the file, for scheduling the biggest first."""
        ...
