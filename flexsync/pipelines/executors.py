"""The executor of flexsync's jobs: in-process (the default), multiprocess or Celery, chosen in run config.

One executor definition with a choice, so the same job definitions run on one core, on every core
of one machine, or step by step on Celery workers anywhere (other machines, Slurm jobs, pods)
without a code change::

    execution:
      config:
        celery:
          broker: {env: FLEXSYNC_CELERY_BROKER}     # e.g. redis://127.0.0.1:6379/0
          backend: {env: FLEXSYNC_CELERY_BROKER}

Each choice is Dagster's own executor (dagster-celery's for ``celery``) with its own config schema.
FLEXSYNC_EXECUTION (the same mapping as JSON) sets the default for runs that come without run
config (sensor and backfill runs); unset, runs execute their steps in-process. A run is one
recording and its heavy step decodes the views in its own process pool (``stream_workers``), so
recordings run side by side as runs (the instance's run queue) rather than steps as processes:
the multiprocess executor would start a Python, import Dagster and flexsync (~0.4 GB, seconds)
for every step (docs/scale.md measures both).
The ``celery`` choice exists when dagster-celery is installed (the ``scale`` extra), ``k8s``
(dagster-k8s's step-per-pod executor) when dagster-k8s is (the Kubernetes image); docs/deploy.md
says why Celery and not Dask.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

__all__ = ["ENGINES", "EXECUTION_ENV", "default_execution", "flexsync_executor"]

EXECUTION_ENV = "FLEXSYNC_EXECUTION"


def _engines() -> dict[str, dg.ExecutorDefinition]:
    engines: dict[str, dg.ExecutorDefinition] = {
        "in_process": dg.in_process_executor,
        "multiprocess": dg.multiprocess_executor,
    }
    try:
        from dagster_celery import celery_executor

        engines["celery"] = celery_executor
    except ImportError:  # the scale extra is not installed: no celery choice
        pass
    try:  # each step in its own Kubernetes job (deploy/k8s); only in an image with dagster-k8s
        from dagster_k8s import k8s_job_executor

        engines["k8s"] = k8s_job_executor
    except ImportError:
        pass
    return engines


ENGINES: dict[str, dg.ExecutorDefinition] = _engines()


def default_execution() -> dict[str, Any]:
    """The executor choice runs get without run config: FLEXSYNC_EXECUTION (JSON), else in-process."""
    configured = os.environ.get(EXECUTION_ENV)
    if not configured:
        return {"in_process": {}}
    choice = json.loads(configured)
    if not isinstance(choice, dict) or len(choice) != 1 or next(iter(choice)) not in ENGINES:
        raise ValueError(f"{EXECUTION_ENV} must be a JSON object with one key of {sorted(ENGINES)}, got {configured!r}")
    return choice


def _chosen(executor_config: Mapping[str, Any]) -> tuple[dg.ExecutorDefinition, Mapping[str, Any]]:
    ((name, config),) = executor_config.items()
    return ENGINES[name], config or {}


def _requirements(executor_config: Mapping[str, Any]) -> Sequence[Any]:
    engine, config = _chosen(executor_config)
    return engine.get_requirements(config)


@dg.executor(
    name="flexsync",
    config_schema=dg.Field(
        dg.Selector({name: engine.config_schema.as_field() for name, engine in ENGINES.items()}),
        default_value=default_execution(),
        description="in_process (default), multiprocess, celery or k8s: that Dagster executor, with its config.",
    ),
    requirements=_requirements,
)
def flexsync_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Build the chosen executor with its own part of the config."""
    engine, config = _chosen(init_context.executor_config)
    context = dg.InitExecutorContext(
        job=init_context.job, executor_def=engine, executor_config=config, instance=init_context.instance
    )
    return engine.executor_creation_fn(context)
