"""Readers: every supported file format into the same stream types.

``read_file`` picks the reader from the format name or extension; each returns a
``FileContents`` of ``SignalStream``/``VideoStream``/``EventList`` (see ``stream.py``) with
device timestamps as the file records them. ``inspect_file`` summarises a file like ffprobe.
Format modules (mne, PyAV, ezc3d, pyxdf) are imported only when a file of theirs is read.
"""

from flexsync.readers.inspect import format_inspection, inspect_file
from flexsync.readers.marker_sets import IDENTITY_MARKER_SET, map_markers_to_joints
from flexsync.readers.registry import read_file, register_reader, resolve_format, supported_formats
from flexsync.readers.stream import EventList, FileContents, SignalStream, VideoStream

__all__ = [
    "IDENTITY_MARKER_SET",
    "EventList",
    "FileContents",
    "SignalStream",
    "VideoStream",
    "format_inspection",
    "inspect_file",
    "map_markers_to_joints",
    "read_file",
    "register_reader",
    "resolve_format",
    "supported_formats",
]
