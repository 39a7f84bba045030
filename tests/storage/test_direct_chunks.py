"""Direct chunk writes: the same files zarr-python writes, byte for byte, or no direct path at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.codecs import GzipCodec
from zarr.storage import LocalStore

from flexsync.storage.direct_chunks import direct_chunk_writer
from flexsync.storage.zarr_io import ChunkedAppender, create_array, open_group_for_write, open_group_readonly


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _data(dtype: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    if dtype == "uint8":  # compressible, like video: smooth ramps plus noise
        ramp = np.add.outer(np.arange(12), np.arange(20)).astype(np.uint8)
        return (ramp[None, :, :, None] + rng.integers(0, 4, (n, 12, 20, 3))).astype(np.uint8)
    return rng.standard_normal((n, 5)).astype(dtype)


@pytest.mark.parametrize("compressor", ["zstd", None])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64", ">f4"])
def test_appender_files_are_byte_identical_to_zarrs_own(tmp_path, compressor, dtype):
    data = _data(dtype, 75)  # 4 whole chunks of 16 and a partial one (zarr writes that one)
    chunks = (16, *data.shape[1:])
    trees = []
    for name, direct in (("direct", True), ("zarr", False)):
        group = open_group_for_write(tmp_path / f"{name}.zarr")
        array = create_array(
            group, "x", shape=data.shape, dtype=dtype, chunks=chunks, compressor=compressor, write_empty_chunks=True
        )
        assert direct_chunk_writer(array) is not None
        if direct:
            with ChunkedAppender(array) as out:
                for start in range(0, data.shape[0], 7):
                    out.append(data[start : start + 7])
        else:
            array[...] = data  # zarr-python's own write path
        np.testing.assert_array_equal(open_group_readonly(tmp_path / f"{name}.zarr")["x"][...], data)
        trees.append(_tree(tmp_path / f"{name}.zarr"))
    assert sorted(trees[0]) == sorted(trees[1])
    assert len([k for k in trees[0] if k.startswith("x/c.")]) == 5
    for key in trees[0]:
        assert trees[0][key] == trees[1][key], key


def test_growing_array_through_the_direct_path(tmp_path):
    data = _data("uint8", 50)
    group = open_group_for_write(tmp_path / "g.zarr")
    array = create_array(
        group, "frames", shape=(0, 12, 20, 3), dtype="uint8", chunks=(16, 12, 20, 3), write_empty_chunks=True
    )
    assert direct_chunk_writer(array) is not None
    with ChunkedAppender(array) as out:
        out.append(data[:33])
        out.append(data[33:])
    assert array.shape == (50, 12, 20, 3)
    np.testing.assert_array_equal(open_group_readonly(tmp_path / "g.zarr")["frames"][...], data)


def test_direct_path_only_where_it_writes_what_zarr_would(tmp_path):
    group = open_group_for_write(tmp_path / "g.zarr")
    frames = create_array(
        group, "frames", shape=(64, 12, 20, 3), dtype="uint8", chunks=(16, 12, 20, 3), write_empty_chunks=True
    )
    assert direct_chunk_writer(frames) is not None
    skips_empty = create_array(group, "skips", shape=(64, 12), dtype="uint8", chunks=(16, 12))
    assert direct_chunk_writer(skips_empty) is None  # zarr would not write an all-zero chunk
    tiled = create_array(
        group, "tiled", shape=(64, 12, 20, 3), dtype="uint8", chunks=(16, 6, 20, 3), write_empty_chunks=True
    )
    assert direct_chunk_writer(tiled) is None  # a chunk does not span the other axes
    every_chunk = {"write_empty_chunks": True}
    sharded = group.create_array(
        "sharded", shape=(64, 12), dtype="uint8", chunks=(16, 12), shards=(32, 12), config=every_chunk
    )
    assert direct_chunk_writer(sharded) is None
    gzipped = group.create_array(
        "gz", shape=(64, 12), dtype="uint8", chunks=(16, 12), compressors=(GzipCodec(),), config=every_chunk
    )
    assert direct_chunk_writer(gzipped) is None

    class MirroringStore(LocalStore):  # a subclass may act on every write: go through zarr
        pass

    other = zarr.open_group(MirroringStore(tmp_path / "m.zarr"), mode="w", zarr_format=3)
    mirrored = create_array(other, "frames", shape=(64, 12), dtype="uint8", chunks=(16, 12), write_empty_chunks=True)
    assert direct_chunk_writer(mirrored) is None


def test_direct_write_refuses_anything_but_one_whole_chunk(tmp_path):
    group = open_group_for_write(tmp_path / "g.zarr")
    frames = create_array(
        group, "frames", shape=(64, 12, 20, 3), dtype="uint8", chunks=(16, 12, 20, 3), write_empty_chunks=True
    )
    writer = direct_chunk_writer(frames)
    with pytest.raises(ValueError, match=r"array frames: a direct write needs one whole chunk, got \(8, 12, 20, 3\)"):
        writer.write(0, np.zeros((8, 12, 20, 3), dtype=np.uint8))
