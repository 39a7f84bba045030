"""Zarr IO: whole-chunk appends, deterministic bytes, read-only opening of complete recordings only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

from flexsync.errors import MissingInputError
from flexsync.storage.atomic import atomic_directory, link_or_copy_tree
from flexsync.storage.zarr_io import (
    ChunkedAppender,
    RecordingNotReadyError,
    create_array,
    normalize_attrs,
    open_group_for_write,
    open_group_readonly,
    read_recording,
    set_attrs,
    write_array,
)

H, W = 12, 20
_SETS: dict[str, list[str]] = {}


class CountingStore(LocalStore):
    """A real LocalStore that also records which keys were written, and how often."""

    async def set(self, key, value) -> None:
        _SETS.setdefault(str(self.root), []).append(key)
        await super().set(key, value)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, H, W, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["growing", "known-length"])
def test_appender_writes_each_chunk_once_from_blocks_of_any_size(tmp_path, mode):
    n, chunk = 83, 16
    data = _frames(n)
    root = tmp_path / "g.zarr"
    group = zarr.open_group(CountingStore(root), mode="w", zarr_format=3)
    arr = create_array(
        group, "frames", shape=(0 if mode == "growing" else n, H, W, 3), dtype="uint8", chunks=(chunk, H, W, 3)
    )
    sizes = np.random.default_rng(1).integers(0, 40, 200)
    with ChunkedAppender(arr) as out:
        pos = 0
        for size in sizes:  # 0-row blocks, 1-frame blocks and blocks spanning several chunks
            block = data[pos : pos + size]
            out.append(block)
            pos += block.shape[0]
            if pos == n:
                break
        assert out.n_rows == n
    assert arr.shape == (n, H, W, 3)
    np.testing.assert_array_equal(open_group_readonly(root)["frames"][...], data)
    chunk_writes = sorted(k for k in _SETS[str(root)] if k.startswith("frames/c."))
    expected = [f"frames/c.{i}.0.0.0" for i in range(math.ceil(n / chunk))]
    assert chunk_writes == sorted(expected)  # every chunk once, none twice


def test_appender_length_mismatches_are_errors(tmp_path):
    group = open_group_for_write(tmp_path / "g.zarr")
    arr = create_array(group, "t_device", shape=(10,), dtype="float64", chunks=(4,))
    out = ChunkedAppender(arr)
    out.append(np.arange(8.0))
    with pytest.raises(ValueError, match=r"array t_device: 11 rows appended but its length is 10"):
        out.append(np.arange(3.0))
    with pytest.raises(ValueError, match=r"closed after 8 rows but its length is 10"):
        out.close()


def test_appender_checks_shape_dtype_and_unit(tmp_path):
    group = open_group_for_write(tmp_path / "g.zarr")
    arr = create_array(group, "raw", shape=(0, 16), dtype="float32", chunks=(20000, 16))
    idx = create_array(group, "idx", shape=(0,), dtype="int32", chunks=(8,))
    with pytest.raises(ValueError, match=r"array raw: block of shape \(5, 15\) does not fit rows of shape \(16,\)"):
        ChunkedAppender(arr).append(np.zeros((5, 15), dtype=np.float32))
    with pytest.raises(TypeError, match="cannot store int64 data in a int32 array"):
        ChunkedAppender(idx).append(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="chunk_len 30000 must be a positive multiple of its chunk length 20000"):
        ChunkedAppender(arr, chunk_len=30000)
    # float64 samples go into a float32 array (same kind): the documented storage precision.
    with ChunkedAppender(arr, chunk_len=40000) as out:
        out.append(np.full((3, 16), 1.5))
    np.testing.assert_array_equal(arr[...], np.full((3, 16), 1.5, dtype=np.float32))


def _write_example(path: Path, *, attr_order: int, appended: bool) -> None:
    meta = {"kind": "emg", "nominal_rate_hz": 2000.0, "channel_names": ("a", "b"), "band_hz": [20, 450]}
    if attr_order:
        meta = dict(reversed(list(meta.items())))
    data = np.random.default_rng(5).standard_normal((45_001, 2)).astype(np.float32)
    with atomic_directory(path) as tmp:
        group = open_group_for_write(tmp, {"status": "complete", "clock_models": {"emg": {"b": 1, "a": 2}}})
        group.require_group("streams/emg").attrs.put(normalize_attrs(meta))
        if appended:
            arr = create_array(group, "streams/emg/raw", shape=(0, 2), dtype="float32", chunks=(20000, 2))
            with ChunkedAppender(arr) as out:
                for start in range(0, data.shape[0], 7001):
                    out.append(data[start : start + 7001])
        else:
            write_array(group, "streams/emg/raw", data, chunks=(20000, 2))
        write_array(group, "streams/emg/t_device", np.arange(data.shape[0]) / 2000.0)


def test_same_data_gives_byte_identical_files(tmp_path):
    _write_example(tmp_path / "a.zarr", attr_order=0, appended=True)
    _write_example(tmp_path / "b.zarr", attr_order=1, appended=False)
    a, b = _tree(tmp_path / "a.zarr"), _tree(tmp_path / "b.zarr")
    assert sorted(a) == sorted(b)
    assert "streams/emg/raw/c.2.0" in a  # 45,001 rows -> 3 chunks of 20,000
    assert a == b
    root = json.loads(a["zarr.json"])
    assert list(root["attributes"]) == ["clock_models", "status"]
    assert list(root["attributes"]["clock_models"]["emg"]) == ["a", "b"]


def test_compressor_choice(tmp_path):
    group = open_group_for_write(tmp_path / "g.zarr")
    frames = np.zeros((16, H, W, 3), dtype=np.uint8)
    frames[:, :, : W // 2] = 200  # compressible, not all fill value
    write_array(group, "raw", frames, compressor=None)
    write_array(group, "zstd", frames)
    raw_size = (tmp_path / "g.zarr" / "raw" / "c.0.0.0.0").stat().st_size
    zstd_size = (tmp_path / "g.zarr" / "zstd" / "c.0.0.0.0").stat().st_size
    assert raw_size == frames.nbytes
    assert zstd_size < frames.nbytes / 20
    meta = json.loads((tmp_path / "g.zarr" / "zstd" / "zarr.json").read_text())
    assert meta["codecs"][-1] == {"name": "zstd", "configuration": {"level": 3, "checksum": False}}
    with pytest.raises(ValueError, match="compressor must be 'zstd', 'h264' or None, got 'blosc'"):
        write_array(group, "x", frames, compressor="blosc")


def test_attrs_are_normalised_or_refused():
    out = normalize_attrs({"b": np.float32(0.5), "a": (np.int64(3), Path("video/cam1.mp4")), "c": np.arange(2)})
    assert out == {"a": [3, "video/cam1.mp4"], "b": 0.5, "c": [0, 1]}
    assert list(out) == ["a", "b", "c"]
    assert type(out["a"][0]) is int
    with pytest.raises(ValueError, match=r"attrs\.clock_models\.emg\.drift_ppm: non-finite number nan"):
        normalize_attrs({"clock_models": {"emg": {"drift_ppm": float("nan")}}})
    with pytest.raises(TypeError, match=r"attrs\.x: value of type object is not JSON-serialisable"):
        normalize_attrs({"x": object()})
    with pytest.raises(TypeError, match="attribute keys must be strings, got 1"):
        normalize_attrs({1: "a"})


def test_read_recording_refuses_incomplete_groups(tmp_path):
    path = tmp_path / "S01_A01_T1.zarr"
    with pytest.raises(MissingInputError, match=r"recording S01_A01_T1.*no Zarr v3 group here"):
        read_recording(path)
    group = open_group_for_write(path, {"flexsync_layout": 1, "status": "aligning"})
    with pytest.raises(RecordingNotReadyError, match=r"recording S01_A01_T1.*status is 'aligning', not 'complete'"):
        read_recording(path)
    set_attrs(group, {"status": "complete", "flexsync_layout": 2})
    with pytest.raises(RecordingNotReadyError, match="flexsync_layout is 2; this code reads layout 1"):
        read_recording(path)
    set_attrs(group, {"flexsync_layout": 1})
    opened = read_recording(path)
    assert opened.attrs["status"] == "complete"
    assert opened.store.read_only
    with pytest.raises(ValueError, match="read-only"):
        opened.attrs["status"] = "tampered"


def test_publish_by_linking_staging_leaves_staging_untouched(tmp_path):
    """The intended publish flow: link staged chunks, add small aligned arrays, commit atomically."""
    staged = tmp_path / "staging" / "S01_A01_T1" / "cam1.zarr"
    frames, t_device = _frames(40, seed=3), np.arange(40) / 60.0
    with atomic_directory(staged) as tmp:
        group = open_group_for_write(tmp, {"kind": "video", "width": W, "height": H})
        write_array(group, "frames", frames, chunks=(16, H, W, 3))
        write_array(group, "t_device", t_device)
    before = _tree(staged)

    final = tmp_path / "recordings" / "S01_A01_T1.zarr"
    with atomic_directory(final) as tmp:
        root = open_group_for_write(tmp, {"flexsync_layout": 1, "status": "complete"})
        root.require_group("streams")
        stats = link_or_copy_tree(staged, tmp / "streams" / "cam1")
        stream = root["streams/cam1"]
        write_array(stream, "t", t_device + 0.25)
        set_attrs(stream, {"nominal_rate_hz": 60.0})
    assert stats.n_linked == len(before)
    assert _tree(staged) == before  # zarr.json of the stream was replaced, not edited through the link
    chunk = "frames/c.1.0.0.0"
    assert (final / "streams/cam1" / chunk).stat().st_ino == (staged / chunk).stat().st_ino
    rec = read_recording(final)
    np.testing.assert_array_equal(rec["streams/cam1/frames"][...], frames)
    np.testing.assert_allclose(rec["streams/cam1/t"][...], t_device + 0.25, rtol=0, atol=0)
    assert rec["streams/cam1"].attrs.asdict() == {"height": H, "kind": "video", "nominal_rate_hz": 60.0, "width": W}
