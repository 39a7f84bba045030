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
(dagster-k8s's step-per-pod executor) when dagster-k8s is (the Kubernetes image) and the process
runs in a pod or FLEXSYNC_EXECUTION names k8s; docs/deploy.md says why Celery and not Dask.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

__all__ = ["ENGINES", "EXECUTION_ENV", "default_execution", "engines", "executor_config_schema", "flexsync_executor"]

EXECUTION_ENV = "FLEXSYNC_EXECUTION"


def _kubernetes_wanted() -> bool:
    """Inside a pod (Kubernetes sets KUBERNETES_SERVICE_HOST in every one), or FLEXSYNC_EXECUTION names k8s.

    dagster-k8s imports the Kubernetes client (~1,300 modules, ~1.4 s and ~50 MB in every run
    worker), so it is offered only where it can run: every process of a Kubernetes deployment
    (code server, run and step pods) sees the same answer, so they agree on the config schema.
    """
    return "KUBERNETES_SERVICE_HOST" in os.environ or '"k8s"' in os.environ.get(EXECUTION_ENV, "")


def engines(*, kubernetes: bool | None = None) -> dict[str, dg.ExecutorDefinition]:
    """The executors on offer: in-process, multiprocess, Celery when installed, k8s when installed and wanted.

    ``kubernetes``: offer k8s (if dagster-k8s is installed) whatever the environment says; None asks
    :func:`_kubernetes_wanted`.
    """
    offered: dict[str, dg.ExecutorDefinition] = {
        "in_process": dg.in_process_executor,
        "multiprocess": dg.multiprocess_executor,
    }
    try:
        from dagster_celery import celery_executor

        offered["celery"] = celery_executor
    except ImportError:  # the scale extra is not installed: no celery choice
        pass
    if kubernetes if kubernetes is not None else _kubernetes_wanted():
        try:  # each step in its own Kubernetes job (deploy/k8s); only in an image with dagster-k8s
            from dagster_k8s import k8s_job_executor

            offered["k8s"] = k8s_job_executor
        except ImportError:
            pass
    return offered


ENGINES: dict[str, dg.ExecutorDefinition] = engines()


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


def executor_config_schema(offered: Mapping[str, dg.ExecutorDefinition]) -> dg.Field:
    """The flexsync executor's config: one of ``offered``, with that executor's own config."""
    return dg.Field(
        dg.Selector({name: engine.config_schema.as_field() for name, engine in offered.items()}),
        default_value=default_execution(),
        description="in_process (default), multiprocess, celery or k8s: that Dagster executor, with its config.",
    )


@dg.executor(
    name="flexsync",
    config_schema=executor_config_schema(ENGINES),
    requirements=_requirements,
)
def flexsync_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Build the chosen executor with its own part of the config."""
    engine, config = _chosen(init_context.executor_config)
    context = dg.InitExecutorContext(
        job=init_context.job, executor_def=engine, executor_config=config, instance=init_context.instance
    )
    return engine.executor_creation_fn(context)
