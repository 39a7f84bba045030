"""Publishing is one commit: validation failures publish nothing, a crash mid-publish keeps the old unit."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from flexsync.assets import ALL_ASSETS
from flexsync.assets.partitions import RECORDINGS_PARTITIONS_NAME
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.runner import run_recordings
from flexsync.storage.store import Store


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def published(synth_dataset, tmp_path_factory):
    """Both generated recordings ingested and published once into a module-owned store."""
    raw, _, keys = synth_dataset
    store = tmp_path_factory.mktemp("publish_store")
    with dg.DagsterInstance.ephemeral() as instance:
        runs = run_recordings(raw, store, instance=instance, keys=[keys[0]])
    assert all(run.success for run in runs), [run.failures for run in runs]
    return raw, store, keys[0]


def test_refused_publish_shows_failed_check_and_publishes_nothing(published, monkeypatch):
    raw, store_root, key = published
    store = Store(store_root)
    before = _digest(store_root / "recordings" / key)

    def broken_layout(path, **kwargs):
        return ["grid/pose: dtype float16, expected float32 (made to fail by the test)"]

    monkeypatch.setattr("flexsync.ingest.align.check_recording_group", broken_layout)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(RECORDINGS_PARTITIONS_NAME, [key])
        result = dg.materialize(
            ALL_ASSETS,
            selection=["aligned_recording"],
            partition_key=key,
            instance=instance,
            resources={"flexsync": FlexsyncResource(raw_root=str(raw), store_root=str(store_root))},
            raise_on_error=False,
        )
        assert not result.success
        evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert evaluations["zarr_layout"].passed is False
        assert "dtype float16, expected float32" in evaluations["zarr_layout"].description
        assert evaluations["tables_schema"].passed is True
        failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        cause = failure[0].event_specific_data.error.cause
        assert cause.cls_name == "PublishRefusedError"
        assert f"recording {key}: not published, 1 check(s) failed: zarr_layout" in cause.message
        assert result.get_asset_materialization_events() == []
    assert _digest(store_root / "recordings" / key) == before  # the previous unit, byte for byte
    assert store.recordings() == [key]
    assert list((store_root / ".work").iterdir()) == []  # the refused unit was removed


KILL_BETWEEN_ZARR_AND_TABLES = textwrap.dedent(
    """
    import os, signal, sys
    from flexsync.config import PipelineSettings, environment_settings
    from flexsync.ingest.align import publish_recording
    from flexsync.ingest.recording import RawRecording
    from flexsync.storage import store as store_module

    raw, store_root, key = sys.argv[1:4]
    real_write_table = store_module.UnitWriter.write_table

    def write_table_then_die(self, table, df):
        zarr_json = self.zarr_path / "zarr.json"
        assert zarr_json.is_file(), "the Zarr group is built before the tables"
        print("KILLING", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    store_module.UnitWriter.write_table = write_table_then_die
    settings = PipelineSettings.from_values(environment_settings())  # the settings the fixture's runs had
    publish_recording(RawRecording.open(raw, key), store_module.Store(store_root), settings)
    """
)


def test_kill_between_zarr_and_tables_keeps_the_old_unit(published):
    raw, store_root, key = published
    unit = store_root / "recordings" / key
    before = _digest(unit)
    done = subprocess.run(
        [sys.executable, "-c", KILL_BETWEEN_ZARR_AND_TABLES, str(raw), str(store_root), key],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert "KILLING" in done.stdout
    assert _digest(unit) == before  # old Zarr, old tables, old report: whole and unchanged
    debris = list((store_root / ".work").iterdir())
    assert len(debris) == 1 and debris[0].name.startswith(".recordings-")
    store = Store(store_root)
    assert store.recordings() == [key]
    assert store.read_table("streams").height == len(list(store.open_recording(key)["streams"].group_keys()))
    # The next publish of the same recording removes the dead writer's debris and gives the same bytes.
    from flexsync.config import PipelineSettings, environment_settings
    from flexsync.ingest.align import publish_recording
    from flexsync.ingest.recording import RawRecording

    publish_recording(RawRecording.open(raw, key), store, PipelineSettings.from_values(environment_settings()))
    assert list((store_root / ".work").iterdir()) == []
    assert _digest(unit) == before
    assert os.path.isdir(unit / "recording.zarr")
