"""Errors a person (or a script) can read: two lines on the terminal, a JSON object with --json."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flexsync.cli import app


def test_inspect_error_is_two_lines_without_traceback(tmp_path):
    bad = tmp_path / "cut.edf"
    bad.write_bytes(b"garbage!")
    result = CliRunner().invoke(app, ["inspect", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("flexsync inspect: error: file ") and "shorter than the 256-byte" in lines[0]
    assert "Traceback" not in result.output


def test_inspect_error_with_json_is_a_json_object(tmp_path):
    bad = tmp_path / "cut.edf"
    bad.write_bytes(b"garbage!")
    result = CliRunner().invoke(app, ["inspect", str(bad), "--json", "-"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["file"] == str(bad)
    assert data["error"]["type"] == "InputFileError"
    assert "8 bytes, shorter than the 256-byte EDF/BDF main header" in data["error"]["message"]
    out = tmp_path / "err.json"
    result = CliRunner().invoke(app, ["inspect", str(tmp_path / "missing.c3d"), "--json", str(out)])
    assert result.exit_code == 1
    assert json.loads(out.read_text())["error"]["type"] in {"MissingInputError", "FileNotFoundError"}
