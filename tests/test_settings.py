"""One settings definition: the resource, the CLI override and the docs table all come from PipelineSettings."""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

import pytest

from flexsync.assets.resources import FlexsyncResource
from flexsync.config import PipelineSettings, settings_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "pipeline.md"


def test_docs_table_is_the_settings_definition():
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- settings-table:start -->\n", "<!-- settings-table:end -->"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table == settings_table()
    assert table.count("\n") == len(fields(PipelineSettings)) + 2


def test_resource_exposes_every_setting_with_its_default_and_doc():
    resource = FlexsyncResource(raw_root="raw", store_root="store")
    assert resource.settings() == PipelineSettings()
    model_fields = FlexsyncResource.model_fields
    for doc in PipelineSettings.documented():
        assert model_fields[doc.name].description == doc.doc
    changed = FlexsyncResource(raw_root="r", store_root="s", luma_grid=[9, 16], max_residual_s={"video": 1e-4})
    settings = changed.settings()
    assert settings.luma_grid == (9, 16)
    assert settings.residual_limit_s("video") == 1e-4
    assert settings.residual_limit_s("mocap") == 0.001  # kinds left out keep their default


def test_overrides_parse_as_json_and_refuse_unknown_names():
    assert PipelineSettings.parse_override("grid_rate_hz=120") == ("grid_rate_hz", 120)
    assert PipelineSettings.parse_override("frame_codec=none") == ("frame_codec", "none")
    assert PipelineSettings.parse_override("emg_band_hz=[10, 400]") == ("emg_band_hz", [10, 400])
    assert PipelineSettings.from_values({"emg_band_hz": [10, 400]}).emg_band_hz == (10, 400)
    with pytest.raises(ValueError, match="expected NAME=VALUE with NAME one of frame_width"):
        PipelineSettings.parse_override("frame_widht=3")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) nope"):
        PipelineSettings.from_values({"nope": 1})


def test_cli_set_reaches_the_resource_and_refuses_unknown_names(tmp_path):
    from typer.testing import CliRunner

    from flexsync.cli import app
    from flexsync.pipelines.runner import make_resource

    assert make_resource("r", "s", {"grid_rate_hz": 30}).settings().grid_rate_hz == 30
    result = CliRunner().invoke(app, ["run", "--raw", str(tmp_path), "--store", str(tmp_path), "--set", "nope=1"])
    assert result.exit_code == 2
    assert "expected NAME=VALUE with NAME one of frame_width" in result.output


def test_flexsync_settings_environment_gives_the_deployment_defaults(monkeypatch, tmp_path):
    from flexsync.config import environment_settings
    from flexsync.pipelines.runner import make_resource

    monkeypatch.setenv("FLEXSYNC_SETTINGS", '{"frame_codec": "none", "frame_crf": 20}')
    assert environment_settings() == {"frame_codec": "none", "frame_crf": 20}
    assert FlexsyncResource.from_environment().settings().frame_codec == "none"
    overridden = make_resource(tmp_path, tmp_path, {"frame_codec": "h264"}).settings()
    assert (overridden.frame_codec, overridden.frame_crf) == ("h264", 20)  # explicit over environment

    monkeypatch.setenv("FLEXSYNC_SETTINGS", '{"frame_codec": "webp"}')
    with pytest.raises(ValueError, match="frame_codec must be one of"):
        environment_settings()
    monkeypatch.setenv("FLEXSYNC_SETTINGS", "frame_codec=zstd")
    with pytest.raises(ValueError, match="FLEXSYNC_SETTINGS must be a JSON object"):
        environment_settings()


def test_the_suite_runs_on_lossless_frames():
    from codec_settings import TEST_SETTINGS

    assert json.loads(os.environ["FLEXSYNC_SETTINGS"]) == TEST_SETTINGS
