"""Generate one raw recording: every device sampled on its own clock, written as a lab would.

The motion is simulated once on the generator's true time axis; each device then samples it
through its own clock model (offset, drift, optional reset), drops frames where a camera would,
and writes its native file format. The manifest goes last; the ground truth goes to TRUTH_ROOT.

The FLEX rig (cam1..cam4, phone, mocap, one EMG, physio) draws from the recording's generator in
a fixed order. Devices beyond it (``cinema_cameras`` > 4, ``emg_devices`` > 1) each draw from their
own stream (``RecordingPlan.device_rng``), so adding them never changes the other files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from flexsync.exports.score_ranges import flex_score_ranges
from flexsync.fkg.catalogue import FitnessKnowledgeGraph
from flexsync.fkg.scoring import fkg_score
from flexsync.raw.layout import ANNOTATIONS_FILE, CALIBRATION_FILE, RECORDINGS_DIR, TRUTH_FILE
from flexsync.raw.manifest import Manifest, StreamEntry, write_manifest
from flexsync.skeleton import JOINT_NAMES
from flexsync.synth.c3d_writer import occlusion_mask, write_c3d
from flexsync.synth.cameras import CameraCalibration, default_rig, write_calibration
from flexsync.synth.clocks import (
    DeviceClock,
    camera_frame_times,
    exposure_overlap,
    file_time_clock,
    random_clock,
    regular_device_times,
    vfr_frame_times,
)
from flexsync.synth.edf_writer import write_emg_file
from flexsync.synth.emg_synth import EmgSynthesizer, trigger_signal
from flexsync.synth.look import CameraLook, sensor_for
from flexsync.synth.motion import SetMotion, simulate_set
from flexsync.synth.options import SynthOptions
from flexsync.synth.physio_synth import synthesize_physio, write_events_csv, write_physio_csv
from flexsync.synth.render import LED_OFF_RGB, LED_ON_RGB, FrameRenderer
from flexsync.synth.subjects import Subject
from flexsync.synth.sync_source import TRAIN_SOURCES, SyncSchedule, device_sees, sync_schedule, sync_stream_index
from flexsync.synth.truth import RecordingTruth, StreamTruth
from flexsync.synth.video_writer import Mp4Writer

__all__ = [
    "EXTRA_EMG_MUSCLES",
    "RecordingPlan",
    "action_score_range",
    "cinema_views",
    "emg_stream_names",
    "generate_recording",
    "planned_motion",
    "recording_key",
]

logger = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, 90000)
CINEMA_VIEWS = ("cam1", "cam2", "cam3", "cam4")  # the FLEX rig; more with SynthOptions.cinema_cameras
EXTRA_EMG_MUSCLES = 4  # an extra EMG device records the action's first 4 emg_muscles, both sides (8 channels)
# Tags of the independent random streams of devices beyond the FLEX rig (RecordingPlan.device_rng).
_DEVICE_STREAM_TAGS = {"rig": 1, "video": 2, "emg": 3, "look": 4, "sync": 5}
LED_POSITION_LAB = np.array([0.95, -0.35, 1.25])  # on a stand beside the subject, seen by every camera
EMG_START = "2026-01-05T10:00:00"  # fixed, so files are byte-identical across runs


def action_score_range(action_id: str) -> tuple[float, float]:
    """(min, max) the scores of ``action_id`` are drawn in: FLEX's range of its class (A07 -> class 7).

    FLEX's training code normalises each class with these hard-coded ranges
    (``flexsync/exports/flex_score_ranges.csv``); generating inside them keeps its labels in [0, 100].
    """
    return flex_score_ranges()[int(action_id[1:])]


def recording_key(subject_id: str, action_id: str, take: int) -> str:
    return f"{subject_id}_{action_id}_T{take}"


def cinema_views(n: int) -> tuple[str, ...]:
    """Names of ``n`` cinema cameras: ``cam1`` .. ``camn``."""
    return tuple(f"cam{i}" for i in range(1, n + 1))


def emg_stream_names(n: int) -> tuple[str, ...]:
    """Names of ``n`` EMG devices: ``emg``, then ``emg2`` .. ``emgn``."""
    return ("emg", *(f"emg{i}" for i in range(2, n + 1)))


@dataclass(frozen=True)
class RecordingPlan:
    """One recording to generate: who, what, which take, and its own seed sequence."""

    subject: Subject
    action_id: str
    take: int
    seed: int

    @property
    def key(self) -> str:
        return recording_key(self.subject.id, self.action_id, self.take)

    def _entropy(self) -> list[int]:
        return [self.seed, int(self.subject.id[1:]), int(self.action_id[1:]), self.take]

    def rng(self) -> np.random.Generator:
        # Seeded by identity, not by position: adding recordings never changes existing ones.
        return np.random.default_rng(self._entropy())

    def device_rng(self, what: str, index: int = 0) -> np.random.Generator:
        """An independent stream for a device beyond the FLEX rig (``"video"`` cam5.., ``"emg"`` emg2..,
        ``"rig"`` the extra cameras' placement) or for the sync trains (``"sync"``): a child of the
        recording's seed sequence, so its draws neither shift nor repeat those of ``rng()``."""
        sequence = np.random.SeedSequence(self._entropy(), spawn_key=(_DEVICE_STREAM_TAGS[what], index))
        return np.random.default_rng(sequence)


def _simulate(
    plan: RecordingPlan, fkg: FitnessKnowledgeGraph, options: SynthOptions, rng: np.random.Generator
) -> SetMotion:
    """The recording's motion: the first draws of its generator (the devices draw after it)."""
    return simulate_set(
        fkg,
        plan.action_id,
        plan.subject,
        n_reps=options.repetitions,
        rng=rng,
        lead_in_s=options.lead_in_s,
        lead_out_s=options.lead_out_s,
        score_range=action_score_range(plan.action_id),
    )


def planned_motion(plan: RecordingPlan, fkg: FitnessKnowledgeGraph, options: SynthOptions) -> SetMotion:
    """The motion :func:`generate_recording` simulates for ``plan`` (same draws), without writing anything.

    Its ``repetitions`` carry the errors the annotations will list; the annotated score of a
    repetition is ``round(fkg_score(fkg, action, errors), 2)``. Cheap (no rendering): tests and
    tools use it to know a dataset's labels before generating it.
    """
    return _simulate(plan, fkg, options, plan.rng())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sync_windows(events_true_s: list[float], pulse_s: float) -> list[tuple[float, float]]:
    return [(t, t + pulse_s) for t in events_true_s]


def _device_events(clock: DeviceClock, events_true_s: list[float]) -> tuple[float, ...]:
    return tuple(float(t) for t in clock.to_device(np.asarray(events_true_s)))


@dataclass(frozen=True)
class _DeviceSync:
    """What one device receives of a sync train: its windows (true time) and its truth entries."""

    windows: list[tuple[float, float]]
    seen: list[int]


def _train_for(
    plan: RecordingPlan,
    schedule: SyncSchedule,
    options: SynthOptions,
    stream: str,
    true_start_s: float,
    end_true_s: float,
) -> _DeviceSync:
    """The pulses of ``schedule`` that reach ``stream`` (drawn from the stream's own sync generator)."""
    rng = plan.device_rng("sync", 1 + sync_stream_index(stream))
    seen = device_sees(schedule, options, rng, true_start_s=true_start_s, true_end_s=end_true_s)
    return _DeviceSync(schedule.windows(seen), [int(i) for i in np.flatnonzero(seen)])


def _with_sync_source(entry_options: dict[str, object], options: SynthOptions) -> dict[str, object]:
    """Stream options plus ``sync_source`` when a train is wired (flash-pair manifests stay as they were)."""
    if options.sync_source not in TRAIN_SOURCES:
        return entry_options
    return {**entry_options, "sync_source": options.sync_source}


def _write_video(
    path: Path,
    camera: CameraCalibration,
    motion: SetMotion,
    clock: DeviceClock,
    device_times_s: np.ndarray,
    led_windows: list[tuple[float, float]],
    *,
    rate_hint_hz: float,
    equipment: str,
    look_rng: np.random.Generator | None = None,
) -> None:
    """Render each kept frame at its exposure on the true axis and encode it with its own PTS.

    With ``look_rng`` the frames get the realistic look (``_write_realistic_video``), drawn from it.
    """
    if look_rng is not None:
        _write_realistic_video(
            path, camera, motion, clock, device_times_s, led_windows, rate_hint_hz, equipment, look_rng
        )
        return
    renderer = FrameRenderer(camera, led_position_lab=LED_POSITION_LAB, equipment=equipment)
    start_true = clock.to_true(device_times_s)
    exposure_true = clock.to_true(device_times_s + camera.exposure_s) - start_true
    led_levels = exposure_overlap(start_true, exposure_true, led_windows)
    mid_true = start_true + 0.5 * exposure_true
    joints = motion.sample(mid_true)
    equipment = motion.sample_equipment(mid_true)
    pts = np.round(device_times_s / float(VIDEO_TIME_BASE)).astype(np.int64)
    frame = np.empty((camera.height, camera.width, 3), np.uint8)
    with Mp4Writer(
        path, width=camera.width, height=camera.height, time_base=VIDEO_TIME_BASE, average_rate_hz=rate_hint_hz
    ) as writer:
        for i in range(len(device_times_s)):
            renderer.render(joints[i], equipment[i], led_level=float(led_levels[i]), out=frame)
            writer.write(frame, int(pts[i]))


def _write_realistic_video(
    path: Path,
    camera: CameraCalibration,
    motion: SetMotion,
    clock: DeviceClock,
    device_times_s: np.ndarray,
    led_windows: list[tuple[float, float]],
    rate_hint_hz: float,
    equipment: str,
    rng: np.random.Generator,
) -> None:
    """The realistic look (``flexsync.synth.look``): sub-exposure renders blended per row, LED light per
    row (rolling shutter), lighting, vignetting, AE, noise; encoded at the sensor's camera-like bitrate.

    The frame's PTS is the exposure start of its first row (as for the flat look).
    """
    sensor = sensor_for(camera.name)
    renderer = FrameRenderer(
        camera,
        led_position_lab=LED_POSITION_LAB,
        equipment=equipment,
        textured=True,
        texture_seed=int(rng.integers(2**31)),
    )
    look = CameraLook(
        renderer.shape,
        exposure_s=camera.exposure_s,
        sensor=sensor,
        led_centre_px=np.array(renderer.led_draw_centre_px),
        led_radius_px=renderer.led_draw_radius_px,
        led_rgb=LED_ON_RGB - LED_OFF_RGB,
        rng=rng,
    )
    start_true = clock.to_true(device_times_s)
    exposure_true = clock.to_true(device_times_s + camera.exposure_s) - start_true
    led_levels = look.led_row_levels(start_true, exposure_true, led_windows)
    n_sub = len(look.sub_offsets_s)
    scale = exposure_true / camera.exposure_s  # device seconds -> true seconds (drift)
    sub_true = start_true[:, None] + look.sub_offsets_s[None, :] * scale[:, None]
    joints = motion.sample(sub_true.reshape(-1)).reshape(len(device_times_s), n_sub, -1, 3)
    equipment_lab = motion.sample_equipment(sub_true.reshape(-1)).reshape(len(device_times_s), n_sub, 2, 3)
    pts = np.round(device_times_s / float(VIDEO_TIME_BASE)).astype(np.int64)
    renders = np.empty((n_sub, camera.height, camera.width, 3), np.uint8)
    frame = np.empty((camera.height, camera.width, 3), np.uint8)
    bitrate = sensor.bitrate_kbps(camera.width, camera.height, rate_hint_hz)
    with Mp4Writer(
        path,
        width=camera.width,
        height=camera.height,
        time_base=VIDEO_TIME_BASE,
        average_rate_hz=rate_hint_hz,
        bitrate_kbps=bitrate,
    ) as writer:
        for i in range(len(device_times_s)):
            for k in range(n_sub):
                renderer.render(joints[i, k], equipment_lab[i, k], led_level=0.0, out=renders[k])
            look.frame(renders, float(start_true[i]), led_levels[i], frame)
            writer.write(frame, int(pts[i]))


def generate_recording(
    plan: RecordingPlan,
    fkg: FitnessKnowledgeGraph,
    options: SynthOptions,
    *,
    raw_root: Path,
    truth_root: Path,
) -> Path:
    """Write one complete recording folder (manifest last) and its truth; return the folder."""
    rng = plan.rng()
    key = plan.key
    final = raw_root / RECORDINGS_DIR / key
    work = raw_root / RECORDINGS_DIR / f".tmp-{key}"
    if work.exists():
        shutil.rmtree(work)
    for sub in ("video", "mocap", "emg", "physio"):
        (work / sub).mkdir(parents=True)

    motion = _simulate(plan, fkg, options, rng)
    end_true = float(motion.t_s[-1])
    events_true = [options.max_start_spread_s + 0.4 + float(rng.uniform(0.0, 0.2)), end_true - 1.2]
    windows = _sync_windows(events_true, options.sync_pulse_s)
    # A train's own draws come from the "sync" streams: every other byte is as with the flash pair.
    schedule = (
        sync_schedule(options, events_true, end_true, plan.device_rng("sync"))
        if options.sync_source in TRAIN_SOURCES
        else None
    )
    train_times = events_true if schedule is None else [float(t) for t in schedule.onsets_s]

    def sync_of(stream: str, true_start_s: float) -> _DeviceSync | None:
        """What a device recording from true ``true_start_s`` receives of the train (None: the flash pair)."""
        if schedule is None:
            return None
        return _train_for(plan, schedule, options, stream, true_start_s, end_true)

    def clock_for(kind: str, device_rng: np.random.Generator = rng) -> DeviceClock:
        # Resets are spread over this recording's own length (not a fixed 30 s), so they fall inside it.
        return random_clock(
            kind,
            device_rng,
            max_offset_s=options.max_start_spread_s,
            n_resets=options.clock_resets if kind != "mocap" else 0,
            duration_s=end_true,
        )

    streams: dict[str, StreamEntry] = {}
    stream_truth: dict[str, StreamTruth] = {}
    cameras = default_rig(
        width=options.width,
        height=options.height,
        phone_width=options.phone_width,
        phone_height=options.phone_height,
        rng=rng,
        cinema_cameras=options.cinema_cameras,
        extra_rng=plan.device_rng("rig"),
    )
    cameras = {
        name: _with_exposure(cam, options.phone_exposure_s if name == "phone" else options.cinema_exposure_s)
        for name, cam in cameras.items()
    }

    # --- video -----------------------------------------------------------------------------
    cam1_true_times = None
    # cam1..cam4 always draw from the recording's generator (a view left out is drawn, not written),
    # so the other streams do not depend on cinema_cameras; cam5.. draw from their own streams.
    for number, view in enumerate((*cinema_views(max(options.cinema_cameras, len(CINEMA_VIEWS))), "phone"), 1):
        extra = view != "phone" and number > len(CINEMA_VIEWS)
        view_rng = plan.device_rng("video", number) if extra else rng
        clock = clock_for("phone" if view == "phone" else "cinema", view_rng)
        if view == "phone":
            kept, dropped = vfr_frame_times(
                clock,
                mean_rate_hz=options.phone_rate_hz,
                jitter_s=options.phone_jitter_s,
                true_end_s=end_true,
                n_drops=options.dropped_frames_per_camera,
                rng=view_rng,
            )
            rate = options.phone_rate_hz
        else:
            kept, dropped = camera_frame_times(
                clock,
                rate_hz=options.cinema_rate_hz,
                true_end_s=end_true,
                n_drops=options.dropped_frames_per_camera,
                rng=view_rng,
            )
            rate = options.cinema_rate_hz
        led = windows
        missed: list[int] = []
        if options.missing_flash_probability > 0:
            missed = [i for i in range(len(windows)) if view_rng.uniform() < options.missing_flash_probability]
            led = [w for i, w in enumerate(windows) if i not in missed]
        if view not in cameras:
            continue  # cinema_cameras < 4: this view's draws are made, its file is not written
        train = sync_of(view, float(clock.to_true(kept[:1])[0]))
        if train is not None:
            led = train.windows  # the LED shows the train (missing_flash_probability is for the flash pair)
        relative = f"video/{view}.mp4"
        _write_video(
            work / relative,
            cameras[view],
            motion,
            clock,
            kept,
            led,
            rate_hint_hz=rate,
            equipment="dumbbells" if fkg.action(plan.action_id).equipment == "dumbbell" else "barbell",
            look_rng=plan.device_rng("look", number) if options.look == "realistic" else None,
        )
        if view == "cam1":
            cam1_true_times = clock.to_true(kept)
        streams[view] = StreamEntry(
            name=view,
            kind="video",
            file=relative,
            format="mp4",
            nominal_rate_hz=rate,
            device="smartphone (handheld, variable frame rate)" if view == "phone" else f"cinema camera {view[3:]}",
            options=_with_sync_source(_video_options(cameras[view], view == "phone", options.look), options),
        )
        seen = {"missed_flashes": missed} if train is None else {"seen_pulses": train.seen}
        stream_truth[view] = StreamTruth(
            segments=clock.segments,
            dropped_frames=tuple(int(i) for i in dropped),
            event_device_times_s=_device_events(clock, train_times),
            exposure_s=cameras[view].exposure_s,
            extra={**seen, "nominal_frames": len(kept) + len(dropped)},
        )
    write_calibration(work / CALIBRATION_FILE, cameras)

    # --- motion capture ----------------------------------------------------------------------
    clock = clock_for("mocap")
    point_times = regular_device_times(
        clock, rate_hz=options.mocap_rate_hz, true_start_s=clock.to_true(np.array([0.0]))[0], true_end_s=end_true
    )
    analog_rate = options.mocap_rate_hz * options.mocap_analog_factor
    analog_times = np.arange(len(point_times) * options.mocap_analog_factor) / analog_rate
    valid = occlusion_mask(rng, n_frames=len(point_times), n_joints=len(JOINT_NAMES), rate_hz=options.mocap_rate_hz)
    train = sync_of("mocap", float(clock.to_true(point_times[:1])[0]))
    sync = trigger_signal(analog_times, clock, windows if train is None else train.windows, rate_hz=analog_rate)
    write_c3d(
        work / "mocap/mocap.c3d",
        points_m=motion.sample(clock.to_true(point_times)),
        valid=valid,
        labels=list(JOINT_NAMES),
        point_rate_hz=options.mocap_rate_hz,
        analog=sync[:, None].astype(np.float32),
        analog_labels=["SYNC"],
        analog_rate_hz=analog_rate,
    )
    streams["mocap"] = StreamEntry(
        name="mocap",
        kind="mocap",
        file="mocap/mocap.c3d",
        format="c3d",
        nominal_rate_hz=options.mocap_rate_hz,
        device="optical motion capture (21 joint markers)",
        options=_with_sync_source({"sync_channel": "SYNC"}, options),
    )
    stream_truth["mocap"] = StreamTruth(
        segments=clock.segments,
        dropped_frames=(),
        event_device_times_s=_device_events(clock, train_times),
        exposure_s=None,
        extra={"occluded_samples": int((~valid).sum()), **({} if train is None else {"seen_pulses": train.seen})},
    )

    # --- sEMG --------------------------------------------------------------------------------
    action = fkg.action(plan.action_id)
    channel_names = [f"{m}_{side}" for m in action.emg_muscles for side in ("L", "R")]
    for number, name in enumerate(emg_stream_names(options.emg_devices), 1):
        # The first device draws from the recording's generator, the others from their own streams.
        device_rng = rng if number == 1 else plan.device_rng("emg", number)
        names = channel_names if number == 1 else channel_names[: 2 * EXTRA_EMG_MUSCLES]
        streams[name], stream_truth[name] = _write_emg(
            work,
            name,
            f"emg/{name}.{options.emg_format}",
            names,
            motion.activation[:, : len(names)],  # channel order = muscle1_L, muscle1_R, ...
            motion.t_s,
            clock_for("emg", device_rng),
            device_rng,
            options,
            windows,
            events_true,
            sync_of,
            train_times,
        )

    # --- physiology --------------------------------------------------------------------------
    clock = clock_for("physio")
    times, heart, breath = synthesize_physio(
        motion.t_s,
        motion.effort,
        clock=clock,
        rng=rng,
        true_start_s=clock.to_true(np.array([0.0]))[0],
        true_end_s=end_true,
    )
    write_physio_csv(work / "physio/physio.csv", times, heart, breath)
    train = sync_of("physio", float(clock.to_true(times[:1])[0]))
    if train is None:
        event_device = np.round(np.asarray(_device_events(clock, events_true)), 3)
        write_events_csv(work / "physio/physio_events.csv", event_device, ["sync"] * len(event_device))
    else:
        _write_physio_edges(work / "physio/physio_events.csv", clock, train.windows)
    streams["physio"] = StreamEntry(
        name="physio",
        kind="physio",
        file="physio/physio.csv",
        format="csv",
        nominal_rate_hz=1.0,
        device="chest strap (heart and breathing rate)",
        events_file="physio/physio_events.csv",
        options=_with_sync_source({}, options),
    )
    stream_truth["physio"] = StreamTruth(
        segments=clock.segments,
        dropped_frames=(),
        event_device_times_s=_device_events(clock, train_times),
        exposure_s=None,
        extra={} if train is None else {"seen_pulses": train.seen},
    )

    # --- annotations, manifest, truth ----------------------------------------------------------
    assert cam1_true_times is not None
    annotations = _annotations(key, motion, cam1_true_times, fkg, plan.action_id)
    (work / ANNOTATIONS_FILE).write_text(json.dumps(annotations, indent=2) + "\n", encoding="utf-8")

    files = {}
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        relative = path.relative_to(work).as_posix()
        files[relative] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    manifest = Manifest(
        recording=key,
        subject=plan.subject.id,
        action=plan.action_id,
        take=plan.take,
        streams=streams,
        reference_stream="mocap",
        mains_hz=options.mains_hz,
        files=files,
    )
    truth = RecordingTruth(
        recording=key,
        seed=plan.seed,
        sync_events_true_s=tuple(train_times),
        sync_pulse_s=options.sync_pulse_s,
        streams=stream_truth,
        repetitions=tuple(_repetition_truth(r) for r in motion.repetitions),
        sync_source=options.sync_source,
        sync_pulse_widths_s=() if schedule is None else tuple(float(w) for w in schedule.widths_s),
        sync_markers=() if schedule is None else schedule.markers,
    )
    truth_dir = truth_root / key
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth.write(truth_dir / TRUTH_FILE)

    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    write_manifest(final, manifest)  # last: marks the recording complete
    logger.info("recording %s written (%d streams)", key, len(streams))
    return final


def _write_emg(
    work: Path,
    name: str,
    relative: str,
    channel_names: list[str],
    activation: np.ndarray,
    t_motion: np.ndarray,
    clock: DeviceClock,
    rng: np.random.Generator,
    options: SynthOptions,
    windows: list[tuple[float, float]],
    events_true: list[float],
    sync_of: Callable[[str, float], _DeviceSync | None] | None = None,
    train_times: list[float] | None = None,
) -> tuple[StreamEntry, StreamTruth]:
    """Write one EMG device's file (channels + trigger ``TRIG`` from the shared sync box); its entry and truth.

    With a sync train, ``sync_of(name, true start)`` says which pulses reach the trigger input
    and ``train_times`` are every pulse's onset (true time).
    """
    emg_times = regular_device_times(
        clock,
        rate_hz=options.emg_rate_hz,
        true_start_s=clock.to_true(np.array([0.0]))[0],
        true_end_s=float(t_motion[-1]),
    )
    train = None if sync_of is None else sync_of(name, float(clock.to_true(emg_times[:1])[0]))
    if train is not None:
        windows, events_true = train.windows, list(train_times or [])
    synthesizer = EmgSynthesizer(
        t_motion,
        activation,
        device_times_s=emg_times,
        clock=clock,
        rng=rng,
        mains_hz=options.mains_hz,
        rate_hz=options.emg_rate_hz,
    )
    trigger = trigger_signal(emg_times, clock, windows, rate_hz=options.emg_rate_hz)
    write_emg_file(
        work / relative,
        channel_names=channel_names,
        rate_hz=options.emg_rate_hz,
        blocks=synthesizer.blocks(),
        trigger=trigger,
        fmt=options.emg_format,
        start_datetime=EMG_START,
    )
    n = len(channel_names)
    entry = StreamEntry(
        name=name,
        kind="emg",
        file=relative,
        format=options.emg_format,
        nominal_rate_hz=options.emg_rate_hz,
        device=f"{n}-channel wireless sEMG" + ("" if name == "emg" else f" (device {name})"),
        # The ingester expects 16 channels unless told otherwise; the first device keeps its manifest as it was.
        options=_with_sync_source(
            {"trigger_channel": "TRIG"} if n == 16 else {"trigger_channel": "TRIG", "n_channels": n}, options
        ),
    )
    # EDF/BDF store no timestamps (t = index / rate): after a reset the samples simply continue, so
    # the truth must describe the clock as the file shows it, not the jumped device counter.
    file_clock = file_time_clock(clock, emg_times, rate_hz=options.emg_rate_hz)
    truth = StreamTruth(
        segments=file_clock.segments,
        dropped_frames=(),
        event_device_times_s=_device_events(file_clock, events_true),
        exposure_s=None,
        extra={"channel_names": list(channel_names), **({} if train is None else {"seen_pulses": train.seen})},
    )
    return entry, truth


def _write_physio_edges(path: Path, clock: DeviceClock, windows: list[tuple[float, float]]) -> None:
    """The physio device's log of its digital input: each rising edge ("sync") and falling edge ("sync_off"),
    on its clock to the millisecond, in time order."""
    edges = [(t, "sync") for t, _ in windows] + [(t, "sync_off") for _, t in windows]
    edges.sort()
    times = np.round(clock.to_device(np.array([t for t, _ in edges], dtype=np.float64)), 3)
    write_events_csv(path, times, [label for _, label in edges])


def _video_options(camera: CameraCalibration, phone: bool, look: str) -> dict[str, object]:
    """Manifest options of a video stream; the realistic phone adds its rolling-shutter readout time."""
    out: dict[str, object] = {"exposure_s": camera.exposure_s, "variable_frame_rate": phone}
    readout_s = sensor_for(camera.name).readout_s if look == "realistic" else 0.0
    if readout_s > 0:
        out["rolling_shutter_s"] = readout_s
    return out


def _with_exposure(camera: CameraCalibration, exposure_s: float) -> CameraCalibration:
    from dataclasses import replace

    return replace(camera, exposure_s=float(exposure_s))


def _frame_at(true_times: np.ndarray, t: float) -> int:
    """Index of the stored frame whose exposure starts nearest to true time t."""
    i = int(np.searchsorted(true_times, t))
    if i <= 0:
        return 0
    if i >= len(true_times):
        return len(true_times) - 1
    return i if true_times[i] - t < t - true_times[i - 1] else i - 1


def _annotations(key, motion, cam1_true_times, fkg, action_id) -> dict:
    reps = []
    for rep in motion.repetitions:
        observed = [error for error, _ in rep.errors]
        feedback = [fkg.error(action_id, error).feedback for error in observed]
        reps.append(
            {
                "index": rep.index,
                "start_frame": _frame_at(cam1_true_times, rep.start_s),
                "end_frame": _frame_at(cam1_true_times, rep.end_s),
                "phases": [
                    {
                        "phase": p.phase,
                        "key_step": p.key_step,
                        "start_frame": _frame_at(cam1_true_times, p.start_s),
                        "end_frame": _frame_at(cam1_true_times, p.end_s),
                    }
                    for p in rep.phases
                ],
                "errors": [{"error": e, "key_step": k} for e, k in rep.errors],
                "feedback": feedback,
                "score": round(fkg_score(fkg, action_id, observed), 2),
            }
        )
    return {"recording": key, "view": "cam1", "annotator": "synthetic expert", "repetitions": reps}


def _repetition_truth(rep) -> dict:
    return {
        "index": rep.index,
        "start_true_s": rep.start_s,
        "end_true_s": rep.end_s,
        "phases": [
            {"phase": p.phase, "key_step": p.key_step, "start_true_s": p.start_s, "end_true_s": p.end_s}
            for p in rep.phases
        ],
        "errors": [{"error": e, "key_step": k} for e, k in rep.errors],
    }
