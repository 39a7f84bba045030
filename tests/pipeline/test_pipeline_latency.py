"""A known fixed device latency (configuration) shifts that stream's clock fit by exactly that much."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_helpers import copy_staged

from flexsync.config import PipelineSettings
from flexsync.ingest.clocks import fit_recording_clocks
from flexsync.ingest.recording import RawRecording
from flexsync.storage import Store

KEY = "S01_A01_T1"


@pytest.mark.parametrize("latency_s", [0.0125, 0.048])
def test_emg_latency_moves_its_events_earlier_on_the_reference_clock(materialised, tmp_path, latency_s):
    recording = RawRecording.open(materialised.raw, KEY)
    store = Store(tmp_path / "store")
    copy_staged(materialised.store, store.root, KEY, recording.manifest.streams)  # fits stage reports: work on a copy
    plain = fit_recording_clocks(recording, store, PipelineSettings()).models
    delayed = fit_recording_clocks(recording, store, PipelineSettings(device_latency_s={"emg": latency_s})).models

    # A sample stamped t on the device was measured latency_s earlier: the same device time maps
    # latency_s (times the clock rate) earlier on the reference clock.
    t_device = np.array([1.0, 5.0, 9.0])
    shift = plain["emg"].to_reference(t_device) - delayed["emg"].to_reference(t_device)
    np.testing.assert_allclose(shift, latency_s * (1 + plain["emg"].segments[0].drift), rtol=0, atol=1e-9)
    # Other streams are untouched, and the EMG drift does not change.
    for name in ("cam1", "physio"):
        np.testing.assert_allclose(plain[name].to_reference(t_device), delayed[name].to_reference(t_device), atol=0)
    assert delayed["emg"].segments[0].drift == pytest.approx(plain["emg"].segments[0].drift, abs=1e-12)
