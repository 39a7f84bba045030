"""Sync accuracy benchmark: how close are the fitted clock models to the generator's truth?

It generates ``n_recordings`` recordings with the hard cases turned on (device start times
spread over 5 s, so offsets reach +-5 s; every device drifting in its kind's range; dropped
frames; a phone with jittered frame intervals; missed flashes in every other recording; one
clock reset per device in every fourth), ingests every stream and fits the clock models as the
pipeline does (``ingest_stream`` + ``fit_recording_clocks``, no publish), then, and only here,
reads the generator's truth.

Error of a stream: its truth events (the two sync onsets and every repetition and phase
boundary, mapped to the stream's device clock by its true clock) sent to the reference clock by
the fitted model, minus the same times sent by the true composed model
(``flexsync.synth.truth.expected_model``). Drift error: fitted minus true drift per clock
segment fitted from two or more events (ppm). Rows group streams by kind (``cinema`` =
cam1..cam4); streams fitted from a single flash (offset only) get their own rows, and so do
streams the pipeline aligned by motion ("(motion fallback)": no flash was usable, so the
fallback's one-frame target applies, not the flash target); streams left without events are
failures of the event fit. The motion cross-correlation fallback
(``flexsync.timing.motion_xcorr.fit_by_motion``, video motion energy against mocap joint speed)
is run on every video stream that has fewer than two flashes (the "fallback" row), and, as
diagnostics, on every video stream and on the EMG activity.

The frames have the realistic camera look by default (``look="realistic"``: noise, motion blur,
AE drift, a rolling-shutter phone, camera-like bitrates; ``flexsync.synth.look``); ``look="flat"``
measures on the generator's flat-shaded frames.

Sync sources (``run_sync_benchmarks``): the same recordings (same motion, clocks, drops and resets)
are generated once per sync source: the flash pair (``"flashes"``, above) and the two trains
(``"pulse_train"``: 1 Hz with start/end markers; ``"coded_train"``: random intervals), where
every device misses 10 % of the pulses and its sync input starts up to 1 s late and stops up to
1 s early. Train targets (p95): EMG and mocap 0.1 ms, cinema 1 ms, phone 2 ms, and a drift error
of 1 ppm for every stream. Streams with a clock reset get extra "(clock reset)" rows (the same
errors, those streams only).

Targets (p95 of the absolute error): EMG and mocap 0.25 ms, cinema 2 ms, phone 5 ms, motion
fallback one 60 fps frame (16.7 ms); drift 2 ppm for EMG (trigger edges). Video and physio drift
is reported without a target: two events timed to ~0.5 ms and ~20 s apart cannot pin a drift
better than a few tens of ppm (0.5 ms / 20 s = 25 ppm), yet the mapping error stays within the
offset targets over the recording. Each recording is generated and processed in
a worker process (two at once); results are gathered in key order, so the figures do not depend
on scheduling.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.jsonsafe import json_safe
from flexsync.timing.clock_model import ClockModel

__all__ = [
    "SYNC_SOURCES",
    "GroupFigures",
    "StreamErrors",
    "SyncBenchmark",
    "SyncBenchmarkSet",
    "evaluate_model",
    "run_sync_benchmark",
    "run_sync_benchmarks",
    "summarise",
]

logger = logging.getLogger(__name__)

# Target p95 absolute error (s) per row group; None: reported, no target.
TARGET_P95_S: dict[str, float | None] = {
    "emg": 0.25e-3,
    "mocap": 0.25e-3,
    "cinema": 2e-3,
    "phone": 5e-3,
    "physio": None,
    "cinema (one flash)": 2e-3,
    "phone (one flash)": 5e-3,
    # Streams the pipeline aligned by motion (no flash seen): the fallback's target, one 60 fps frame.
    "cinema (motion fallback)": 1.0 / 60.0,
    "phone (motion fallback)": 1.0 / 60.0,
    "motion-xcorr fallback": 1.0 / 60.0,
    "motion-xcorr, every video (diagnostic)": 1.0 / 60.0,
    "motion-xcorr, emg (diagnostic)": None,
}
# Drift target (ppm) where the events can support it: hardware trigger edges timed to ~10 us.
# Two flashes timed to ~0.3-1 ms, 20-30 s apart, pin the drift to tens of ppm only (reported, no target).
TARGET_DRIFT_PPM: dict[str, float] = {"emg": 2.0, "mocap": 2.0}
# With a pulse or coded train (the targets): every stream, drift 1 ppm.
TRAIN_TARGET_P95_S: dict[str, float | None] = {
    "emg": 0.1e-3,
    "mocap": 0.1e-3,
    "cinema": 1e-3,
    "phone": 2e-3,
    "physio": None,
    "cinema (one pulse)": 1e-3,
    "phone (one pulse)": 2e-3,
    "cinema (motion fallback)": 1.0 / 60.0,
    "phone (motion fallback)": 1.0 / 60.0,
}
TRAIN_TARGET_DRIFT_PPM = 1.0
SYNC_SOURCES = ("flashes", "pulse_train", "coded_train")
TRAIN_MISSING_PULSES = 0.1  # every device misses 10 % of the pulses
TRAIN_LATE_START_S = 1.0  # and its sync input starts up to 1 s late, stops up to 1 s early
RESET_SUFFIX = " (clock reset)"
ACTIONS = ("A01", "A03", "A08", "A11", "A13", "A17")  # barbell and dumbbell, several movement families
SPREAD_S = 5.0  # device start times uniform in [0, 5] s: offsets up to +-5 s
MISSING_FLASH_PROBABILITY = 0.5  # in every other recording
WORKERS = 2


@dataclass(frozen=True)
class StreamErrors:
    """One fitted stream against the truth. Errors in seconds, drift errors in ppm."""

    recording: str
    stream: str
    group: str
    method: str
    errors_s: tuple[float, ...]
    drift_errors_ppm: tuple[float, ...] = ()
    confidence: float = math.nan
    failure: str | None = None


@dataclass(frozen=True)
class GroupFigures:
    """Summary of one row group: error percentiles (ms) over all its events, drift errors (ppm)."""

    group: str
    n_streams: int
    n_events: int
    methods: dict[str, int]
    median_ms: float
    p95_ms: float
    max_ms: float
    drift_p95_ppm: float
    drift_max_ppm: float
    n_drift: int
    target_p95_ms: float | None
    target_drift_ppm: float | None
    min_confidence: float

    @property
    def ok(self) -> bool | None:
        """Whether p95 (and drift p95, where measured) meet the targets; None without a target."""
        if self.target_p95_ms is None:
            return None
        drift_ok = self.n_drift == 0 or self.target_drift_ppm is None or self.drift_p95_ppm <= self.target_drift_ppm
        return bool(self.p95_ms <= self.target_p95_ms and drift_ok)


@dataclass
class SyncBenchmark:
    """What ``run_sync_benchmark`` measured: per-group figures, per-stream rows, failures."""

    n_recordings: int
    seed: int
    groups: list[GroupFigures]
    streams: list[StreamErrors]
    methods: dict[str, int]
    failures: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = math.nan
    sync_source: str = "flashes"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; NaN becomes None. Groups carry the run's sync source and look."""
        train = self.sync_source != "flashes"
        p95 = TRAIN_TARGET_P95_S if train else TARGET_P95_S
        look = self.settings.get("look", "flat")
        return json_safe(
            {
                "n_recordings": self.n_recordings,
                "seed": self.seed,
                "sync_source": self.sync_source,
                "look": look,
                "settings": self.settings,
                "targets": {"p95_ms": {k: None if v is None else v * 1e3 for k, v in p95.items()}}
                | {"drift_ppm": {"every stream": TRAIN_TARGET_DRIFT_PPM} if train else TARGET_DRIFT_PPM},
                "groups": [
                    {**asdict(g), "ok": g.ok, "sync_source": self.sync_source, "look": look} for g in self.groups
                ],
                "methods": self.methods,
                "failures": self.failures,
                "streams": [asdict(s) for s in self.streams],
                "elapsed_s": self.elapsed_s,
            }
        )

    def format(self) -> str:
        """A fixed-width table, one line per group, then method counts and failures."""
        lines = [
            f"sync benchmark: {self.n_recordings} recordings, seed {self.seed}, "
            f"{self.settings.get('look', 'flat')} look, sync source {self.sync_source}, "
            f"offsets up to +-{self.settings.get('max_start_spread_s', SPREAD_S):g} s",
            f"{'group':40s} {'streams':>7s} {'events':>6s} {'median':>9s} {'p95':>9s} {'max':>9s} "
            f"{'target':>8s} {'drift p95':>9s} {'drift max':>9s}  ok",
            f"{'':40s} {'':>7s} {'':>6s} {'ms':>9s} {'ms':>9s} {'ms':>9s} {'ms':>8s} {'ppm':>9s} {'ppm':>9s}",
        ]
        for g in self.groups:
            target = "-" if g.target_p95_ms is None else f"{g.target_p95_ms:.2f}"
            drift_p95 = "-" if g.n_drift == 0 else f"{g.drift_p95_ppm:.2f}"
            drift_max = "-" if g.n_drift == 0 else f"{g.drift_max_ppm:.2f}"
            ok = {True: "yes", False: "NO", None: "-"}[g.ok]
            lines.append(
                f"{g.group:40s} {g.n_streams:7d} {g.n_events:6d} {g.median_ms:9.3f} {g.p95_ms:9.3f} {g.max_ms:9.3f} "
                f"{target:>8s} {drift_p95:>9s} {drift_max:>9s}  {ok}"
            )
        lines.append("pipeline clock models by method: " + ", ".join(f"{k} {v}" for k, v in self.methods.items()))
        lines.append(f"failures ({len(self.failures)}):" + ("" if self.failures else " none"))
        lines += [f"  {f}" for f in self.failures]
        if math.isfinite(self.elapsed_s):
            lines.append(f"elapsed {self.elapsed_s:.1f} s")
        return "\n".join(lines)


# -- evaluation (pure: usable on hand-made numbers) -----------------------------------------


def evaluate_model(
    model: ClockModel,
    truth_segments: Sequence[tuple[float, float, float]],
    event_device_times_s: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Errors of a fitted model against the true one.

    Parameters
    ----------
    model : ClockModel
        The fitted model (device -> reference clock).
    truth_segments : sequence of (device_start_s, offset_s, drift)
        The true device -> reference model per segment, in device-time order
        (``flexsync.synth.truth.expected_model``).
    event_device_times_s : sequence of float
        Device times (s) at which to compare, in recording order.

    Returns
    -------
    errors_s : (N,) float64
        Fitted minus true reference time of each event (s).
    drift_errors_ppm : (K,) float64
        Per fitted segment with two or more events: fitted minus true drift (ppm) of the true
        segment that holds the fitted segment's middle.
    """
    t = np.asarray(event_device_times_s, dtype=np.float64).reshape(-1)
    truth = np.asarray(truth_segments, dtype=np.float64).reshape(-1, 3)
    if truth.shape[0] == 0:
        raise ValueError(f"evaluate_model: stream {model.stream} has no truth segments")
    true_ref = _true_map(truth, t)
    errors = model.to_reference(t) - true_ref if t.size else np.zeros(0)
    drift_errors = []
    for seg in model.segments:
        if seg.n_events < 2:
            continue
        lo = seg.device_start_s if math.isfinite(seg.device_start_s) else (t.min() if t.size else 0.0)
        hi = seg.device_end_s if math.isfinite(seg.device_end_s) else (t.max() if t.size else 0.0)
        k = _truth_segment(truth, np.array([0.5 * (lo + hi)]))[0]
        drift_errors.append((seg.drift - truth[k, 2]) * 1e6)
    return errors, np.asarray(drift_errors, dtype=np.float64)


def _targets(group: str, sync_source: str) -> tuple[float | None, float | None]:
    """(p95 target s, drift target ppm) of a row group; a "(clock reset)" row has its base group's."""
    base = group.removesuffix(RESET_SUFFIX)
    if sync_source == "flashes":
        return TARGET_P95_S.get(base), TARGET_DRIFT_PPM.get(base)
    return TRAIN_TARGET_P95_S.get(base), TRAIN_TARGET_DRIFT_PPM if base in TRAIN_TARGET_P95_S else None


def summarise(rows: Sequence[StreamErrors], *, sync_source: str = "flashes") -> list[GroupFigures]:
    """Per group (in target order, each followed by its "(clock reset)" row, then any other):
    percentiles of |error| and |drift error|, against the targets of ``sync_source``.

    Rows with a ``failure`` are left out of the figures (they are counted as failures).
    """
    known = list(TARGET_P95_S if sync_source == "flashes" else TRAIN_TARGET_P95_S)
    known = [g for base in known for g in (base, base + RESET_SUFFIX)]
    order = known + sorted({r.group for r in rows} - set(known))
    out = []
    for group in order:
        members = [r for r in rows if r.group == group and r.failure is None]
        if not members:
            continue
        err = np.abs(np.concatenate([np.asarray(r.errors_s, dtype=np.float64) for r in members]))
        drift = np.abs(np.concatenate([np.asarray(r.drift_errors_ppm, dtype=np.float64) for r in members]))
        methods: dict[str, int] = {}
        for r in members:
            methods[r.method] = methods.get(r.method, 0) + 1
        target, drift_target = _targets(group, sync_source)
        out.append(
            GroupFigures(
                group=group,
                n_streams=len(members),
                n_events=int(err.size),
                methods=dict(sorted(methods.items())),
                median_ms=_pct(err, 50) * 1e3,
                p95_ms=_pct(err, 95) * 1e3,
                max_ms=float(err.max()) * 1e3 if err.size else math.nan,
                drift_p95_ppm=_pct(drift, 95),
                drift_max_ppm=float(drift.max()) if drift.size else math.nan,
                n_drift=int(drift.size),
                target_p95_ms=None if target is None else target * 1e3,
                target_drift_ppm=drift_target,
                min_confidence=float(min(r.confidence for r in members)),
            )
        )
    return out


# -- the run -------------------------------------------------------------------------------


@dataclass
class SyncBenchmarkSet:
    """Several benchmark runs on the same recordings: one per (look, sync source)."""

    runs: list[SyncBenchmark]
    elapsed_s: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """``runs`` (each as ``SyncBenchmark.to_dict``) and ``rows``: every group of every run, flat."""
        runs = [r.to_dict() for r in self.runs]
        rows = [g for r in runs for g in r["groups"]]
        return json_safe({"runs": runs, "rows": rows, "elapsed_s": self.elapsed_s})

    def format(self) -> str:
        """Each run's table, in order."""
        text = "\n\n".join(r.format() for r in self.runs)
        return text + (f"\ntotal elapsed {self.elapsed_s:.1f} s" if math.isfinite(self.elapsed_s) else "")


def run_sync_benchmark(
    *,
    n_recordings: int = 12,
    seed: int = 0,
    workdir: Path | str | None = None,
    width: int = 320,
    height: int = 180,
    look: str = "realistic",
    sync_source: str = "flashes",
) -> SyncBenchmark:
    """Generate, ingest and clock-fit ``n_recordings`` recordings; compare with the truth.

    Parameters
    ----------
    n_recordings : int
        Recordings to generate (12: two subjects x six actions; about 15 s each on one core).
    seed : int
        Generator seed; the same seed gives the same figures.
    workdir : path, optional
        Parent of the temporary folder holding raw data, truth and store (removed at the end).
    width, height : int
        Cinema frame size of the generated videos (the phone is the same, in portrait).
    look : {"realistic", "flat"}
        How the generated frames look (``SynthOptions.look``).
    sync_source : {"flashes", "pulse_train", "coded_train"}
        What the sync box sends (``SynthOptions.sync_source``).
    """
    bench = run_sync_benchmarks(
        n_recordings=n_recordings,
        seed=seed,
        workdir=workdir,
        width=width,
        height=height,
        looks=(look,),
        sync_sources=(sync_source,),
    )
    return replace(bench.runs[0], elapsed_s=bench.elapsed_s)


def run_sync_benchmarks(
    *,
    n_recordings: int = 12,
    seed: int = 0,
    workdir: Path | str | None = None,
    width: int = 320,
    height: int = 180,
    looks: Sequence[str] = ("realistic",),
    sync_sources: Sequence[str] = SYNC_SOURCES,
    repetitions: int = 4,
) -> SyncBenchmarkSet:
    """``run_sync_benchmark`` for every look and sync source, the recordings of all of them processed
    by one pool of workers (so both cores stay busy), each run's figures gathered in key order.
    ``repetitions`` per recording set its length (4: about 20-25 s; the drift a train can pin grows
    with the recording's length to the power 1.5)."""
    from flexsync.synth.dataset import plan_recordings
    from flexsync.synth.options import SynthOptions

    if n_recordings < 1:
        raise ValueError(f"run_sync_benchmark: n_recordings must be >= 1, got {n_recordings}")
    unknown = sorted(set(sync_sources) - set(SYNC_SOURCES))
    if unknown or not sync_sources:
        raise ValueError(f"run_sync_benchmarks: sync sources must be among {', '.join(SYNC_SOURCES)}, got {unknown}")
    subjects = math.ceil(n_recordings / len(ACTIONS))
    started = time.perf_counter()
    runs_setup = []
    with tempfile.TemporaryDirectory(prefix="flexsync-bench-sync-", dir=workdir) as tmp:
        jobs = []
        for look in looks:
            base_options = SynthOptions(
                seed=seed,
                subjects=subjects,
                actions=ACTIONS,
                repetitions=repetitions,
                width=width,
                height=height,
                phone_width=height,
                phone_height=width,
                max_start_spread_s=SPREAD_S,
                lead_in_s=SPREAD_S + 1.0,
                look=look,
            )
            plans = plan_recordings(base_options)[:n_recordings]
            for source in sync_sources:
                folder = Path(tmp) / f"{look}-{source}"
                first = len(jobs)
                jobs += [(plan, _options_for(base_options, i, source), folder) for i, plan in enumerate(plans)]
                runs_setup.append((look, source, base_options, plans, first, len(jobs)))
        if len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=min(WORKERS, len(jobs))) as pool:
                results = list(pool.map(_process_recording, jobs))
        else:
            results = [_process_recording(job) for job in jobs]
    elapsed = time.perf_counter() - started
    runs = [
        _bench_of(look, source, base_options, plans, results[a:b], seed)
        for look, source, base_options, plans, a, b in runs_setup
    ]
    return SyncBenchmarkSet(runs, elapsed)


def _bench_of(look: str, source: str, base_options: Any, plans: list, results: list, seed: int) -> SyncBenchmark:
    """One run's figures from its recordings' results."""
    rows = [row for rows_of_recording, _ in results for row in rows_of_recording]
    methods: dict[str, int] = {}
    for _, recording_methods in results:
        for name, count in recording_methods.items():
            methods[name] = methods.get(name, 0) + count
    failures = [f"{r.recording}/{r.stream} ({r.group}): {r.failure}" for r in rows if r.failure is not None]
    train = source != "flashes"
    settings = {
        "max_start_spread_s": SPREAD_S,
        "look": look,
        "sync_source": source,
        "repetitions": base_options.repetitions,
        "width": base_options.width,
        "height": base_options.height,
        "dropped_frames_per_camera": base_options.dropped_frames_per_camera,
        "phone_jitter_s": base_options.phone_jitter_s,
        "clock_resets": "1 per device (not mocap) in every fourth recording, else 0",
        "recordings": [p.key for p in plans],
    }
    if train:
        settings |= {
            "missing_pulse_probability": TRAIN_MISSING_PULSES,
            "sync_late_start_s": TRAIN_LATE_START_S,
            "sync_early_stop_s": TRAIN_LATE_START_S,
        }
    else:
        settings["missing_flash_probability"] = f"{MISSING_FLASH_PROBABILITY} in odd-numbered recordings, else 0"
    return SyncBenchmark(
        n_recordings=len(plans),
        seed=seed,
        groups=summarise(rows, sync_source=source),
        streams=rows,
        methods=dict(sorted(methods.items())),
        failures=failures,
        settings=settings,
        elapsed_s=math.nan,
        sync_source=source,
    )


def _options_for(base: Any, index: int, sync_source: str = "flashes") -> Any:
    """The hard cases, spread over the recordings by position; a train adds its own (missed pulses,
    late starts, early stops) on every recording."""
    hard = replace(
        base,
        missing_flash_probability=MISSING_FLASH_PROBABILITY if index % 2 == 1 else 0.0,
        clock_resets=1 if index % 4 == 3 else 0,
    )
    if sync_source == "flashes":
        return hard
    return replace(
        hard,
        sync_source=sync_source,
        missing_pulse_probability=TRAIN_MISSING_PULSES,
        sync_late_start_s=TRAIN_LATE_START_S,
        sync_early_stop_s=TRAIN_LATE_START_S,
    )


def _process_recording(job: tuple[Any, Any, Path]) -> tuple[list[StreamErrors], dict[str, int]]:
    """Worker: generate one recording, ingest it, fit its clocks, evaluate against its truth."""
    from flexsync.config import PipelineSettings
    from flexsync.fkg.catalogue import default_fkg
    from flexsync.ingest.clocks import fit_recording_clocks
    from flexsync.ingest.recording import RawRecording
    from flexsync.ingest.streams import ingest_stream
    from flexsync.raw.layout import RECORDINGS_DIR, TRUTH_FILE
    from flexsync.storage.store import Store
    from flexsync.synth.recording import generate_recording
    from flexsync.synth.truth import RecordingTruth

    plan, options, base = job
    raw, truth_root, store_root = base / "raw", base / "truth", base / "store"
    (raw / RECORDINGS_DIR).mkdir(parents=True, exist_ok=True)
    generate_recording(plan, default_fkg(), options, raw_root=raw, truth_root=truth_root)
    recording = RawRecording.open(raw, plan.key)
    store = Store(store_root)
    settings = PipelineSettings()
    for name in recording.manifest.streams:
        ingest_stream(recording, name, store, settings)
    fitted = fit_recording_clocks(recording, store, settings)
    truth = RecordingTruth.read(truth_root / plan.key / TRUTH_FILE)  # the only place truth is read
    rows = _evaluate_recording(plan.key, recording, store, fitted.models, truth, options.sync_source)
    methods: dict[str, int] = {}
    for model in fitted.models.values():
        methods[model.method] = methods.get(model.method, 0) + 1
    return rows, methods


def _evaluate_recording(
    key: str, recording: Any, store: Any, models: dict[str, ClockModel], truth: Any, sync_source: str = "flashes"
) -> list:
    from flexsync.ingest.clocks import fit_view_by_motion, optical_axis
    from flexsync.ingest.staging import read_staged
    from flexsync.synth.truth import expected_model
    from flexsync.timing.motion_xcorr import emg_activity, fit_by_motion, joint_speed

    ref = recording.manifest.reference_stream
    true_times = _truth_times(truth)
    staged = {name: read_staged(store, key, name) for name in recording.manifest.streams}
    mocap = staged[ref]
    diagnostics = sync_source == "flashes"  # the motion fits do not depend on the sync source: run them once
    ref_t, ref_speed = (
        joint_speed(mocap.array("t_device"), mocap.array("joints"), mocap.array("valid"))
        if diagnostics
        else (None, None)
    )
    single = "one flash" if sync_source == "flashes" else "one pulse"
    rows = []
    for name, model in models.items():
        kind = staged[name].summary.kind
        expected = expected_model(truth, name, ref)
        device_times = np.sort(truth.stream(name).clock.to_device(true_times))
        group = "cinema" if kind == "video" and name != "phone" else ("phone" if name == "phone" else kind)
        n_events = sum(s.n_events for s in model.segments)
        if model.method == "events+offset-only":
            group = f"{group} ({single})" if kind == "video" else group
        elif model.method == "motion-xcorr":
            group = f"{group} (motion fallback)"
        row = _row(key, name, group, model, expected, device_times)
        rows.append(row)
        if len(truth.stream(name).segments) > 1:
            rows.append(replace(row, group=group + RESET_SUFFIX))
        if not diagnostics:
            continue
        if kind == "video":
            motion = fit_view_by_motion(name, staged[name], ref, mocap, optical_axis(recording, name))
            rows.append(_row(key, name, "motion-xcorr, every video (diagnostic)", motion, expected, device_times))
            if n_events < 2 or model.method not in ("events", "identity"):
                rows.append(_row(key, name, "motion-xcorr fallback", motion, expected, device_times))
        elif kind == "emg":
            s = staged[name]
            t, activity = emg_activity(s.array("envelope_t_device"), s.array("envelope"))
            motion = fit_by_motion(name, t, activity, ref_t, ref_speed, reference=ref, device_timestamps_s=t)
            rows.append(_row(key, name, "motion-xcorr, emg (diagnostic)", motion, expected, device_times))
    return rows


def _row(
    key: str,
    name: str,
    group: str,
    model: ClockModel,
    expected: list[tuple[float, float, float]],
    device_times: np.ndarray,
) -> StreamErrors:
    if model.method == "nominal":
        return StreamErrors(key, name, group, model.method, (), (), 0.0, "; ".join(model.notes) or "no clock model")
    errors, drift = evaluate_model(model, expected, device_times)
    if model.method != "events" and not any(s.drift for s in model.segments):
        drift = np.zeros(0)  # drift not estimated (offset only, or a motion fit too short for it)
    return StreamErrors(
        key,
        name,
        group,
        model.method,
        tuple(float(e) for e in errors),
        tuple(float(d) for d in drift),
        float(model.confidence),
    )


def _truth_times(truth: Any) -> np.ndarray:
    """True times (s) to compare at: the sync onsets and every repetition and phase boundary."""
    times = list(truth.sync_events_true_s)
    for rep in truth.repetitions:
        times += [rep["start_true_s"], rep["end_true_s"]]
        times += [p["start_true_s"] for p in rep.get("phases", ())]
    return np.unique(np.asarray(times, dtype=np.float64))


def _truth_segment(truth: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(truth[:, 0], t, side="right") - 1, 0, truth.shape[0] - 1)


def _true_map(truth: np.ndarray, t: np.ndarray) -> np.ndarray:
    k = _truth_segment(truth, t)
    return truth[k, 1] + (1.0 + truth[k, 2]) * t


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else math.nan
