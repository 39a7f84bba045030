"""Video cut short (class 1) and VFR vs dropped frames (class 8): every container, at inspect and ingest.

Clips are encoded here with PyAV (AV1 or VP9 in Matroska/WebM, H.264 in MP4/MOV/MKV, MPEG-4 in
AVI) and cut at 60% of their bytes. A cut Matroska file still opens and demuxes to the cut; an MP4
with its index first (faststart) too. Both must be refused (or kept with a warning carrying the
numbers) by the reader, by ``inspect`` and by ingest.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.errors import InputFileError
from flexsync.ingest.video import _reject_truncated
from flexsync.readers import format_inspection, inspect_file, read_file
from flexsync.readers.video import frame_gaps, probe_video

from .conftest import cut, encoder_for, write_clip

# (file name, faststart): 60 frames at 30 fps, 2.000 s
CONTAINERS = [
    ("av1.mkv", False),
    ("vp9.webm", False),
    ("h264.mkv", False),
    ("faststart.mp4", True),
    ("faststart.mov", True),
    ("mpeg4.avi", False),
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Each container: the intact clip and its copy cut at 60% of its bytes."""
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for name, faststart in CONTAINERS:
        codec = "libx264" if name == "h264.mkv" else encoder_for(name.rsplit(".", 1)[1])
        if name == "vp9.webm":
            codec = "libvpx-vp9"
        path = folder / name
        write_clip(path, codec=codec, faststart=faststart)
        made[name] = (path, cut(path, folder))
    return made


def test_the_cases_use_the_codecs_asked_for(clips):
    codecs = {name: probe_video(path).codec for name, (path, _) in clips.items()}
    assert codecs["av1.mkv"] in ("libdav1d", "libaom-av1", "av1") or encoder_for("mkv") == "libvpx-vp9"
    assert codecs["vp9.webm"] in ("vp9", "libvpx-vp9")
    assert codecs["h264.mkv"] == codecs["faststart.mp4"] == "h264"


@pytest.mark.parametrize("name", [n for n, _ in CONTAINERS])
def test_intact_clip_is_not_flagged(clips, name):
    video = read_file(clips[name][0]).videos[clips[name][0].stem]
    assert video.n_frames == 60 and video.warnings == []
    facts = video.metadata["truncation"]
    assert facts["truncated"] is False
    assert facts["declared_duration_s"] == pytest.approx(2.0, abs=0.002)
    assert facts["duration_s"] == pytest.approx(2.0, abs=0.002)
    assert facts["expected_frames"] == 60


@pytest.mark.parametrize("name", [n for n, _ in CONTAINERS])
def test_cut_clip_is_refused_with_declared_and_held_numbers(clips, name):
    path = clips[name][1]
    held = probe_video(path).n_frames  # the default "warn" keeps what the packets hold
    assert 20 <= held <= 45
    with pytest.raises(InputFileError, match=rf"{path.name}: stream 0: truncated video: .*") as caught:
        read_file(path)
    message = str(caught.value)
    if name.endswith((".mp4", ".mov", ".avi")):  # an index that counts the frames
        assert f"the container header promises 60 frames but the file holds {held} " in message
    else:  # Matroska declares a duration only
        assert "the container declares 2.000 s (the Matroska DURATION tag, about 60 frames at 30 fps)" in message
        assert f"the file holds {held} frames covering " in message
    assert message.endswith("; copy the file again from the recorder")
    assert "on_truncated" not in message


def test_cut_clip_kept_with_warning_when_asked(clips):
    path = clips["av1.mkv"][1]
    video = read_file(path, options={"on_truncated": "warn"}).videos[path.stem]
    facts = video.metadata["truncation"]
    assert facts["truncated"] is True and facts["frames"] == video.n_frames < 60
    assert facts["declared_duration_s"] == pytest.approx(2.0, abs=1e-3)
    assert facts["duration_s"] == pytest.approx(video.n_frames / 30, abs=2e-3)
    assert len(video.warnings) == 1
    assert video.warnings[0].startswith(
        f"stream 0: truncated video: the container declares 2.000 s (the Matroska DURATION tag, about 60 frames "
        f"at 30 fps), the file holds {video.n_frames} frames covering"
    )


def test_inspect_shows_the_truncation_in_text_and_json(clips):
    path = clips["vp9.webm"][1]
    summary = inspect_file(path)
    (stream,) = summary["streams"]
    held = stream["n_samples"]
    assert stream["declared"]["truncated"] is True
    assert stream["declared"]["frames"] == 60 and stream["declared"]["held_frames"] == held
    assert stream["declared"]["duration_s"] == pytest.approx(2.0, abs=1e-3)
    text = format_inspection(summary)
    assert "    warning: stream 0: truncated video: the container declares 2.000 s" in text
    assert text.count("truncated video") == 1
    with pytest.raises(InputFileError, match=r"truncated video: .*; copy the file again from the recorder"):
        inspect_file(path, on_truncated="raise")

    runner = CliRunner()
    shown = runner.invoke(app, ["inspect", str(path)])
    assert shown.exit_code == 0, shown.output
    assert f"rate 30 Hz, {held} frames" in shown.stdout
    assert "warning: stream 0: truncated video: the container declares 2.000 s" in shown.stdout
    as_json = runner.invoke(app, ["inspect", str(path), "--json", "-"])
    assert as_json.exit_code == 0, as_json.output
    declared = json.loads(as_json.stdout)["streams"][0]["declared"]
    assert declared == {
        "frames": 60,
        "frames_in_header": None,
        "duration_s": pytest.approx(2.0, abs=1e-3),
        "by": "the Matroska DURATION tag",
        "held_frames": held,
        "held_duration_s": pytest.approx(held / 30, abs=2e-3),
        "truncated": True,
    }


@pytest.mark.parametrize("name", ["h264.mkv", "faststart.mp4"])
def test_ingest_refuses_a_cut_clip_naming_recording_and_stream(clips, name):
    path = clips[name][1]
    video = probe_video(path, name="cam2")
    pattern = (
        rf"recording S01_A01_T1, stream cam2, file \S+{path.name}: truncated video: the container "
        + (
            rf"header promises 60 frames but the file holds {video.n_frames} \(last PTS [\d.]+ s\)"
            if name.endswith(".mp4")
            else rf"declares 2\.000 s \(.*\), the file holds {video.n_frames} frames covering [\d.]+ s "
            r"\(last PTS [\d.]+ s\)"
        )
        + "; copy the file again from the recorder$"
    )
    with pytest.raises(InputFileError, match=pattern):
        _reject_truncated(video, path, "S01_A01_T1", "cam2")
    _reject_truncated(probe_video(clips[name][0]), clips[name][0], "S01_A01_T1", "cam2")  # intact: passes


def test_intact_vfr_clips_are_not_truncated_nor_dropped_frames(tmp_path):
    # 30 fps, then a stretch at 15 fps (a phone in low light), then 30 fps again, with jitter
    rng = np.random.default_rng(2)
    steps = np.r_[np.full(30, 1 / 30), np.full(20, 1 / 15), np.full(30, 1 / 30)] + rng.uniform(-2e-3, 2e-3, 80)
    pts_s = np.round(np.r_[0.0, np.cumsum(steps)], 3)
    for name in ("phone.mkv", "phone.mp4"):
        path = tmp_path / name
        write_clip(path, codec="libx264", pts_s=pts_s)
        video = read_file(path).videos["phone"]
        assert video.n_frames == 81
        assert video.metadata["variable_frame_rate"] is True
        assert video.metadata["gaps"] == []
        assert video.metadata["truncation"]["truncated"] is False
        assert video.warnings == [], video.warnings
        text = format_inspection(inspect_file(path))
        assert "variable frame rate" in text and "dropped frames" not in text
        assert re.search(r"frame intervals 3\d\.\d \.\. 6\d\.\d ms \(median 3\d\.\d ms\), gaps aside", text)


def test_a_dropped_frame_in_a_vfr_stream_is_still_a_gap(tmp_path):
    steps = np.r_[np.full(30, 1 / 30), np.full(20, 1 / 15), np.full(30, 1 / 30)]
    steps[60] = 2 / 30  # frame 61 dropped inside the second 30 fps stretch
    pts_s = np.r_[0.0, np.cumsum(steps)]
    path = tmp_path / "phone.mp4"
    write_clip(path, codec="libx264", pts_s=pts_s)
    gaps = frame_gaps(probe_video(path).timestamps_s)
    assert [(g["after_frame"], g["n_missing"]) for g in gaps] == [(60, 1)]
    assert gaps[0]["gap_s"] == pytest.approx(2 / 30, abs=1e-3)  # PTS in ms
    video = probe_video(path)
    assert video.warnings == [
        f"1 gaps longer than 1.5 frame intervals (dropped frames?, about 1 missing), first after frame 60 at "
        f"{video.timestamps_s[60]:.6f} s"
    ]
    assert video.timestamps_s[60] == pytest.approx(pts_s[60], abs=1e-3)
