"""The scale benchmark end to end on six tiny recordings: registration, a real daemon backfill, the report.

Speed is not asserted (that is the benchmark's job, at FLEX's size); what is: the sensor registers
every recording in the ticks its batch rule promises, the instance holds every partition, the
backfill's runs come from the instance's run records with real step durations, and the throughput
figures are the quotients of the counts and times printed.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import time

import pytest

from flexsync.bench.scale.generate import flex_size_options
from flexsync.bench.scale.options import ScaleOptions
from flexsync.bench.scale.processes import _cpu_s, _role
from flexsync.bench.scale.run import run_scale_benchmark
from flexsync.sensors.new_recordings import BACKLOG_TICKS, tick_batch_size
from flexsync.synth.dataset import plan_recordings
from flexsync.synth.options import ALL_ACTIONS, preset_options

sensor_module = importlib.import_module("flexsync.sensors.new_recordings")

RECORDINGS, BACKFILL = 6, 2


def test_flex_size_preset_is_flex_in_recordings() -> None:
    options = preset_options("flex-size")
    assert (options.subjects, options.actions, options.takes, options.repetitions) == (38, ALL_ACTIONS, 1, 1)
    assert len(plan_recordings(options)) == 760
    assert len({p.subject.skill for p in plan_recordings(options)}) == 3
    assert len(plan_recordings(flex_size_options(RECORDINGS, look="flat", seed=0))) == RECORDINGS


def test_any_backlog_registers_within_backlog_ticks() -> None:
    for complete in (1, 25, 26, 99, 100, 101, 760, 1999):
        batch = tick_batch_size(complete)
        assert batch >= sensor_module.MAX_NEW_RECORDINGS_PER_TICK
        assert math.ceil(complete / batch) <= BACKLOG_TICKS, complete
    assert tick_batch_size(760) == 190  # FLEX's first import: 4 ticks of 190, not 31 of 25


def test_process_roles_and_cpu_come_from_proc() -> None:
    assert _role("/usr/lib/postgresql/15/bin/postgres -D /x/data -p 5432", None) == "postgres"
    assert _role("postgres: dagster dagster 127.0.0.1(40000) idle", "postgres") == "postgres"
    assert _role("/venv/bin/python /venv/bin/dagster-daemon run -m flexsync.definitions", None) == "daemon"
    assert _role("/venv/bin/python -m dagster api grpc --lazy-load-user-code", "daemon") == "code server"
    assert _role("/venv/bin/python -c from multiprocessing.spawn import spawn_main", "code server") == "run worker"
    before = _cpu_s(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert before is not None and _cpu_s(os.getpid()) - before >= 0.2  # clock ticks: 10 ms resolution


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    # A batch of 1 when few recordings are new: six recordings then take ceil(6 / 2) = 3 ticks of 2.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sensor_module, "MAX_NEW_RECORDINGS_PER_TICK", 1)
        patch.delenv("DAGSTER_HOME", raising=False)
        patch.delenv("FLEXSYNC_EXECUTION", raising=False)
        options = ScaleOptions(
            recordings=RECORDINGS,
            backfill=BACKFILL,
            direct=1,
            engine="in_process",
            workers=2,
            storage="sqlite",
            look="flat",
            probe_size=None,
            ui=False,
            workdir=tmp_path_factory.mktemp("scale"),
            timeout_s=300,
        )
        return run_scale_benchmark(options)


def test_sensor_registers_every_partition_in_the_promised_ticks(bench) -> None:
    reg = bench.registration
    assert reg.batch_size == 2
    assert reg.n_ticks == math.ceil(RECORDINGS / reg.batch_size) == 3
    assert [t.registered for t in reg.ticks] == [2, 2, 2] == [t.runs_requested for t in reg.ticks]
    assert reg.partitions_in_instance == RECORDINGS and reg.missing == []
    assert reg.skip_message.startswith(f"{RECORDINGS} complete recordings under ")
    assert all(0 < t.evaluate_s < 30 and 0 < t.register_s < 30 for t in reg.ticks)


def test_backfill_runs_are_read_from_the_instance(bench) -> None:
    runs = bench.backfill.runs
    assert [r.key for r in runs] == bench.raw.keys[:BACKFILL]
    assert all(r.status == "SUCCESS" for r in runs), [(r.key, r.status) for r in runs]
    for run in runs:
        assert set(run.steps) == {"recording_streams", "clock_models", "aligned_recording", "repetition_samples"}
        assert all(0 < seconds < run.wall_s for seconds in run.steps.values())
        assert run.created <= run.starting <= run.started < run.ended
        assert math.isfinite(run.overhead_s) and 0 < run.overhead_s < run.wall_s
        assert run.overhead_s == pytest.approx(run.wall_s - sum(run.steps.values()))
    assert bench.backfill.wall_s >= max(r.wall_s for r in runs)
    assert bench.backfill.other_runs == 0  # the sensors were stored as stopped: only the backfill ran
    processes = bench.backfill.processes
    assert "run worker" in processes and processes["run worker"]["processes"] == BACKFILL
    # Each run worker imports Dagster and flexsync and runs four steps: seconds of CPU, not none.
    assert processes["run worker"]["cpu_s"] > BACKFILL * 1.0
    assert processes["daemon"]["cpu_s"] > 0 and processes["code server"]["cpu_s"] > 0
    cpu = bench.backfill.cpu_s()
    assert cpu["total"] == pytest.approx(sum(v for role, v in cpu.items() if role != "total"))
    sampled_s = bench.backfill.pickup_s + bench.backfill.wall_s  # from the daemon's start to the last run's end
    assert cpu["total"] <= sampled_s * (os.cpu_count() or 1) * 1.05 + 1.0  # no more CPU than the cores gave


def test_throughput_is_counts_over_times(bench) -> None:
    ours, direct = bench.instance_throughput(), bench.direct_throughput()
    assert ours["recordings"] == BACKFILL and direct["recordings"] == 1
    video_s = sum(bench.video[key].video_s for key in bench.raw.keys[:BACKFILL])
    assert ours["video_hours"] == pytest.approx(video_s / 3600)
    hours = bench.backfill.wall_s / 3600
    assert ours["recordings_per_hour_per_core"] == pytest.approx(BACKFILL / hours / 2)
    assert ours["video_hours_per_hour_per_core"] == pytest.approx(video_s / 3600 / hours / 2)
    assert direct["recordings_per_hour_per_core"] == pytest.approx(1 / (bench.direct.wall_s / 3600) / 2)
    assert bench.ratio() == pytest.approx(ours["recordings_per_hour_per_core"] / direct["recordings_per_hour_per_core"])
    held = sum(r.ended - r.starting for r in bench.backfill.runs)
    assert ours["slots_busy_share"] == pytest.approx(held / (bench.backfill.wall_s * 2))
    assert 0 < ours["slots_busy_share"] <= 1  # runs hold slots inside the backfill wall, two at a time
    # Five views of a few seconds each: the video-seconds of a recording are its views' durations summed.
    for key in bench.raw.keys[:BACKFILL]:
        assert bench.video[key].views == 5 and 5 * 3 < bench.video[key].video_s < 5 * 20


def test_report_and_json_carry_the_figures(bench) -> None:
    data = json.loads(json.dumps(bench.to_dict(), allow_nan=False))
    assert data["sample"] is True and data["storage"] == "sqlite"
    assert data["registration"]["n_ticks"] == 3
    assert data["targets"]["ticks"] == 3 and data["targets"]["ticks_ok"] is True
    assert len(data["backfill"]["per_run"]) == BACKFILL
    x = data["extrapolation"]
    assert x["available"] is True
    assert x["work_s_per_recording"] == pytest.approx(x["decode_cpu_s_per_recording"] + x["other_cpu_s_per_recording"])
    # Orchestration is every instance process's CPU per run beyond a direct recording's, when sampled.
    cpu, runs = data["backfill"]["cpu_s"], data["backfill"]["per_run"]
    direct_cpu = sum(r["cpu_s"] for r in data["direct"]["per_recording"]) / len(data["direct"]["per_recording"])
    orchestration = max(0.0, (cpu["total"] - cpu["benchmark"]) / len(runs) - direct_cpu)
    assert x["orchestration_measured_as"] == "cpu"
    assert x["orchestration_s_per_recording"] == pytest.approx(orchestration)
    assert bench.orchestration_cpu_s() == pytest.approx(orchestration)
    assert orchestration > 1.0  # each run imports Dagster and flexsync in a new process: seconds of CPU
    per_recording = x["work_s_per_recording"] + x["orchestration_s_per_recording"]
    assert x["throughput_ratio"] == pytest.approx(x["work_s_per_recording"] / per_recording)
    assert x["throughput_ratio"] == pytest.approx(1 - x["orchestration_share"])
    text = bench.format()
    assert "CPU during the backfill (sampled): " in text
    assert f"{data['backfill']['cpu_s']['total']:.0f} CPU s in all" in text
    assert "registration: 3 sensor ticks" in text
    assert f"backfill (a sample of {BACKFILL} of the {RECORDINGS} partitions)" in text
    ratio = data["targets"]["throughput_ratio"]
    assert f"throughput ratio instance / direct: {ratio:.2f}" in text
    assert f"throughput ratio instance / direct to expect at that size {x['throughput_ratio']:.2f}" in text
