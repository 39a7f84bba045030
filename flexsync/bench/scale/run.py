"""``run_scale_benchmark``: generate, register, backfill, run directly, time the UI; in one work folder."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flexsync import config
from flexsync.bench.scale.backfill import run_backfill
from flexsync.bench.scale.direct import measure_video_cost, run_direct
from flexsync.bench.scale.engines import start_engine
from flexsync.bench.scale.generate import flex_size_options, prepare_raw
from flexsync.bench.scale.instance import instance_home
from flexsync.bench.scale.options import ScaleOptions
from flexsync.bench.scale.registration import register_by_sensor
from flexsync.bench.scale.report import ScaleBenchmark
from flexsync.bench.scale.ui import time_ui
from flexsync.pipelines.runner import make_resource
from flexsync.raw.layout import DATASET_FILE

__all__ = ["run_scale_benchmark"]


class _LoadSampler:
    """The 1-minute load average, sampled every 10 s: the largest value seen, to tell a busy machine."""

    def __init__(self) -> None:
        self.max = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="load", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(10.0):
            self.max = max(self.max, os.getloadavg()[0])

    def __enter__(self) -> _LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _probe(size: tuple[int, int], options: ScaleOptions, folder: Path, frame_size: tuple[int, int]) -> dict[str, Any]:
    """One recording at ``size`` (a cinema view and the phone, the preset's length): its decode cost per pixel."""
    from flexsync.synth.dataset import generate_dataset

    width, height = size
    base = flex_size_options(1, look=options.look, seed=options.seed)
    probe = dataclasses.replace(
        base, width=width, height=height, phone_width=height, phone_height=width, cinema_cameras=1
    )
    started = time.perf_counter()
    (key,) = generate_dataset(folder / "raw", folder / "truth", probe)
    generate_s = time.perf_counter() - started
    cost = measure_video_cost(str(folder / "raw"), key, *frame_size)
    return {"size": f"{width}x{height}", "cost": cost, "generate_s": generate_s}


def _synth_options(raw_root: Path) -> dict[str, Any]:
    path = raw_root / DATASET_FILE
    return json.loads(path.read_text(encoding="utf-8")).get("options", {}) if path.is_file() else {}


def run_scale_benchmark(options: ScaleOptions, *, status: Callable[[str], None] = lambda _line: None) -> ScaleBenchmark:
    """Every phase of the scale benchmark in a new work folder ``scale-*`` (in ``options.workdir`` or the temp folder).

    The folder is deleted afterwards unless ``options.keep`` (its logs help when a phase fails).
    """
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    say = status

    def status(line: str) -> None:  # every progress line with the time since the start
        say(f"[{time.perf_counter() - started:5.0f} s] {line}")

    if options.workdir is not None:
        Path(options.workdir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="scale-", dir=options.workdir))
    workers = options.n_workers
    settings = config.environment_settings()  # what the code location's runs use (FLEXSYNC_SETTINGS)
    try:
        with _LoadSampler() as load:
            raw = prepare_raw(
                options.recordings,
                workdir,
                reuse=options.reuse_raw,
                look=options.look,
                seed=options.seed,
                workers=workers,
                status=status,
            )
            store = workdir / "store"
            summary = {**options.to_dict(), "synth": _synth_options(raw.source)}
            with instance_home(workdir, options.storage, workers) as home:
                env = {
                    **os.environ,
                    **home.env,
                    "FLEXSYNC_RAW_ROOT": str(raw.root),
                    "FLEXSYNC_STORE_ROOT": str(store),
                }
                keys = raw.keys[: options.n_backfill]
                with home.open() as instance:
                    status(f"registering {len(raw.keys)} recordings through new_recordings_sensor ({home.detail})...")
                    registration = register_by_sensor(instance, make_resource(raw.root, store, settings), raw.keys)
                    with start_engine(options.engine, workers, env, workdir) as engine:
                        backfill = run_backfill(
                            instance,
                            keys,
                            env={**env, **engine.env},
                            engine=engine,
                            folder=workdir,
                            timeout_s=options.timeout_s,
                            status=status,
                            watch_pids=home.server_pids,
                            code_server=options.code_server,
                        )
                    status(f"running {options.n_direct} recordings directly in {workers} processes...")
                    direct, video = run_direct(
                        raw.root, workdir / "direct-store", keys[: options.n_direct], workers, settings, probe_keys=keys
                    )
                    ui = time_ui(env, workdir, status) if options.ui else None
            probe = None
            if options.probe_size is not None:
                status(f"decode probe: one recording at {options.probe_size[0]}x{options.probe_size[1]}...")
                stored = make_resource(raw.root, store, settings).settings()
                probe = _probe(
                    options.probe_size, options, workdir / "probe", (stored.frame_width, stored.frame_height)
                )
        return ScaleBenchmark(
            options=summary,
            raw=raw,
            storage=home.storage,
            storage_detail=home.detail,
            registration=registration,
            backfill=backfill,
            direct=direct,
            video=video,
            probe=probe,
            ui=ui,
            machine={
                "cpus": os.cpu_count(),
                "load_start": load_start,
                "load_end": os.getloadavg()[0],
                "load_max": load.max,
            },
            seconds=time.perf_counter() - started,
        )
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
