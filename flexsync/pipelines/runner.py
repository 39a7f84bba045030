"""Materialise every asset for a set of recordings (what `flexsync run` does).

Each recording is its own in-process run, so a broken recording fails alone and the others
go on. ``parallel`` recordings run at once in worker processes (one per core is right on a
2-core machine: a recording's steps are mostly single-threaded). With DAGSTER_HOME set, runs
land in that persistent instance and show up in the UI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from flexsync.assets import ALL_ASSETS
from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.raw.layout import list_complete_recordings

__all__ = ["RecordingRun", "open_instance", "register_recordings", "run_recording", "run_recordings"]

logger = logging.getLogger(__name__)


@dataclass
class RecordingRun:
    """How one recording's run went."""

    key: str
    success: bool
    run_id: str
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def open_instance() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (so the UI sees the runs), else a temporary one."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def register_recordings(instance: dg.DagsterInstance, keys: Iterable[str]) -> list[str]:
    """Add partition keys that the instance does not know yet; return the new ones."""
    known = set(instance.get_dynamic_partitions(recordings_partitions.name))
    new = [key for key in keys if key not in known]
    if new:
        instance.add_dynamic_partitions(recordings_partitions.name, new)
    return new


def _summarise(key: str, result: dg.ExecuteInProcessResult) -> RecordingRun:
    run = RecordingRun(key=key, success=result.success, run_id=result.run_id)
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            run.failures.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
                run.failed_checks.append(f"{name}: {evaluation.description or ''}")
        elif event.is_step_skipped:
            run.warnings.append(f"{event.step_key} skipped (an upstream step or blocking check failed)")
    return run


def run_recording(key: str, instance: dg.DagsterInstance, flexsync: FlexsyncResource) -> RecordingRun:
    """Materialise every asset of one recording in-process and summarise the run."""
    register_recordings(instance, [key])
    result = dg.materialize(
        ALL_ASSETS,
        partition_key=key,
        instance=instance,
        resources={"flexsync": flexsync},
        raise_on_error=False,
        tags={"flexsync/recording": key},
    )
    run = _summarise(key, result)
    if not run.success:
        logger.warning("recording %s failed: %s", key, "; ".join(run.failures) or "see the run's logs")
    return run


def _run_in_worker(args: tuple[str, str, str]) -> RecordingRun:
    key, raw_root, store_root = args
    logging.getLogger("dagster").setLevel(logging.WARNING)
    return run_recording(key, open_instance(), FlexsyncResource(raw_root=raw_root, store_root=store_root))


def run_recordings(
    raw_root: Path | str,
    store_root: Path | str,
    *,
    keys: Sequence[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[Iterable[RecordingRun], int], Iterable[RecordingRun]] | None = None,
    parallel: int = 1,
) -> list[RecordingRun]:
    """Materialise all assets for ``keys`` (default: every complete recording), one run each.

    With ``parallel`` > 1 recordings run in worker processes, each opening the instance of
    DAGSTER_HOME (or a throwaway one when it is unset); results come back in key order.
    """
    selected = list(keys) if keys is not None else list_complete_recordings(raw_root)
    if parallel > 1 and len(selected) > 1:
        if instance is not None:
            raise ValueError("parallel runs open the instance in each worker: pass instance=None")
        jobs = [(key, str(raw_root), str(store_root)) for key in selected]
        with ProcessPoolExecutor(max_workers=parallel) as pool:
            done = pool.map(_run_in_worker, jobs)
            return list(progress(done, len(jobs)) if progress else done)
    instance = instance or open_instance()
    flexsync = FlexsyncResource(raw_root=str(raw_root), store_root=str(store_root))
    done = (run_recording(key, instance, flexsync) for key in selected)
    return list(progress(done, len(selected)) if progress else done)
