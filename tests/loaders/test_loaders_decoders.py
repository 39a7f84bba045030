"""The loaders give identical items whether PyAV or torchcodec decodes the stored H.264 frames."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from loaders_factory import build_samples_store, write_grid_recording

from flexsync.loaders import FlexPairDataset, MultimodalWindowDataset
from flexsync.storage.decoder_choice import resolve_decoder, torchcodec_problem

pytestmark = pytest.mark.skipif(torchcodec_problem() is not None, reason=str(torchcodec_problem()))

HEIGHT, WIDTH = 24, 40


def smooth_frames(n: int, phase: float = 0.0) -> np.ndarray:
    """uint8 (n, HEIGHT, WIDTH, 3) moving gradients (what H.264 codes well at tiny sizes)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    t = np.arange(n, dtype=np.float64)[:, None, None]
    r = 128 + 90 * np.sin(2 * np.pi * (x / WIDTH + 0.02 * t) + phase)
    g = 128 + 90 * np.cos(2 * np.pi * (y / HEIGHT + 0.03 * t) + 2 * phase)
    b = 128 + 60 * np.sin(2 * np.pi * (x + y) / (WIDTH + HEIGHT) + 0.05 * t)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.fixture(scope="module")
def h264_store(tmp_path_factory):
    """A samples store (one 103-frame GOP per sample and view) and two recordings (GOPs of 16)."""
    root = tmp_path_factory.mktemp("h264")
    build_samples_store(
        root,
        recordings=(("S01_A01_T1", "A01", 3), ("S02_A01_T1", "A01", 3)),
        frames=smooth_frames(130),
        video_compressor="h264",
    )
    for key, seed in (("S01_A01_T1", 3), ("S02_A01_T1", 4)):
        write_grid_recording(
            root, key, seed=seed, frames_of=lambda v, n: smooth_frames(n, phase=v + 1.0), video_compressor="h264"
        )
    return root


def pair_args(root, **extra) -> SimpleNamespace:
    return SimpleNamespace(
        data_root=root, class_idx=0, score_range=100, frame_length=103, voter_number=2, seed=1, mode="fast", **extra
    )


def assert_same_items(a, b) -> None:
    """Equal structure and values, arrays compared element by element (bit-identical frames)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_items(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_items(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_pair_items_are_identical_with_either_decoder(h264_store):
    for subset in ("train", "test"):
        pyav = FlexPairDataset(pair_args(h264_store, decoder="pyav"), subset, None)
        torchcodec = FlexPairDataset(pair_args(h264_store, decoder="torchcodec"), subset, None)
        assert (pyav.decoder, torchcodec.decoder) == ("pyav", "torchcodec")
        assert len(pyav) == len(torchcodec) > 0
        for index in range(len(pyav)):
            first, second = pyav[index], torchcodec[index]
            assert first[0]["video"].shape == (103, HEIGHT, WIDTH, 3) and first[0]["video"].any()
            assert_same_items(first, second)


def test_auto_is_torchcodec_here_and_pyav_without_it(h264_store):
    assert FlexPairDataset(pair_args(h264_store, decoder="auto"), "train", None).decoder == "torchcodec"
    assert FlexPairDataset(pair_args(h264_store), "train", None).decoder == "pyav"  # the default
    fallback = resolve_decoder("auto", torchcodec_loads=False)
    forced = FlexPairDataset(pair_args(h264_store, decoder=fallback), "train", None)
    assert forced.decoder == "pyav"
    assert_same_items(forced[0], FlexPairDataset(pair_args(h264_store, decoder="auto"), "train", None)[0])


def test_bad_decoder_or_device_options_are_refused(h264_store):
    with pytest.raises(ValueError, match="decoder must be one of"):
        FlexPairDataset(pair_args(h264_store, decoder="ffmpeg"), "train", None)
    with pytest.raises(ValueError, match=r"args\.device must be one of"):
        FlexPairDataset(pair_args(h264_store, device="tpu"), "train", None)
    compat_on_cuda = pair_args(h264_store, device="cuda")
    compat_on_cuda.mode = "compat"
    with pytest.raises(ValueError, match="needs mode 'fast'"):
        FlexPairDataset(compat_on_cuda, "train", None)
    with pytest.raises(ValueError, match="device must be one of"):
        MultimodalWindowDataset(h264_store, window_frames=10, device="tpu")


@pytest.mark.parametrize(
    ("source", "options"),
    [
        ("recordings", {"window_s": 0.7, "stride_s": 0.4}),  # windows across the 16-frame GOPs, a padded tail
        ("samples", {"window_frames": 40, "stride_frames": 30}),
    ],
)
def test_window_items_are_identical_with_either_decoder(h264_store, source, options):
    pyav = MultimodalWindowDataset(h264_store, source=source, decoder="pyav", **options)
    torchcodec = MultimodalWindowDataset(h264_store, source=source, decoder="torchcodec", **options)
    assert len(pyav) == len(torchcodec) > 4
    masked = 0
    for index in range(len(pyav)):
        first, second = pyav[index], torchcodec[index]
        valid = first["video_cam1_valid"]
        assert valid.any() and first["video_cam1"][valid].any() and not first["video_cam1"][~first["t_valid"]].any()
        assert_same_items(first, second)
        masked += int((~valid).sum())
    assert masked > 0  # dropped frames and past-the-end instants: zero frames in both


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device: GPU decoding is tested where a GPU exists")
def test_cuda_items_hold_the_cpu_frames_on_the_gpu(h264_store):
    cpu = FlexPairDataset(pair_args(h264_store), "train", None)
    gpu = FlexPairDataset(pair_args(h264_store, decoder="torchcodec", device="cuda"), "train", None)
    video = gpu[0][0]["video"]
    assert video.device.type == "cuda" and tuple(video.shape) == (103, HEIGHT, WIDTH, 3)
    difference = np.abs(video.cpu().numpy().astype(np.int16) - cpu[0][0]["video"])
    assert difference.max() <= 3 and difference.mean() < 0.5  # NVDEC's YUV->RGB: not measured here (no GPU)
    windows_cpu = MultimodalWindowDataset(h264_store, window_s=0.7)
    windows_gpu = MultimodalWindowDataset(h264_store, window_s=0.7, decoder="torchcodec", device="cuda")
    frames, valid = windows_gpu[1]["video_cam1"], windows_gpu[1]["video_cam1_valid"]
    np.testing.assert_array_equal(valid, windows_cpu[1]["video_cam1_valid"])
    difference = np.abs(frames.cpu().numpy().astype(np.int16) - windows_cpu[1]["video_cam1"])
    assert frames.device.type == "cuda" and difference.max() <= 3
