"""The sensor that registers complete recordings as partitions and requests one run per new recording.

The sensor only lists recording folders and looks for manifest.json (written last by every
recorder), so the raw roots here hold folders with a manifest copied from a generated one.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import dagster as dg
import pytest

from flexsync.assets.partitions import RECORDINGS_PARTITIONS_NAME
from flexsync.assets.resources import FlexsyncResource
from flexsync.sensors import new_recordings_sensor

sensor_module = importlib.import_module("flexsync.sensors.new_recordings")


def _raw_root(tmp_path: Path, manifest: Path, complete: list[str], incomplete: list[str] = ()) -> Path:
    """A raw root whose recordings folder holds ``complete`` keys (with manifest) and ``incomplete`` ones."""
    root = tmp_path / "raw"
    for key in complete:
        (root / "recordings" / key).mkdir(parents=True)
        shutil.copyfile(manifest, root / "recordings" / key / "manifest.json")
    for key in incomplete:
        (root / "recordings" / key / "video").mkdir(parents=True)
        (root / "recordings" / key / "video" / "cam1.mp4").write_bytes(b"still being copied")
    return root


def _tick(instance: dg.DagsterInstance, raw: Path, store: Path) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        resources={"flexsync": FlexsyncResource(raw_root=str(raw), store_root=str(store))},
    )
    result = new_recordings_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> list[str]:
    """Do what the daemon does with the sensor's partition requests; return the keys added."""
    added = []
    for request in result.dynamic_partitions_requests or []:
        assert isinstance(request, dg.AddDynamicPartitionsRequest)
        assert request.partitions_def_name == RECORDINGS_PARTITIONS_NAME
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        added += list(request.partition_keys)
    return added


def _requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


@pytest.fixture
def manifest(synth_dataset) -> Path:
    raw, _, keys = synth_dataset
    return raw / "recordings" / keys[0] / "manifest.json"


def test_registers_new_recordings_once_and_ignores_incomplete_folders(manifest, instance, tmp_path):
    complete = ["S01_A01_T1", "S01_A13_T1"]
    raw = _raw_root(tmp_path, manifest, complete, incomplete=["S02_A01_T1"])
    (raw / "recordings" / ".tmp-S03_A01_T1").mkdir()  # a recorder's work folder: hidden, never a key
    shutil.copyfile(manifest, raw / "recordings" / ".tmp-S03_A01_T1" / "manifest.json")

    first = _tick(instance, raw, tmp_path / "store")
    assert _requested(first) == [(key, key) for key in complete]
    assert all(r.job_name in (None, "ingest_recordings") for r in first.run_requests)
    assert _apply(instance, first) == complete
    assert instance.get_dynamic_partitions(RECORDINGS_PARTITIONS_NAME) == complete

    second = _tick(instance, raw, tmp_path / "store")
    assert _requested(second) == [] and not second.dynamic_partitions_requests
    assert second.skip_reason is not None
    assert second.skip_reason.skip_message == (f"2 complete recordings under {raw}, all already registered")

    # The incomplete folder gets its manifest: the next tick picks up exactly that one.
    shutil.copyfile(manifest, raw / "recordings" / "S02_A01_T1" / "manifest.json")
    third = _tick(instance, raw, tmp_path / "store")
    assert _requested(third) == [("S02_A01_T1", "S02_A01_T1")]
    assert _apply(instance, third) == ["S02_A01_T1"]


def test_new_recordings_beyond_the_cap_wait_for_later_ticks(manifest, instance, tmp_path, monkeypatch):
    monkeypatch.setattr(sensor_module, "MAX_NEW_RECORDINGS_PER_TICK", 2)
    keys = [f"S{subject:02d}_A01_T1" for subject in range(1, 6)]
    raw = _raw_root(tmp_path, manifest, keys)

    batches = []
    for _ in range(3):
        result = _tick(instance, raw, tmp_path / "store")
        assert [key for key, _ in _requested(result)] == _apply(instance, result)
        batches.append([key for key, _ in _requested(result)])
    assert batches == [keys[0:2], keys[2:4], keys[4:5]]
    last = _tick(instance, raw, tmp_path / "store")
    assert _requested(last) == [] and last.skip_reason.skip_message.startswith("5 complete recordings under ")


def test_sensor_definition_targets_the_ingest_job():
    assert new_recordings_sensor.job_name == "ingest_recordings"
    assert new_recordings_sensor.minimum_interval_seconds == 30
    assert new_recordings_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor_module.MAX_NEW_RECORDINGS_PER_TICK == 25
