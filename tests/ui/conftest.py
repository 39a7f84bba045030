"""A materialised store behind a real `dagster-webserver` and `dagster-daemon`, and headless Chromium.

The store holds the two generated recordings, materialised in a persistent instance (a temporary
DAGSTER_HOME with the project's dagster.yaml). The daemon starts before the second recording is
materialised, as under `make ui`, where recordings arrive while the automation sensor ticks.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from ui_pages import Screenshots
from ui_servers import sensor_ticks

from flexsync.bench.scale.processes import Background, free_port, wait_for_url
from flexsync.pipelines.runner import register_recordings, run_recordings

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SETTINGS = {"frame_codec": "zstd"}  # the quick lossless frames: the UI shows the same metadata
AUTOMATION_SENSOR = "automation_sensor"
START_TIMEOUT_S = 120.0


@dataclass
class DagsterUI:
    url: str
    raw: Path
    store: Path
    keys: list[str]
    instance: dg.DagsterInstance
    webserver: Background
    daemon: Background
    # When the last recording's run began (epoch s): until it ends the training products miss
    # its samples, so a tick asking for them came after it.
    last_recording_started_at: float


def _materialise(raw: Path, store: Path, keys: list[str], instance: dg.DagsterInstance) -> None:
    runs = run_recordings(raw, store, keys=keys, instance=instance, settings=SETTINGS)
    failed = [f"{r.key}: {r.failures or r.failed_checks}" for r in runs if not r.success]
    assert not failed, f"materialising the UI test store failed: {failed}"


def _wait_for_first_tick(url: str, daemon: Background) -> None:
    """The automation sensor's first tick counts everything present as handled: the recordings
    materialised after it are what it must react to."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        daemon.check_running()
        if sensor_ticks(url, AUTOMATION_SENSOR)[1]:
            return
        time.sleep(1.0)
    raise AssertionError(f"{AUTOMATION_SENSOR} never ticked:\n{daemon.log_tail()}")


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system Chromium (Debian's package): playwright cannot download a browser here."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: run `make system` (installs .ci/system-packages.txt)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def dagster_ui(chromium, synth_dataset, tmp_path_factory) -> Iterator[DagsterUI]:
    """The store, the webserver and the daemon (after the browser check: no store without a browser)."""
    raw, _, keys = synth_dataset
    base = tmp_path_factory.mktemp("dagster_ui")
    home, store = base / "dagster_home", base / "store"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FLEXSYNC_RAW_ROOT": str(raw),
        "FLEXSYNC_STORE_ROOT": str(store),
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # Registered first, the recordings are not new to the daemon's new-recordings sensor: it
        # starts no ingest run of its own.
        register_recordings(instance, keys)
        webserver = Background(
            [str(BIN / "dagster-webserver"), "-m", "flexsync.definitions", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            cwd=base,
            log=base / "webserver.log",
        )
        daemon = Background(
            [str(BIN / "dagster-daemon"), "run", "-m", "flexsync.definitions"],
            env=env,
            cwd=base,
            log=base / "daemon.log",
        )
        try:
            _materialise(raw, store, keys[:1], instance)  # while both servers start
            wait_for_url(f"{url}/server_info", webserver, START_TIMEOUT_S)
            _wait_for_first_tick(url, daemon)
            started = time.time()
            _materialise(raw, store, keys[1:], instance)
            yield DagsterUI(url, raw, store, list(keys), instance, webserver, daemon, started)
        finally:
            daemon.stop()
            webserver.stop()


@pytest.fixture(scope="module")
def browser_context(chromium):
    from playwright.sync_api import expect, sync_playwright

    # A page waits for the webserver's GraphQL answers, slow on two busy cores: 60 s, not 5 s.
    expect.set_options(timeout=60_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1100})
        # Dagster's "Join the Dagster community" dialog covers the first page a new browser opens.
        context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'));")
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    try:
        yield page
    finally:
        page.close()


@pytest.fixture
def screenshots(tmp_path) -> Screenshots:
    return Screenshots(tmp_path)
