"""Materialise every asset for a set of recordings (what `flexsync run` does).

Each recording is its own run of the named ``ingest_recordings`` job (the job the sensor runs and
the UI lists), so a broken recording fails alone and the others go on. Runs are in-process unless
``execution`` names another executor of the job (flexsync.pipelines.executors: multiprocess,
celery), which needs a persistent instance. ``parallel`` recordings run at once in worker
processes (one per core is right on a 2-core machine: a recording's steps are mostly
single-threaded). With DAGSTER_HOME set, runs land in that persistent instance and show up in the UI.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from flexsync import config
from flexsync.assets import ALL_ASSETS
from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.jobs import INGEST_JOB, PRODUCTS_JOB, build_training_products_job, ingest_recordings_job
from flexsync.raw.layout import scan_recordings

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo

__all__ = [
    "RecordingRun",
    "build_training_products",
    "open_instance",
    "register_recordings",
    "run_recording",
    "run_recordings",
]

logger = logging.getLogger(__name__)

# Every event is stored in the instance, where the UI shows it. The terminal gets only the run
# summary (one line per failure) unless FLEXSYNC_RUN_LOGS=warnings (`flexsync -v`), which also
# streams Dagster's warnings and errors, stack traces included.
RUN_LOGS_ENV = "FLEXSYNC_RUN_LOGS"


def _console_config() -> dict:
    level = "WARNING" if os.environ.get(RUN_LOGS_ENV, "quiet") == "warnings" else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


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


def _user_error_message(error: SerializableErrorInfo) -> str:
    """The message of the error the step's own code raised, not Dagster's wrapper around it.

    Dagster wraps what an asset raises in ``DagsterExecutionStepExecutionError`` ("Error occurred
    while executing op ..."); the message that names the recording, file and problem is its cause.
    """
    while error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip()


def _summarise(key: str, result: dg.ExecuteInProcessResult | dg.ExecuteJobResult) -> RecordingRun:
    run = RecordingRun(key=key, success=result.success, run_id=result.run_id)
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            run.failures.append(f"{event.step_key}: {_user_error_message(event.step_failure_data.error)}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
                run.failed_checks.append(f"{name}: {evaluation.description or ''}")
        elif event.is_step_skipped:
            run.warnings.append(f"{event.step_key} skipped (an upstream step or blocking check failed)")
    if not run.success and not run.failures:  # the run failed outside any step (an executor or its workers)
        errors = [e.event_specific_data.error for e in result.all_events if e.is_run_failure]
        run.failures += [f"run: {_user_error_message(error)}" for error in errors if error is not None]
    return run


def ingest_job() -> dg.JobDefinition:
    """The code location's ``ingest_recordings`` job (what executors outside this process reconstruct)."""
    from flexsync.definitions import defs

    return defs.resolve_job_def(INGEST_JOB)


def products_job() -> dg.JobDefinition:
    """The code location's ``build_training_products`` job."""
    from flexsync.definitions import defs

    return defs.resolve_job_def(PRODUCTS_JOB)


_RECONSTRUCT = {INGEST_JOB: ingest_job, PRODUCTS_JOB: products_job}


def _asset_keys(selection: Sequence) -> list[dg.AssetKey]:
    """Asset keys of a selection given as assets definitions, keys or key strings."""
    keys: list[dg.AssetKey] = []
    for item in selection:
        if isinstance(item, dg.AssetsDefinition):
            keys.extend(item.keys)
        else:
            keys.append(item if isinstance(item, dg.AssetKey) else dg.AssetKey.from_user_string(item))
    return keys


def _run_job(
    name: str,
    instance: dg.DagsterInstance,
    flexsync: FlexsyncResource,
    summarise: Callable[[dg.ExecuteInProcessResult | dg.ExecuteJobResult], RecordingRun],
    *,
    tags: Mapping[str, str],
    partition_key: str | None = None,
    selection: Sequence | None = None,
    execution: Mapping[str, Any] | None = None,
) -> RecordingRun:
    """Run the named job once and summarise its result (in-process when ``execution`` is None)."""
    asset_selection = _asset_keys(selection) if selection is not None else None
    if execution is None:
        job = dg.Definitions(
            assets=ALL_ASSETS,
            jobs=[ingest_recordings_job, build_training_products_job],
            resources={"flexsync": flexsync},
        ).resolve_job_def(name)
        result = job.execute_in_process(
            run_config=_console_config(),
            instance=instance,
            partition_key=partition_key,
            raise_on_error=False,
            asset_selection=asset_selection,
            tags=tags,
        )
        return summarise(result)
    # Out of process: the executor's workers rebuild the job from the code location, so the
    # resource (roots and settings) travels in run config, and the partition as its tag.
    run_config = {
        **_console_config(),
        "resources": {"flexsync": {"config": flexsync.model_dump()}},
        "execution": {"config": dict(execution)},
    }
    partition_tags = {"dagster/partition": partition_key} if partition_key else {}
    with dg.execute_job(
        dg.reconstructable(_RECONSTRUCT[name]),
        instance,
        run_config=run_config,
        tags={**tags, **partition_tags},
        asset_selection=asset_selection,
    ) as result:  # events are read from the instance while the result is open
        return summarise(result)


def run_recording(
    key: str,
    instance: dg.DagsterInstance,
    flexsync: FlexsyncResource,
    *,
    selection: Sequence | None = None,
    execution: Mapping[str, Any] | None = None,
) -> RecordingRun:
    """Run ``ingest_recordings`` for one recording (every asset, or the ``selection`` of them); summarise it.

    ``execution`` is the job's executor config (``{"celery": {...}}``, ``{"multiprocess": {}}``);
    None runs in this process.
    """
    register_recordings(instance, [key])
    run = _run_job(
        INGEST_JOB,
        instance,
        flexsync,
        lambda result: _summarise(key, result),
        tags={"flexsync/recording": key},
        partition_key=key,
        selection=selection,
        execution=execution,
    )
    if not run.success:
        logger.warning("recording %s failed: %s", key, "; ".join(run.failures) or "see the run's logs")
    return run


def make_resource(raw_root: Path | str, store_root: Path | str, settings: Mapping[str, Any] | None = None):
    """The ``flexsync`` resource for these roots: ``settings`` (PipelineSettings names) over FLEXSYNC_SETTINGS."""
    values = {**config.environment_settings(), **dict(settings or {})}
    raw = str(config.raw_root(raw_root))  # a raw URL resolves to its local cache
    return FlexsyncResource(raw_root=raw, store_root=str(store_root), **values)


def build_training_products(
    raw_root: Path | str,
    store_root: Path | str,
    *,
    instance: dg.DagsterInstance | None = None,
    settings: Mapping[str, Any] | None = None,
    execution: Mapping[str, Any] | None = None,
) -> RecordingRun:
    """Run ``build_training_products`` (index, splits, export, QA) over the samples present."""
    flexsync = make_resource(raw_root, store_root, settings)
    with open_instance() if instance is None else nullcontext(instance) as owned:
        return _run_job(
            PRODUCTS_JOB,
            owned,
            flexsync,
            lambda result: _summarise("training products", result),
            tags={"flexsync/products": "training"},
            execution=execution,
        )


def _run_in_worker(args: tuple[str, str, str, dict[str, Any], dict[str, Any] | None]) -> RecordingRun:
    key, raw_root, store_root, settings, execution = args
    logging.getLogger("dagster").setLevel(logging.WARNING)
    with open_instance() as instance:  # disposing removes a throwaway instance's temporary folder
        return run_recording(key, instance, make_resource(raw_root, store_root, settings), execution=execution)


def run_recordings(
    raw_root: Path | str,
    store_root: Path | str,
    *,
    keys: Sequence[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[Iterable[RecordingRun], int], Iterable[RecordingRun]] | None = None,
    parallel: int = 1,
    settings: Mapping[str, Any] | None = None,
    execution: Mapping[str, Any] | None = None,
) -> list[RecordingRun]:
    """Run ``ingest_recordings`` for ``keys`` (default: every complete recording), one run each.

    ``settings`` overrides processing settings by name (``PipelineSettings``; checked before any run).
    ``execution`` chooses the job's executor (see run_recording); None runs in-process.

    With ``parallel`` > 1 recordings run in worker processes, each opening the instance of
    DAGSTER_HOME (or a throwaway one when it is unset); results come back in key order.
    """
    flexsync = make_resource(raw_root, store_root, settings)
    flexsync.settings()  # an unknown name or a bad value fails here, once, not in every run
    flexsync.store().check_writable()  # an unwritable store fails here, once, before any work
    refused: list[RecordingRun] = []  # complete folders whose names cannot be keys: failed runs saying why
    if keys is not None:
        selected = list(keys)
    else:
        scan = scan_recordings(raw_root)
        selected = scan.keys
        refused = [RecordingRun(folder, False, "", failures=[f"refused: {why}"]) for folder, why in scan.refused]
    if parallel > 1 and len(selected) > 1:
        if instance is not None:
            raise ValueError("parallel runs open the instance in each worker: pass instance=None")
        # Create (and migrate) the persistent instance and register every key once, here:
        # workers opening a brand-new DAGSTER_HOME together would race on its schema migration.
        with open_instance() as shared:
            register_recordings(shared, selected)
        jobs = [(key, str(raw_root), str(store_root), dict(settings or {}), execution) for key in selected]
        # "spawn", not Linux's default "fork": a forked child inherits locks held by the parent's
        # threads (zarr's event loop, Dagster's, FFmpeg's) and can hang forever before its first step.
        with ProcessPoolExecutor(max_workers=parallel, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = pool.map(_run_in_worker, jobs)
            return refused + list(progress(done, len(jobs)) if progress else done)
    if instance is not None:
        done = (run_recording(key, instance, flexsync, execution=execution) for key in selected)
        return refused + list(progress(done, len(selected)) if progress else done)
    with open_instance() as owned:  # ours to dispose (a throwaway one leaves a temporary folder otherwise)
        done = (run_recording(key, owned, flexsync, execution=execution) for key in selected)
        return refused + list(progress(done, len(selected)) if progress else done)
