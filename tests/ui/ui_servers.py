"""The webserver's GraphQL as the UI tests ask it; the processes themselves (webserver, daemon, each
in its own process group) are flexsync.bench.scale.processes', as the scale benchmark runs them."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

__all__ = ["graphql", "sensor_ticks"]

LOCATION = "flexsync.definitions"  # the code location of `-m flexsync.definitions`
REPOSITORY = "__repository__"  # the repository of a Definitions object


def graphql(base_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data`` of one GraphQL request to the webserver (errors raise)."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode("utf-8")
    request = urllib.request.Request(f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise AssertionError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState { status ticks(limit: 50) { timestamp status requestedAssetKeys { path } } }
    }
  }
}
"""


def sensor_ticks(base_url: str, sensor: str) -> tuple[str, list[dict[str, Any]]]:
    """The sensor's status (RUNNING / STOPPED) and its ticks, newest first."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": sensor}
    found = graphql(base_url, _TICKS, {"selector": selector})["sensorOrError"]
    if found["__typename"] != "Sensor":
        raise AssertionError(f"sensor {sensor}: {found['__typename']}")
    state = found["sensorState"]
    return state["status"], state["ticks"]
