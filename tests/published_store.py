"""One generated recording published by the pipeline with H.264 frames, once per test worker.

Shared read-only by the tests that read a published recording with other tools (xarray, DuckDB,
Rerun). The first caller in a worker process materialises it; later callers get the same store.
Frames are H.264 (the default codec, not the suite's zstd) because what these readers must cope
with is the store as deployed: its frames through the ``flexsync.h264`` codec.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flexsync.pipelines.runner import run_recordings

__all__ = ["published_store"]

SETTINGS = {"frame_codec": "h264"}
_BUILT: dict[Path, tuple[Path, str]] = {}


def published_store(synth_dataset: tuple[Path, Path, list[str]], factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(store root, key) of the first generated recording, materialised with every asset."""
    raw, _, keys = synth_dataset
    if raw not in _BUILT:
        key = keys[0]
        store = factory.mktemp("published_store")
        with dg.DagsterInstance.ephemeral() as instance:
            runs = run_recordings(raw, store, keys=[key], instance=instance, settings=SETTINGS)
        assert [(run.key, run.success, run.failures) for run in runs] == [(key, True, [])]
        _BUILT[raw] = (store, key)
    return _BUILT[raw]
