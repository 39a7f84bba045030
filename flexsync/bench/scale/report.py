"""One run's figures: throughput, overhead, targets and the full-size extrapolation; its JSON and text.

Definitions (the output repeats them):

- video-hours: the sum over recordings of every view's duration (frames x mean frame interval),
  so a recording of 5 views of 6 s is 30 video-seconds; FLEX's "about 37 h" is counted the same
  way (flexsync.bench.store.targets);
- per core: divided by ``workers``, the runs (or direct processes) at once, one per core;
- backfill throughput: successful runs over the time from the first run's creation to the last
  run's end: every per-run cost (creation, queue, launch, run), not the daemon's one-off start;
- direct throughput: recordings over the time from the first submission to the last result, in
  ``workers`` warm processes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from flexsync.bench.scale.backfill import BackfillFigures
from flexsync.bench.scale.direct import DirectFigures, VideoCost
from flexsync.bench.scale.generate import RawSet
from flexsync.bench.scale.registration import Registration
from flexsync.bench.scale.ui import UiFigures
from flexsync.bench.store.targets import FLEX_RECORDINGS, FLEX_VIDEO_HOURS, FLEX_VIEWS
from flexsync.jsonsafe import json_safe

__all__ = ["TARGETS", "FullSize", "ScaleBenchmark", "throughput"]

TARGETS = {"overhead_s_max": 2.0, "ticks_max": 4, "throughput_ratio_min": 0.85}


@dataclass(frozen=True)
class FullSize:
    """FLEX at full size: 760 recordings, 37 h of video over 5 views, 4 cinema views at 60 fps + a 30 fps phone."""

    recordings: int = FLEX_RECORDINGS
    video_hours: float = FLEX_VIDEO_HOURS
    views: int = FLEX_VIEWS
    width: int = 1920
    height: int = 1080
    cinema_views: int = 4
    cinema_rate_hz: float = 60.0
    phone_rate_hz: float = 30.0

    @property
    def view_s(self) -> float:
        """Seconds of one view of one recording."""
        return self.video_hours * 3600.0 / (self.recordings * self.views)

    @property
    def frames(self) -> float:
        """Source frames of one recording, over its views."""
        return self.view_s * (
            self.cinema_views * self.cinema_rate_hz + (self.views - self.cinema_views) * self.phone_rate_hz
        )

    @property
    def pixels(self) -> float:
        return self.frames * self.width * self.height


def throughput(recordings: int, video_s: float, wall_s: float, cores: int) -> dict[str, float | None]:
    """Recordings and video-hours per hour per core."""
    if wall_s <= 0 or cores <= 0:
        return {"recordings_per_hour_per_core": None, "video_hours_per_hour_per_core": None}
    hours = wall_s / 3600.0
    return {
        "recordings_per_hour_per_core": recordings / hours / cores,
        "video_hours_per_hour_per_core": video_s / 3600.0 / hours / cores,
    }


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


@dataclass
class ScaleBenchmark:
    """Everything one ``flexsync bench scale`` run measured."""

    options: dict[str, Any]
    raw: RawSet
    storage: str
    storage_detail: str
    registration: Registration
    backfill: BackfillFigures
    direct: DirectFigures
    video: dict[str, VideoCost]  # every backfilled recording's video (decode timed for the direct ones)
    probe: dict[str, Any] | None = None  # {"size": "WxH", "cost": VideoCost, "generate_s": s}
    ui: UiFigures | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    full: FullSize = field(default_factory=FullSize)

    # -- derived figures ---------------------------------------------------------------------------

    @property
    def workers(self) -> int:
        return int(self.options["workers"])

    @property
    def sample(self) -> bool:
        return len(self.backfill.runs) < len(self.raw.keys)

    def instance_throughput(self) -> dict[str, Any]:
        ok = [r for r in self.backfill.runs if r.status == "SUCCESS"]
        video_s = sum(self.video[r.key].video_s for r in ok if r.key in self.video)
        out = throughput(len(ok), video_s, self.backfill.wall_s, self.workers)
        out["recordings"], out["video_hours"], out["wall_s"] = len(ok), video_s / 3600.0, self.backfill.wall_s
        out["daemon_pickup_s"] = self.backfill.pickup_s
        out["slots_busy_share"] = self.backfill.slots_busy_share(self.workers)
        return out

    def direct_throughput(self) -> dict[str, Any]:
        rows = self.direct.recordings
        video_s = sum(self.video[r["key"]].video_s for r in rows)
        out = throughput(len(rows), video_s, self.direct.wall_s, self.workers)
        out["recordings"], out["video_hours"], out["wall_s"] = len(rows), video_s / 3600.0, self.direct.wall_s
        return out

    def ratio(self) -> float | None:
        ours = self.instance_throughput()["recordings_per_hour_per_core"]
        direct = self.direct_throughput()["recordings_per_hour_per_core"]
        return ours / direct if ours and direct else None

    def decode_cost(self) -> dict[str, Any]:
        """CPU seconds of decode + convert per source megapixel: at the probe size if measured, else ours."""
        timed = [self.video[r["key"]] for r in self.direct.recordings]
        ours = sum(c.decode_cpu_s for c in timed) / sum(c.pixels for c in timed) * 1e6 if timed else None
        source = f"{self.raw_size()} (the benchmark's recordings; per-frame costs dominate: an upper bound)"
        per_mpx = ours
        if self.probe is not None:
            cost: VideoCost = self.probe["cost"]
            per_mpx = cost.decode_cpu_s / cost.pixels * 1e6
            source = f"{self.probe['size']} (one generated recording, {cost.views} views, {cost.frames} frames)"
        return {"cpu_s_per_megapixel": per_mpx, "measured_at": source, "ours_cpu_s_per_megapixel": ours}

    def raw_size(self) -> str:
        options = self.options.get("synth") or {}
        return f"{options.get('width', '?')}x{options.get('height', '?')}"

    def orchestration_cpu_s(self) -> float | None:
        """CPU seconds per recording the instance spends beyond the work itself, every process counted.

        Every sampled process's CPU during the backfill (run workers with their imports, code
        server, daemon, PostgreSQL; not this benchmark's polling) over the runs, minus a direct
        recording's mean CPU: on saturated cores, what a run costs that a warm process does not.
        """
        ok = [r for r in self.backfill.runs if r.status == "SUCCESS"]
        rows = self.direct.recordings
        if not self.backfill.processes or not ok or not rows or len(ok) != len(self.backfill.runs):
            return None
        cpu = self.backfill.cpu_s()
        spent = (cpu["total"] - cpu["benchmark"]) / len(ok)
        return max(0.0, spent - statistics.fmean(r["cpu_s"] for r in rows))

    def extrapolation(self) -> dict[str, Any]:
        """Full-size FLEX on ``workers`` cores: decode scaled by source pixels, the rest by stored frames."""
        rows = self.direct.recordings
        frames = sum(self.video[r["key"]].frames for r in rows)
        decode_cpu = sum(self.video[r["key"]].decode_cpu_s for r in rows)
        per_mpx = self.decode_cost()["cpu_s_per_megapixel"]
        overhead = self.backfill.summary()["overhead_s_mean"]
        if not rows or not frames or per_mpx is None or overhead is None:
            return {"available": False}
        rest_per_frame = max(0.0, sum(r["cpu_s"] for r in rows) - decode_cpu) / frames
        decode_s = per_mpx * self.full.pixels / 1e6
        rest_s = rest_per_frame * self.full.frames
        launch = self.backfill.summary()["launch_s_median"] or 0.0
        cpu = self.orchestration_cpu_s()
        orchestration = cpu if cpu is not None else overhead + launch
        work_s = decode_s + rest_s
        per_recording = work_s + orchestration
        hours = self.full.recordings * per_recording / self.workers / 3600.0
        return {
            "available": True,
            "recordings": self.full.recordings,
            "video_hours": self.full.video_hours,
            "pixels_per_recording": self.full.pixels,
            "frames_per_recording": self.full.frames,
            "decode_cpu_s_per_recording": decode_s,
            "other_cpu_s_per_recording": rest_s,
            "work_s_per_recording": work_s,
            "orchestration_s_per_recording": orchestration,
            "orchestration_measured_as": "cpu" if cpu is not None else "run overhead + launch",
            "orchestration_share": orchestration / per_recording,
            # A warm process spends work_s per recording, a run work_s + orchestration: the ratio to expect.
            "throughput_ratio": work_s / per_recording,
            "hours_on_workers": hours,
            "video_hours_per_hour_per_core": self.full.video_hours / (hours * self.workers),
            "assumption": (
                f"FLEX: {self.full.recordings} recordings, {self.full.video_hours:g} h of video summed over "
                f"{self.full.views} views ({self.full.view_s:.1f} s per view), {self.full.cinema_views} cinema views "
                f"{self.full.width}x{self.full.height} at {self.full.cinema_rate_hz:g} fps and a phone at "
                f"{self.full.phone_rate_hz:g} fps with as many pixels; decode + convert CPU scales with source pixels "
                f"at {self.decode_cost()['measured_at']}; the rest of the work (stored-frame encode, signals, clocks, "
                "samples) with source frames as measured here; the orchestration per recording as measured here "
                + (
                    "(every instance process's CPU per run beyond a direct recording's)"
                    if cpu is not None
                    else "(run overhead + launch)"
                )
                + "; one recording per core at a time, CPU-bound"
            ),
        }

    def targets(self) -> dict[str, Any]:
        summary = self.backfill.summary()
        ratio = self.ratio()
        return {
            "overhead_s_mean": summary["overhead_s_mean"],
            "overhead_ok": summary["overhead_s_mean"] is not None
            and summary["overhead_s_mean"] <= TARGETS["overhead_s_max"],
            "ticks": self.registration.n_ticks,
            "ticks_ok": self.registration.n_ticks <= TARGETS["ticks_max"] and not self.registration.missing,
            "throughput_ratio": ratio,
            "throughput_ok": ratio is not None and ratio >= TARGETS["throughput_ratio_min"],
            "limits": TARGETS,
        }

    def memory(self) -> dict[str, Any]:
        direct = [r["peak_rss_mb"] for r in self.direct.recordings]
        return {
            "backfill": self.backfill.processes,
            "direct_worker_peak_rss_mb_max": max(direct, default=None),
        }

    def to_dict(self) -> dict[str, Any]:
        backfill = self.backfill.to_dict()
        for run in backfill["per_run"]:
            cost = self.video.get(run["key"])
            run["video_s"] = cost.video_s if cost else None
        return json_safe(
            {
                "options": self.options,
                "raw": self.raw.to_dict(),
                "storage": self.storage,
                "storage_detail": self.storage_detail,
                "sample": self.sample,
                "registration": self.registration.to_dict(),
                "backfill": backfill,
                "direct": {
                    **self.direct.to_dict(),
                    "per_recording_mean_wall_s": _mean([r["wall_s"] for r in self.direct.recordings]),
                },
                "throughput": {"backfill": self.instance_throughput(), "direct": self.direct_throughput()},
                "memory": self.memory(),
                "decode_cost": self.decode_cost(),
                "probe": None
                if self.probe is None
                else {**{k: v for k, v in self.probe.items() if k != "cost"}, "cost": self.probe["cost"].to_dict()},
                "extrapolation": self.extrapolation(),
                "targets": self.targets(),
                "ui": self.ui.to_dict() if self.ui else None,
                "machine": self.machine,
                "seconds": self.seconds,
            }
        )

    # -- text ---------------------------------------------------------------------------------------

    def format(self) -> str:
        lines = self._format_setup() + self._format_registration() + self._format_backfill()
        lines += self._format_throughput() + self._format_memory() + self._format_cpu()
        lines += self._format_extrapolation()
        lines += self._format_ui() + self._format_targets()
        m = self.machine
        if m:
            lines.append(
                f"machine: {m['cpus']} CPUs, load average {m['load_start']:.1f} at the start, {m['load_end']:.1f} at "
                f"the end (max {m['load_max']:.1f} sampled; wall-clock figures are disturbed by other work when it "
                f"exceeds the CPUs); {self.seconds:.0f} s in all"
            )
        return "\n".join(lines)

    def _format_setup(self) -> list[str]:
        raw = self.raw
        made = f"generated in {raw.generate_s:.0f} s" if raw.generate_s is not None else f"reused from {raw.source}"
        return [
            f"recordings: {len(raw.keys)} of the flex-size layout ({raw.raw_bytes / 1e6:.0f} MB raw, {made}); "
            f"instance on {self.storage_detail}; engine {self.backfill.engine}, {self.workers} workers; code server "
            + (
                "started by the daemon (replaced every 60 s)"
                if self.options.get("code_server") == "daemon"
                else "standalone (`dagster api grpc`)"
            ),
        ]

    def _format_registration(self) -> list[str]:
        reg = self.registration
        per_tick = ", ".join(f"{t.registered} in {t.seconds:.2f} s" for t in reg.ticks)
        create = self.backfill.run_create_s
        note = (
            f"; launching a tick's runs would add about {create * 1000:.0f} ms per run (the daemon's run creation, "
            f"as measured in the backfill): {create * max((t.runs_requested for t in reg.ticks), default=0):.1f} s for "
            "the largest tick"
            if create
            else ""
        )
        return [
            f"registration: {reg.n_ticks} sensor ticks ({reg.batch_size} per tick, any backlog within "
            f"{reg.backlog_ticks}): {per_tick}; then a skipping tick in {reg.skip_s:.2f} s; "
            f"{reg.partitions_in_instance} partitions in the instance, {len(reg.missing)} missing{note}",
        ]

    def _format_backfill(self) -> list[str]:
        b, s = self.backfill, self.backfill.summary()
        sample = f" (a sample of {len(b.runs)} of the {len(self.raw.keys)} partitions)" if self.sample else ""

        def sec(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f} s"

        return [
            f"backfill{sample}: {b.succeeded}/{len(b.runs)} runs succeeded in {b.wall_s:.0f} s; "
            f"{b.other_runs} other runs in the instance",
            f"  per recording (medians): run wall {sec(s['run_wall_s_median'])}, step work {sec(s['step_s_median'])}, "
            f"orchestration overhead (run wall - step work) {sec(s['overhead_s_median'])} (mean "
            f"{sec(s['overhead_s_mean'])}, max {sec(s['overhead_s_max'])}); launch (dequeued -> run start, outside "
            f"the run wall) {sec(s['launch_s_median'])}",
        ]

    def _format_throughput(self) -> list[str]:
        ours, direct, ratio = self.instance_throughput(), self.direct_throughput(), self.ratio()

        def rate(t: dict[str, Any]) -> str:
            if t["recordings_per_hour_per_core"] is None:
                return "n/a"
            return (
                f"{t['recordings_per_hour_per_core']:.0f} recordings and {t['video_hours_per_hour_per_core']:.2f} "
                f"video-hours per hour per core ({t['recordings']} recordings, {t['video_hours']:.2f} video-hours in "
                f"{t['wall_s']:.0f} s)"
            )

        return [
            f"throughput through the instance: {rate(ours)}, from the first run's creation to the last run's end "
            f"(before it, once: {ours['daemon_pickup_s']:.0f} s from starting the daemon to the first run)",
            f"  the {self.workers} run slots were held (launch + run) "
            + ("n/a" if ours["slots_busy_share"] is None else f"{ours['slots_busy_share']:.0%}")
            + " of that wall",
            f"throughput directly (domain functions, {self.workers} warm processes): {rate(direct)}",
            "throughput ratio instance / direct: " + ("n/a" if ratio is None else f"{ratio:.2f}"),
            "  video-hours = every view's duration summed over the recordings; per core = divided by the workers",
        ]

    def _format_memory(self) -> list[str]:
        roles = ", ".join(
            f"{role} {v['peak_rss_mb_max']:.0f} MB (median {v['peak_rss_mb_median']:.0f} MB over {v['processes']})"
            for role, v in self.backfill.processes.items()
        )
        direct = self.memory()["direct_worker_peak_rss_mb_max"]
        return [
            f"peak RSS per process (sampled every 0.5 s): {roles or 'not sampled (no /proc)'}; direct worker "
            + ("n/a" if direct is None else f"{direct:.0f} MB")
        ]

    def _format_cpu(self) -> list[str]:
        cpu, runs = self.backfill.cpu_s(), max(1, len(self.backfill.runs))
        wall = self.backfill.pickup_s + self.backfill.wall_s  # sampled from the daemon's start
        if not self.backfill.processes or wall <= 0:
            return ["CPU during the backfill: not sampled (no /proc)"]
        roles = ", ".join(f"{role} {seconds:.0f} s" for role, seconds in cpu.items() if role != "total")
        outside = cpu["total"] - cpu.get("run worker", 0.0) - cpu.get("step worker", 0.0)
        return [
            f"CPU during the backfill (sampled): {roles}; {cpu['total']:.0f} CPU s in all, "
            f"{cpu['total'] / (wall * self.workers):.0%} of {self.workers} cores x {wall:.0f} s from the daemon's "
            "start; outside the run and "
            f"step workers {outside / runs:.1f} CPU s per run",
            "  orchestration CPU per recording (all of it over the runs, less this benchmark's, minus a direct "
            "recording's mean CPU): "
            + ("n/a" if (orch := self.orchestration_cpu_s()) is None else f"{orch:.1f} CPU s"),
        ]

    def _format_extrapolation(self) -> list[str]:
        x, cost = self.extrapolation(), self.decode_cost()
        if not x["available"]:
            return ["full-size extrapolation: not available (no direct recordings)"]
        ours = cost["ours_cpu_s_per_megapixel"]
        return [
            f"decode + convert: {cost['cpu_s_per_megapixel'] * 1000:.2f} CPU ms per source megapixel at "
            f"{cost['measured_at']}" + ("" if ours is None else f"; {ours * 1000:.2f} at {self.raw_size()}"),
            f"full-size FLEX: {x['work_s_per_recording']:.0f} CPU s of work per recording (decode "
            f"{x['decode_cpu_s_per_recording']:.0f} s, the rest {x['other_cpu_s_per_recording']:.0f} s) + "
            f"{x['orchestration_s_per_recording']:.1f} s orchestration ({x['orchestration_share'] * 100:.1f}%): "
            f"{x['hours_on_workers']:.1f} h for {x['recordings']} recordings on {self.workers} cores, "
            f"{x['video_hours_per_hour_per_core']:.2f} video-hours per hour per core; throughput ratio instance / "
            f"direct to expect at that size {x['throughput_ratio']:.2f}",
            f"  assumption: {x['assumption']}",
        ]

    def _format_ui(self) -> list[str]:
        if self.ui is None:
            return ["ui: not measured (--no-ui)"]
        ui = self.ui
        queries = ", ".join(
            f"{a} {q['seconds']:.2f} s ({q['partitions']} partitions, {q['materialized']} materialised)"
            for a, q in ui.queries.items()
        )
        lines = [f"ui: webserver up in {ui.start_s:.0f} s; partition-health query per asset: {queries}"]
        if ui.pages:
            pages = ", ".join(f"{p['asset']} {p['tab']} {p['load']} {p['seconds']:.1f} s" for p in ui.pages)
            lines.append(f"  asset pages (headless Chromium, until the data shows): {pages}")
        lines += [f"  skipped: {line}" for line in ui.skipped]
        return lines

    def _format_targets(self) -> list[str]:
        t = self.targets()

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        overhead = "n/a" if t["overhead_s_mean"] is None else f"{t['overhead_s_mean']:.2f} s"
        ratio = "n/a" if t["throughput_ratio"] is None else f"{t['throughput_ratio']:.2f}"
        return [
            f"targets: overhead {overhead} per recording (<= {TARGETS['overhead_s_max']:g} s) "
            f"{verdict(t['overhead_ok'])}; {t['ticks']} ticks (<= {TARGETS['ticks_max']}) {verdict(t['ticks_ok'])}; "
            f"throughput ratio {ratio} (>= {TARGETS['throughput_ratio_min']:g}) {verdict(t['throughput_ok'])}"
            + (" (on a sample)" if self.sample else "")
        ]
