"""Size the concurrency pools the assets declare (the ``decode`` pool of the stream ingest) in an instance.

dagster.yaml can only give one ``default_limit`` to every pool; the limit of a named pool lives in
the instance's storage (what ``dagster instance concurrency set POOL N`` writes). Decoding is the
heavy step, so its pool gets one slot per core: FLEXSYNC_DECODE_SLOTS, else this machine's cores.
"""

from __future__ import annotations

import os

import dagster as dg

from flexsync.assets import ALL_ASSETS

__all__ = ["DECODE_SLOTS_ENV", "asset_pools", "decode_slots", "main", "size_pools"]

DECODE_SLOTS_ENV = "FLEXSYNC_DECODE_SLOTS"


def asset_pools() -> list[str]:
    """Every pool a flexsync asset's step runs in (read from the definitions, not repeated here)."""
    return sorted({asset.op.pool for asset in ALL_ASSETS if asset.op.pool})


def decode_slots() -> int:
    """Slots for the decoding pools: FLEXSYNC_DECODE_SLOTS, else the number of cores."""
    configured = os.environ.get(DECODE_SLOTS_ENV)
    return int(configured) if configured else os.cpu_count() or 1


def size_pools(instance: dg.DagsterInstance, slots: int | None = None) -> dict[str, int]:
    """Set every asset pool's limit in ``instance`` to ``slots`` (default: decode_slots()); return the limits."""
    limit = decode_slots() if slots is None else slots
    if limit < 1:
        raise ValueError(f"a pool needs at least one slot, got {limit}")
    limits = {}
    for pool in asset_pools():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
        limits[pool] = limit
    return limits


def main() -> int:
    """``python -m flexsync.pipelines.pools``: size the pools of the DAGSTER_HOME instance (make ui-postgres)."""
    with dg.DagsterInstance.get() as instance:
        for pool, limit in size_pools(instance).items():
            print(f"pool {pool}: {limit} slots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
