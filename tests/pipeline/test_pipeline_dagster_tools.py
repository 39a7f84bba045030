"""Dagster's own tools load the code location: the webserver's GraphQL API, `dagster asset materialize`.

Both run as subprocesses, the way a user starts them, with the raw/store roots and a temporary
DAGSTER_HOME (holding the repository's dagster.yaml) in their environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
import zarr
from pipeline_helpers import REPO_ROOT, VENV_BIN, published_digests

from flexsync.assets import ALL_ASSETS, RECORDING_ASSETS
from flexsync.bench.scale.processes import free_port
from flexsync.storage import Store

KEY = "S01_A01_T1"
STARTUP_TIMEOUT_S = 90.0


def _environment(raw: Path, store: Path, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return {**os.environ, "FLEXSYNC_RAW_ROOT": str(raw), "FLEXSYNC_STORE_ROOT": str(store), "DAGSTER_HOME": str(home)}


@pytest.fixture
def webserver(synth_dataset, tmp_path):
    """A dagster-webserver on a free local port, stopped (with its code server) after the test."""
    raw, _, _ = synth_dataset
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(VENV_BIN / "dagster-webserver"), "-m", "flexsync.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env=_environment(raw, tmp_path / "store", tmp_path / "dagster_home"),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the code server it starts goes with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                    info = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "webserver did not answer within 90 s"
                time.sleep(0.5)
        assert info["dagster_version"] == dg.__version__
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload
    return payload["data"]


def test_webserver_serves_the_asset_graph(webserver):
    data = _graphql(
        webserver,
        "{ assetNodes { assetKey { path } partitionDefinition { name type } dependencyKeys { path }"
        " assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }",
    )
    served = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    expected = {key.to_user_string(): asset for asset in ALL_ASSETS for key in asset.keys}
    assert sorted(served) == sorted(expected)
    for key, asset in expected.items():
        node = served[key]
        expected_partitions = {"name": "recordings", "type": "DYNAMIC"} if asset.partitions_def else None
        assert node["partitionDefinition"] == expected_partitions, key
        upstream = sorted("/".join(d["path"]) for d in node["dependencyKeys"])
        assert upstream == sorted(k.to_user_string() for k in asset.asset_deps[dg.AssetKey(key)])
        checks = {c["name"]: c["blocking"] for c in node["assetChecksOrError"]["checks"]}
        own = [spec for spec in asset.check_specs if spec.asset_key == dg.AssetKey(key)]  # a multi-asset has several
        assert checks == {spec.name: spec.blocking for spec in own}, key


def test_dagster_asset_materialize_one_partition(materialised, tmp_path):
    """`dagster asset materialize --select '*repetition_samples' --partition KEY` matches run_recordings."""
    store = tmp_path / "store"
    home = tmp_path / "dagster_home"
    env = _environment(materialised.raw, store, home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("recordings", [KEY])
    result = subprocess.run(
        [
            str(VENV_BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "flexsync.definitions",
            "--select",
            "*repetition_samples",  # the recording's assets: everything upstream of its samples
            "--partition",
            KEY,
            # In one process, whatever FLEXSYNC_EXECUTION says (the multiprocess executor starts a Python per step).
            "--config-json",
            json.dumps({"execution": {"config": {"in_process": {}}}}),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    published = zarr.open_group(Store(store).recording_path(KEY), mode="r")
    assert published.attrs["status"] == "complete"
    assert published_digests(store, KEY) == published_digests(materialised.store, KEY)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for asset in RECORDING_ASSETS:
            for key in asset.keys:
                assert instance.get_materialized_partitions(key) == {KEY}, key
