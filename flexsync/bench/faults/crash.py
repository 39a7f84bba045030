"""Kills of `flexsync run` and what a reader finds after each: the crash test and concurrent runs."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flexsync.bench.faults.readback import hidden_paths, store_digests, store_problems
from flexsync.bench.faults.subprocesses import CliRun, cli_environment, cli_run_command, run_cli
from flexsync.storage.store import WORK_DIR, Store

MAX_ATTEMPTS = 5  # runs started for one kill when reruns keep finishing before their delay


@dataclass
class KillRecord:
    """One SIGKILLed run: when (after its first write), what it had published, what it left in ``.work/``,
    what a reader found wrong."""

    delay_s: float
    killed: bool
    attempts: int  # runs started for this kill (a run that finished before its delay is retried)
    returncode: int
    published: list[str]
    debris: int
    problems: list[str]


@dataclass
class CrashResult:
    """The crash test: the clean run, every kill, the final rerun and its comparison with the clean store."""

    clean_seconds: float
    window_s: tuple[float, float]  # the clean run's first write and end, s from its start
    kills: list[KillRecord]
    final_returncode: int
    final_work_left: list[str]
    final_identical: bool
    final_differences: list[str]
    final_stderr: str

    @property
    def recordings_lost(self) -> int:
        """Kills after which a published recording did not read back complete and consistent."""
        return sum(1 for kill in self.kills if kill.problems)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recordings_lost": self.recordings_lost}


def clean_run(raw_root: Path, store_root: Path, env: Mapping[str, str]) -> CliRun:
    """A clean CLI run into a fresh ``store_root`` (raises if it fails): the reference and the time window."""
    run = run_cli(cli_run_command(raw_root, store_root), env=env, watch=store_root / WORK_DIR)
    if run.returncode != 0:
        raise RuntimeError(f"the clean run failed ({run.returncode}): {run.stderr[-3000:]}")
    return run


def crash_test(
    raw_root: Path,
    workdir: Path,
    *,
    n_kills: int,
    seed: int = 0,
    reference: CliRun | None = None,
    reference_store: Path | None = None,
    on_kill: Callable[[KillRecord], None] | None = None,
) -> CrashResult:
    """Kill ``flexsync run`` ``n_kills`` times while it (re)writes one store, check the store after each kill,
    then rerun it cleanly and compare it byte for byte with a clean run into a fresh store.

    Each run is killed a seeded random delay after its own first write (``.work/`` probed by
    ``Store.check_writable``, after the imports), uniform over how long the clean run went on writing
    after its first write. A rerun that ends before its delay (the machine got less busy) narrows
    that span to its own and is retried, up to ``MAX_ATTEMPTS`` runs per kill.
    """
    env = cli_environment(workdir / "tmp")
    if reference is None or reference_store is None:
        reference_store = workdir / "clean"
        reference = clean_run(raw_root, reference_store, env)
    if reference.first_write_s is None:
        raise ValueError("the clean run's first write was not timed: run it with watch=<store>/.work")
    writing = reference.seconds - reference.first_write_s
    window = (reference.first_write_s, reference.seconds)
    rng = random.Random(seed)
    store_root = workdir / "store"
    kills = []
    for _ in range(n_kills):
        attempts = 0
        while True:
            attempts += 1
            delay = round(rng.uniform(0.0, writing), 3)
            run = run_cli(
                cli_run_command(raw_root, store_root), env=env, watch=store_root / WORK_DIR, kill_after_write_s=delay
            )
            if run.killed or attempts == MAX_ATTEMPTS:
                break
            if run.first_write_s is not None:
                writing = max(0.05, min(writing, 0.9 * (run.seconds - run.first_write_s)))
        _, debris = hidden_paths(store_root)
        record = KillRecord(
            delay_s=delay,
            killed=run.killed,
            attempts=attempts,
            returncode=run.returncode,
            published=Store(store_root).recordings(),
            debris=len(debris),
            problems=store_problems(store_root),
        )
        kills.append(record)
        if on_kill is not None:
            on_kill(record)
    final = run_cli(cli_run_command(raw_root, store_root), env=env)
    _, left = hidden_paths(store_root)
    clean_digests, digests = store_digests(reference_store), store_digests(store_root)
    differences = sorted({k for k in set(clean_digests) | set(digests) if clean_digests.get(k) != digests.get(k)})
    return CrashResult(
        clean_seconds=reference.seconds,
        window_s=window,
        kills=kills,
        final_returncode=final.returncode,
        final_work_left=[p.name for p in left],
        final_identical=not differences and bool(digests),
        final_differences=differences[:20],
        final_stderr=final.stderr[-3000:] if final.returncode else "",
    )


def concurrent_runs(raw_root: Path, store_root: Path, env: Mapping[str, str], *, n: int = 2) -> list[CliRun]:
    """Start ``n`` ``flexsync run`` on the same store at once; wait for all (in start order)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(run_cli, cli_run_command(raw_root, store_root), env=env) for _ in range(n)]
        return [future.result() for future in futures]
