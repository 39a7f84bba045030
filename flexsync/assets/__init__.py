"""Dagster assets: one partition per recording; streams, clock models and the aligned recording."""

from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.recording import aligned_recording
from flexsync.assets.streams import STREAM_ASSETS
from flexsync.assets.sync import clock_models

ALL_ASSETS = [*STREAM_ASSETS, clock_models, aligned_recording]

__all__ = ["ALL_ASSETS", "STREAM_ASSETS", "aligned_recording", "clock_models", "recordings_partitions"]
