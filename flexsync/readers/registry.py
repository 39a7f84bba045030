"""Find the reader for a file and run it: one entry point for every supported format.

A manifest names each stream's file and format (``"mp4"``, ``"c3d"``, ``"bdf"``...). The
registry maps format names and file extensions to reader functions, so the rest of the
pipeline calls ``read_file`` and never an if/elif chain of formats. Built-in readers are
imported lazily (importing mne or PyAV costs seconds; ``flexsync inspect x.csv`` should not).

Every reader has the signature ``reader(path: Path, options: Mapping[str, Any]) -> FileContents``.
Options come from the manifest's per-stream ``options`` plus configuration; each reader
documents the keys it reads and ignores the others (manifest options such as ``exposure_s``
are meant for later stages, not for the reader).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexsync.errors import InputFileError, MissingInputError
from flexsync.readers.stream import FileContents

__all__ = [
    "ON_TRUNCATED",
    "ReaderFunction",
    "ReaderSpec",
    "check_readable",
    "get_option",
    "on_truncated_option",
    "read_file",
    "register_reader",
    "resolve_format",
    "stream_name",
    "supported_formats",
    "truncation",
]

logger = logging.getLogger(__name__)

ReaderFunction = Callable[[Path, Mapping[str, Any]], FileContents]

# Relative difference allowed between a manifest's nominal rate and the rate the file declares.
DEFAULT_RATE_TOLERANCE = 0.02

# What a reader does with a file shorter than its header says (the reader option ``on_truncated``).
ON_TRUNCATED = ("raise", "warn")
# What to do about a truncated file, in every reader's message. Readers do not suggest
# ``on_truncated='warn'``: not every command that reads a file offers it.
TRUNCATION_FIX = "copy the file again from the recorder"


@dataclass(frozen=True)
class ReaderSpec:
    """One registered format: its name, the extensions it claims and where its reader lives.

    ``target`` is either the reader itself or ``"module:function"`` imported on first use.
    ``inspect_options`` are the options ``flexsync inspect`` passes (e.g. every video stream).
    """

    name: str
    extensions: tuple[str, ...]
    target: ReaderFunction | str
    description: str
    inspect_options: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> ReaderFunction:
        """The reader function (imports its module the first time)."""
        if callable(self.target):
            return self.target
        module_name, _, function_name = self.target.partition(":")
        return getattr(importlib.import_module(module_name), function_name)


_REGISTRY: dict[str, ReaderSpec] = {}
_BY_EXTENSION: dict[str, str] = {}


def _add(spec: ReaderSpec) -> None:
    name = spec.name.lower()
    if name in _REGISTRY and _REGISTRY[name].target != spec.target:
        raise ValueError(f"reader for format {name!r} is already registered ({_REGISTRY[name].target})")
    _REGISTRY[name] = spec
    for ext in spec.extensions:
        ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
        _BY_EXTENSION.setdefault(ext, name)


def register_reader(
    name: str,
    *,
    extensions: tuple[str, ...] = (),
    description: str = "",
    inspect_options: Mapping[str, Any] | None = None,
) -> Callable[[ReaderFunction], ReaderFunction]:
    """Decorator that registers ``reader(path, options) -> FileContents`` for format ``name``.

    Extensions already claimed by another format keep their first owner; the new format is
    still reachable by name (``read_file(path, format=name)``).
    """

    def decorate(function: ReaderFunction) -> ReaderFunction:
        _add(ReaderSpec(name, tuple(extensions), function, description, dict(inspect_options or {})))
        return function

    return decorate


_VIDEO_CONTAINERS = ("mp4", "mov", "m4v", "mkv", "avi", "webm", "mpg", "mpeg", "ts", "mts", "flv", "3gp", "ogv")

_BUILTIN = [
    ReaderSpec("c3d", (".c3d",), "flexsync.readers.c3d:read_c3d", "C3D motion capture: markers and analog channels"),
    ReaderSpec("trc", (".trc",), "flexsync.readers.trc:read_trc", "OpenSim TRC marker trajectories"),
    ReaderSpec(
        "mocap_csv",
        (),  # .csv belongs to the signals reader: name this format in the manifest
        "flexsync.readers.mocap_csv:read_mocap_csv",
        "Mocap marker CSV export: time or frame column, <marker>_x/_y/_z columns",
    ),
    ReaderSpec("edf", (".edf",), "flexsync.readers.edf:read_edf", "European Data Format (EDF/EDF+), 16 bit"),
    ReaderSpec("bdf", (".bdf",), "flexsync.readers.edf:read_edf", "BioSemi Data Format (BDF/BDF+), 24 bit"),
    ReaderSpec("xdf", (".xdf", ".xdfz"), "flexsync.readers.xdf:read_xdf", "Lab Streaming Layer recording (XDF)"),
    ReaderSpec(
        "csv",
        (".csv", ".tsv", ".txt"),
        "flexsync.readers.csv_signals:read_csv_signals",
        "CSV signals or events with time columns (physio, Delsys/Noraxon exports)",
    ),
    *(
        ReaderSpec(
            name,
            ("." + name,),
            "flexsync.readers.video:read_video",
            f"video in a {name} container (any codec FFmpeg decodes)",
            {"stream_index": "all"},
        )
        for name in _VIDEO_CONTAINERS
    ),
    ReaderSpec(
        "video", (), "flexsync.readers.video:read_video", "video in any container FFmpeg opens", {"stream_index": "all"}
    ),
]
for _spec in _BUILTIN:
    _add(_spec)


def supported_formats() -> dict[str, tuple[str, ...]]:
    """Registered format names and the extensions each one claims, sorted by name."""
    return {name: _REGISTRY[name].extensions for name in sorted(_REGISTRY)}


def _supported_text() -> str:
    return ", ".join(sorted(_BY_EXTENSION))


def resolve_format(path: Path | str, format: str | None = None) -> ReaderSpec:
    """The reader spec for ``path``: from ``format`` (a name or an extension) or the file's suffix.

    Raises
    ------
    InputFileError
        The format or extension is not registered; the message lists the supported ones.
    """
    path = Path(path)
    if format is not None:
        key = format.lower().strip()
        if key in _REGISTRY:
            return _REGISTRY[key]
        ext = key if key.startswith(".") else "." + key
        if ext in _BY_EXTENSION:
            return _REGISTRY[_BY_EXTENSION[ext]]
        raise InputFileError(
            f"unknown format {format!r}; supported formats are {', '.join(sorted(_REGISTRY))}", path=path
        )
    suffix = path.suffix.lower()
    if suffix in _BY_EXTENSION:
        return _REGISTRY[_BY_EXTENSION[suffix]]
    hint = "the file has no extension" if not suffix else f"unknown extension {suffix!r}"
    raise InputFileError(
        f"{hint}; supported extensions are {_supported_text()} (or pass format=NAME, one of "
        f"{', '.join(sorted(_REGISTRY))})",
        path=path,
    )


def check_readable(path: Path | str) -> Path:
    """``path`` as a Path if it is a non-empty regular file, else a MissingInputError/InputFileError."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError("file does not exist", path=path)
    if not path.is_file():
        raise InputFileError("not a regular file", path=path)
    if path.stat().st_size == 0:
        raise InputFileError("file is empty (0 bytes)", path=path)
    return path


def get_option(options: Mapping[str, Any], key: str, default: Any, types: type | tuple[type, ...], path: Path) -> Any:
    """``options[key]`` checked against ``types`` (a bad value names the file, key and expected type)."""
    value = options.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        expected = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise ValueError(f"{path}: reader option {key!r} must be {expected}, got {value!r}")
    return value


def on_truncated_option(options: Mapping[str, Any], path: Path) -> str:
    """The reader option ``on_truncated`` (``"raise"``, the default, or ``"warn"``), checked."""
    value = get_option(options, "on_truncated", "raise", str, path)
    if value not in ON_TRUNCATED:
        raise ValueError(
            f"{path}: reader option 'on_truncated' must be one of {', '.join(map(repr, ON_TRUNCATED))}, got {value!r}"
        )
    return value


def truncation(problem: str, on_truncated: str, path: Path, *, stream: str | None = None) -> list[str]:
    """Apply the ``on_truncated`` policy to ``problem`` (which says declared vs actual).

    ``"raise"``: InputFileError naming the file, the problem and what to do. ``"warn"``: the problem
    as a one-item list of warnings for the caller's stream or file (it is not logged as a warning
    too: the output carries it, once).
    """
    if on_truncated == "raise":
        raise InputFileError(f"{problem}; {TRUNCATION_FIX}", path=path, stream=stream)
    logger.debug("%s: kept despite: %s", path, problem)
    return [problem]


def stream_name(options: Mapping[str, Any], path: Path) -> str:
    """The base stream name: ``options['name']`` (the manifest's stream key) or the file stem."""
    name = get_option(options, "name", None, str, path)
    return name if name else path.stem


def read_file(path: Path | str, *, format: str | None = None, options: Mapping[str, Any] | None = None) -> FileContents:
    """Read any supported file into a FileContents.

    Parameters
    ----------
    path
        The file.
    format
        Format name from the manifest (``"mp4"``, ``"c3d"``, ``"bdf"``...) or an extension; by
        default the file's extension decides.
    options
        Reader options (see each reader; unknown keys are ignored). ``nominal_rate_hz``, if
        given, is compared with the rate the file declares for its first stream, within
        ``rate_tolerance`` (relative, default 0.02).

    Raises
    ------
    MissingInputError
        The file does not exist.
    InputFileError
        Empty, unknown format, malformed or truncated file, or a rate that contradicts the manifest.
    """
    path = check_readable(path)
    spec = resolve_format(path, format)
    options = dict(options or {})
    logger.debug("reading %s as %s", path, spec.name)
    contents = spec.load()(path, options)
    _check_nominal_rate(contents, options, path)
    return contents


def _check_nominal_rate(contents: FileContents, options: Mapping[str, Any], path: Path) -> None:
    expected = get_option(options, "nominal_rate_hz", None, (int, float), path)
    if expected is None:
        return
    tolerance = get_option(options, "rate_tolerance", DEFAULT_RATE_TOLERANCE, (int, float), path)
    streams = [*contents.signals.values(), *contents.videos.values()]
    if not streams:
        return
    first = streams[0]
    declared = float(first.nominal_rate_hz)
    if abs(declared - expected) > tolerance * abs(expected):
        raise InputFileError(
            f"rate mismatch: the file declares {declared:g} Hz for its first stream, the manifest says "
            f"{float(expected):g} Hz (relative tolerance {tolerance:g})",
            path=path,
            stream=first.name,
        )
