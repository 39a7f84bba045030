"""Train/test splits of the repetition samples: four protocols, each deterministic from a seed.

See :mod:`flexsync.splits.protocols` for the promises each protocol makes and the checks.
"""

from flexsync.splits.protocols import (
    DEFAULT_TEST_SKILLS,
    DEFAULT_TEST_VIEWS,
    DEFAULT_VIEWS,
    PROTOCOLS,
    SIDES,
    SPLIT_SCHEMA,
    check_split,
    make_splits,
    write_splits,
)

__all__ = [
    "DEFAULT_TEST_SKILLS",
    "DEFAULT_TEST_VIEWS",
    "DEFAULT_VIEWS",
    "PROTOCOLS",
    "SIDES",
    "SPLIT_SCHEMA",
    "check_split",
    "make_splits",
    "write_splits",
]
