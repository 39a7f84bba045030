"""Inputs that read fine but cannot be used: refused at ingest with the recording, stream and file named."""

from __future__ import annotations

import hashlib
import json
import shutil

import ezc3d
import numpy as np
import pytest

from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.streams import ingest_stream
from flexsync.storage.store import Store


def _rehash(folder, relative: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data = (folder / relative).read_bytes()
    manifest["files"][relative] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def raw(synth_dataset, tmp_path):
    source, _, keys = synth_dataset
    copy = tmp_path / "raw"
    shutil.copytree(source, copy)
    return copy, keys[0]


def test_video_smaller_than_its_calibration_is_refused(raw, tmp_path):
    root, key = raw
    folder = root / "recordings" / key
    calibration = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    camera = calibration["cameras"]["cam2"]
    width, height = camera["width"], camera["height"]
    camera["width"], camera["height"] = width // 2, height // 2
    (folder / "calibration.json").write_text(json.dumps(calibration), encoding="utf-8")
    _rehash(folder, "calibration.json")
    recording = RawRecording.open(root, key)
    with pytest.raises(
        InputFileError,
        match=rf"recording {key}, stream cam2, file .*cam2.*: the video is {width}x{height} but calibration.json "
        rf"calibrates cam2 at {width // 2}x{height // 2}: its intrinsics do not apply",
    ):
        ingest_stream(recording, "cam2", Store(tmp_path / "store"), PipelineSettings())
    assert not (tmp_path / "store" / "staging" / key / "cam2.zarr").exists()


def test_fully_occluded_mocap_is_refused(raw, tmp_path):
    root, key = raw
    folder = root / "recordings" / key
    recording = RawRecording.open(root, key)
    relative = recording.stream("mocap").file
    path = folder / relative
    data = ezc3d.c3d(str(path))
    points = data["data"]["points"]
    points[:3] = np.nan  # every marker unseen in every frame (written as residual -1)
    data["data"]["points"] = points
    data.write(str(path))
    _rehash(folder, relative)
    with pytest.raises(
        InputFileError,
        match=rf"recording {key}, stream mocap, file .*: every joint sample is occluded \(\d+ frames, 0 valid\)",
    ):
        ingest_stream(RawRecording.open(root, key), "mocap", Store(tmp_path / "store"), PipelineSettings())


def _edit_manifest(folder, text_edit) -> None:
    path = folder / "manifest.json"
    path.write_text(text_edit(path.read_text(encoding="utf-8")), encoding="utf-8")


def test_manifest_numbers_and_duplicate_keys_are_named(raw):
    from flexsync.errors import ManifestError

    root, key = raw
    folder = root / "recordings" / key
    original = (folder / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(original)
    data["take"] = "first"
    (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"manifest.json: 'take' must be an integer, got 'first'"):
        RawRecording.open(root, key)
    cam1 = json.dumps(data["streams"]["cam1"])
    duplicated = original.replace('"streams": {', '"streams": {"cam1": ' + cam1 + ", ", 1)
    assert duplicated != original
    (folder / "manifest.json").write_text(duplicated, encoding="utf-8")
    with pytest.raises(ManifestError, match=r"key 'cam1' appears twice in one object \(JSON keeps only the last\)"):
        RawRecording.open(root, key)


def test_annotations_and_calibration_that_are_not_json_objects_are_named(raw):
    root, key = raw
    folder = root / "recordings" / key
    recording = RawRecording.open(root, key)
    annotations = folder / recording.manifest.annotations
    annotations.write_text(annotations.read_text(encoding="utf-8")[:200], encoding="utf-8")
    with pytest.raises(InputFileError, match=rf"recording {key}, file .*annotations.json: the annotations file is not"):
        _ = RawRecording.open(root, key).annotations
    (folder / recording.manifest.calibration).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"the calibration file must hold one JSON object, got a list"):
        _ = RawRecording.open(root, key).calibration
