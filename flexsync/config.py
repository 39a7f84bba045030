"""Where the data lives and the knobs of the pipeline, resolved once.

Locations come from explicit arguments first, then the environment
(``FLEXSYNC_RAW_ROOT``, ``FLEXSYNC_TRUTH_ROOT``, ``FLEXSYNC_STORE_ROOT``), then the demo
defaults under the working folder (``data/raw``, ``data/truth``, ``data/store``). The raw and
store roots may be object-store URLs (``s3://bucket/prefix``; docs/object-stores.md), read and
written through local working copies under ``FLEXSYNC_CACHE``.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ENV",
    "CACHE_MAX_ENV",
    "DEFAULT_RAW_ROOT",
    "DEFAULT_STORE_ROOT",
    "DEFAULT_TRUTH_ROOT",
    "SETTINGS_ENV",
    "PipelineSettings",
    "SettingDoc",
    "cache_max_bytes",
    "cache_root",
    "environment_settings",
    "raw_root",
    "settings_table",
    "store_root",
    "truth_root",
]

DEFAULT_RAW_ROOT = Path("data/raw")
DEFAULT_TRUTH_ROOT = Path("data/truth")
DEFAULT_STORE_ROOT = Path("data/store")


def _resolve(explicit: str | Path | None, env: str, default: Path) -> Path:
    if explicit:
        return Path(explicit)
    value = os.environ.get(env)
    return Path(value) if value else default


def _resolve_location(explicit: str | Path | None, env: str, default: Path) -> Path | str:
    """As ``_resolve``, but an object-store URL (``s3://bucket/prefix``) stays a string."""
    from flexsync.storage.urls import is_url

    value = explicit or os.environ.get(env)
    if isinstance(value, str) and is_url(value):
        return value
    return _resolve(explicit, env, default)


def raw_root(explicit: str | Path | None = None) -> Path:
    """The raw dataset root (what recorders write, what the pipeline reads).

    An object-store URL resolves to its local scratch cache (flexsync.raw.remote_raw), which the
    readers of raw files use like any raw root.
    """
    root = _resolve_location(explicit, "FLEXSYNC_RAW_ROOT", DEFAULT_RAW_ROOT)
    if isinstance(root, str):
        from flexsync.raw.remote_raw import raw_cache

        return raw_cache(root, cache=cache_root(), max_bytes=cache_max_bytes())
    return root


def truth_root(explicit: str | Path | None = None) -> Path:
    """The generator's ground-truth folder (never read by the pipeline)."""
    return _resolve(explicit, "FLEXSYNC_TRUTH_ROOT", DEFAULT_TRUTH_ROOT)


def store_root(explicit: str | Path | None = None) -> Path | str:
    """The output store root (Zarr recordings, Parquet tables, reports): a folder, or an object-store URL."""
    return _resolve_location(explicit, "FLEXSYNC_STORE_ROOT", DEFAULT_STORE_ROOT)


CACHE_ENV = "FLEXSYNC_CACHE"
CACHE_MAX_ENV = "FLEXSYNC_CACHE_MAX_GB"
DEFAULT_CACHE_MAX_GB = 50.0


def cache_root() -> Path:
    """Where local working copies of object-store roots live: ``FLEXSYNC_CACHE``, else the temp dir."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else Path(tempfile.gettempdir()) / "flexsync-cache"


def cache_max_bytes() -> int:
    """The bound of one working copy, bytes (``FLEXSYNC_CACHE_MAX_GB``, default 50)."""
    value = os.environ.get(CACHE_MAX_ENV, "").strip()
    try:
        gb = float(value) if value else DEFAULT_CACHE_MAX_GB
    except ValueError:
        raise ValueError(f"{CACHE_MAX_ENV} must be a number of GB, got {value!r}") from None
    return int(gb * 1e9)


SETTINGS_ENV = "FLEXSYNC_SETTINGS"


def environment_settings() -> dict[str, Any]:
    """The settings named in ``FLEXSYNC_SETTINGS`` (a JSON object): a deployment's defaults.

    They apply wherever no explicit value is given (the Dagster code location, the daemon's runs,
    ``flexsync run``); ``--set`` and run config still override them.

    Raises
    ------
    ValueError
        If the variable is not a JSON object of known settings with valid values.
    """
    text = os.environ.get(SETTINGS_ENV, "").strip()
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        example = '{"frame_codec": "zstd"}'
        raise ValueError(f"{SETTINGS_ENV} must be a JSON object of settings, e.g. '{example}': {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{SETTINGS_ENV} must be a JSON object of settings, got {type(values).__name__}")
    PipelineSettings.from_values(values)  # a wrong name or value fails here, naming the variable's content
    return values


DEFAULT_MAX_RESIDUAL_S = {"video": 0.004, "mocap": 0.001, "emg": 0.001, "physio": 0.05}
DEFAULT_MAX_PULSE_RMS_S = {"emg": 0.0002, "mocap": 0.0002, "physio": 0.002, "video": 0.002}


def _setting(default: Any, doc: str) -> Any:
    """A settings field with its documentation (mutable defaults are copied per instance)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class SettingDoc:
    """One setting as the docs, the CLI and the Dagster resource show it."""

    name: str
    type: str
    default: Any
    doc: str


FRAME_CODECS = ("h264", "zstd", "none")


@dataclass(frozen=True)
class PipelineSettings:
    """Processing parameters: the one definition of every setting, its default and its doc.

    The Dagster resource exposes each field under the same name, ``flexsync run --set NAME=VALUE``
    overrides them, and docs/pipeline.md lists them (a test keeps that table in step with this
    class). They are recorded in every output's provenance. Thresholds carry their unit in the name.
    """

    frame_width: int = _setting(455, "Width of the stored video frames, px.")
    frame_height: int = _setting(256, "Height of the stored video frames, px.")
    frame_chunk: int = _setting(16, "Frames per stored chunk.")
    frame_codec: str = _setting(
        "h264",
        'Stored frames: "h264" (each chunk one H.264 GOP, docs/frame-storage.md), "zstd" (lossless) or "none".',
    )
    frame_crf: int = _setting(16, "x264 constant rate factor of h264 frames (lower: better and bigger).")
    frame_preset: str = _setting(
        "veryfast", 'x264 preset of h264 frames ("ultrafast": about 35% less encoding CPU, 2.4x the bytes).'
    )
    frame_zstd_level: int = _setting(
        1, "zstd level of stored frames (1 writes about 25% faster than 3 at a similar ratio)."
    )
    luma_grid: tuple[int, int] = _setting(
        (27, 48), "Rows and columns of the per-frame luma grid the flash detector reads."
    )
    grid_rate_hz: float = _setting(60.0, "Rate of the common reference-clock grid, Hz.")
    emg_envelope_rate_hz: float = _setting(100.0, "Rate of the EMG linear envelope, Hz.")
    emg_band_hz: tuple[float, float] = _setting((20.0, 450.0), "EMG band-pass edges, Hz.")
    sync_pulse_s: float = _setting(0.1, "Duration of the sync flash / pulse, s.")
    max_residual_s: dict[str, float] = _setting(
        DEFAULT_MAX_RESIDUAL_S,
        "Largest accepted clock-fit quality per stream kind, s (clock_residuals check); kinds left out keep "
        "their default.",
    )
    device_latency_s: dict[str, float] = _setting(
        {},
        "Known fixed delays by stream name or kind, s: a stream stamped this long after its own sync events "
        "(a wireless EMG, say) maps its data to model(t - latency).",
    )
    pose_max_gap_s: float = _setting(0.1, "Longest occlusion gap interpolated on the grid, s.")
    max_fallback_residual_s: float = _setting(
        0.02, "Largest accepted quality of a motion cross-correlation clock fit (a video that missed a flash), s."
    )
    min_fallback_confidence: float = _setting(0.25, "Smallest accepted confidence of a motion cross-correlation fit.")
    fallback_agreement_s: float = _setting(
        0.05, "One sync event plus motion: the event's offset is kept when the two agree this well, s."
    )
    max_pulse_rms_s: dict[str, float] = _setting(
        DEFAULT_MAX_PULSE_RMS_S,
        "Largest accepted RMS of the fitted pulses' residuals per stream kind, s, for streams placed by a sync "
        "pulse train (clock_pulse_fit check); kinds left out keep their default.",
    )
    min_pulse_match_fraction: float = _setting(
        0.5, "Smallest share of a stream's detected sync-train pulses that must be matched and fitted."
    )

    def __post_init__(self) -> None:
        if self.frame_codec not in FRAME_CODECS:
            raise ValueError(f"frame_codec must be one of {', '.join(FRAME_CODECS)}, got {self.frame_codec!r}")

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name; mapping settings in key order, so the same settings give the same
        provenance bytes whatever order they arrived in (run config is stored with sorted keys)."""
        return {
            name: dict(sorted(value.items())) if isinstance(value, dict) else value
            for name, value in asdict(self).items()
        }

    def residual_limit_s(self, kind: str) -> float:
        return float(self.max_residual_s.get(kind, DEFAULT_MAX_RESIDUAL_S.get(kind, 0.004)))

    def pulse_rms_limit_s(self, kind: str) -> float:
        return float(self.max_pulse_rms_s.get(kind, DEFAULT_MAX_PULSE_RMS_S.get(kind, 0.002)))

    @classmethod
    def documented(cls) -> list[SettingDoc]:
        """Every setting with its type, default and doc, in definition order."""
        defaults = cls()
        return [
            SettingDoc(f.name, _type_name(f.type), getattr(defaults, f.name), f.metadata["doc"]) for f in fields(cls)
        ]

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> PipelineSettings:
        """Settings from plain values (config, JSON): lists become the tuples the fields hold.

        Raises
        ------
        ValueError
            If a name is not a setting (the message lists the settings).
        """
        names = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; settings are {', '.join(names)}")
        converted = {
            name: tuple(value) if _type_name(names[name].type).startswith("tuple") else value
            for name, value in values.items()
        }
        return cls(**converted)

    @classmethod
    def parse_override(cls, text: str) -> tuple[str, Any]:
        """``NAME=VALUE`` (VALUE as JSON, or a plain string) -> (name, value), for ``--set``."""
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or name not in {f.name for f in fields(cls)}:
            raise ValueError(
                f"--set {text!r}: expected NAME=VALUE with NAME one of {', '.join(f.name for f in fields(cls))}"
            )
        try:
            return name, json.loads(raw)
        except json.JSONDecodeError:
            return name, raw


def settings_table() -> str:
    """The settings as a Markdown table (defaults as JSON, as ``--set`` takes them), for docs/pipeline.md."""
    lines = ["| setting | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{d.name}` | {d.type} | `{json.dumps(d.default)}` | {d.doc} |" for d in PipelineSettings.documented()]
    return "\n".join(lines) + "\n"


def _type_name(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
