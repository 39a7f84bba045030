"""Staged-stream summaries (``StreamSummary``) and the naming of detected sync events."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from flexsync.ingest.staging import (
    StreamSummary,
    SyncEvent,
    events_check_text,
    label_events,
    read_staged,
)
from flexsync.raw.manifest import StreamEntry
from flexsync.storage.store import Store
from flexsync.storage.zarr_io import open_group_for_write

ENTRY = StreamEntry(name="emg", kind="emg", file="emg/emg.bdf", format="bdf", nominal_rate_hz=2000.0, device="sEMG")


def _summary(**changes) -> StreamSummary:
    t = np.arange(2001) / 2000.0 + 0.5
    summary = StreamSummary.measure(
        ENTRY,
        stream="emg",
        kind="emg",
        sha256="ab" * 32,
        size=1234,
        t_device=t,
        n_channels=2,
        sync_events=[SyncEvent(0.6, 1e-5, "trigger", "start"), SyncEvent(1.4, 1e-5, "trigger", "end")],
        channel_quality=[
            {"name": "a_L", "rms_uv": np.float32(12.5), "snr_db": 20.0, "flat": np.bool_(False)},
            {"name": "a_R", "rms_uv": 0.0, "snr_db": -math.inf, "flat": True},
        ],
        warnings=["one warning"],
        extra={"edges": (1, 2), "nested": {"gain": math.nan, "count": np.int64(3)}},
    )
    return replace(summary, **changes)


def test_measure_takes_counts_span_and_rate_from_the_timestamps() -> None:
    summary = _summary()
    assert (summary.n_samples, summary.t_device_first_s, summary.t_device_last_s) == (2001, 0.5, 1.5)
    assert summary.measured_rate_hz == pytest.approx(2000.0)
    assert (summary.file, summary.format, summary.device, summary.nominal_rate_hz) == (
        "emg/emg.bdf", "bdf", "sEMG", 2000.0,
    )  # fmt: skip
    one = StreamSummary.measure(
        ENTRY, stream="emg", kind="emg", sha256="0" * 64, size=0, t_device=np.array([3.0]), n_channels=1
    )
    assert (one.measured_rate_hz, one.n_samples, one.t_device_first_s, one.t_device_last_s) == (0.0, 1, 3.0, 3.0)


def test_to_attrs_is_plain_json_with_none_for_non_finite_values() -> None:
    summary = _summary(measured_rate_hz=math.nan)
    attrs = summary.to_attrs()
    json.dumps(attrs, allow_nan=False)  # no NaN, no numpy scalars
    assert attrs["measured_rate_hz"] is None
    assert attrs["channel_quality"][1]["snr_db"] is None and attrs["channel_quality"][0]["snr_db"] == 20.0
    assert attrs["channel_quality"][0]["rms_uv"] == 12.5 and type(attrs["channel_quality"][0]["rms_uv"]) is float
    assert attrs["channel_quality"][0]["flat"] is False
    assert attrs["extra"] == {"edges": [1, 2], "nested": {"gain": None, "count": 3}}
    assert attrs["sync_events"][0] == {"t_device_s": 0.6, "uncertainty_s": 1e-5, "source": "trigger", "label": "start"}


def test_from_attrs_round_trips_through_a_staged_group(tmp_path) -> None:
    summary = _summary(measured_rate_hz=math.nan)
    store = Store(tmp_path / "store")
    with store.write_staged_stream("S01_A01_T1", "emg") as group_dir:
        open_group_for_write(group_dir, {"kind": "emg", "ingest": summary.to_attrs()})
    back = read_staged(store, "S01_A01_T1", "emg").summary
    assert back == StreamSummary.from_attrs(summary.to_attrs())
    assert back.sync_events == summary.sync_events and isinstance(back.sync_events[0], SyncEvent)
    assert back.measured_rate_hz is None  # NaN is stored as None and read back as None
    finite_fields = {
        k: v for k, v in vars(summary).items() if k not in ("measured_rate_hz", "channel_quality", "extra")
    }
    assert {k: getattr(back, k) for k in finite_fields} == finite_fields
    assert back.channel_quality[1]["snr_db"] is None and back.extra["nested"] == {"gain": None, "count": 3}
    assert back.to_attrs() == summary.to_attrs()  # idempotent from then on


# -- label_events ----------------------------------------------------------------------------------

T_DEVICE = np.linspace(0.0, 10.0, 11)  # middle at 5 s


def _labelled(onsets) -> list[tuple[float, str]]:
    events = label_events(np.asarray(onsets), T_DEVICE, source="flash", uncertainty_s=2e-4)
    return [(e.t_device_s, e.label) for e in events]


def test_two_events_are_start_then_end_by_time() -> None:
    assert _labelled([8.5, 1.25]) == [(1.25, "start"), (8.5, "end")]
    events = label_events(np.array([1.0, 2.0]), T_DEVICE, source="trigger", uncertainty_s=1e-5)
    assert [(e.source, e.uncertainty_s) for e in events] == [("trigger", 1e-5)] * 2
    assert _labelled([7.0, 9.0]) == [(7.0, "start"), (9.0, "end")]  # two late events: still by order


@pytest.mark.parametrize(("onset", "label"), [(0.3, "start"), (4.99, "start"), (5.0, "end"), (9.7, "end")])
def test_one_event_is_named_by_its_position_in_the_recording(onset: float, label: str) -> None:
    assert _labelled([onset]) == [(onset, label)]


def test_one_event_uses_the_middle_of_the_streams_own_span() -> None:
    late_start = np.array([20.0, 30.0])  # middle 25 s
    (event,) = label_events(np.array([24.0]), late_start, source="log", uncertainty_s=0.0)
    assert event.label == "start"


def test_more_than_two_events_keep_the_first_and_the_last() -> None:
    assert _labelled([3.0, 9.0, 1.0, 6.0]) == [(1.0, "start"), (9.0, "end")]


def test_no_events_give_no_labels() -> None:
    assert _labelled([]) == []


def test_events_check_text() -> None:
    both = label_events(np.array([1.0, 9.0]), T_DEVICE, source="flash", uncertainty_s=1e-4)
    assert events_check_text(both) == (True, "sync events found: end, start")
    assert events_check_text(both[1:]) == (False, "sync events found: end")
    assert events_check_text([]) == (False, "sync events found: none")
