"""Factories for Zarr groups that conform to the layout, small enough to build per test.

A spec is plain data (group attrs by path, arrays by path) so a test can break exactly one
thing before the group is written. A plain module (not conftest) so tests import it by a
unique name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.schemas.zarr_layout import default_chunks
from flexsync.skeleton import JOINT_NAMES, N_JOINTS
from flexsync.storage.zarr_io import create_array, open_group_for_write

SHA = "0123456789abcdef" * 4


@dataclass
class GroupsSpec:
    """What to write: attrs per group path ("" is the root) and arrays per array path."""

    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # group path -> spec kind, for default chunks


def recording_spec() -> GroupsSpec:
    rng = np.random.default_rng(7)
    spec = GroupsSpec()
    spec.attrs[""] = {
        "flexsync_layout": 1,
        "recording": "S01_A01_T1",
        "subject": "S01",
        "action": "A01",
        "take": 1,
        "reference_stream": "mocap",
        "status": "complete",
        "clock_models": {
            name: {"segments": [{"offset_s": 0.25, "drift_ppm": 12.0}]} for name in ("cam1", "emg", "mocap", "physio")
        },
        "provenance": {"code_version": "0.1.0", "inputs": {"video/cam1.mp4": SHA}, "parameters": {"grid_rate_hz": 60}},
    }
    n_video = 10
    spec.kinds["streams/cam1"] = "video"
    spec.attrs["streams/cam1"] = {
        "kind": "video",
        "nominal_rate_hz": 60.0,
        "exposure_s": 0.008,
        "codec": "h264",
        "source_width": 32,
        "source_height": 24,
        "width": 8,
        "height": 6,
        "n_dropped": 1,
    }
    t_video = np.arange(n_video) / 60.0
    spec.arrays["streams/cam1/frames"] = rng.integers(0, 256, (n_video, 6, 8, 3), dtype=np.uint8)
    spec.arrays["streams/cam1/t_device"] = t_video
    spec.arrays["streams/cam1/t"] = t_video + 0.25
    spec.arrays["streams/cam1/luma_grid"] = rng.random((n_video, 2, 2), dtype=np.float32)

    n_mocap, n_sync = 20, 200
    spec.kinds["streams/mocap"] = "mocap"
    spec.attrs["streams/mocap"] = {
        "kind": "mocap",
        "units": "m",
        "joint_names": list(JOINT_NAMES),
        "nominal_rate_hz": 150.0,
    }
    spec.arrays["streams/mocap/joints"] = rng.random((n_mocap, N_JOINTS, 3), dtype=np.float32)
    spec.arrays["streams/mocap/valid"] = np.ones((n_mocap, N_JOINTS), dtype=bool)
    spec.arrays["streams/mocap/t_device"] = np.arange(n_mocap) / 150.0
    spec.arrays["streams/mocap/t"] = np.arange(n_mocap) / 150.0
    spec.arrays["streams/mocap/sync"] = np.zeros(n_sync, dtype=np.float32)
    spec.arrays["streams/mocap/sync_t_device"] = np.arange(n_sync) / 1500.0
    spec.arrays["streams/mocap/sync_t"] = np.arange(n_sync) / 1500.0

    n_emg, n_env, channels = 100, 10, ["vl_L", "vl_R", "gm_L", "gm_R"]
    spec.kinds["streams/emg"] = "emg"
    spec.attrs["streams/emg"] = {
        "kind": "emg",
        "units": "uV",
        "channel_names": channels,
        "nominal_rate_hz": 2000.0,
        "mains_hz": 50.0,
        "band_hz": [20.0, 450.0],
        "envelope_rate_hz": 200.0,
    }
    spec.arrays["streams/emg/raw"] = rng.standard_normal((n_emg, 4)).astype(np.float32)
    spec.arrays["streams/emg/clean"] = rng.standard_normal((n_emg, 4)).astype(np.float32)
    spec.arrays["streams/emg/trigger"] = np.zeros(n_emg, dtype=np.float32)
    spec.arrays["streams/emg/t_device"] = np.arange(n_emg) / 2000.0
    spec.arrays["streams/emg/t"] = np.arange(n_emg) / 2000.0 - 0.1
    spec.arrays["streams/emg/envelope"] = rng.random((n_env, 4), dtype=np.float32)
    spec.arrays["streams/emg/envelope_t_device"] = np.arange(n_env) / 200.0
    spec.arrays["streams/emg/envelope_t"] = np.arange(n_env) / 200.0 - 0.1

    spec.kinds["streams/physio"] = "physio"
    spec.attrs["streams/physio"] = {
        "kind": "physio",
        "channel_names": ["heart_rate_bpm", "breathing_rate_bpm"],
        "units": ["bpm", "bpm"],
    }
    spec.arrays["streams/physio/values"] = np.array([[80, 14], [82, 15], [85, 15]], dtype=np.float32)
    spec.arrays["streams/physio/t_device"] = np.array([0.0, 1.0, 2.0])
    spec.arrays["streams/physio/t"] = np.array([3.0, 4.0, 5.0])

    n_grid = 12
    spec.kinds["grid"] = "grid"
    spec.attrs["grid"] = {"rate_hz": 60.0, "views": ["cam1"]}
    spec.arrays["grid/t"] = 0.25 + np.arange(n_grid) / 60.0
    spec.arrays["grid/video_frame_index"] = np.array(
        [[i if i < n_video else -1] for i in range(n_grid)], dtype=np.int32
    )
    spec.arrays["grid/pose"] = rng.random((n_grid, N_JOINTS, 3), dtype=np.float32)
    spec.arrays["grid/pose_valid"] = np.ones((n_grid, N_JOINTS), dtype=bool)
    spec.arrays["grid/emg_envelope"] = rng.random((n_grid, 4), dtype=np.float32)
    spec.arrays["grid/emg_valid"] = np.ones(n_grid, dtype=bool)
    spec.arrays["grid/physio"] = rng.random((n_grid, 2), dtype=np.float32)
    spec.arrays["grid/physio_valid"] = np.ones(n_grid, dtype=bool)
    return spec


def staging_spec(recording: GroupsSpec, stream: str) -> GroupsSpec:
    """The staging group of ``stream``: its attrs and every array except the aligned ones."""
    prefix = f"streams/{stream}"
    aligned = {"t", "sync_t", "envelope_t"}
    spec = GroupsSpec(attrs={"": dict(recording.attrs[prefix])}, kinds={"": recording.kinds[prefix]})
    for path, data in recording.arrays.items():
        group, _, name = path.rpartition("/")
        if group == prefix and name not in aligned:
            spec.arrays[name] = data
    return spec


def write_spec(path: Path, spec: GroupsSpec) -> Path:
    """Write ``spec`` as a Zarr v3 group at ``path`` with the layout's default chunks."""
    root = open_group_for_write(path, spec.attrs.get("", {}))
    for group_path, attrs in spec.attrs.items():
        if group_path:
            root.require_group(group_path).attrs.put(attrs)
    for array_path, data in spec.arrays.items():
        group_path, _, name = array_path.rpartition("/")
        kind = spec.kinds.get(group_path)
        try:
            chunks = default_chunks(kind, name, data.shape) if kind else None
        except KeyError:
            chunks = None
        chunks = chunks or tuple(max(1, s) for s in data.shape)
        array = create_array(root, array_path, shape=data.shape, dtype=data.dtype, chunks=chunks)
        array[...] = data
    return path


def write_small_recording(store_root: Path | str, key: str = "S01_A01_T1", tables: dict | None = None) -> Path:
    """A conforming recording published as the unit ``recordings/<key>/`` of ``store_root`` (key also in attrs)."""
    from flexsync.storage.store import Store

    spec = recording_spec()
    spec.attrs[""]["recording"] = key
    store = Store(store_root)
    with store.publish_recording(key) as unit:
        write_spec(unit.zarr_path, spec)
        for table, df in (tables or {}).items():  # {table: DataFrame}, validated by the unit
            unit.write_table(table, df)
    return store.recording_path(key)
