"""The one resource every asset uses: where the data is and how to process it."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from flexsync import config
from flexsync.config import PipelineSettings
from flexsync.ingest.recording import RawRecording
from flexsync.storage.layout import StoreLayout

__all__ = ["FlexsyncResource"]


class FlexsyncResource(dg.ConfigurableResource):
    """Raw root, store root and the processing settings (recorded in provenance)."""

    raw_root: str
    store_root: str
    frame_width: int = 455
    frame_height: int = 256
    frame_codec: str = "zstd"
    grid_rate_hz: float = 60.0
    max_video_residual_s: float = 0.004
    max_signal_residual_s: float = 0.001
    max_fallback_residual_s: float = 0.02
    min_fallback_confidence: float = 0.25
    # Known fixed delays (s) by stream name or kind, e.g. {"emg": 0.048} for a wireless EMG whose
    # samples are stamped after its trigger input: that stream's data maps to model(t - latency).
    device_latency_s: dict[str, float] = Field(default_factory=dict)
    # Streams of one recording ingested at once (0: one per core). Execution only: not provenance.
    stream_workers: int = 0

    @classmethod
    def from_environment(cls) -> FlexsyncResource:
        return cls(raw_root=str(config.raw_root()), store_root=str(config.store_root()))

    def settings(self) -> PipelineSettings:
        defaults = PipelineSettings()
        residuals = dict(defaults.max_residual_s)
        residuals.update(
            video=self.max_video_residual_s, mocap=self.max_signal_residual_s, emg=self.max_signal_residual_s
        )
        return PipelineSettings(
            frame_width=self.frame_width,
            frame_height=self.frame_height,
            frame_codec=self.frame_codec,
            grid_rate_hz=self.grid_rate_hz,
            max_residual_s=residuals,
            max_fallback_residual_s=self.max_fallback_residual_s,
            min_fallback_confidence=self.min_fallback_confidence,
            device_latency_s=dict(self.device_latency_s),
        )

    def store(self) -> StoreLayout:
        return StoreLayout(self.store_root)

    def recording(self, key: str) -> RawRecording:
        return RawRecording.open(self.raw_root, key)
