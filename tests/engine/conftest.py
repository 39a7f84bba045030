"""Fixtures for the scale-out tests: a real PostgreSQL cluster, instances on it, an in-process reference store.

The cluster (flexsync.pipelines.pgcluster) is started once per test worker; each test gets its
own database, so runs of one test never show up in another's queries.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from engine_helpers import KEY, POSTGRES_YAML, SETTINGS

from flexsync.pipelines import pgcluster
from flexsync.pipelines.runner import run_recordings


@pytest.fixture(autouse=True)
def _no_persistent_instance(monkeypatch) -> None:
    """Never the developer's DAGSTER_HOME or engine defaults."""
    for name in ("DAGSTER_HOME", "FLEXSYNC_EXECUTION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.PgCluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth), stopped and deleted after the session."""
    with pgcluster.throwaway() as cluster:
        yield cluster


@pytest.fixture
def pg_instance(postgres, tmp_path, monkeypatch, request) -> Callable[[], dg.DagsterInstance]:
    """Open instances from deploy/dagster-postgres.yaml on a fresh database of this test.

    Returns a factory; the DAGSTER_PG_* variables stay set for the test (worker processes it
    starts inherit them and open the same instance from its reference).
    """
    database = postgres.create_database("t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12])
    for name, value in postgres.env(database).items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(POSTGRES_YAML, home / "dagster.yaml")
    opened: list[dg.DagsterInstance] = []

    def open_instance() -> dg.DagsterInstance:
        instance = dg.DagsterInstance.from_config(str(home))
        opened.append(instance)
        return instance

    yield open_instance
    for instance in opened:
        instance.dispose()


@pytest.fixture(scope="session")
def reference_store(synth_dataset, tmp_path_factory) -> Path:
    """KEY ingested in-process on a throwaway instance: the bytes every other engine must reproduce."""
    raw, _, keys = synth_dataset
    assert KEY in keys
    store = tmp_path_factory.mktemp("reference_store")
    with dg.DagsterInstance.ephemeral() as instance:
        (run,) = run_recordings(raw, store, keys=[KEY], instance=instance, settings=SETTINGS)
    assert run.success, run.failures
    return store
