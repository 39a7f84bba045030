"""The Dagster UI in headless Chromium, as a user sees it once two recordings are materialised.

Real `dagster-webserver` and `dagster-daemon` over a persistent instance (tests/ui/conftest.py).
The assertions are on what the pages show (recording partitions, the sync plot and overlay images,
the clock table, check results per partition, the automation sensor's ticks); the store only
gives the values to expect there.
"""

from __future__ import annotations

import re
import time

import dagster as dg
import pytest
from playwright.sync_api import Page, expect
from ui_pages import metadata_row, metadata_table, open_image, png_size, visible_text
from ui_servers import sensor_ticks

from flexsync.assets._display import display_float
from flexsync.ingest.checks import CLOCK_CHECKS, RECORDING_CHECKS
from flexsync.storage.store import OVERLAY_PNG, SYNC_REPORT_PNG, Store

TRAINING_PRODUCTS = {"sample_index", "splits", "flex_export", "videoqa"}
TICK_TIMEOUT_S = 90.0  # the automation sensor ticks every ~30 s


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")


def _metadata_keys(dagster_ui, asset: str, key: str) -> set[str]:
    """The metadata keys of ``asset``'s latest materialisation of partition ``key``."""
    records = dagster_ui.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
    ).records
    assert records, f"{asset} {key} was not materialised"
    return set(records[0].asset_materialization.metadata)


def test_asset_graph_shows_every_group_and_passed_checks(dagster_ui, page, screenshots):
    _open(page, f"{dagster_ui.url}/asset-groups")
    for group in ("streams", "sync", "aligned", "training"):
        expect(visible_text(page, group).first).to_be_visible()
    expect(page.get_by_text("fetching statuses")).to_have_count(0)
    screenshots.take(page, "asset_graph")

    _open(page, f"{dagster_ui.url}/assets/clock_models?view=lineage&lineageScope=neighbors&lineageDepth=1")
    nodes = page.locator('[class*="assetNodeBox"]')
    for asset, checks in (("clock_models", CLOCK_CHECKS), ("aligned_recording", RECORDING_CHECKS)):
        node = nodes.filter(has_text=re.compile(rf"^{asset}Latest event"))
        expect(node).to_contain_text(f"{len(checks)} / {len(checks)} Passed")  # was "0 / 2 Passed"
        expect(node).to_contain_text("100% filled")
    expect(nodes.filter(has_text=re.compile(r"^video_streamsLatest event"))).to_contain_text("Passed")
    screenshots.take(page, "asset_graph_clock_models_lineage")


def test_clock_models_partition_shows_clock_table_and_sync_plot(dagster_ui, page, screenshots):
    key = dagster_ui.keys[0]
    _open(page, f"{dagster_ui.url}/assets/clock_models?view=partitions&partition={key}")
    for recording in dagster_ui.keys:  # the partitions list: one per recording
        expect(visible_text(page, recording).first).to_be_visible()
    expect(page.get_by_text("Materialized (2)")).to_be_visible()
    expect(metadata_row(page, "reference_stream")).to_be_visible()

    table = metadata_table(page, "clock_models")
    assert table["headers"][:3] == ["stream", "method", "offset_s"], table["headers"]
    shown = {row[0]: row for row in table["rows"]}
    stored = Store(dagster_ui.store).read_table("clock_models", keys=[key]).filter(segment=0)
    assert set(shown) == set(stored["stream"].to_list()), (shown, stored)
    for stream, offset in stored.select("stream", "offset_s").iter_rows():
        # Rounded for reading: 6 significant digits, as the UI prints them (no 0.43769743210000004).
        assert float(shown[stream][2]) == display_float(offset), (stream, shown[stream][2], offset)
        assert len(re.sub(r"[^0-9]", "", shown[stream][2]).lstrip("0")) <= 6, shown[stream][2]
    plot = Store(dagster_ui.store).report_file(key, SYNC_REPORT_PNG)
    expect(metadata_row(page, "sync_plot_path")).to_contain_text(SYNC_REPORT_PNG)
    screenshots.take(page, "clock_models_partition")

    width, height = open_image(page, "sync_plot")
    assert (width, height) == png_size(plot), "the sync plot shown is not the published one"
    expect(page.get_by_role("dialog")).to_contain_text("sync_plot")
    screenshots.take(page, "clock_models_sync_plot")


def test_aligned_recording_partition_shows_streams_and_overlay(dagster_ui, page, screenshots):
    key = dagster_ui.keys[0]
    _open(page, f"{dagster_ui.url}/assets/aligned_recording?view=partitions&partition={key}")
    expect(page.get_by_text("Materialized (2)")).to_be_visible()
    table = metadata_table(page, "streams")
    assert table["headers"][:2] == ["stream", "kind"], table["headers"]
    assert {"mocap", "emg"} <= {row[0] for row in table["rows"]}, table["rows"]
    screenshots.take(page, "aligned_recording_partition")

    if "overlay_preview" not in _metadata_keys(dagster_ui, "aligned_recording", key):
        pytest.fail("aligned_recording has no overlay_preview metadata: nothing to show")
    width, height = open_image(page, "overlay_preview")
    assert width > 0 and height > 0
    assert (width, height) == png_size(Store(dagster_ui.store).report_file(key, OVERLAY_PNG))
    screenshots.take(page, "aligned_recording_overlay")


@pytest.mark.parametrize(("asset", "checks"), [("clock_models", CLOCK_CHECKS), ("aligned_recording", RECORDING_CHECKS)])
def test_checks_tab_shows_each_check_passed_per_partition(dagster_ui, page, screenshots, asset, checks):
    key = dagster_ui.keys[0]
    body = page.locator("body")
    _open(page, f"{dagster_ui.url}/assets/{asset}?view=checks")
    expect(page.get_by_text(f"Checks ({len(checks)})")).to_be_visible()
    for check in checks:  # the list on the left: every check with its latest state
        state = re.compile(rf"{check.name}\s+(?:{check.name}\s+)?Succeeded")
        expect(body).to_contain_text(state, use_inner_text=True)
    expect(page.get_by_text("Not Evaluated")).to_have_count(0)  # what unpartitioned checks showed
    screenshots.take(page, f"{asset}_checks")
    for check in checks:  # each check's Partitions tab: one result per recording, this one passed
        visible_text(page, check.name).first.click()
        expect(page).to_have_url(re.compile(rf"checkDetail={check.name}\b"))
        page.locator("button[role=tab]#partitions").click()
        expect(page.get_by_text("Passed (2)")).to_be_visible()
        visible_text(page, key).last.click()
        # The partition's own result: its state, then its description (it names the recording).
        result = re.compile(rf"{key}\s+(?:{key}\s+)?Passed\s+Latest execution[\s\S]*recording {key}:")
        expect(body).to_contain_text(result, use_inner_text=True)
    screenshots.take(page, f"{asset}_check_partition")


def test_automation_sensor_runs_by_default_and_requests_the_training_products(dagster_ui, page, screenshots):
    deadline = time.monotonic() + TICK_TIMEOUT_S
    requested: set[str] = set()
    while time.monotonic() < deadline and not requested >= TRAINING_PRODUCTS:
        status, ticks = sensor_ticks(dagster_ui.url, "automation_sensor")
        assert status == "RUNNING"  # nobody started it: it runs by default
        after = [t for t in ticks if t["timestamp"] >= dagster_ui.last_recording_started_at]
        requested = {"/".join(k["path"]) for t in after for k in t["requestedAssetKeys"]}
        time.sleep(2.0)
    assert requested >= TRAINING_PRODUCTS, (
        f"no automation tick requested {sorted(TRAINING_PRODUCTS - requested)} within {TICK_TIMEOUT_S:.0f} s "
        f"of the recordings:\n{dagster_ui.daemon.log_tail()}"
    )

    _open(page, f"{dagster_ui.url}/locations/flexsync.definitions/sensors/automation_sensor")
    expect(page.locator("input[type=checkbox]").first).to_be_checked()  # the "Running" switch
    # The newest tick that asked for several materialisations (the FKG tables' own tick asks for one);
    # its Result cell opens the list of what it requested.
    several = re.compile(r"^([4-9]|\d\d+) materializations requested$")
    tick = page.locator("tr").filter(has=page.get_by_text(several)).first
    expect(tick).to_be_visible()
    screenshots.take(page, "automation_sensor")
    tick.get_by_text(several).last.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Requested materializations")
    screenshots.take(page, "automation_sensor_tick")
    for asset in sorted(TRAINING_PRODUCTS):
        expect(dialog.get_by_text(asset, exact=True).first).to_be_visible()
