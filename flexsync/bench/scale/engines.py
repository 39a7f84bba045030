"""The engine the backfill's runs execute on, as the code location's environment chooses it.

Daemon-launched runs come without run config, so the executor is FLEXSYNC_EXECUTION
(flexsync.pipelines.executors). ``celery`` also needs a broker and workers: a Redis server on a
free port of 127.0.0.1 with nothing on disk, and ``workers`` solo Celery workers (one step at a
time each), as tests/engine and docs/deploy.md run them.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flexsync.bench.scale.processes import Background, free_port, wait_for_port
from flexsync.pipelines.executors import EXECUTION_ENV

__all__ = ["Engine", "start_engine"]

BIN = Path(sys.executable).parent


@dataclass
class Engine:
    """The variables that choose the executor, and the processes that serve it (Celery workers)."""

    name: str
    env: dict[str, str]
    workers: list[Background] = field(default_factory=list)

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def check_running(self) -> None:
        for worker in self.workers:
            worker.check_running()


@contextmanager
def start_engine(name: str, n_workers: int, env: dict[str, str], folder: Path) -> Iterator[Engine]:
    """The executor ``name`` for runs started with ``env``; Celery's broker and workers run until exit."""
    if name != "celery":
        yield Engine(name, {EXECUTION_ENV: json.dumps({name: {}})})
        return
    from flexsync.pipelines.celery_app import BROKER_ENV

    redis = shutil.which("redis-server")
    if redis is None:
        raise FileNotFoundError("the celery engine needs redis-server (Debian's redis-server package) on PATH")
    with ExitStack() as stack:
        port = free_port()
        broker = Background(
            [redis, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
            env=env,
            cwd=folder,
            log=folder / "redis.log",
        )
        stack.callback(broker.stop)
        wait_for_port(port, broker, 20.0)
        url = f"redis://127.0.0.1:{port}/0"
        worker_env = {**env, BROKER_ENV: url}
        workers = []
        for index in range(n_workers):
            command = [str(BIN / "celery"), "-A", "flexsync.pipelines.celery_app", "worker", "-Q", "dagster"]
            command += ["--pool", "solo", "-n", f"scale{index}@%h", "--loglevel", "WARNING", "--without-heartbeat"]
            worker = Background(command, env=worker_env, cwd=folder, log=folder / f"celery{index}.log")
            stack.callback(worker.stop)
            workers.append(worker)
        execution = {"celery": {"broker": url, "backend": url}}
        yield Engine(name, {EXECUTION_ENV: json.dumps(execution), BROKER_ENV: url}, workers)
