"""What one ``flexsync bench scale`` run measures, checked before any work starts."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["CODE_SERVERS", "ENGINES", "STORAGES", "ScaleOptions"]

# Executors a backfill run may use (flexsync.pipelines.executors); k8s needs a cluster.
ENGINES = ("in_process", "multiprocess", "celery")
# The instance's storage: PostgreSQL (a throwaway cluster, flexsync.pipelines.pgcluster) or SQLite
# files in DAGSTER_HOME; "auto" takes PostgreSQL when its programs and dagster-postgres are installed.
STORAGES = ("auto", "postgres", "sqlite")
# Who runs the code location's gRPC server: "standalone" (`dagster api grpc`, as deployed: the
# daemon and webserver connect to it) or "daemon" (`dagster-daemon run -m`, which starts its own
# and replaces it with a fresh one, loading the code again, every 60 s).
CODE_SERVERS = ("standalone", "daemon")


@dataclass(frozen=True)
class ScaleOptions:
    """Sizes, engine and parts of one run.

    Parameters
    ----------
    recordings : int
        Partitions registered through the sensor: the first N recordings of the flex-size layout.
    backfill : int or None
        Registered partitions backfilled through the instance (the first N keys); None: all of them.
        Fewer than ``recordings`` makes the throughput figures a sample (the report says so).
    direct : int or None
        Backfilled recordings also run directly (domain functions, one process per worker, no
        Dagster); None: min(backfill, 40).
    engine : str
        The backfill runs' executor (``ENGINES``).
    workers : int
        Runs at once (the run queue's limit and the decode pool), Celery workers, and direct processes.
    storage : str
        The instance's storage (``STORAGES``).
    code_server : str
        Who runs the code location's server (``CODE_SERVERS``).
    look : str
        Frame look of generated recordings (flexsync.synth.options.LOOKS).
    reuse_raw : Path or None
        A raw root generated earlier (``flexsync synth --preset flex-size``); None: generate one.
    probe_size : tuple of int or None
        Cinema size (width, height) of the one recording whose decode cost per source pixel is
        scaled to full-size FLEX; None: the benchmark's own recordings are used (an upper bound).
    ui : bool
        Start dagster-webserver on the instance and time the partitioned assets' pages.
    """

    recordings: int = 760
    backfill: int | None = None
    direct: int | None = None
    engine: str = "in_process"
    workers: int = 0
    storage: str = "auto"
    code_server: str = "standalone"
    look: str = "realistic"
    seed: int = 0
    reuse_raw: Path | None = None
    probe_size: tuple[int, int] | None = (1920, 1080)
    ui: bool = True
    workdir: Path | None = None
    keep: bool = False
    timeout_s: float = 3600.0

    def __post_init__(self) -> None:
        from flexsync.synth.options import LOOKS

        problems = []
        if self.recordings < 1:
            problems.append(f"recordings must be >= 1, got {self.recordings}")
        if self.backfill is not None and not 1 <= self.backfill <= self.recordings:
            problems.append(f"backfill must be in 1..recordings ({self.recordings}), got {self.backfill}")
        if self.direct is not None and not 0 <= self.direct <= self.n_backfill:
            problems.append(f"direct must be in 0..backfill ({self.n_backfill}), got {self.direct}")
        if self.engine not in ENGINES:
            problems.append(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.storage not in STORAGES:
            problems.append(f"storage must be one of {', '.join(STORAGES)}, got {self.storage!r}")
        if self.code_server not in CODE_SERVERS:
            problems.append(f"code_server must be one of {', '.join(CODE_SERVERS)}, got {self.code_server!r}")
        if self.look not in LOOKS:
            problems.append(f"look must be one of {', '.join(LOOKS)}, got {self.look!r}")
        if self.workers < 0:
            problems.append(f"workers must be >= 0 (0: one per core), got {self.workers}")
        if self.probe_size is not None and any(v < 32 or v % 2 for v in self.probe_size):
            problems.append(f"probe size must be even and >= 32 in both dimensions, got {self.probe_size}")
        if self.reuse_raw is not None and not (Path(self.reuse_raw) / "recordings").is_dir():
            problems.append(f"reuse_raw {self.reuse_raw} holds no recordings/ folder (flexsync synth writes one)")
        if problems:
            raise ValueError("invalid scale benchmark options: " + "; ".join(problems))

    @property
    def n_backfill(self) -> int:
        return self.recordings if self.backfill is None else self.backfill

    @property
    def n_direct(self) -> int:
        return min(self.n_backfill, 40) if self.direct is None else self.direct

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(backfill=self.n_backfill, direct=self.n_direct, workers=self.n_workers)
        out["reuse_raw"] = str(self.reuse_raw) if self.reuse_raw else None
        out["workdir"] = str(self.workdir) if self.workdir else None
        out["probe_size"] = list(self.probe_size) if self.probe_size else None
        return out
