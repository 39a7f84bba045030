"""The ``flexsync`` help text, the shared options and how a failing command reports.

Help is read in-process through typer's CliRunner at 80 columns, and once per launcher in a
subprocess (console script, ``python -m flexsync``, ``python -m flexsync.cli``). Location options
must show their env var and default as plain text, ``--json`` must be documented as a path with
``-`` for stdout, and no help may carry RST markup or a truncated one-line summary.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.readers.inspect import format_inspection, inspect_file

BIN = Path(sys.executable).parent
COMMANDS = ["synth", "demo", "run", "backfill", "inspect", "view", "bench"]
BENCH_COMMANDS = ["ingest", "sync", "loader", "faults", "store", "scale"]
ALL_COMMANDS = [[c] for c in COMMANDS] + [["bench", b] for b in BENCH_COMMANDS]
HELP_PAGES = [[], *ALL_COMMANDS]  # [] is `flexsync --help`
LOCATIONS = {
    "--raw": "[env FLEXSYNC_RAW_ROOT, default data/raw]",
    "--truth": "[env FLEXSYNC_TRUTH_ROOT, default data/truth]",
    "--store": "[env FLEXSYNC_STORE_ROOT, default data/store]",
}
# Which commands read raw data, the generator's truth or the store.
EXPECTED_LOCATIONS = {
    "synth": {"--raw", "--truth"},
    "demo": {"--raw", "--truth", "--store"},
    "run": {"--raw", "--store"},
    "backfill": {"--raw", "--store"},
    "inspect": set(),
    "view": {"--store"},
    "bench ingest": set(),
    "bench sync": set(),
    "bench loader": {"--store"},
    "bench faults": set(),
    "bench store": set(),
    "bench scale": set(),
}
JSON_HELP = "--json PATH Write the JSON object to PATH; '-' prints it to stdout instead of the text report"


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _flat(text: str) -> str:
    """The text with every run of whitespace made one space (help wraps at the terminal width)."""
    return " ".join(text.split())


def _command(args: list[str]):
    command = typer.main.get_command(app)
    for name in args:
        command = command.commands[name]
    return command


def _option_names(args: list[str]) -> set[str]:
    return {name for param in _command(args).params for name in param.opts if name.startswith("--")}


def _listed(help_text: str) -> dict[str, str]:
    """Command name -> one-line summary, from the ``Commands:`` section of a group's help."""
    section = help_text.split("Commands:\n", 1)[1]
    return dict(line.strip().split(None, 1) for line in section.splitlines() if line.strip())


def test_top_level_and_bench_help_list_every_command_with_a_whole_summary():
    listed = _listed(_help([]))
    assert list(listed) == COMMANDS
    bench = _listed(_help(["bench"]))
    assert list(bench) == BENCH_COMMANDS
    for summary in [*listed.values(), *bench.values()]:
        assert not summary.endswith("..."), summary  # fits the 80-column command list
    assert "--debug" in _help([]) and "--verbose" in _help([])


def _page_id(args: list[str]) -> str:
    return " ".join(["flexsync", *args])


@pytest.mark.parametrize("args", HELP_PAGES, ids=_page_id)
def test_help_is_plain_text(args):
    text = _help(args)
    assert "``" not in text
    assert "Heavy imports" not in text and "developer" not in text.lower()
    assert text.count("[env") == sum(_flat(text).count(env) for env in LOCATIONS.values())


@pytest.mark.parametrize("command", sorted(EXPECTED_LOCATIONS))
def test_location_options_are_the_shared_ones_and_show_env_and_default(command):
    args = command.split()
    options = _option_names(args)
    assert options & set(LOCATIONS) == EXPECTED_LOCATIONS[command]
    flat = _flat(_help(args))
    for option in EXPECTED_LOCATIONS[command]:
        assert f"{option} DIR " in flat
        assert LOCATIONS[option] in flat, (option, flat)


@pytest.mark.parametrize("args", ALL_COMMANDS, ids=_page_id)
def test_json_is_a_path_with_dash_for_stdout_wherever_it_exists(args):
    if "--json" not in _option_names(args):
        return
    assert JSON_HELP in _flat(_help(args))


def test_every_command_with_json_output_has_the_option():
    with_json = {" ".join(args) for args in ALL_COMMANDS if "--json" in _option_names(args)}
    assert with_json == {
        "inspect",
        "bench ingest",
        "bench sync",
        "bench loader",
        "bench faults",
        "bench store",
        "bench scale",
    }


@pytest.mark.parametrize(
    "launcher",
    [[str(BIN / "flexsync")], [str(BIN / "python"), "-m", "flexsync"], [str(BIN / "python"), "-m", "flexsync.cli"]],
    ids=["console-script", "python-m-flexsync", "python-m-flexsync.cli"],
)
def test_help_from_a_subprocess_lists_every_command(launcher):
    done = subprocess.run([*launcher, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: flexsync ")
    assert list(_listed(done.stdout)) == COMMANDS
    run_help = subprocess.run([*launcher, "run", "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert run_help.returncode == 0, run_help.stderr
    assert LOCATIONS["--store"] in _flat(run_help.stdout)


@pytest.fixture
def physio_csv(tmp_path: Path) -> Path:
    path = tmp_path / "physio.csv"
    rows = [f"{t / 10:.1f},{70 + t % 3},{14 + t % 2}" for t in range(20)]
    path.write_text("time_s,heart_rate_bpm,breathing_rate_bpm\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_inspect_json_dash_prints_only_the_json_object(physio_csv):
    result = CliRunner().invoke(app, ["inspect", str(physio_csv), "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(inspect_file(physio_csv)))


def test_inspect_json_path_writes_the_file_and_prints_the_text(physio_csv, tmp_path):
    out = tmp_path / "out" / "physio.json"
    result = CliRunner().invoke(app, ["inspect", str(physio_csv), "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = inspect_file(physio_csv)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(summary))
    assert result.stdout == format_inspection(summary) + f"\nsummary written to {out}\n"


def test_a_failing_command_prints_two_lines_on_stderr_and_exits_1(tmp_path):
    missing = tmp_path / "missing.c3d"
    launcher = [str(BIN / "python"), "-m", "flexsync"]
    done = subprocess.run([*launcher, "inspect", str(missing)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    first, hint = done.stderr.splitlines()
    assert re.match(rf"flexsync inspect: error: .*{re.escape(str(missing))}", first), first
    assert "--debug" in hint
    debug = subprocess.run([*launcher, "--debug", "inspect", str(missing)], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and str(missing) in debug.stderr
