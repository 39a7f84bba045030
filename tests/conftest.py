"""Shared fixtures: where the real third-party sample files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _real_data_dir() -> Path:
    configured = os.environ.get("FLEXSYNC_REAL_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of real sample files (../shared/data/real beside the checkout).

    Missing data is an error, not a skip: a test that silently skips proves nothing.
    """
    folder = _real_data_dir()
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(
            f"real sample files not found in {folder}; set FLEXSYNC_REAL_DATA to the folder "
            "that holds vicon_markers_analogs.c3d, lsl_minimal.xdf, ..."
        )
    return folder
