"""The loader benchmark on a tiny store: figures are consistent and the JPEG folders are FLEX's."""

from __future__ import annotations

import numpy as np
from PIL import Image

from flexsync.bench.loader import flex_clip_dir, run_loader_benchmark
from flexsync.storage import Store


def test_benchmark_writes_flex_jpegs_and_reports_both_sides(samples_store, tmp_path):
    store = Store(samples_store.root)
    export = tmp_path / "flex"
    result = run_loader_benchmark(store, export, n_clips=3, views=2, repeats=1)
    assert result["n_clips"] == 3 and result["views"] == ["cam1", "cam2"]
    assert result["frame_shape"] == [8, 12, 3] and result["frame_length"] == 103
    assert result["jpeg_folders_written"] == 6 and result["jpeg_files"] == 6 * 103
    assert result["ratio"] == result["fast_clips_per_s"] / result["jpeg_clips_per_s"]
    first = sorted((r for r in samples_store.rows if r["action"] == "A01"), key=lambda r: r["action_sample_index"])[0]
    folder = flex_clip_dir(export, "A01", 1, "cam2")
    assert folder == export / "A01" / "001" / "View-2"
    files = sorted(folder.iterdir())
    assert [f.name for f in files[:2]] == ["img_00001.JPG", "img_00002.JPG"] and len(files) == 103
    with Image.open(files[0]) as image:
        decoded = np.asarray(image.convert("RGB"), dtype=np.int16)
    clip = samples_store.arrays[first["recording"]]["video/cam2"][first["row"]].astype(np.int16)
    assert decoded.shape == clip[0].shape
    # random-noise frames survive JPEG poorly, but frame 1 must be far closer than any other frame
    errors = np.abs(decoded[None] - clip).mean(axis=(1, 2, 3))
    assert errors.argmin() == 0 and errors[0] < 0.8 * np.sort(errors)[1]
    zarr_bytes = sum(
        (store.samples_path(r["recording"]) / "video" / v / f"c.{r['row']}.0.0.0.0").stat().st_size
        for r in sorted(
            (r for r in samples_store.rows if r["action"] == "A01"), key=lambda r: r["action_sample_index"]
        )[:3]
        for v in ("cam1", "cam2")
    )
    assert result["zarr_bytes"] == zarr_bytes
    assert result["jpeg_bytes"] == sum(
        p.stat().st_size
        for c in (1, 2, 3)
        for v in ("cam1", "cam2")
        for p in flex_clip_dir(export, "A01", c, v).iterdir()
    )
    again = run_loader_benchmark(store, export, n_clips=3, views=2, repeats=1)
    assert again["jpeg_folders_written"] == 0
    assert f"ratio {again['ratio']:.1f}x" in again["summary"]


def test_benchmark_never_writes_into_the_stores_export(samples_store):
    store = Store(samples_store.root)
    result = run_loader_benchmark(store, n_clips=2, views=1, repeats=1)
    assert result["jpeg_folders_written"] == 2 and result["jpeg_files"] == 2 * 103
    assert not store.export_dir("flex").exists()  # the clips went to a scratch folder
