"""Shared fixtures: where the real third-party sample files live, the generated test dataset.

The suite stores frames losslessly (zstd): the pipeline tests check timing, layout and tables,
where an H.264 encode of every frame only costs time. ``FLEXSYNC_SETTINGS`` carries that choice to
every run, in-process or in the CLI, webserver and daemon processes the tests start; the tests of
the default codec's path (determinism, samples' clips, the codec itself) ask for H.264 explicitly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from codec_settings import TEST_SETTINGS

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ["FLEXSYNC_SETTINGS"] = json.dumps(TEST_SETTINGS)  # before any fixture or subprocess reads it


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


@pytest.fixture(scope="session")
def small_options():
    """Generator options for tests: two short recordings at a small resolution."""
    from flexsync.synth.options import SynthOptions

    return SynthOptions(
        seed=11,
        subjects=1,
        actions=("A01", "A13"),
        repetitions=2,
        width=192,
        height=108,
        phone_width=108,
        phone_height=192,
    )


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory, small_options):
    """A generated raw dataset and its truth, shared read-only by the tests of one worker.

    Returns (raw_root, truth_root, keys). Tests that modify files must copy them first.
    """
    from flexsync.synth.dataset import generate_dataset

    base = tmp_path_factory.mktemp("synth")
    raw, truth = base / "raw", base / "truth"
    keys = generate_dataset(raw, truth, small_options)
    return raw, truth, keys
