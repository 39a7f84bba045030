"""Fixtures of the fault tests: the small generated raw root and a clean run of it.

The raw root (two recordings, two cinema views and the phone at 96x54, one repetition) and its
clean in-process run are made once per test worker and shared read-only; every test damages a
copy (flexsync.bench.faults builds the copies).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from flexsync.bench.faults import FAULT_SETTINGS, GOOD_KEY, SOURCE_KEY, generate_base
from flexsync.pipelines.runner import run_recordings


@dataclass(frozen=True)
class FaultBase:
    """The generated raw root, and a clean run of it into ``store`` (how long that took, in-process)."""

    raw: Path
    store: Path
    seconds: float


@pytest.fixture(scope="session")
def fault_base(tmp_path_factory) -> FaultBase:
    base = tmp_path_factory.mktemp("fault_base")
    raw, store = base / "raw", base / "store"
    assert generate_base(raw, base / "truth") == [SOURCE_KEY, GOOD_KEY]
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        runs = run_recordings(raw, store, instance=instance, settings=FAULT_SETTINGS)
        seconds = time.perf_counter() - started
    assert [(run.key, run.success, run.failures) for run in runs] == [(SOURCE_KEY, True, []), (GOOD_KEY, True, [])]
    return FaultBase(raw=raw, store=store, seconds=seconds)


@pytest.fixture(autouse=True)
def _no_persistent_instance(monkeypatch) -> None:
    """Runs made by the code under test use throwaway Dagster instances, never the developer's DAGSTER_HOME."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
