"""The Zarr layout of staged streams and published recordings, written down once as data.

Writers take dtypes and default chunks from here, readers and tests check groups against it.
A dimension in an array spec is one of:

- an int: that exact size (``3`` for xyz);
- a symbol such as ``"N"``: a length shared by every array of the group using the same symbol
  (``frames``, ``t_device`` and ``t`` of a video stream all have N rows);
- ``"@width"``: the integer value of the group attribute ``width``;
- ``"#channel_names"``: the length of the list attribute ``channel_names``.

Arrays marked ``aligned`` are on the reference clock and computed at alignment: published
recordings have them, staging groups (device clock only) must not. Arrays of an ``optional`` set
(a video view's ``keypoints_2d`` and ``keypoints_visible``: calibrated views only) may be absent,
but never one without the others.

::

    recordings/<key>.zarr   attrs: flexsync_layout=1, recording, subject, action, take, reference_stream,
                            status="complete", clock_models {stream: dict},
                            provenance {code_version, inputs {relative file: sha256}, parameters}
      streams/<name>        one group per stream, attrs["kind"] selects its spec (STREAM_SPECS)
      grid                  the common reference-clock grid (GRID_SPEC)
    staging/<key>/<stream>.zarr   the arrays of STREAM_SPECS[kind] that are not aligned
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.storage import LocalStore

from flexsync.skeleton import N_JOINTS

__all__ = [
    "GRID_SPEC",
    "LAYOUT_VERSION",
    "ROOT_ATTRS",
    "STATUS_COMPLETE",
    "STREAM_SPECS",
    "ArraySpec",
    "AttrSpec",
    "GroupSpec",
    "check_recording_group",
    "check_staging_group",
    "default_chunks",
    "group_spec",
]

LAYOUT_VERSION = 1
STATUS_COMPLETE = "complete"
STREAMS_GROUP = "streams"
GRID_GROUP = "grid"

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ArraySpec:
    """One array of a group: dtype, dimensions (see module docstring), units, default chunking."""

    name: str
    dtype: str
    dims: tuple[int | str, ...]
    description: str
    units: str | None = None
    aligned: bool = False
    chunk_rows: int | None = None  # default chunk length along axis 0; None: the whole array
    needs_kind: str | None = None  # grid arrays exist only when the recording has a stream of this kind
    increasing: bool = False  # values finite and strictly increasing (reference-clock times)
    # Arrays of one optional set ("keypoints": only calibrated views have them) are all present or all absent.
    optional: str | None = None

    def describe(self) -> str:
        dims = ", ".join(str(d) for d in self.dims) + ("," if len(self.dims) == 1 else "")
        units = f" [{self.units}]" if self.units else ""
        return f"{self.dtype} ({dims}){units}: {self.description}"


@dataclass(frozen=True)
class AttrSpec:
    """A required attribute: its JSON type and, optionally, its one allowed value or a value test."""

    name: str
    kind: str  # "str", "int", "number", "list[str]", "list[number]", "dict"
    description: str
    value: Any = None
    test: Callable[[Any], str | None] | None = None  # returns a problem or None


@dataclass(frozen=True)
class GroupSpec:
    """Attributes and arrays of one kind of group."""

    name: str
    attrs: tuple[AttrSpec, ...]
    arrays: tuple[ArraySpec, ...]

    def array(self, name: str) -> ArraySpec:
        for spec in self.arrays:
            if spec.name == name:
                return spec
        raise KeyError(f"group spec {self.name!r} has no array {name!r}; arrays: {[a.name for a in self.arrays]}")


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value!r}"


def _band(value: Any) -> str | None:
    if len(value) != 2 or not 0 <= value[0] < value[1]:
        return f"must be [low_hz, high_hz] with 0 <= low < high, got {value!r}"
    return None


_T_DEVICE = "device-clock seconds as recorded (never index / rate)"
_T_REF = "reference-clock seconds"

_VIDEO = GroupSpec(
    "video",
    attrs=(
        AttrSpec("kind", "str", "stream kind", value="video"),
        AttrSpec("nominal_rate_hz", "number", "nominal frame rate", test=_positive),
        AttrSpec("exposure_s", "number", "exposure time of one frame", test=_non_negative),
        AttrSpec("codec", "str", "codec of the source file"),
        AttrSpec("source_width", "int", "width of the source video", test=_positive),
        AttrSpec("source_height", "int", "height of the source video", test=_positive),
        AttrSpec("width", "int", "width of the stored frames", test=_positive),
        AttrSpec("height", "int", "height of the stored frames", test=_positive),
        AttrSpec("n_dropped", "int", "frames missing from the source (PTS gaps)", test=_non_negative),
    ),
    arrays=(
        ArraySpec("frames", "uint8", ("N", "@height", "@width", 3), "decoded RGB frames", chunk_rows=16),
        ArraySpec("t_device", "float64", ("N",), "container PTS (" + _T_DEVICE + ")", units="s"),
        ArraySpec("t", "float64", ("N",), _T_REF, units="s", aligned=True, increasing=True),
        ArraySpec(
            "luma_grid", "float32", ("N", "GH", "GW"), "mean luma per grid cell (flash features)", chunk_rows=4096
        ),
        ArraySpec(
            "keypoints_2d",
            "float32",
            ("N", N_JOINTS, 2),
            "mocap joints at t projected into the stored frames (u right, v down, pixel centres at integers), "
            "NaN where not projectable",
            units="px",
            aligned=True,
            chunk_rows=4096,
            optional="keypoints",
        ),
        ArraySpec(
            "keypoints_visible",
            "bool",
            ("N", N_JOINTS),
            "mocap valid at t, in front of the camera and inside the stored image",
            aligned=True,
            chunk_rows=4096,
            optional="keypoints",
        ),
    ),
)

_MOCAP = GroupSpec(
    "mocap",
    attrs=(
        AttrSpec("kind", "str", "stream kind", value="mocap"),
        AttrSpec("units", "str", "units of joint positions", value="m"),
        AttrSpec("joint_names", "list[str]", "joint order of axis 1 (flexsync.skeleton.JOINT_NAMES)"),
        AttrSpec("nominal_rate_hz", "number", "nominal frame rate", test=_positive),
    ),
    arrays=(
        ArraySpec(
            "joints", "float32", ("N", "#joint_names", 3), "joint positions, lab frame", units="m", chunk_rows=6000
        ),
        ArraySpec("valid", "bool", ("N", "#joint_names"), "True where the joint was measured", chunk_rows=6000),
        ArraySpec("t_device", "float64", ("N",), "mocap frame clock (" + _T_DEVICE + ")", units="s", chunk_rows=6000),
        ArraySpec("t", "float64", ("N",), _T_REF, units="s", aligned=True, chunk_rows=6000, increasing=True),
        ArraySpec("sync", "float32", ("M",), "analog sync channel", units="V", chunk_rows=20000),
        ArraySpec("sync_t_device", "float64", ("M",), "analog clock (" + _T_DEVICE + ")", units="s", chunk_rows=20000),
        ArraySpec("sync_t", "float64", ("M",), _T_REF, units="s", aligned=True, chunk_rows=20000, increasing=True),
    ),
)

_EMG = GroupSpec(
    "emg",
    attrs=(
        AttrSpec("kind", "str", "stream kind", value="emg"),
        AttrSpec("units", "str", "units of raw and clean", value="uV"),
        AttrSpec("channel_names", "list[str]", "channel order of axis 1"),
        AttrSpec("nominal_rate_hz", "number", "sample rate", test=_positive),
        AttrSpec("mains_hz", "number", "power-line frequency removed from clean", test=_positive),
        AttrSpec("band_hz", "list[number]", "band-pass of clean [low_hz, high_hz]", test=_band),
        AttrSpec("envelope_rate_hz", "number", "sample rate of envelope", test=_positive),
    ),
    arrays=(
        ArraySpec("raw", "float32", ("N", "#channel_names"), "signal as recorded", units="uV", chunk_rows=20000),
        ArraySpec(
            "clean", "float32", ("N", "#channel_names"), "notch + band-pass filtered", units="uV", chunk_rows=20000
        ),
        ArraySpec("trigger", "float32", ("N",), "sync trigger channel", units="V", chunk_rows=20000),
        ArraySpec("t_device", "float64", ("N",), "sample clock (" + _T_DEVICE + ")", units="s", chunk_rows=20000),
        ArraySpec("t", "float64", ("N",), _T_REF, units="s", aligned=True, chunk_rows=20000, increasing=True),
        ArraySpec("envelope", "float32", ("M", "#channel_names"), "linear envelope", units="uV", chunk_rows=20000),
        ArraySpec(
            "envelope_t_device", "float64", ("M",), "envelope times on the device clock", units="s", chunk_rows=20000
        ),
        ArraySpec("envelope_t", "float64", ("M",), _T_REF, units="s", aligned=True, chunk_rows=20000, increasing=True),
    ),
)

_PHYSIO = GroupSpec(
    "physio",
    attrs=(
        AttrSpec("kind", "str", "stream kind", value="physio"),
        AttrSpec("channel_names", "list[str]", "channel order of axis 1, e.g. heart_rate_bpm, breathing_rate_bpm"),
        AttrSpec("units", "list[str]", "unit of each channel, e.g. bpm"),
    ),
    arrays=(
        ArraySpec("values", "float32", ("N", "#channel_names"), "physiological rates", units="1/min"),
        ArraySpec("t_device", "float64", ("N",), "device clock (" + _T_DEVICE + ")", units="s"),
        ArraySpec("t", "float64", ("N",), _T_REF, units="s", aligned=True, increasing=True),
    ),
)

STREAM_SPECS: dict[str, GroupSpec] = {spec.name: spec for spec in (_VIDEO, _MOCAP, _EMG, _PHYSIO)}

GRID_SPEC = GroupSpec(
    "grid",
    attrs=(
        AttrSpec("rate_hz", "number", "grid rate", test=_positive),
        AttrSpec("views", "list[str]", "video streams of axis 1 of video_frame_index"),
    ),
    arrays=(
        ArraySpec("t", "float64", ("G",), "common grid, " + _T_REF, units="s", aligned=True, increasing=True),
        ArraySpec("video_frame_index", "int32", ("G", "#views"), "nearest frame per view, -1 where none", aligned=True),
        ArraySpec(
            "pose", "float32", ("G", N_JOINTS, 3), "interpolated joints", units="m", aligned=True, needs_kind="mocap"
        ),
        ArraySpec(
            "pose_valid",
            "bool",
            ("G", N_JOINTS),
            "True where pose was interpolated from measured joints",
            aligned=True,
            needs_kind="mocap",
        ),
        ArraySpec(
            "emg_envelope",
            "float32",
            ("G", "E"),
            "EMG envelope resampled onto the grid",
            units="uV",
            aligned=True,
            needs_kind="emg",
        ),
        ArraySpec("emg_valid", "bool", ("G",), "True where EMG covers the grid time", aligned=True, needs_kind="emg"),
        ArraySpec(
            "physio",
            "float32",
            ("G", "P"),
            "physiological rates on the grid",
            units="1/min",
            aligned=True,
            needs_kind="physio",
        ),
        ArraySpec(
            "physio_valid", "bool", ("G",), "True where physio covers the grid time", aligned=True, needs_kind="physio"
        ),
    ),
)


def _provenance(value: Any) -> str | None:
    problems = []
    if not isinstance(value.get("code_version"), str):
        problems.append("code_version must be a string")
    inputs = value.get("inputs")
    if not isinstance(inputs, dict):
        problems.append("inputs must be an object {relative file: sha256}")
    else:
        bad = sorted(k for k, v in inputs.items() if not (isinstance(v, str) and _SHA256_RE.match(v)))
        if bad:
            problems.append(f"inputs has no valid sha256 for {', '.join(bad)}")
    if not isinstance(value.get("parameters"), dict):
        problems.append("parameters must be an object")
    return "; ".join(problems) or None


ROOT_ATTRS: tuple[AttrSpec, ...] = (
    AttrSpec("flexsync_layout", "int", "layout version", value=LAYOUT_VERSION),
    AttrSpec("recording", "str", "recording key", test=lambda v: None if _KEY_RE.match(v) else "is not a valid key"),
    AttrSpec("subject", "str", "subject id"),
    AttrSpec("action", "str", "action id"),
    AttrSpec("take", "int", "take number", test=_positive),
    AttrSpec("reference_stream", "str", "stream whose clock is the reference"),
    AttrSpec("status", "str", "written last; only complete recordings are published", value=STATUS_COMPLETE),
    AttrSpec("clock_models", "dict", "per stream: its clock model (segments, residuals)"),
    AttrSpec("provenance", "dict", "code_version, inputs {file: sha256}, parameters", test=_provenance),
)


def group_spec(kind: str) -> GroupSpec:
    """The spec of a stream kind or ``"grid"``; KeyError listing the kinds otherwise."""
    if kind == GRID_SPEC.name:
        return GRID_SPEC
    try:
        return STREAM_SPECS[kind]
    except KeyError:
        raise KeyError(f"unknown group kind {kind!r}; expected one of {[*STREAM_SPECS, GRID_SPEC.name]}") from None


def default_chunks(kind: str, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Chunk shape of array ``name`` of a ``kind`` group with ``shape``: the spec's rows, whole rows across."""
    spec = group_spec(kind).array(name)
    rows = spec.chunk_rows if spec.chunk_rows is not None else max(1, shape[0])
    return (max(1, rows), *(max(1, s) for s in shape[1:]))


def check_recording_group(path_or_group: Path | str | zarr.Group, *, check_values: bool = True) -> list[str]:
    """Problems that keep a published recording from conforming to the layout; [] if none.

    ``check_values`` also reads the reference-clock time arrays (small) to check they are finite
    and strictly increasing, and that ``grid/video_frame_index`` points at existing frames.
    """
    group, problems = _open(path_or_group)
    if group is None:
        return problems
    attrs = group.attrs.asdict()
    problems += _check_attrs("/", attrs, ROOT_ATTRS)
    streams = _subgroup(group, STREAMS_GROUP)
    kinds: dict[str, str] = {}
    if streams is None:
        problems.append(f"/: missing group {STREAMS_GROUP!r}")
    else:
        members = sorted(name for name, _ in streams.groups())
        if not members:
            problems.append(f"{STREAMS_GROUP}: has no stream groups")
        for name in members:
            where = f"{STREAMS_GROUP}/{name}"
            node = streams[name]
            kind = node.attrs.get("kind")
            if kind not in STREAM_SPECS:
                problems.append(f"{where}: attribute 'kind' is {kind!r}, expected one of {list(STREAM_SPECS)}")
                continue
            kinds[name] = kind
            problems += _check_group(where, node, STREAM_SPECS[kind], staging=False, check_values=check_values)
        ref = attrs.get("reference_stream")
        if isinstance(ref, str) and members and ref not in members:
            problems.append(f"/: reference_stream {ref!r} is not one of the streams {members}")
        models = attrs.get("clock_models")
        if isinstance(models, dict):
            missing = sorted(set(members) - set(models))
            extra = sorted(set(models) - set(members))
            if missing:
                problems.append(f"/: clock_models has no model for stream(s) {', '.join(missing)}")
            if extra:
                problems.append(f"/: clock_models names unknown stream(s) {', '.join(extra)}")
    grid = _subgroup(group, GRID_GROUP)
    if grid is None:
        problems.append(f"/: missing group {GRID_GROUP!r}")
    else:
        present = set(kinds.values())
        problems += _check_group(
            GRID_GROUP, grid, GRID_SPEC, staging=False, check_values=check_values, kinds_present=present
        )
        problems += _check_grid_links(grid, streams, kinds, check_values=check_values)
    return problems


def check_staging_group(path_or_group: Path | str | zarr.Group, kind: str) -> list[str]:
    """Problems that keep a staged stream of ``kind`` from conforming; [] if none.

    Staging holds every array of the stream spec except the aligned ones, which must be absent.
    """
    spec = group_spec(kind)
    group, problems = _open(path_or_group)
    if group is None:
        return problems
    return problems + _check_group("/", group, spec, staging=True, check_values=False)


def _open(path_or_group: Path | str | zarr.Group) -> tuple[zarr.Group | None, list[str]]:
    if isinstance(path_or_group, zarr.Group):
        return path_or_group, []
    path = Path(path_or_group)
    if not (path / "zarr.json").is_file():
        return None, [f"{path}: not a Zarr v3 group (zarr.json missing)"]
    try:
        node = zarr.open(LocalStore(path, read_only=True), mode="r", zarr_format=3)
    except (ValueError, KeyError, OSError) as exc:
        return None, [f"{path}: cannot be opened as Zarr v3: {exc}"]
    if not isinstance(node, zarr.Group):
        return None, [f"{path}: is a Zarr array, expected a group"]
    return node, []


def _subgroup(group: zarr.Group, name: str) -> zarr.Group | None:
    node = group.get(name)
    return node if isinstance(node, zarr.Group) else None


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list[number]": lambda v: (
        isinstance(v, list) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ),
    "dict": lambda v: isinstance(v, dict),
}


def _check_attrs(where: str, attrs: dict[str, Any], specs: tuple[AttrSpec, ...]) -> list[str]:
    problems = []
    for spec in specs:
        if spec.name not in attrs:
            problems.append(f"{where}: missing attribute {spec.name!r} ({spec.kind}: {spec.description})")
            continue
        value = attrs[spec.name]
        if not _KIND_CHECKS[spec.kind](value):
            problems.append(f"{where}: attribute {spec.name!r} is {value!r}, expected {spec.kind}")
        elif spec.value is not None and value != spec.value:
            problems.append(f"{where}: attribute {spec.name!r} is {value!r}, expected {spec.value!r}")
        elif spec.test is not None and (problem := spec.test(value)):
            problems.append(f"{where}: attribute {spec.name!r} {problem}")
    return problems


def _check_group(
    where: str,
    group: zarr.Group,
    spec: GroupSpec,
    *,
    staging: bool,
    check_values: bool,
    kinds_present: set[str] | None = None,
) -> list[str]:
    attrs = group.attrs.asdict()
    problems = _check_attrs(where, attrs, spec.attrs)
    sizes: dict[str, tuple[int, str]] = {}  # symbol -> (length, array that set it)
    optional_present = _optional_sets_present(group, spec)
    for array_spec in spec.arrays:
        path = f"{where.rstrip('/')}/{array_spec.name}" if where != "/" else array_spec.name
        node = group.get(array_spec.name)
        if staging and array_spec.aligned:
            if node is not None:
                problems.append(f"{path}: present in a staging group; staging stays on the device clock")
            continue
        if kinds_present is not None and array_spec.needs_kind and array_spec.needs_kind not in kinds_present:
            continue
        if array_spec.optional and not optional_present[array_spec.optional]:
            continue
        if not isinstance(node, zarr.Array):
            problems.append(f"{where}: missing array {array_spec.name!r} ({array_spec.describe()})")
            continue
        dtype = np.dtype(node.dtype)
        if dtype != np.dtype(array_spec.dtype):
            problems.append(f"{path}: dtype {dtype}, expected {array_spec.dtype}")
        if node.ndim != len(array_spec.dims):
            problems.append(
                f"{path}: {node.ndim} dimensions {node.shape}, expected {len(array_spec.dims)} "
                f"({', '.join(str(d) for d in array_spec.dims)})"
            )
            continue
        problems += _check_dims(path, array_spec, tuple(node.shape), attrs, sizes)
        if check_values and array_spec.increasing and not _problems_in(path, problems):
            problems += _check_increasing(path, node)
    return problems


def _optional_sets_present(group: zarr.Group, spec: GroupSpec) -> dict[str, bool]:
    """Per optional set of ``spec``: whether any of its arrays is in ``group`` (then all of them must be)."""
    present: dict[str, bool] = {}
    for array_spec in spec.arrays:
        if array_spec.optional:
            found = group.get(array_spec.name) is not None
            present[array_spec.optional] = present.get(array_spec.optional, False) or found
    return present


def _problems_in(path: str, problems: list[str]) -> bool:
    return any(p.startswith(f"{path}:") for p in problems)


def _check_dims(
    path: str, spec: ArraySpec, shape: tuple[int, ...], attrs: dict[str, Any], sizes: dict[str, tuple[int, str]]
) -> list[str]:
    problems = []
    for axis, (dim, size) in enumerate(zip(spec.dims, shape, strict=True)):
        if isinstance(dim, int):
            expected, why = dim, ""
        elif dim.startswith("@"):
            value = attrs.get(dim[1:])
            if not isinstance(value, int):
                continue  # the missing or wrong attribute is already reported
            expected, why = value, f" (attribute {dim[1:]})"
        elif dim.startswith("#"):
            value = attrs.get(dim[1:])
            if not isinstance(value, list):
                continue
            expected, why = len(value), f" (length of attribute {dim[1:]})"
        elif dim in sizes:
            expected, source = sizes[dim]
            why = f" ({dim}, as in {source})"
        else:
            sizes[dim] = (size, spec.name)
            continue
        if size != expected:
            problems.append(f"{path}: axis {axis} has length {size}, expected {expected}{why}")
    return problems


def _check_increasing(path: str, node: zarr.Array) -> list[str]:
    values = np.asarray(node[...])
    if values.size == 0:
        return []
    if not np.all(np.isfinite(values)):
        return [f"{path}: {int(np.count_nonzero(~np.isfinite(values)))} non-finite value(s)"]
    steps = np.diff(values)
    if np.any(steps <= 0):
        first = int(np.argmax(steps <= 0))
        before, after = float(values[first]), float(values[first + 1])
        return [f"{path}: not strictly increasing at index {first + 1} ({before!r} then {after!r})"]
    return []


def _check_grid_links(
    grid: zarr.Group, streams: zarr.Group | None, kinds: dict[str, str], *, check_values: bool
) -> list[str]:
    """Cross-group rules: grid views are video streams, envelope widths agree, frame indices exist."""
    problems = []
    views = grid.attrs.get("views")
    if not isinstance(views, list) or streams is None:
        return problems
    videos = sorted(name for name, kind in kinds.items() if kind == "video")
    unknown = [v for v in views if v not in videos]
    if unknown:
        problems.append(f"{GRID_GROUP}: attribute 'views' names {unknown}, which are not video streams {videos}")
    # Every EMG device's envelope channels sit side by side on the grid, in the order of attr sources.
    sources = grid.attrs.get("sources") or {}
    emg_names = sources.get("emg_envelope") or [name for name, kind in kinds.items() if kind == "emg"]
    not_emg = [name for name in emg_names if kinds.get(name) != "emg"]
    if not_emg:
        problems.append(f"{GRID_GROUP}: attribute 'sources' names {not_emg} as EMG streams, which they are not")
    env = grid.get("emg_envelope")
    if emg_names and not not_emg and isinstance(env, zarr.Array) and env.ndim == 2:
        widths = [streams[name].get("envelope") for name in emg_names]
        if all(isinstance(w, zarr.Array) and w.ndim == 2 for w in widths):
            expected = sum(w.shape[1] for w in widths)
            if expected != env.shape[1]:
                problems.append(
                    f"{GRID_GROUP}/emg_envelope: {env.shape[1]} channels, expected {expected} "
                    f"(the envelopes of {', '.join(f'{STREAMS_GROUP}/{n}' for n in emg_names)} side by side)"
                )
    index = grid.get("video_frame_index")
    if (
        check_values
        and not unknown
        and isinstance(index, zarr.Array)
        and index.ndim == 2
        and index.shape[1] == len(views)
    ):
        values = np.asarray(index[...])
        for col, view in enumerate(views):
            frames = streams[view].get("frames")
            if not isinstance(frames, zarr.Array):
                continue
            bad = (values[:, col] < -1) | (values[:, col] >= frames.shape[0])
            if np.any(bad):
                problems.append(
                    f"{GRID_GROUP}/video_frame_index: view {view} has {int(np.count_nonzero(bad))} "
                    f"index(es) outside [-1, {frames.shape[0] - 1}]"
                )
    return problems
