"""The ingest benchmark end to end on two tiny recordings: figures that hang together.

Speed is not asserted (that is the benchmark's job, on real sizes); what is: (a) is the faster of
its two ways, the ratios are the printed quotients, the longer recording has more frames, the JSON
and the table hold the same figures, and every stage took measurable time.
"""

from __future__ import annotations

import json

import pytest

from flexsync.bench.ingest import TARGET_RATIO, run_ingest_benchmark


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return run_ingest_benchmark(
        width=96, height=54, short_reps=1, long_reps=2, look="flat", workdir=tmp_path_factory.mktemp("bench")
    )


def test_figures_are_consistent(bench) -> None:
    for figures in (bench.short, bench.long):
        assert figures.source_size == "96x54"
        assert figures.decode_convert_s == min(figures.convert_one_at_a_time_s, figures.convert_concurrent_s)
        assert figures.ratio == pytest.approx(figures.ingest_s / figures.decode_convert_s)
        assert figures.cpu_ratio == pytest.approx(figures.ingest_cpu_s / figures.decode_convert_cpu_s)
        assert figures.ratio_with_samples == pytest.approx(
            (figures.ingest_s + figures.samples_s) / figures.decode_convert_s
        )
        for value in (figures.decode_s, figures.decode_convert_s, figures.ingest_s, figures.samples_s):
            assert 0 < value < 120
        assert 100 < figures.peak_rss_mb < 4000
    # Two repetitions last longer than one: more frames over the five views.
    assert bench.long.duration_s > bench.short.duration_s + 1.0
    assert bench.long.frames > bench.short.frames


def test_json_and_table_carry_the_figures(bench, tmp_path) -> None:
    data = json.loads(json.dumps(bench.to_dict()))
    assert data["target_ratio"] == TARGET_RATIO
    assert data["long"]["frames"] == bench.long.frames
    assert data["long"]["ratio"] == pytest.approx(bench.long.ratio)
    assert data["long"]["cpu_ratio"] == pytest.approx(bench.long.cpu_ratio)
    text = bench.format()
    assert f"ratio b/a on the long recording: {bench.long.ratio:.2f}" in text
    assert f"in CPU seconds {bench.long.cpu_ratio:.2f};" in text
    assert f"{bench.long.frames:7d}" in text
