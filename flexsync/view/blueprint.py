"""The layout a flexsync Rerun recording opens with: views on the left, skeleton and signals on the right.

Only a starting point: the viewer's own panels rearrange it, and "reset blueprint" comes back here.
"""

from __future__ import annotations

from collections.abc import Sequence

import rerun.blueprint as rrb

from flexsync.view import entities as ent

__all__ = ["default_blueprint"]


def default_blueprint(
    *,
    views: Sequence[str],
    mocap: Sequence[str],
    emg: Sequence[str],
    physio: Sequence[str],
    emg_raw: bool,
    repetitions: bool,
) -> rrb.Blueprint:
    """A grid of the video views, the 3D skeleton, tabs of signal plots, repetition lanes and sync events."""
    left: list[rrb.Container | rrb.View] = []
    if views:
        left.append(rrb.Grid(*(rrb.Spatial2DView(origin=ent.video_entity(v), name=v) for v in views), name="video"))
    right: list[rrb.Container | rrb.View] = [
        rrb.Spatial3DView(origin=f"mocap/{stream}", name=f"{stream} skeleton") for stream in mocap
    ]
    plots: list[rrb.View] = []
    for stream in emg:
        plots.append(rrb.TimeSeriesView(origin=ent.emg_entity(stream, "envelope"), name=f"{stream} envelope"))
        if emg_raw:
            plots.append(rrb.TimeSeriesView(origin=ent.emg_entity(stream, "raw"), name=f"{stream} raw"))
    plots += [rrb.TimeSeriesView(origin=f"physio/{stream}", name=stream) for stream in physio]
    if plots:
        right.append(rrb.Tabs(*plots, name="signals"))
    lanes: list[rrb.View] = [rrb.TextLogView(origin="sync_events", name="sync events")]
    if repetitions:
        lanes.insert(0, rrb.StateTimelineView(origin=ent.REPETITIONS, name="repetitions"))
    right.append(rrb.Horizontal(*lanes))
    return rrb.Blueprint(
        rrb.Horizontal(*left, rrb.Vertical(*right), column_shares=[3, 2] if left else None),
        rrb.TimePanel(timeline=ent.REFERENCE_TIMELINE),
    )
