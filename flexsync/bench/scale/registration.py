"""Register the partitions as the daemon would: the real ``new_recordings_sensor``, tick after tick.

Each tick evaluates the sensor against the persistent instance and then applies its partition
requests to the instance, as the sensor daemon does, until a tick skips. The runs a tick requests
are counted and checked (one per registered key, ``run_key`` = key) but not launched: the backfill
runs the recordings. What launching them would cost the daemon is one queued run each, which
the backfill measures (``run_create_s``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import dagster as dg

from flexsync.assets.partitions import RECORDINGS_PARTITIONS_NAME
from flexsync.assets.resources import FlexsyncResource
from flexsync.sensors.new_recordings import BACKLOG_TICKS, new_recordings_sensor, tick_batch_size

__all__ = ["Registration", "Tick", "register_by_sensor"]


@dataclass(frozen=True)
class Tick:
    """One sensor tick: keys registered, runs requested, seconds to evaluate and to apply it."""

    registered: int
    runs_requested: int
    evaluate_s: float
    register_s: float

    @property
    def seconds(self) -> float:
        return self.evaluate_s + self.register_s


@dataclass(frozen=True)
class Registration:
    """Every tick that registered keys, the final skipping tick, and what the instance holds afterwards."""

    ticks: list[Tick]
    skip_s: float  # the last tick: everything already registered
    skip_message: str
    partitions_in_instance: int
    missing: list[str]  # complete recordings the instance does not know after the ticks
    batch_size: int
    backlog_ticks: int

    @property
    def n_ticks(self) -> int:
        return len(self.ticks)

    def to_dict(self) -> dict:
        return {
            "ticks": [{**asdict(t), "seconds": t.seconds} for t in self.ticks],
            "n_ticks": self.n_ticks,
            "registered": sum(t.registered for t in self.ticks),
            "seconds_per_tick_max": max((t.seconds for t in self.ticks), default=0.0),
            "seconds_total": sum(t.seconds for t in self.ticks),
            "skip_tick_s": self.skip_s,
            "skip_message": self.skip_message,
            "partitions_in_instance": self.partitions_in_instance,
            "missing": self.missing,
            "batch_size": self.batch_size,
            "backlog_ticks": self.backlog_ticks,
        }


def _apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> list[str]:
    """What the daemon does with a tick's partition requests; the keys added."""
    added: list[str] = []
    for request in result.dynamic_partitions_requests or []:
        if not isinstance(request, dg.AddDynamicPartitionsRequest):
            raise TypeError(f"the sensor asked for {type(request).__name__}: it only ever adds partitions")
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        added += list(request.partition_keys)
    return added


def register_by_sensor(
    instance: dg.DagsterInstance, resource: FlexsyncResource, keys: list[str], *, max_ticks: int = 1000
) -> Registration:
    """Tick the sensor until it skips; every tick timed. ``keys``: the complete recordings to expect."""
    ticks: list[Tick] = []
    for _ in range(max_ticks):
        context = dg.build_sensor_context(instance=instance, resources={"flexsync": resource})
        started = time.perf_counter()
        result = new_recordings_sensor(context)
        evaluated = time.perf_counter()
        if not result.dynamic_partitions_requests:
            skip = result.skip_reason.skip_message if result.skip_reason else ""
            break
        added = _apply(instance, result)
        registered = time.perf_counter()
        requested = [(r.partition_key, r.run_key) for r in result.run_requests or []]
        if requested != [(key, key) for key in added]:
            raise AssertionError(f"tick {len(ticks) + 1} requested runs {requested[:3]}... for keys {added[:3]}...")
        ticks.append(Tick(len(added), len(requested), evaluated - started, registered - evaluated))
    else:
        raise RuntimeError(f"the sensor still registered recordings after {max_ticks} ticks")
    known = set(instance.get_dynamic_partitions(RECORDINGS_PARTITIONS_NAME))
    return Registration(
        ticks=ticks,
        skip_s=evaluated - started,
        skip_message=skip,
        partitions_in_instance=len(known),
        missing=[key for key in keys if key not in known],
        batch_size=tick_batch_size(len(keys)),
        backlog_ticks=BACKLOG_TICKS,
    )
