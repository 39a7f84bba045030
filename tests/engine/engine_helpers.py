"""Constants and helpers shared by the scale-out tests (pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["KEY", "POSTGRES_YAML", "REPO", "SETTINGS", "file_digests"]

REPO = Path(__file__).resolve().parents[2]
POSTGRES_YAML = REPO / "deploy" / "dagster-postgres.yaml"
KEY = "S01_A01_T1"  # the first generated recording: one is enough to compare engines byte for byte
SETTINGS = {"frame_codec": "zstd"}  # cheaper frames than H.264; the engines must not change any byte


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
