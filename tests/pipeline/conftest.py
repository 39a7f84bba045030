"""Fixtures for the pipeline tests: one store materialised from the generated recordings.

Materialising both recordings takes ~10 s, so the store is built once per test worker and
shared read-only; tests that write make their own store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from pipeline_helpers import BAD, GOOD, copy_raw_tree

from flexsync.pipelines.runner import RecordingRun, run_recordings


@dataclass(frozen=True)
class Materialised:
    """A store produced by ``run_recordings`` over the generated raw root, and the instance it used."""

    raw: Path
    truth: Path
    keys: list[str]
    store: Path
    instance: dg.DagsterInstance
    runs: list[RecordingRun]


@pytest.fixture(scope="session")
def materialised(synth_dataset, tmp_path_factory) -> Iterator[Materialised]:
    """Every asset of both generated recordings, materialised in-process into a fresh store (read-only)."""
    raw, truth, keys = synth_dataset
    store = tmp_path_factory.mktemp("pipeline_store")
    with dg.DagsterInstance.ephemeral() as instance:
        runs = run_recordings(raw, store, instance=instance)
        yield Materialised(raw=raw, truth=truth, keys=list(keys), store=store, instance=instance, runs=runs)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance, disposed after the test (which removes its temporary folder)."""
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture(autouse=True)
def _no_persistent_instance(monkeypatch) -> None:
    """Runs opened by the code under test (run_recordings without an instance, its worker processes)
    must use throwaway instances, never the developer's DAGSTER_HOME."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def raw_copy(synth_dataset, tmp_path) -> Path:
    """A writable copy of the generated raw root, for tests that damage BAD's files."""
    raw, _, keys = synth_dataset
    assert keys == [BAD, GOOD]
    return copy_raw_tree(raw, tmp_path / "raw")
