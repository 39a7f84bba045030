"""A unit on S3 is committed whole or not at all: a crash before the commit record leaves the previous version.

Units here are small samples units written through the Store API (a Zarr group, a table, a few
files), so each test takes seconds. The crash is real in one test: a writer process is killed
with SIGKILL while it uploads a new version.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flexsync.storage import RemoteStore, Store
from flexsync.storage.remote_units import COMMIT_FILE, VERSION_MARK, scan_local

KEY = "S01_A01_T1"
UNIT = f"samples/{KEY}"


def _publish(store: Store, value: int, *, files: int = 3) -> None:
    """A samples unit whose every byte depends on ``value``."""
    with store.publish_samples(KEY) as unit:
        group = unit.open_zarr({"recording": KEY, "status": "complete", "value": value})
        group.create_array("x", data=np.full((64, 8), value, dtype=np.int32), chunks=(16, 8))
        table = pl.DataFrame({"recording": [KEY] * 3, "rep_index": [0, 1, 2], "value": [value] * 3})
        store.write_unit_parquet(unit, "samples", table)
        for i in range(files):
            unit.write_file(f"report/part{i:04d}.bin", bytes([value % 256, i % 256]) * 32)


def _versions(store: Store) -> dict[str, int]:
    """Object count per version prefix of the unit on the server."""
    counts: dict[str, int] = {}
    for info in store.client.list(UNIT):
        part = info.key[len(UNIT) + 1 :].split("/", 1)[0]
        if part.startswith(VERSION_MARK):
            counts[part[1:]] = counts.get(part[1:], 0) + 1
    return counts


def _reader(url: str, cache: Path) -> RemoteStore:
    """A Store with its own, empty working copy: a reader on another machine."""
    return RemoteStore(url, cache=cache)


def _assert_reads_value(store: RemoteStore, value: int) -> None:
    """Every way of reading the unit gives version ``value``: zarr (remote, then local) and the table."""
    assert store.samples_keys() == [KEY]
    expected = np.full((64, 8), value, dtype=np.int32)
    group = store.open_samples(KEY)
    assert group.attrs["value"] == value
    np.testing.assert_array_equal(group["x"][:], expected)
    assert store.read_unit_parquets("samples").get_column("value").to_list() == [value] * 3
    local = store.samples_path(KEY)  # fetched into the working copy
    assert local.is_relative_to(store.root)
    np.testing.assert_array_equal(store.open_samples(KEY)["x"][:], expected)


def test_a_publish_is_one_commit_and_the_same_content_commits_nothing(s3_env, tmp_path):
    store = Store(s3_env.url("commit-same"))
    _publish(store, 1)
    first = store.units.read_commit(UNIT)
    record = store.client.get(f"{UNIT}/{COMMIT_FILE}")
    local = store.copy.local(UNIT)
    assert first is not None and first.previous is None and first.files == scan_local(local)[1]
    assert {"samples.zarr/zarr.json", "tables/samples.parquet", "report/part0002.bin"} <= {f.path for f in first.files}
    # The version holds exactly the local unit's files, byte for byte.
    for entry in first.files:
        assert store.client.get(first.key(entry.path)) == (local / entry.path).read_bytes()
    stamp = store.client.head(f"{UNIT}/{COMMIT_FILE}").last_modified
    time.sleep(1.1)  # the server's clock has 1 s resolution
    _publish(Store(s3_env.url("commit-same")), 1)
    assert store.client.get(f"{UNIT}/{COMMIT_FILE}") == record
    assert store.client.head(f"{UNIT}/{COMMIT_FILE}").last_modified == stamp
    assert _versions(store) == {first.version: len(first.files)}
    _assert_reads_value(_reader(s3_env.url("commit-same"), tmp_path / "reader"), 1)


def test_upload_without_commit_leaves_the_previous_version_then_gc_collects_it(s3_env, tmp_path, monkeypatch):
    url = s3_env.url("commit-crash")
    writer = Store(url)
    _publish(writer, 1)
    v1 = writer.units.read_commit(UNIT)
    # A writer that dies after uploading version 2 and before its commit record, as the code runs:
    # local commit, upload ... and no commit.
    with writer.copy.lock(UNIT):
        writer.copy.forget(UNIT)
        with Store.unit(writer, "samples", KEY) as unit:  # the local commit only (the base class)
            group = unit.open_zarr({"recording": KEY, "status": "complete", "value": 2})
            group.create_array("x", data=np.full((64, 8), 2, dtype=np.int32), chunks=(16, 8))
        pending = writer.units.upload(UNIT, writer.copy.local(UNIT), current=v1)
    assert pending.version != v1.version
    assert _versions(writer) == {v1.version: len(v1.files), pending.version: len(pending.files)}
    assert writer.units.read_commit(UNIT) == v1
    # Readers elsewhere, and the crashed writer's own working copy, see version 1 whole.
    _assert_reads_value(_reader(url, tmp_path / "reader"), 1)
    _assert_reads_value(Store(url), 1)
    # The next publish commits version 3 and collects the orphan (no grace here), keeping its previous.
    monkeypatch.setenv("FLEXSYNC_GC_GRACE_S", "0")
    _publish(Store(url), 3)
    v3 = writer.units.read_commit(UNIT)
    assert v3.previous == v1.version and _versions(writer) == {v1.version: len(v1.files), v3.version: len(v3.files)}
    _assert_reads_value(_reader(url, tmp_path / "reader-2"), 3)


_WRITER = """
import sys
import numpy as np
from flexsync.storage import Store

store = Store(sys.argv[1])
with store.publish_samples(sys.argv[2]) as unit:
    group = unit.open_zarr({"recording": sys.argv[2], "status": "complete", "value": 2})
    group.create_array("x", data=np.full((64, 8), 2, dtype=np.int32), chunks=(16, 8))
    for i in range(int(sys.argv[3])):
        unit.write_file(f"report/part{i:04d}.bin", bytes([2, i % 256]) * 32)
"""


def test_a_writer_killed_during_its_upload_changes_nothing_readers_see(s3_env, tmp_path):
    url = s3_env.url("commit-kill")
    store = Store(url)
    _publish(store, 1)
    v1 = store.units.read_commit(UNIT)
    n_files = 1500  # several seconds of upload against this server: the kill lands before the commit
    command = [sys.executable, "-c", _WRITER, url, KEY, str(n_files)]
    with subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.PIPE) as child:
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and child.poll() is None:
                orphans = {v: n for v, n in _versions(store).items() if v != v1.version}
                if orphans and max(orphans.values()) >= 20:
                    break
                time.sleep(0.05)
            assert child.poll() is None, f"the writer ended before the kill: {child.stderr.read().decode()[-2000:]}"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    orphans = {v: n for v, n in _versions(store).items() if v != v1.version}
    assert len(orphans) == 1 and next(iter(orphans.values())) >= 20
    assert store.units.read_commit(UNIT) == v1
    _assert_reads_value(_reader(url, tmp_path / "reader"), 1)
    _assert_reads_value(Store(url), 1)  # the killed writer's working copy: its uncommitted unit is replaced


@pytest.mark.parametrize("member", ["samples.zarr", "tables/samples.parquet"])
def test_a_changed_object_is_refused_by_readers(s3_env, tmp_path, member):
    url = s3_env.url(f"commit-tamper-{member.split('/')[0]}")
    _publish(Store(url), 1)
    store = _reader(url, tmp_path / "reader")
    commit = store.units.read_commit(UNIT)
    victim = commit.member_files(member)[0]
    store.client.put(commit.key(victim.path), b"changed by hand")
    with pytest.raises(Exception, match="differs from its commit record"):
        store.samples_path(KEY) if member == "samples.zarr" else store.table_partition("samples", KEY)
