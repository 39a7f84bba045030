"""Ingest one video view: PTS, dropped frames, sync flashes, and resized frames into staging.

One decoding pass does everything: frames go to Zarr chunk by chunk while the flash
features (cell luma) accumulate, so a video is never held in memory whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS, outcome
from flexsync.ingest.contract import StageOutput, StreamSource
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.staging import StreamSummary, SyncEvent
from flexsync.ingest.sync_inputs import MARKER_WIDTH_FACTOR, max_train_pulses, train_events, train_source
from flexsync.quality import TableMeta
from flexsync.readers.stream import VideoStream
from flexsync.readers.video import decoding_work, frame_gaps, iter_frames, probe_video
from flexsync.storage.background import BackgroundAppender
from flexsync.storage.zarr_io import ChunkedAppender, create_array, open_group_for_write, write_array
from flexsync.timing.flash import FlashEvents, FlashOptions, detect_flashes

__all__ = ["VideoIngester", "dropped_frame_gaps"]

logger = logging.getLogger(__name__)

MAX_DROPPED_FRACTION = 0.01
# Flashes the marker pass may return: more than the two markers, or the detector discounts them
# against the LED's other (narrower) pulses; events of the wrong width are dropped after.
_MARKER_CANDIDATES = 4


def dropped_frame_gaps(timestamps_s: np.ndarray) -> list[dict[str, float | int]]:
    """Where frames are missing: intervals much longer than the local frame interval (a VFR stretch is no gap)."""
    return frame_gaps(timestamps_s)


class VideoIngester:
    """One video view: PTS, drops, flashes, resized frames and cell luma, in one decoding pass.

    With ``source.alongside`` (other videos decode at the same time) this one decodes and scales
    on a single thread: FFmpeg's own threads would only compete with the other videos for the
    cores (about 30% more CPU for the same frames on 2 cores).
    """

    kind = "video"
    description = "Video views: frame PTS, dropped frames, sync flashes, resized frames (any number of views)."
    checks = STREAM_CHECKS["video"]
    time_noun = "PTS"
    events_noun = "sync flashes"

    def work_estimate(self, source_path: Path) -> float:
        return 1e9 + decoding_work(source_path)  # ahead of every signal stream (those take well under a second)

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput:
        recording, entry, path, stream, settings = (
            source.recording,
            source.entry,
            source.path,
            source.stream,
            source.settings,
        )
        video = probe_video(path, stream_index=entry.options.get("video_stream"), name=stream)
        _reject_truncated(video, path, recording.key, stream)
        _reject_calibration_mismatch(recording, stream, video, path)
        t_device = video.timestamps_s
        exposure_s = float(entry.options.get("exposure_s") or _calibrated_exposure(recording, stream) or 0.0)
        if exposure_s <= 0:
            exposure_s = 1.0 / video.nominal_rate_hz  # no exposure known: assume a 360-degree shutter
        width, height = settings.frame_width, settings.frame_height
        luma = np.empty((video.n_frames, *settings.luma_grid), dtype=np.float32)
        group = open_group_for_write(group_dir)
        frames = create_array(
            group,
            "frames",
            shape=(video.n_frames, height, width, 3),
            dtype="uint8",
            chunks=(settings.frame_chunk, height, width, 3),
            compressor=None if settings.frame_codec == "none" else settings.frame_codec,
            zstd_level=settings.frame_zstd_level,
            h264_crf=settings.frame_crf,
            h264_preset=settings.frame_preset,
            write_empty_chunks=True,
        )
        with BackgroundAppender(ChunkedAppender(frames), block_rows=settings.frame_chunk) as out:
            chunks = iter_frames(
                video,
                width=width,
                height=height,
                chunk_frames=settings.frame_chunk,
                luma_grid=settings.luma_grid,
                threads="NONE" if source.alongside else "AUTO",
                scale_threads=1 if source.alongside else 0,
                buffers=out.borrow,  # frames are converted straight into the writer's buffers
            )
            for chunk in chunks:
                out.submit(chunk.frames)
                luma[chunk.start_index : chunk.start_index + chunk.n_frames] = chunk.luma
        write_array(group, "t_device", t_device.astype(np.float64))
        write_array(group, "luma_grid", luma, chunks=(4096, *settings.luma_grid))

        def flashes_of(pulse_s: float, max_events: int, cells: tuple[int, ...] = ()) -> FlashEvents:
            return detect_flashes(
                _only_cells(luma.reshape(video.n_frames, -1), cells),
                t_device,
                exposure_s=exposure_s,
                pulse_s=pulse_s,
                options=FlashOptions(max_events=max_events),
                grid_shape=settings.luma_grid,
                stream=f"{recording.key}/{stream}",
                readout_s=float(entry.options.get("rolling_shutter_s") or 0.0),  # rolling shutter (docs/raw-format.md)
            )

        train = train_source(entry)
        if train is None:
            flashes = flashes_of(settings.sync_pulse_s, 2)
            events = [
                SyncEvent(float(flashes.onset_s[i]), float(flashes.uncertainty_s[i]), "flash", flashes.which[i])
                for i in range(flashes.n)
            ]
        else:
            flashes, events = _train_flashes(flashes_of, t_device, settings.sync_pulse_s, train)
        gaps = dropped_frame_gaps(t_device)
        summary = source.summary(
            t_device=t_device,
            n_channels=3,
            sync_events=events,
            width=video.width,
            height=video.height,
            codec=video.codec,
            dropped_frames=gaps,
            warnings=list(video.warnings),
            extra={"flash_cells": list(flashes.cells), "flash_confidence": [float(c) for c in flashes.confidence]},
        )
        group.attrs.update(
            {
                "kind": "video",
                "nominal_rate_hz": float(entry.nominal_rate_hz),
                "exposure_s": exposure_s,
                "codec": video.codec,
                "source_width": video.width,
                "source_height": video.height,
                "width": width,
                "height": height,
                "n_dropped": int(sum(g["n_missing"] for g in gaps)),
                "rotation_deg": video.rotation_deg,
                "ingest": summary.to_attrs(),
            }
        )
        n_missing = sum(g["n_missing"] for g in gaps)
        fraction = n_missing / max(1, summary.n_samples + n_missing)
        dropped = outcome(
            self.checks[1],
            fraction <= MAX_DROPPED_FRACTION,
            f"{source.where}: {n_missing} dropped frames ({fraction:.2%}) in {len(gaps)} gaps",
            n_dropped=n_missing,
            gaps=len(gaps),
        )
        return StageOutput(
            summary=summary, t_device=t_device, metadata=_metadata(summary, width, height, exposure_s), checks=[dropped]
        )


def _only_cells(features: np.ndarray, cells: tuple[int, ...]) -> np.ndarray:
    """The luma grid with every cell but ``cells`` held at its mean (no steps): all of it when none given."""
    if not cells:
        return features
    out = np.repeat(features.mean(axis=0, keepdims=True), features.shape[0], axis=0).astype(features.dtype)
    out[:, list(cells)] = features[:, list(cells)]
    return out


def _train_flashes(
    flashes_of: Callable[..., FlashEvents], t_device: np.ndarray, pulse_s: float, sync_source: str
) -> tuple[FlashEvents, list[SyncEvent]]:
    """Every LED pulse of a train (``flashes_of(pulse_s, max_events, cells)`` finds them) and, for a pulse
    train, its markers: a second pass at the marker width over the LED cells of the first (so no other
    cell can pass for the LED), keeping events of the marker's width. The first pass's result is returned."""
    duration = float(t_device[-1] - t_device[0]) if t_device.size > 1 else 0.0
    pulses = flashes_of(pulse_s, max_train_pulses(duration))
    onsets, unc = list(pulses.onset_s), list(pulses.uncertainty_s)
    widths = [pulse_s] * pulses.n
    if sync_source == "pulse_train" and pulses.cells:
        marker_s = MARKER_WIDTH_FACTOR * pulse_s
        markers = flashes_of(marker_s, _MARKER_CANDIDATES, pulses.cells)
        wide = np.abs(markers.offset_s - markers.onset_s - marker_s) <= 0.5 * pulse_s
        for t, u in zip(markers.onset_s[wide], markers.uncertainty_s[wide], strict=True):
            keep = [abs(o - t) > marker_s for o in onsets]  # a marker is not also a pulse
            onsets, unc, widths = ([v for v, k in zip(a, keep, strict=True) if k] for a in (onsets, unc, widths))
            onsets.append(float(t))
            unc.append(float(u))
            widths.append(marker_s)
    events = train_events(
        np.array(onsets),
        np.array(widths),
        t_device,
        source="flash",
        uncertainty_s=np.array(unc),
        pulse_s=pulse_s,
        sync_source=sync_source,
    )
    return pulses, events


def _reject_truncated(video: VideoStream, path: Path, key: str, stream: str) -> None:
    """Refuse a stream whose frames fall short of what its container declares (ingest: always "raise").

    A file cut short still opens and decodes up to the cut when its index comes first (an MP4
    with the ``moov`` box first) or when the container needs no index (Matroska/WebM); the probe
    only warns. Publishing it would silently lose the end of the recording, including the end
    sync flash, so ingest stops here. The numbers (declared vs held frames and durations) come
    from the reader (``flexsync.readers.video.truncation_problem``).
    """
    from flexsync.readers.registry import TRUNCATION_FIX  # here: only this function of the module is the readers'
    from flexsync.readers.video import truncation_problem

    facts = video.metadata.get("truncation")
    # The index-count message keeps its established wording (tests/pipeline pin it).
    problem = truncation_problem(facts, with_durations=False) if facts else None
    if problem:
        raise InputFileError(f"{problem}; {TRUNCATION_FIX}", path=path, recording=key, stream=stream)


def _reject_calibration_mismatch(recording: RawRecording, stream: str, video: VideoStream, path: Path) -> None:
    """Refuse a view whose frames are not the size its calibration was made for (the intrinsics would not apply)."""
    camera = (recording.calibration or {}).get(stream)
    if camera is None or (camera.width, camera.height) == (video.width, video.height):
        return
    raise InputFileError(
        f"the video is {video.width}x{video.height} but {recording.manifest.calibration} calibrates {stream} at "
        f"{camera.width}x{camera.height}: its intrinsics do not apply to these frames; recalibrate at the recorded "
        "size, or correct the calibration's width and height",
        path=path,
        recording=recording.key,
        stream=stream,
    )


def _calibrated_exposure(recording: RawRecording, stream: str) -> float | None:
    camera = (recording.calibration or {}).get(stream)
    return camera.exposure_s if camera is not None else None


def _metadata(summary: StreamSummary, width: int, height: int, exposure_s: float) -> dict:
    n_missing = sum(g["n_missing"] for g in summary.dropped_frames)
    return {
        "frames": summary.n_samples,
        "source_size": f"{summary.width}x{summary.height}",
        "stored_size": f"{width}x{height}",
        "codec": summary.codec or "",
        "nominal_fps": summary.nominal_rate_hz,
        "measured_fps": summary.measured_rate_hz,
        "exposure_s": exposure_s,
        "dropped_frames": n_missing,
        "sync_flashes": TableMeta(
            ("label", "onset_pts_s", "uncertainty_ms"),
            tuple((e.label, e.t_device_s, e.uncertainty_s * 1e3) for e in summary.sync_events),
        ),
        "pts_first_s": summary.t_device_first_s,
        "pts_last_s": summary.t_device_last_s,
    }
