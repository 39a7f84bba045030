"""Benchmarks run from the command line (`flexsync bench ...`), never as timed tests.

Each prints ratios measured within one run, because the machines are shared and noisy.
"""
