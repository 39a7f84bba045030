"""Fixtures for the contract tests: fresh, conforming Zarr group specs (see layout_factory)."""

from __future__ import annotations

import pytest
from layout_factory import GroupsSpec
from layout_factory import recording_spec as _recording_spec
from layout_factory import staging_spec as _staging_spec


@pytest.fixture
def recording_spec() -> GroupsSpec:
    """A fresh, conforming spec of a small recording with all four stream kinds and a grid."""
    return _recording_spec()


@pytest.fixture
def staging_spec():
    """Factory: the conforming staging spec of one stream of the small recording."""
    return lambda stream: _staging_spec(_recording_spec(), stream)
