"""The Celery app flexsync's workers run: dagster-celery's step task, with the broker from the environment.

Start a worker with ``celery -A flexsync.pipelines.celery_app worker -Q dagster --pool solo``
(one step at a time per worker process; run as many workers as the machine has cores to spare).
``solo``, not Celery's forking pool: a forked child inherits locks held by the parent's threads
(see runner.py). The broker and result backend are FLEXSYNC_CELERY_BROKER (and
FLEXSYNC_CELERY_BACKEND, default: the broker), the same URLs the run config gives the executor.
Steps open the run's Dagster instance from its reference, so the worker's environment needs the
variables the instance's dagster.yaml reads (DAGSTER_PG_*), and the raw and store roots mounted
at the paths the run config names.
"""

from __future__ import annotations

import os

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

__all__ = ["BACKEND_ENV", "BROKER_ENV", "app", "execute_plan"]

BROKER_ENV = "FLEXSYNC_CELERY_BROKER"
BACKEND_ENV = "FLEXSYNC_CELERY_BACKEND"

app = make_app()
app.conf.update(
    broker_url=os.environ.get(BROKER_ENV, app.conf.broker_url),
    result_backend=os.environ.get(BACKEND_ENV) or os.environ.get(BROKER_ENV, app.conf.result_backend),
    worker_prefetch_multiplier=1,  # a worker takes one step at a time, not four
)

execute_plan = create_task(app)
