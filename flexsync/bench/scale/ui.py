"""Is the UI usable with every partition registered? A real ``dagster-webserver``, timed from outside.

The webserver runs on a free port of 127.0.0.1 against the benchmark's instance. Timed:

- the GraphQL query the asset pages send for partition health (``PartitionHealthQuery``, as the
  webserver's bundle has it, trimmed to the statuses of a dynamic partitions definition), once per
  partitioned asset, after one untimed query that warms the webserver's code location;
- with playwright and a Chromium (the system's, as tests/ui), each partitioned asset's pages as a
  user opens them: the partitions tab, until it shows the materialised and missing counts
  (``Materialized (N)``, ``Missing (M)``: the partition health of every partition), and the overview
  tab, until its "Latest materialization" links to that materialisation's partition (the asset's
  events are loaded); every page twice, the first load in a fresh page (cold) and again (warm).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexsync.bench.scale.processes import Background, free_port, wait_for_url

__all__ = ["PAGE_ASSETS", "UiFigures", "time_ui"]

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180.0
PAGE_TIMEOUT_MS = 120_000
# One asset of each partitioned step (the streams multi-asset's video, the clock fit, the publication, samples).
PAGE_ASSETS = ("video_streams", "clock_models", "aligned_recording", "repetition_samples")

PARTITION_HEALTH = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
      }
    }
  }
}
"""


@dataclass
class UiFigures:
    """Seconds: webserver start, each asset's partition-health query, each page (cold and warm)."""

    url: str
    start_s: float
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)  # asset -> seconds, partitions, materialised
    pages: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "url": self.url,
            "start_s": self.start_s,
            "queries": self.queries,
            "pages": self.pages,
            "skipped": self.skipped,
        }


def _graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode("utf-8")
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


def _time_query(url: str, asset: str) -> dict[str, Any]:
    started = time.perf_counter()
    node = _graphql(url, PARTITION_HEALTH, {"assetKey": {"path": [asset]}})["assetNodeOrError"]
    seconds = time.perf_counter() - started
    (dimension,) = node["partitionKeysByDimension"]
    statuses = node["assetPartitionStatuses"]
    return {
        "seconds": seconds,
        "partitions": len(dimension["partitionKeys"]),
        "materialized": len(statuses["materializedPartitions"]),
        "failed": len(statuses["failedPartitions"]),
    }


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _time_pages(url: str, queries: dict[str, dict[str, Any]], figures: UiFigures) -> None:
    """Each asset's partitions and overview tabs in headless Chromium, cold then warm."""
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1100})
        # Dagster's "Join the Dagster community" dialog covers the first page a new browser opens.
        context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'));")
        try:
            for asset in PAGE_ASSETS:
                counts = queries[asset]
                missing = counts["partitions"] - counts["materialized"] - counts["failed"]
                tabs = {
                    "partitions": (
                        f"{url}/assets/{asset}?view=partitions",
                        [f"Materialized ({counts['materialized']})", f"Missing ({missing})"],
                    ),
                    # "Latest materialization" links to its partition once the asset's events are loaded.
                    "overview": (f"{url}/assets/{asset}", []),
                }
                for tab, (address, ready) in tabs.items():
                    page = context.new_page()
                    try:
                        for attempt in ("cold", "warm"):
                            started = time.perf_counter()
                            page.goto(address, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
                            shown = [page.get_by_text(text, exact=True).first for text in ready]
                            shown = shown or [page.locator('a[href*="view=partitions&partition="]').first]
                            for locator in shown:
                                expect(locator).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                            figures.pages.append(
                                {
                                    "asset": asset,
                                    "tab": tab,
                                    "load": attempt,
                                    "url": address,
                                    "seconds": time.perf_counter() - started,
                                }
                            )
                    finally:
                        page.close()
        finally:
            context.close()
            browser.close()


def time_ui(env: dict[str, str], folder: Path, status: Callable[[str], None], *, browser: bool = True) -> UiFigures:
    """Start dagster-webserver on the instance of ``env``, time the queries and pages, stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "dagster-webserver"), "-m", "flexsync.definitions", "-h", "127.0.0.1", "-p", str(port)]
    status(f"starting dagster-webserver on {url}...")
    started = time.perf_counter()
    server = Background(command, env=env, cwd=folder, log=folder / "webserver.log")
    try:
        wait_for_url(f"{url}/server_info", server, START_TIMEOUT_S)
        figures = UiFigures(url=url, start_s=time.perf_counter() - started)
        _graphql(url, "{ version }", {})
        _time_query(url, PAGE_ASSETS[0])  # the first query loads the code location's snapshot
        figures.queries = {asset: _time_query(url, asset) for asset in PAGE_ASSETS}
        if not browser:
            figures.skipped.append("pages: not asked for")
        elif _chromium() is None:
            figures.skipped.append("pages: no chromium on PATH (Debian's chromium package, make system)")
        else:
            try:
                import playwright  # noqa: F401
            except ImportError:
                figures.skipped.append("pages: playwright is not installed (the dev extra)")
            else:
                status("timing the asset pages in headless Chromium...")
                _time_pages(url, figures.queries, figures)
        return figures
    finally:
        server.stop()
