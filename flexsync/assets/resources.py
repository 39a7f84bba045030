"""The one resource every asset uses: where the data is, and every processing setting.

The settings fields are not written here: they are generated from ``PipelineSettings`` (same
names, defaults and docs), so the launchpad, the CLI and the docs show one definition.
"""

from __future__ import annotations

import copy
import typing
from dataclasses import fields

import dagster as dg
from pydantic import Field, create_model

from flexsync import config
from flexsync.config import PipelineSettings
from flexsync.ingest.recording import RawRecording
from flexsync.storage.store import Store

__all__ = ["FlexsyncResource"]


class _FlexsyncResourceBase(dg.ConfigurableResource):
    """Raw root, store root and the processing settings (recorded in provenance)."""

    raw_root: str
    store_root: str
    # Streams of one recording ingested at once (0: one per core). Execution only: not provenance.
    stream_workers: int = 0

    @classmethod
    def from_environment(cls) -> FlexsyncResource:
        """The roots of FLEXSYNC_RAW_ROOT and FLEXSYNC_STORE_ROOT, with the settings of FLEXSYNC_SETTINGS."""
        settings = config.environment_settings()
        return cls(raw_root=str(config.raw_root()), store_root=str(config.store_root()), **settings)

    def settings(self) -> PipelineSettings:
        return PipelineSettings.from_values({f.name: getattr(self, f.name) for f in fields(PipelineSettings)})

    def store(self) -> Store:
        return Store(self.store_root)

    def recording(self, key: str) -> RawRecording:
        return RawRecording.open(self.raw_root, key)


def _config_type(annotation: typing.Any) -> typing.Any:
    """Dagster config has lists, not tuples: ``tuple[int, int]`` is offered as ``list[int]``."""
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]
    return annotation


def _settings_fields() -> dict[str, typing.Any]:
    hints = typing.get_type_hints(PipelineSettings)
    defaults = PipelineSettings()
    out = {}
    for f in fields(PipelineSettings):
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            default = list(default)
        factory = (lambda value=default: copy.deepcopy(value)) if isinstance(default, (list, dict)) else None
        spec = (
            Field(default_factory=factory, description=f.metadata["doc"])
            if factory
            else Field(default, description=f.metadata["doc"])
        )
        out[f.name] = (_config_type(hints[f.name]), spec)
    return out


FlexsyncResource = create_model(
    "FlexsyncResource", __base__=_FlexsyncResourceBase, __module__=__name__, **_settings_fields()
)
FlexsyncResource.__doc__ = _FlexsyncResourceBase.__doc__
