"""The frame storage benchmark on a tiny noisy input: figures that hang together.

Speed is not asserted (the benchmark's job, at real sizes); what is: zstd stores the frames
exactly, H.264 keeps them above 30 dB (better at a lower CRF), the byte ordering a noisy input
must give (lossless zstd > JPEG q95 > H.264), every candidate is in the JSON with every figure, the loader passes ran on
evicted then cached files, and the FLEX-size extrapolation is bytes per frame x frames.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flexsync.bench.store import (
    DEFAULT_CANDIDATE,
    REFERENCE,
    FlexSize,
    FrameInput,
    candidate_names,
    decode_h264_yuv_only,
    run_store_benchmark,
)
from flexsync.storage.video_codec import encode_frames

N_FRAMES, HEIGHT, WIDTH = 40, 48, 64
CLIP, GOP, CLIPS = 16, 8, 2


def _noisy_frames(seed: int = 0) -> np.ndarray:
    """A gradient with a moving square and sensor-like noise (sd 4 DN): hard for lossless codecs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = np.empty((N_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for t in range(N_FRAMES):
        base = np.stack([60 + x * 2.0, 80 + y * 2.0, np.full(x.shape, 120.0)], axis=-1)
        base[10:26, 4 + t : 20 + t] = (220, 40, 40)
        frames[t] = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    return frames


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    frame_input = FrameInput("noisy", _noisy_frames(), "test gradient + square + noise", rate_hz=60.0)
    return run_store_benchmark(
        inputs=[frame_input],
        n_clips=CLIPS,
        clip_frames=CLIP,
        gop_frames=GOP,
        repeats=1,
        workdir=tmp_path_factory.mktemp("bench-store"),
    )


def _candidates(bench) -> dict:
    return bench.inputs[0]["candidates"]


def test_every_candidate_is_measured_with_every_figure(bench) -> None:
    candidates = _candidates(bench)
    assert list(candidates) == candidate_names()
    assert DEFAULT_CANDIDATE == "h264 crf16"
    assert {"zstd-1", DEFAULT_CANDIDATE, "h264 crf18", "h264 crf23", REFERENCE} <= set(candidates)
    for name, figures in candidates.items():
        for layout in ("recordings", "samples"):
            f = figures[layout]
            assert f["bytes_per_frame"] > 0 and f["disk_bytes_per_frame"] >= f["bytes_per_frame"], name
            assert 0 < f["encode_cpu_s_per_frame"] < 1.0, name
            assert 0 < f["ssim"] <= 1.0, name
        for reader, loader in figures["samples"]["loader"].items():
            for kind in ("cold", "warm"):
                assert loader[kind]["clips_per_s"] > 0, (name, reader, kind)
                assert len(loader[kind]["passes"]) == 1
    data = json.loads(json.dumps(bench.to_dict(), allow_nan=False))
    assert list(data["inputs"][0]["candidates"]) == list(candidates)
    assert data["default_candidate"] == DEFAULT_CANDIDATE
    assert data["inputs"][0]["clips"] == CLIPS


def test_zstd_is_lossless_and_h264_keeps_the_frames_above_30_db(bench) -> None:
    candidates = _candidates(bench)
    for layout in ("recordings", "samples"):
        zstd = candidates["zstd-1"][layout]
        assert zstd["lossless"] and math.isinf(zstd["psnr_db"]) and zstd["ssim"] == 1.0
        psnrs = []
        for name in (DEFAULT_CANDIDATE, "h264 crf18", "h264 crf23"):
            assert not candidates[name][layout]["lossless"]
            assert candidates[name][layout]["psnr_db"] > 30.0, (name, layout)
            assert candidates[name][layout]["min_frame_psnr_db"] <= candidates[name][layout]["psnr_db"]
            psnrs.append(candidates[name][layout]["psnr_db"])
        assert psnrs == sorted(psnrs, reverse=True), layout  # lower CRF, better frames
    assert bench.to_dict()["inputs"][0]["candidates"]["zstd-1"]["recordings"]["psnr_db"] is None  # inf: JSON null


def test_noisy_frames_order_the_bytes_zstd_jpeg_h264(bench) -> None:
    candidates = _candidates(bench)
    jpegs = [name for name in ("jpeg q95", REFERENCE) if name in candidates]
    for layout in ("recordings", "samples"):
        zstd = candidates["zstd-1"][layout]["bytes_per_frame"]
        h264 = candidates[DEFAULT_CANDIDATE][layout]["bytes_per_frame"]
        for jpeg in jpegs:
            assert zstd > candidates[jpeg][layout]["bytes_per_frame"] > h264, (layout, jpeg)


def test_extrapolation_is_bytes_per_frame_times_frames(bench) -> None:
    size = FlexSize(rate_hz=60.0)
    assert size.recording_frames == round(37.0 * 3600 * 60)
    assert size.sample_frames == 7512 * 5 * 103
    data = bench.to_dict()
    assert data["flex_size"]["recording_frames"] == size.recording_frames
    rows = data["extrapolation"]["noisy"]
    for name, figures in _candidates(bench).items():
        row = rows[name]
        assert row["recordings_bytes"] == pytest.approx(
            figures["recordings"]["bytes_per_frame"] * size.recording_frames
        )
        assert row["samples_bytes"] == pytest.approx(figures["samples"]["bytes_per_frame"] * size.sample_frames)
        assert row["total_bytes"] == pytest.approx(row["recordings_bytes"] + row["samples_bytes"])
    release = _candidates(bench)[REFERENCE]["samples"]["bytes_per_frame"] * size.sample_frames
    assert rows["flex jpeg release"]["total_bytes"] == pytest.approx(release)


def test_targets_are_the_quotients_printed(bench) -> None:
    (target,) = bench.targets()
    candidates = _candidates(bench)
    ratio = (
        candidates[DEFAULT_CANDIDATE]["samples"]["bytes_per_frame"]
        / candidates[REFERENCE]["samples"]["bytes_per_frame"]
    )
    assert target["bytes_ratio_samples"]["value"] == pytest.approx(ratio)
    loader = candidates[DEFAULT_CANDIDATE]["samples"]["loader"]["loader"]["cold"]["clips_per_s"]
    jpeg = candidates[REFERENCE]["samples"]["loader"]["loader"]["cold"]["clips_per_s"]
    assert target["loader_ratio_cold_loader"]["value"] == pytest.approx(loader / jpeg)
    text = bench.format()
    assert "input noisy:" in text and "at FLEX size:" in text and f"targets for {DEFAULT_CANDIDATE}" in text
    for name in candidates:
        assert f"\n{name:12s} recordings" in text


def test_the_yuv_floor_decodes_every_frame_of_a_chunk() -> None:
    data = encode_frames(_noisy_frames()[:12, :, :63])  # odd width: padded on encode
    assert decode_h264_yuv_only(data) == 12
    with pytest.raises(ValueError, match=r"not a flexsync H\.264 chunk"):
        decode_h264_yuv_only(data[:-1])


def test_h264_candidates_have_the_diagnostic_reader(bench) -> None:
    candidates = _candidates(bench)
    for name in (DEFAULT_CANDIDATE, "h264 crf18", "h264 crf23"):
        assert set(candidates[name]["samples"]["loader"]) == {"loader", "chunk", "yuv"}, name
    assert set(candidates["zstd-1"]["samples"]["loader"]) == {"loader", "chunk"}
    assert set(candidates[REFERENCE]["samples"]["loader"]) == {"loader"}
    (target,) = bench.targets()
    assert target["candidate"] == DEFAULT_CANDIDATE
    assert {"loader_ratio_cold_loader", "loader_ratio_cold_cpu_chunk"} <= set(target)
    assert not any("yuv" in key or "chunk-rf" in key for key in target)
