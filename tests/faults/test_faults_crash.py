"""`flexsync run` SIGKILLed at random points never leaves a store a reader could misread.

A clean CLI run into a fresh store is timed first; then each of N_KILLS runs (re)writes ONE store
and is killed a seeded random delay after its own first write (the .work/ probe, after the
imports), uniform over how long the clean run went on writing: each kill interrupts a rerun of the
same store, as in real life. After every kill the store is read as a reader would (flexsync.bench.faults.
store_problems). A final clean rerun must clean the debris and leave the store byte-identical to
the clean run. `flexsync bench faults` does the same with more kills.
"""

from __future__ import annotations

import pytest

from flexsync.bench.faults import clean_run, cli_environment, crash_test, store_digests

pytestmark = pytest.mark.slow

N_KILLS = 6  # `flexsync bench faults` kills more
SEED = 20260105


@pytest.fixture(scope="module")
def crash(fault_base, tmp_path_factory):
    work = tmp_path_factory.mktemp("crash")
    clean = clean_run(fault_base.raw, work / "clean", cli_environment(work / "tmp"))
    result = crash_test(
        fault_base.raw, work, n_kills=N_KILLS, seed=SEED, reference=clean, reference_store=work / "clean"
    )
    return work, clean, result


def test_the_clean_cli_run_writes_what_the_in_process_run_writes(crash, fault_base):
    work, clean, result = crash
    digests = store_digests(work / "clean")
    assert len(digests) > 100
    assert digests == store_digests(fault_base.store)
    first_write, end = result.window_s
    assert clean.first_write_s is not None and 0 < first_write == clean.first_write_s < end == clean.seconds


def test_every_kill_leaves_only_complete_consistent_recordings_and_debris_in_work(crash):
    _, _, result = crash
    assert len(result.kills) == N_KILLS
    first_write, end = result.window_s
    assert all(0 <= kill.delay_s <= end - first_write for kill in result.kills)  # after each run's first write
    # every kill interrupted a run (a rerun that outran its delay was retried with a narrower window)
    missed = [(kill.delay_s, kill.attempts, kill.returncode) for kill in result.kills if not kill.killed]
    assert missed == []
    assert all(kill.returncode == -9 for kill in result.kills)
    # the kills interrupt writes: some leave temporaries behind, which readers must not see
    assert any(kill.debris for kill in result.kills)
    findings = {f"kill {i} at {kill.delay_s} s": kill.problems for i, kill in enumerate(result.kills) if kill.problems}
    assert findings == {}
    assert result.recordings_lost == 0


def test_the_next_run_cleans_the_debris_and_rebuilds_the_clean_store_byte_for_byte(crash):
    _, _, result = crash
    assert result.final_returncode == 0, result.final_stderr
    assert result.final_work_left == []
    assert result.final_differences == []
    assert result.final_identical
