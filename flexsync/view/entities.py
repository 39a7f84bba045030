"""Timeline names and entity paths of a flexsync Rerun recording, defined once for writer, tests and docs.

Entities are grouped by stream kind, then stream name, so Rerun's panels group like the store:

::

    recording                        static text: subject, action, take, clock models
    video/<view>                     the view's frames (an MP4 asset and one frame reference per frame)
    video/<view>/keypoints           2D keypoints of that frame (stored-frame pixels), bones drawn
    mocap/<stream>/joints            3D joints (lab frame, m, Z up), bones drawn
    emg/<stream>/envelope, raw       one series per channel
    physio/<stream>/<channel>        heart_rate_bpm, breathing_rate_bpm
    sync_events/<stream>             one text line per sync event
    repetitions, repetitions/phases  annotated repetition and phase spans (state lanes)
"""

from __future__ import annotations

__all__ = [
    "RECORDING_INFO",
    "REFERENCE_TIMELINE",
    "REPETITIONS",
    "REPETITION_PHASES",
    "device_timeline",
    "emg_entity",
    "joints_entity",
    "keypoints_entity",
    "physio_entity",
    "sync_events_entity",
    "video_entity",
]

REFERENCE_TIMELINE = "reference"  # the recording's reference clock (the store's `t` arrays), s
RECORDING_INFO = "recording"
REPETITIONS = "repetitions"
REPETITION_PHASES = "repetitions/phases"


def device_timeline(stream: str) -> str:
    """The timeline of ``stream``'s own device clock (its ``t_device`` arrays)."""
    return f"t_device_{stream}"


def video_entity(view: str) -> str:
    return f"video/{view}"


def keypoints_entity(view: str) -> str:
    return f"video/{view}/keypoints"


def joints_entity(stream: str) -> str:
    return f"mocap/{stream}/joints"


def emg_entity(stream: str, signal: str) -> str:
    """``signal`` is ``"envelope"`` or ``"raw"``."""
    return f"emg/{stream}/{signal}"


def physio_entity(stream: str, channel: str) -> str:
    return f"physio/{stream}/{channel}"


def sync_events_entity(stream: str) -> str:
    return f"sync_events/{stream}"
