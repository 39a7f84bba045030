"""A real run of the ingest job against a Dagster instance on PostgreSQL (deploy/dagster-postgres.yaml).

The run, its materialisations, the recording's partition and the decode pool's size are read back
twice: through the instance and straight from PostgreSQL's tables with psycopg2. The store must
be byte-identical to an in-process run on a throwaway instance.
"""

from __future__ import annotations

import os
from contextlib import closing

import dagster as dg
import psycopg2
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage
from engine_helpers import KEY, SETTINGS, file_digests

from flexsync.assets import RECORDING_ASSETS
from flexsync.pipelines.jobs import INGEST_JOB
from flexsync.pipelines.pools import size_pools
from flexsync.pipelines.runner import run_recordings


def _query(instance: dg.DagsterInstance, sql: str) -> list[tuple]:
    """Rows of ``sql`` read with psycopg2 from the instance's database, not through Dagster."""
    url = instance.run_storage.postgres_url.replace("+psycopg2", "")
    with closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_ingest_run_is_recorded_in_postgres(synth_dataset, pg_instance, reference_store, tmp_path):
    raw, _, _ = synth_dataset
    store = tmp_path / "store"
    cores = os.cpu_count()
    with pg_instance() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert size_pools(instance) == {"decode": cores}
        (run,) = run_recordings(raw, store, keys=[KEY], instance=instance, settings=SETTINGS)
        assert run.success and run.failures == [], run.failures

    # A new instance (a new process would do the same): everything comes back from the database.
    with pg_instance() as instance:
        (record,) = instance.get_runs()
        assert (record.run_id, record.job_name, record.status) == (run.run_id, INGEST_JOB, dg.DagsterRunStatus.SUCCESS)
        assert record.tags["dagster/partition"] == KEY
        asset_keys = sorted((key for asset in RECORDING_ASSETS for key in asset.keys), key=lambda k: k.to_string())
        assert len(asset_keys) == 7  # four stream kinds, clock models, aligned recording, samples
        for key in asset_keys:
            assert instance.get_materialized_partitions(key) == {KEY}, key
        assert instance.get_dynamic_partitions("recordings") == [KEY]
        assert instance.event_log_storage.get_concurrency_info("decode").slot_count == cores

        assert _query(instance, "SELECT run_id, pipeline_name, status, partition FROM runs") == [
            (run.run_id, INGEST_JOB, "SUCCESS", KEY)
        ]
        materialised = _query(
            instance,
            "SELECT asset_key, partition, count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            " GROUP BY asset_key, partition ORDER BY asset_key",
        )
        assert materialised == [(key.to_string(), KEY, 1) for key in asset_keys]
        partitions = _query(instance, "SELECT partitions_def_name, partition FROM dynamic_partitions")
        assert partitions == [("recordings", KEY)]
        assert _query(instance, 'SELECT concurrency_key, "limit" FROM concurrency_limits') == [("decode", cores)]

    assert file_digests(store) == file_digests(reference_store)
