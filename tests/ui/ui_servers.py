"""The Dagster processes the UI tests run for real: the webserver and the daemon, each in its own
process group (so teardown stops them and every child they start), plus the webserver's GraphQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ServerProcess", "free_port", "graphql", "sensor_ticks", "wait_until_answers"]

LOCATION = "flexsync.definitions"  # the code location of `-m flexsync.definitions`
REPOSITORY = "__repository__"  # the repository of a Definitions object


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """A command in a new session, output in ``log``; ``stop`` ends its whole process group."""

    def __init__(self, command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.command, self.log = command, log
        self._out = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"{Path(self.command[0]).name} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM to the group, SIGKILL to whatever is left after ``timeout_s``."""
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout_s)
        # Children that outlived the leader (a code server, a run worker) are still in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._out.close()


def wait_until_answers(url: str, server: ServerProcess, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.check_running()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s:.0f} s:\n{server.log_tail()}")


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
