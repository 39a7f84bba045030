"""Dagster assets: one partition per recording for streams, clocks, alignment and samples;
dataset-wide training products (index, splits, export, QA) on top of all recordings."""

from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.recording import aligned_recording
from flexsync.assets.streams import recording_streams
from flexsync.assets.sync import clock_models
from flexsync.assets.training import (
    DATASET_ASSETS,
    repetition_samples,
)

RECORDING_ASSETS = [recording_streams, clock_models, aligned_recording, repetition_samples]
ALL_ASSETS = [*RECORDING_ASSETS, *DATASET_ASSETS]

__all__ = [
    "ALL_ASSETS",
    "DATASET_ASSETS",
    "RECORDING_ASSETS",
    "aligned_recording",
    "clock_models",
    "recording_streams",
    "recordings_partitions",
]
