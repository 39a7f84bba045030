"""A store that cannot be written: one clear error, a quick exit, and nothing published is lost.

Tests run as root, for whom a read-only folder (chmod 0o555) is writable; so "cannot create" is a
store path under a regular FILE (or a store whose .work is a file), and "disk full" is a `flexsync
run` whose file size limit (RLIMIT_FSIZE) is below the files it writes.
"""

from __future__ import annotations

import re
import shutil
import time

import dagster as dg
import pytest

from flexsync.bench.faults import (
    FAULT_SETTINGS,
    GOOD_KEY,
    SOURCE_KEY,
    cli_environment,
    cli_run_command,
    hidden_paths,
    run_cli,
    store_digests,
    store_problems,
    with_file_size_limit,
)
from flexsync.pipelines.runner import run_recordings

# Smaller than the staged EMG and mocap chunks of the generated recordings, larger than most files.
FULL_DISK_BYTES = 200_000


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error: " in line]


def test_a_store_under_a_regular_file_fails_once_before_any_run(fault_base, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    store = blocker / "store"
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        with pytest.raises(
            PermissionError, match=rf"^store {re.escape(str(store))} cannot be written: Not a directory$"
        ):
            run_recordings(fault_base.raw, store, instance=instance, settings=FAULT_SETTINGS)
        elapsed = time.perf_counter() - started
        assert instance.get_runs() == []  # no recording was even started
    assert elapsed < fault_base.seconds / 4  # a clean run of the two recordings, in the same process
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


def test_the_cli_says_it_once_and_exits(fault_base, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    store = blocker / "store"
    run = run_cli(cli_run_command(fault_base.raw, store), env=cli_environment(tmp_path / "tmp"))
    assert run.returncode == 1
    assert _error_lines(run.stderr) == [f"flexsync run: error: store {store} cannot be written: Not a directory"]
    assert run.stderr.count("Not a directory") == 1 and "Traceback" not in run.stderr
    assert SOURCE_KEY not in run.stdout + run.stderr and GOOD_KEY not in run.stdout + run.stderr


def test_a_work_folder_that_cannot_be_created_keeps_the_published_recordings(fault_base, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(fault_base.store, store)
    shutil.rmtree(store / ".work")
    (store / ".work").write_text("", encoding="utf-8")  # a file where the work folder must be
    before = store_digests(store)
    run = run_cli(cli_run_command(fault_base.raw, store), env=cli_environment(tmp_path / "tmp"))
    assert run.returncode == 1
    (line,) = _error_lines(run.stderr)
    assert re.fullmatch(rf"flexsync run: error: store {re.escape(str(store))} cannot be written: File exists", line)
    assert len(before) > 100
    assert store_digests(store) == before


@pytest.fixture(scope="module")
def full_disk(fault_base, tmp_path_factory):
    """A rerun over a clean publication whose every write past FULL_DISK_BYTES fails (EFBIG)."""
    work = tmp_path_factory.mktemp("full_disk")
    store = work / "store"
    shutil.copytree(fault_base.store, store)
    before = store_digests(store)
    command = with_file_size_limit(cli_run_command(fault_base.raw, store), FULL_DISK_BYTES)
    run = run_cli(command, env=cli_environment(work / "tmp"))
    return store, before, run


def test_a_full_disk_fails_every_recording_and_loses_nothing(full_disk):
    store, before, run = full_disk
    assert run.returncode == 1
    failed = re.findall(r"^  FAILED (\S+): .*File too large", run.stdout, flags=re.MULTILINE)
    assert failed == [SOURCE_KEY, GOOD_KEY], run.stdout[-3000:]
    assert len(before) > 100
    assert store_digests(store) == before
    assert store_problems(store) == []
    assert hidden_paths(store) == ([], [])  # every failed writer removed its temporary


def test_a_full_disk_error_names_the_store_file_it_could_not_write(full_disk):
    store, _, run = full_disk
    lines = [line for line in run.stdout.splitlines() if line.startswith("  FAILED ")]
    assert lines and all(re.search(rf"{re.escape(str(store))}/\S+.*File too large", line) for line in lines), lines
