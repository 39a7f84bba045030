"""Two `flexsync run` at once on one store: both succeed and the store is what one clean run writes.

Once into an empty store (both publish every unit for the first time, racing on the renames) and
once into a store holding a clean publication (both replace every unit, racing on the swaps).
"""

from __future__ import annotations

import shutil

import pytest

from flexsync.bench.faults import cli_environment, concurrent_runs, hidden_paths, store_digests, store_problems

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("start", ["empty", "published"])
def test_two_runs_at_once_leave_the_store_a_clean_run_writes(start, fault_base, tmp_path):
    store = tmp_path / "store"
    if start == "published":
        shutil.copytree(fault_base.store, store)
    both = concurrent_runs(fault_base.raw, store, cli_environment(tmp_path / "tmp"))
    assert [run.returncode for run in both] == [0, 0], [run.stderr[-2000:] for run in both]
    assert store_problems(store) == []
    assert hidden_paths(store) == ([], [])
    clean = store_digests(fault_base.store)
    assert len(clean) > 100
    assert store_digests(store) == clean
