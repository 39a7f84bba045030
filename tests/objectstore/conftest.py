"""A real S3-compatible server on 127.0.0.1 (moto's server mode) for the object-store tests.

One server per test session, on a free port, stopped at teardown; one bucket. Each test (and
each module fixture) gets its own key prefix and its own working-copy folder, so nothing a test
writes is seen by another. The credentials are moto's dummy ones; nothing leaves this machine.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flexsync.bench.scale.processes import free_port

BUCKET = "flexsync-test"


@dataclass(frozen=True)
class S3Server:
    """The running server: its endpoint and the environment a client needs to reach it."""

    endpoint: str
    bucket: str

    def env(self, cache: Path) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "FLEXSYNC_CACHE": str(cache),
        }

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1:<free port> with one empty bucket; stopped after the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        # CreateBucket is a plain PUT of the bucket (moto checks no signature): no AWS SDK needed.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"), timeout=10).read()
        yield S3Server(endpoint=endpoint, bucket=BUCKET)
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, tmp_path, monkeypatch) -> S3Server:
    """The server's environment for this test, with a fresh working-copy folder."""
    for name, value in s3_server.env(tmp_path / "cache").items():
        monkeypatch.setenv(name, value)
    return s3_server
