"""The ``flexsync`` command line: generate data, run the pipeline, backfill, inspect, benchmark.

One module per command family; importing one registers its commands on ``app``. Heavy imports
happen inside each command so that ``--help`` stays instant.
"""

import importlib

from flexsync.cli.app import app, bench_app, main

__all__ = ["app", "bench_app", "main"]

COMMAND_MODULES = ("synth", "pipeline", "inspect_file", "view", "bench")  # the order --help lists them in


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}")


_register_commands()
