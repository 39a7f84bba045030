"""The persistent Dagster instance the scale benchmark works on: a fresh DAGSTER_HOME, PostgreSQL or SQLite.

Its dagster.yaml is deploy/dagster-postgres.yaml's (or, for SQLite, the repo dagster.yaml's) with
the sizes of this run: ``workers`` runs at once, ``workers`` slots in every pool, the run queue
polled every second (deploy: 2 s). PostgreSQL is a throwaway cluster in the work folder
(flexsync.pipelines.pgcluster: 127.0.0.1, trust authentication, fsync off), so the connection
settings are plain values: every process that opens the instance (daemon, run and step workers,
Celery workers, webserver) needs DAGSTER_HOME only.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

__all__ = ["InstanceHome", "instance_config", "instance_home", "resolve_storage"]

DEQUEUE_INTERVAL_S = 1


@dataclass(frozen=True)
class InstanceHome:
    """DAGSTER_HOME of the benchmark and what its storage is."""

    home: Path
    storage: str  # "postgres" or "sqlite"
    detail: str
    server_pids: tuple[int, ...] = ()  # the storage's server (PostgreSQL's postmaster), to sample its CPU

    def open(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    @property
    def env(self) -> dict[str, str]:
        return {"DAGSTER_HOME": str(self.home)}


def resolve_storage(storage: str) -> str:
    """``auto`` becomes postgres when initdb/pg_ctl and dagster-postgres are installed, else sqlite."""
    if storage != "auto":
        return storage
    from flexsync.pipelines import pgcluster

    try:
        pgcluster.find_bin_dir()
    except FileNotFoundError:
        return "sqlite"
    return "postgres" if importlib.util.find_spec("dagster_postgres") else "sqlite"


def instance_config(workers: int, postgres: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dagster.yaml mapping: storage (PostgreSQL connection, or SQLite by default), queue, pools."""
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if postgres is not None:
        config["storage"] = {"postgres": {"postgres_db": {**postgres, "scheme": "postgresql+psycopg2"}}}
    config["run_coordinator"] = {
        "module": "dagster.core.run_coordinator",
        "class": "QueuedRunCoordinator",
        # The default launcher's launch blocks until the new run process has loaded the code (~4 s):
        # launched one at a time, two slots freed together start seconds apart. Threads launch them at once.
        "config": {
            "dequeue_interval_seconds": DEQUEUE_INTERVAL_S,
            "dequeue_use_threads": True,
            "dequeue_num_workers": workers,
        },
    }
    config["concurrency"] = {
        "runs": {"max_concurrent_runs": workers},
        "pools": {"granularity": "op", "default_limit": workers},
    }
    config["run_monitoring"] = {"enabled": True, "poll_interval_seconds": 30}
    return config


@contextmanager
def instance_home(workdir: Path, storage: str, workers: int) -> Iterator[InstanceHome]:
    """A fresh DAGSTER_HOME under ``workdir`` on ``storage``; a PostgreSQL cluster is stopped afterwards."""
    kind = resolve_storage(storage)
    home = workdir / "dagster_home"
    home.mkdir(parents=True)
    if kind == "sqlite":
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(workers)), encoding="utf-8")
        yield InstanceHome(home, "sqlite", f"SQLite files in {home}")
        return
    from flexsync.pipelines import pgcluster

    # PostgreSQL runs as the postgres system user under root: it must traverse the work folder.
    os.chmod(workdir, 0o711)
    folder = workdir / "pg"
    cluster = pgcluster.start(folder, fast=True)
    try:
        connection = {
            "hostname": cluster.host,
            "port": cluster.port,
            "username": cluster.user,
            "db_name": cluster.database,
        }
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(workers, connection)), encoding="utf-8")
        yield InstanceHome(
            home,
            "postgres",
            f"PostgreSQL on {cluster.host}:{cluster.port} (throwaway cluster in {folder}, fsync off)",
            tuple(pid for pid in [cluster.server_pid()] if pid is not None),
        )
    finally:
        pgcluster.stop(folder)
