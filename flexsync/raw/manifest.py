"""The recording manifest: which streams a recording has, in which files and formats.

The manifest is JSON, written last by the recorder. Paths in it are relative to the
recording folder and may never leave the raw root (checked by ``resolve_inside``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flexsync.errors import ManifestError, MissingInputError, UnsafePathError
from flexsync.raw.layout import MANIFEST_FILE, check_recording_key

__all__ = [
    "MANIFEST_VERSION",
    "STREAM_KINDS",
    "SYNC_SOURCES",
    "Manifest",
    "StreamEntry",
    "read_manifest",
    "resolve_inside",
    "stream_option_problems",
    "write_manifest",
]

MANIFEST_VERSION = 1
STREAM_KINDS = ("video", "mocap", "emg", "physio")
# What the lab wired into a stream's sync input (option ``sync_source``; docs/sync-notes.md).
SYNC_SOURCES = ("flashes", "pulse_train", "coded_train")


@dataclass(frozen=True)
class StreamEntry:
    """One device's data inside a recording.

    ``options`` carries format-specific hints such as the sync channel name
    (``sync_channel``), the video stream index (``video_stream``) or a marker set. Options the
    pipeline reads for third-party files are checked when the manifest is read (docs/raw-format.md):
    ``channels`` (EMG), ``trigger_channel`` / ``sync_channel`` (may be null), ``marker_set``
    (mocap) and ``clock`` (any stream).
    """

    name: str
    kind: str
    file: str
    format: str
    nominal_rate_hz: float
    device: str = ""
    events_file: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in STREAM_KINDS:
            raise ValueError(f"stream {self.name}: kind {self.kind!r} is not one of {STREAM_KINDS}")
        if not self.nominal_rate_hz > 0:
            raise ValueError(f"stream {self.name}: nominal_rate_hz must be > 0, got {self.nominal_rate_hz}")
        problems = stream_option_problems(self.kind, self.options)
        if problems:
            raise ValueError(f"stream {self.name}: " + "; ".join(problems))

    @property
    def sync_source(self) -> str:
        """What drives the stream's sync input (option ``sync_source``): "flashes" unless the manifest says."""
        return str(self.options.get("sync_source") or "flashes")

    @property
    def declared_clock(self) -> tuple[float, float] | None:
        """``(offset_s, drift)`` from the ``clock`` option (t_ref = offset_s + (1 + drift) * t_dev), or None."""
        clock = self.options.get("clock")
        if clock is None:
            return None
        return float(clock["offset_s"]), float(clock.get("drift_ppm", 0.0)) * 1e-6


@dataclass(frozen=True)
class Manifest:
    """Everything the pipeline needs to know before it opens a recording's files."""

    recording: str
    subject: str
    action: str
    take: int
    streams: dict[str, StreamEntry]
    reference_stream: str = "mocap"
    mains_hz: float = 50.0
    calibration: str | None = "calibration.json"
    annotations: str | None = "annotations.json"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["streams"] = {name: asdict(entry) for name, entry in self.streams.items()}
        return out

    def path_of(self, recording_folder: Path | str, relative: str, *, raw_root: Path | str | None = None) -> Path:
        """Absolute path of a file named in this manifest, checked to stay inside the raw root."""
        folder = Path(recording_folder)
        root = Path(raw_root) if raw_root is not None else folder.parent.parent
        return resolve_inside(root, relative, base=folder, recording=self.recording)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def stream_option_problems(kind: str, options: dict[str, Any]) -> list[str]:
    """What is wrong with the pipeline-read options of one stream (empty when all is well).

    ``clock``: ``{"offset_s": float, "drift_ppm": float (default 0)}``; ``channels`` (EMG): a
    non-empty list of distinct source labels, or a mapping ``{source label: output name}`` with
    distinct, non-empty output names; ``trigger_channel`` (EMG)
    and ``sync_channel`` (mocap): a label or null; ``marker_set`` (mocap): ``"identity"``, a
    JSON file inside the recording folder, or an inline ``{joint: marker or [markers]}``;
    ``rolling_shutter_s`` (video): readout time from the first to the last row, a number in [0, 1) s;
    ``sync_source`` (any): what drives the stream's sync input, one of ``SYNC_SOURCES`` (default
    ``"flashes"``: the start/end pair).
    """
    problems = []
    clock = options.get("clock")
    if clock is not None:
        if not isinstance(clock, dict) or not _is_number(clock.get("offset_s")):
            problems.append(f"option 'clock' must be {{'offset_s': number, 'drift_ppm': number}}, got {clock!r}")
        elif not _is_number(clock.get("drift_ppm", 0.0)) or sorted(set(clock) - {"offset_s", "drift_ppm"}):
            problems.append(f"option 'clock' takes only a numeric offset_s and drift_ppm, got {clock!r}")
    for key in ("trigger_channel", "sync_channel"):
        value = options.get(key)
        if value is not None and not _is_label(value):
            problems.append(f"option {key!r} must be a channel label or null, got {value!r}")
    channels = options.get("channels")
    if channels is not None:
        if kind != "emg":
            problems.append(f"option 'channels' is for EMG streams, not {kind}")
        elif isinstance(channels, dict):
            outputs = list(channels.values())
            if not channels or not all(_is_label(k) for k in channels):
                problems.append(f"option 'channels' must map source labels to output names, got {channels!r}")
            elif not all(_is_label(v) for v in outputs):
                problems.append(f"option 'channels': output names must be non-empty strings, got {outputs}")
            elif len(set(outputs)) != len(outputs):
                problems.append(f"option 'channels': output names repeat: {outputs}")
        elif isinstance(channels, list):
            if not channels or not all(_is_label(c) for c in channels) or len(set(channels)) != len(channels):
                problems.append(f"option 'channels' must be a non-empty list of distinct labels, got {channels!r}")
        else:
            problems.append(f"option 'channels' must be a list of labels or a mapping, got {channels!r}")
    readout = options.get("rolling_shutter_s")
    if readout is not None:
        if kind != "video":
            problems.append(f"option 'rolling_shutter_s' is for video streams, not {kind}")
        elif not (_is_number(readout) and 0.0 <= float(readout) < 1.0):
            problems.append(f"option 'rolling_shutter_s' must be a readout time in [0, 1) s, got {readout!r}")
    marker_set = options.get("marker_set")
    if marker_set is not None and not (_is_label(marker_set) or isinstance(marker_set, dict)):
        problems.append(f"option 'marker_set' must be 'identity', a JSON file name or a mapping, got {marker_set!r}")
    source = options.get("sync_source")
    if source is not None and source not in SYNC_SOURCES:
        problems.append(f"option 'sync_source' must be one of {', '.join(SYNC_SOURCES)}, got {source!r}")
    return problems


def resolve_inside(
    root: Path | str, relative: str, *, base: Path | str | None = None, recording: str | None = None
) -> Path:
    """Resolve ``relative`` against ``base`` (default ``root``) and refuse anything outside ``root``.

    Absolute paths, ``..`` segments and symlinks pointing outside are all rejected.
    """
    root_path = Path(root).resolve()
    candidate = Path(relative)
    if candidate.is_absolute():
        raise UnsafePathError(f"absolute path {relative!r} in manifest is not allowed", recording=recording)
    resolved = (Path(base).resolve() if base is not None else root_path).joinpath(candidate).resolve()
    if resolved != root_path and root_path not in resolved.parents:
        raise UnsafePathError(f"path {relative!r} escapes the raw root", recording=recording)
    return resolved


def _require(data: dict[str, Any], key: str, path: Path, recording: str | None) -> Any:
    if key not in data:
        raise ManifestError(f"missing field {key!r}", path=path, recording=recording)
    return data[key]


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def _number(data: dict[str, Any], field: str, default: Any, kind: type, path: Path, recording: str) -> Any:
    """A numeric top-level field, or a ManifestError naming it and its value."""
    value = data.get(field, default)
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise ManifestError(
            f"{field!r} must be {'an integer' if kind is int else 'a number'}, got {value!r}",
            path=path,
            recording=recording,
        ) from None


def read_manifest(recording_folder: Path | str, *, raw_root: Path | str | None = None) -> Manifest:
    """Read and validate ``manifest.json`` of one recording folder.

    Every file the manifest names must exist and stay inside ``raw_root`` (by default the
    recording folder's grandparent, the dataset root).
    """
    folder = Path(recording_folder)
    path = folder / MANIFEST_FILE
    recording = folder.name
    if not path.is_file():
        raise MissingInputError("manifest.json not found (recording incomplete?)", path=path, recording=recording)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"not valid JSON: {exc}", path=path, recording=recording) from exc
    except _DuplicateKeyError as exc:
        raise ManifestError(
            f"key {exc.args[0]!r} appears twice in one object (JSON keeps only the last): remove the duplicate",
            path=path,
            recording=recording,
        ) from None
    if not isinstance(data, dict):
        raise ManifestError("top level must be a JSON object", path=path, recording=recording)
    version = data.get("format_version", MANIFEST_VERSION)
    if version != MANIFEST_VERSION:
        raise ManifestError(
            f"format_version {version} is not supported (expected {MANIFEST_VERSION})", path=path, recording=recording
        )
    key = _require(data, "recording", path, recording)
    try:
        check_recording_key(key)
    except ValueError as exc:
        raise ManifestError(str(exc), path=path, recording=recording) from exc
    if key != folder.name:
        raise ManifestError(f"recording {key!r} does not match its folder name {folder.name!r}", path=path)
    raw_streams = _require(data, "streams", path, recording)
    if not isinstance(raw_streams, dict) or not raw_streams:
        raise ManifestError("'streams' must be a non-empty object", path=path, recording=recording)
    streams: dict[str, StreamEntry] = {}
    for name, entry in raw_streams.items():
        try:
            streams[name] = StreamEntry(
                name=name,
                kind=entry["kind"],
                file=entry["file"],
                format=entry["format"],
                nominal_rate_hz=float(entry["nominal_rate_hz"]),
                device=entry.get("device", ""),
                events_file=entry.get("events_file"),
                options=dict(entry.get("options", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"stream {name!r} is malformed: {exc}", path=path, recording=recording) from exc
    manifest = Manifest(
        recording=key,
        subject=str(_require(data, "subject", path, recording)),
        action=str(_require(data, "action", path, recording)),
        take=_number(data, "take", 1, int, path, recording),
        streams=streams,
        reference_stream=str(data.get("reference_stream", "mocap")),
        mains_hz=_number(data, "mains_hz", 50.0, float, path, recording),
        calibration=data.get("calibration"),
        annotations=data.get("annotations"),
        files=dict(data.get("files", {})),
        format_version=version,
    )
    if manifest.reference_stream not in streams:
        raise ManifestError(
            f"reference_stream {manifest.reference_stream!r} is not one of the streams {sorted(streams)}",
            path=path,
            recording=recording,
        )
    root = Path(raw_root) if raw_root is not None else folder.parent.parent
    named = [s.file for s in streams.values()] + [s.events_file for s in streams.values() if s.events_file]
    named += [f for f in (manifest.calibration, manifest.annotations) if f]
    named += [
        s.options["marker_set"]
        for s in streams.values()
        if isinstance(s.options.get("marker_set"), str) and s.options["marker_set"] != "identity"
    ]
    for relative in named:
        target = resolve_inside(root, relative, base=folder, recording=recording)
        if not target.is_file():
            raise MissingInputError(
                f"file {relative!r} named in the manifest is missing", path=target, recording=recording
            )
    return manifest


def write_manifest(recording_folder: Path | str, manifest: Manifest) -> Path:
    """Write the manifest atomically (temp file + rename); call it after every other file."""
    folder = Path(recording_folder)
    path = folder / MANIFEST_FILE
    tmp = folder / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
