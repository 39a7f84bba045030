"""FLEX-size benchmark: 760 partitions through a real Dagster instance, against the same work done directly.

``flexsync bench scale`` (docs/scale.md) measures, in one work folder:

1. ``generate``: the flex-size preset (38 subjects x 20 actions = 760 small recordings), generated
   or reused, cut to the first N recordings;
2. ``instance``: a fresh DAGSTER_HOME on PostgreSQL (a throwaway cluster) or SQLite;
3. ``registration``: the real ``new_recordings_sensor`` evaluated tick by tick against that
   instance, its partition requests applied as the daemon applies them: ticks and seconds per tick;
4. ``backfill``: a job backfill of ``ingest_recordings`` run by a real ``dagster-daemon`` on the
   chosen engine (``engines``: multiprocess, celery with Redis and solo workers, in_process); per
   run, from the instance's run records and step stats, run wall, step work and their difference
   (the orchestration overhead), plus the peak RSS of every worker process (``processes``);
5. ``direct``: the same recordings through the pipeline's domain functions in one warm process per
   worker, no Dagster: the throughput to compare with;
6. ``ui``: a real ``dagster-webserver`` on the instance, its partition-health query and the asset
   pages in headless Chromium, timed;
7. ``report``: throughput in recordings and video-hours per hour per core, the targets, and the
   extrapolation to full-size FLEX from a decode probe at 1920x1080.

Import ``run_scale_benchmark`` from ``flexsync.bench.scale.run``: this package's modules load
nothing heavy, so the direct workers (which import ``direct``) stay free of Dagster.
"""
