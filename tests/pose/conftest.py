"""Fixtures for the 2D pose tests: one generated recording materialised by the Dagster runner.

Only ``S01_A13_T1`` (the action with more motion and occlusion), with lossless stored frames
(``frame_codec="zstd"``) to keep it quick; the instance stays open so tests can read the run's
metadata. Tests treat the store as read-only; those that change inputs work on linked copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from flexsync.pipelines.runner import RecordingRun, run_recordings
from flexsync.storage import Store

KEY = "S01_A13_T1"
SETTINGS = {"frame_codec": "zstd"}


@dataclass(frozen=True)
class PoseStore:
    raw: Path
    truth: Path
    store: Store
    key: str
    instance: dg.DagsterInstance
    run: RecordingRun


@pytest.fixture(scope="session")
def pose_store(synth_dataset, tmp_path_factory) -> Iterator[PoseStore]:
    raw, truth, keys = synth_dataset
    assert KEY in keys
    root = tmp_path_factory.mktemp("pose_store")
    with dg.DagsterInstance.ephemeral() as instance:
        (run,) = run_recordings(raw, root, keys=[KEY], instance=instance, settings=SETTINGS)
        assert run.success, run.failures
        yield PoseStore(raw=raw, truth=truth, store=Store(root), key=KEY, instance=instance, run=run)
