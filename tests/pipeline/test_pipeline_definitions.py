"""The code location loads, and its asset graph is the one written down here.

A snapshot on purpose: adding, renaming or rewiring an asset or a check must show up as a diff
in this file (and in the docs), not slip through.
"""

from __future__ import annotations

import dagster as dg

from flexsync.assets import ALL_ASSETS, recording_streams, recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.definitions import defs

# One asset per stream kind (the ingester registry), each holding every stream of that kind.
STREAM_ASSETS = [
    "emg_streams",
    "mocap_streams",
    "physio_streams",
    "video_streams",
]
RECORDING_UPSTREAM = {
    "aligned_recording": ["clock_models"],
    "clock_models": STREAM_ASSETS,
    "repetition_samples": ["aligned_recording"],
    **{key: [] for key in STREAM_ASSETS},
}
DATASET_UPSTREAM = {
    "fkg_tables": [],
    "sample_index": ["repetition_samples"],
    "splits": ["sample_index"],
    "flex_export": ["splits"],
    "videoqa": ["sample_index"],
}
UPSTREAM = {**RECORDING_UPSTREAM, **DATASET_UPSTREAM}
GROUPS = {
    "aligned_recording": "aligned",
    "clock_models": "sync",
    **{key: "streams" for key in STREAM_ASSETS},
    **{key: "training" for key in ("repetition_samples", *DATASET_UPSTREAM)},
}
# (asset, check) -> blocking; blocking checks are the "error" ones of flexsync.ingest.checks
CHECKS = {
    ("aligned_recording", "keypoints_in_image"): False,
    ("aligned_recording", "tables_schema"): True,
    ("aligned_recording", "zarr_layout"): True,
    ("clock_models", "clock_models_table"): True,
    ("clock_models", "clock_pulse_fit"): True,
    ("clock_models", "clock_residuals"): True,
    ("emg_streams", "channel_quality"): False,
    ("mocap_streams", "occlusion_gaps"): False,
    **{(key, "sync_events_found"): False for key in STREAM_ASSETS},
    **{(key, "timestamps_increasing"): True for key in STREAM_ASSETS},
    ("video_streams", "dropped_frames"): False,
    ("sample_index", "annotations_in_fkg"): True,
    ("sample_index", "scores_match_fkg"): False,
    ("splits", "split_promises"): True,
    ("flex_export", "scores_in_consumer_ranges"): True,
}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    keys = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    assert keys == sorted(UPSTREAM)
    for key in keys:
        node = graph.get(dg.AssetKey(key))
        assert sorted(parent.to_user_string() for parent in node.parent_keys) == UPSTREAM[key], key
        if key in RECORDING_UPSTREAM:
            assert node.partitions_def == recordings_partitions, key
            assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
            assert node.partitions_def.name == "recordings"
        else:  # dataset-wide products span every recording
            assert node.partitions_def is None, key
    for asset in ALL_ASSETS:
        assert asset.group_names_by_key == {key: GROUPS[key.to_user_string()] for key in asset.keys}
    # every kind's streams are ingested in one step per recording, which may run any subset of kinds
    assert sorted(key.to_user_string() for key in recording_streams.keys) == STREAM_ASSETS
    assert recording_streams.op.name == "recording_streams" and recording_streams.can_subset
    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for asset in ALL_ASSETS
        for spec in asset.check_specs
    }
    assert specs == CHECKS
    assert sorted((k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys) == sorted(CHECKS)


def test_job_sensor_and_resource_resolve():
    job = defs.resolve_job_def("ingest_recordings")
    assert job.partitions_def == recordings_partitions
    assert sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys) == sorted(RECORDING_UPSTREAM)
    products = defs.resolve_job_def("build_training_products")
    assert products.partitions_def is None
    assert sorted(key.to_user_string() for key in products.asset_layer.executable_asset_keys) == sorted(
        DATASET_UPSTREAM
    )
    sensor = defs.resolve_sensor_def("new_recordings_sensor")
    assert sensor.job_name == "ingest_recordings"
    assert isinstance(defs.resources["flexsync"], FlexsyncResource)
    assert [s.name for s in defs.sensors] == ["new_recordings_sensor", "automation_sensor"]
