"""Fault corpus: damaged videos, annotations and calibration; one batch (fault_checks.corpus_tests)."""

from __future__ import annotations

from fault_checks import corpus_tests

from flexsync.bench.faults import cases_of

globals().update(corpus_tests(cases_of("video", "annotations"), "video_annotations"))
