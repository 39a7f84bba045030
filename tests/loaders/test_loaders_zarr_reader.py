"""ZarrRowReader: the direct chunk path returns exactly what zarr-python returns, or says why not."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import zarr

from flexsync.errors import InputFileError
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.zarr_io import create_array, open_group_for_write


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(2)
    group = open_group_for_write(tmp_path / "g.zarr")
    data = {
        "zstd": rng.normal(size=(50, 4, 3)).astype(np.float32),
        "raw": rng.integers(0, 255, size=(50, 7), dtype=np.uint8),
        "mask": rng.random((50, 5)) > 0.5,
        "partial": rng.normal(size=(50, 2)),
    }
    for name, values in data.items():
        chunk = 16 if name != "raw" else 8
        arr = create_array(
            group,
            name,
            shape=values.shape,
            dtype=values.dtype,
            chunks=(chunk, *values.shape[1:]),
            compressor=None if name == "raw" else "zstd",
        )
        arr[:32] = values[:32]  # "partial" keeps its last chunks unwritten (fill value)
        if name != "partial":
            arr[32:] = values[32:]
    sharded = group.create_array(
        "sharded",
        shape=(50, 3),
        dtype="int32",
        chunks=(5, 3),
        shards=(25, 3),
        chunk_key_encoding={"name": "default", "separator": "."},
    )
    data["sharded"] = np.arange(150, dtype=np.int32).reshape(50, 3)
    sharded[...] = data["sharded"]
    return tmp_path, data


@pytest.mark.parametrize("name", ["zstd", "raw", "mask", "partial", "sharded"])
@pytest.mark.parametrize(("start", "stop"), [(0, 50), (3, 5), (15, 17), (16, 32), (30, 50), (7, 7)])
def test_rows_equal_zarr(arrays, name, start, stop):
    root, _ = arrays
    reader = ZarrRowReader(root)
    expected = zarr.open_array(str(root / "g.zarr" / name), mode="r")[start:stop]
    got = reader.read_rows(f"g.zarr/{name}", start, stop)
    np.testing.assert_array_equal(got, expected)  # NaN fill of the never-written chunks included
    assert got.dtype == expected.dtype
    assert reader.info(f"g.zarr/{name}").direct == (name != "sharded")


def test_out_buffer_is_filled_in_place_and_checked(arrays):
    root, data = arrays
    reader = ZarrRowReader(root)
    out = np.zeros((16, 4, 3), dtype=np.float32)
    assert reader.read_rows("g.zarr/zstd", 16, 32, out=out) is out
    np.testing.assert_array_equal(out, data["zstd"][16:32])
    with pytest.raises(ValueError, match=r"out buffer \(15, 4, 3\) float32 does not fit rows 16:32"):
        reader.read_rows("g.zarr/zstd", 16, 32, out=out[:15])
    with pytest.raises(IndexError, match=r"rows 40:60 outside the array's 50 rows"):
        reader.read_rows("g.zarr/zstd", 40, 60)


def test_corrupt_chunk_names_the_file(arrays):
    root, _ = arrays
    chunk = root / "g.zarr" / "zstd" / "c.1.0.0"
    chunk.write_bytes(chunk.read_bytes()[:20])
    with pytest.raises(InputFileError, match=r"file .*c\.1\.0\.0: cannot decode Zarr chunk"):
        ZarrRowReader(root).read_rows("g.zarr/zstd", 16, 32)
    raw_chunk = root / "g.zarr" / "raw" / "c.0.0"
    raw_chunk.write_bytes(raw_chunk.read_bytes()[:10])
    with pytest.raises(InputFileError, match="chunk file holds 10 bytes, expected 56"):
        ZarrRowReader(root).read_rows("g.zarr/raw", 0, 8)


def test_pickles_without_state_and_reopens(arrays):
    root, data = arrays
    reader = ZarrRowReader(root)
    reader.read_cached("g.zarr/mask")
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._cache == {} and clone._infos == {}
    np.testing.assert_array_equal(clone.read_cached("g.zarr/mask"), data["mask"])
    assert not clone.read_cached("g.zarr/mask").flags.writeable
