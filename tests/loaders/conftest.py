"""Fixtures of the loader tests; the factories live in loaders_factory.py and flex_mini_factory.py."""

from __future__ import annotations

import pytest
from flex_mini_factory import FlexMini, build_flex_mini
from loaders_factory import SamplesTruth, build_samples_store


@pytest.fixture(scope="module")
def samples_store(tmp_path_factory) -> SamplesTruth:
    """A small samples store shared read-only by the tests of one module."""
    return build_samples_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def flex_mini(tmp_path_factory) -> FlexMini:
    """The flex-mini preset's samples (every FLEX class, tiny frames) and its export of every protocol, read-only."""
    return build_flex_mini(tmp_path_factory.mktemp("flex_mini") / "store")
