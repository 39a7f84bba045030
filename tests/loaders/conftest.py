"""Fixtures of the loader tests; the factories live in loaders_factory.py."""

from __future__ import annotations

import pytest
from loaders_factory import SamplesTruth, build_samples_store


@pytest.fixture(scope="module")
def samples_store(tmp_path_factory) -> SamplesTruth:
    """A small samples store shared read-only by the tests of one module."""
    return build_samples_store(tmp_path_factory.mktemp("store"))
