"""Ingest sEMG: raw channels on the device clock, cleaned and envelope versions, quality, trigger."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS, outcome
from flexsync.ingest.contract import StageOutput, StreamSource
from flexsync.ingest.staging import StreamSummary, label_events
from flexsync.ingest.sync_inputs import pulse_widths, train_events, train_source
from flexsync.quality import TableMeta
from flexsync.readers.registry import DEFAULT_RATE_TOLERANCE, read_file
from flexsync.readers.stream import SignalStream
from flexsync.signals.emg import channel_quality, clean_emg, emg_envelope
from flexsync.storage.zarr_io import open_group_for_write, write_array
from flexsync.timing.pulses import detect_pulses

__all__ = ["EmgIngester"]

TO_MICROVOLTS = {"uV": 1.0, "µV": 1.0, "mV": 1e3, "V": 1e6, "nV": 1e-3}
TRIGGER_EDGE_UNCERTAINTY_S = 1e-5
EMG_CHUNK_ROWS = 20000  # ~10 s at 2 kHz: big enough to avoid per-chunk overhead


def _signal_with(contents, channel: str, path, key: str, stream: str) -> SignalStream:
    for signal in contents.signals.values():
        if channel in signal.channel_names:
            return signal
    names = sorted({n for s in contents.signals.values() for n in s.channel_names})
    raise InputFileError(
        f"trigger channel {channel!r} not found; channels are {', '.join(names)}",
        path=path,
        recording=key,
        stream=stream,
    )


def _selected(
    contents, wanted: list[str], trigger_name: str | None, path, key: str, stream: str
) -> tuple[SignalStream, list[int]]:
    """The one signal holding every wanted label (and the trigger), and the wanted labels' indices."""
    labels = [*wanted, *([trigger_name] if trigger_name else [])]
    present = [n for s in contents.signals.values() for n in s.channel_names]
    missing = [label for label in labels if label not in present]
    if missing:
        raise InputFileError(
            f"channel(s) {', '.join(repr(m) for m in missing)} named in the manifest not found; "
            f"the file has {', '.join(repr(n) for n in present)}",
            path=path,
            recording=key,
            stream=stream,
        )
    for signal in contents.signals.values():
        if all(label in signal.channel_names for label in labels):
            return signal, [signal.channel_names.index(label) for label in wanted]
    rates = {n: s.nominal_rate_hz for s in contents.signals.values() for n in s.channel_names if n in labels}
    raise InputFileError(
        "the channels named in the manifest are sampled at different rates ("
        + ", ".join(f"{label!r} {rate:g} Hz" for label, rate in rates.items())
        + "); one EMG stream needs one rate",
        path=path,
        recording=key,
        stream=stream,
    )


def _check_rate(signal: SignalStream, nominal_hz: float, path, key: str, stream: str) -> None:
    if abs(signal.nominal_rate_hz - nominal_hz) > DEFAULT_RATE_TOLERANCE * nominal_hz:
        raise InputFileError(
            f"rate mismatch: the selected channels are sampled at {signal.nominal_rate_hz:g} Hz, the manifest says "
            f"{nominal_hz:g} Hz",
            path=path,
            recording=key,
            stream=stream,
        )


class EmgIngester:
    """sEMG: raw channels on the device clock, cleaned and envelope versions, quality, trigger.

    Manifest options ``channels``, ``trigger_channel``, ``n_channels`` (docs/raw-format.md). Without
    ``channels``, every channel but the trigger is EMG and there must be ``n_channels`` (16) of
    them. With ``channels`` (a list of source labels, or ``{source label: output name}``) exactly
    those are kept, in that order. ``trigger_channel`` null: no trigger, no sync events.
    """

    kind = "emg"
    description = "sEMG: raw, cleaned (band-pass + notch) and envelope, channel quality, trigger."
    checks = STREAM_CHECKS["emg"]
    time_noun = "sample times"
    events_noun = "sync events"

    def work_estimate(self, source_path: Path) -> float:
        return float(source_path.stat().st_size)

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput:
        entry, path, key, stream, settings = source.entry, source.path, source.key, source.stream, source.settings
        mains_hz = source.recording.manifest.mains_hz
        channels = entry.options.get("channels")
        trigger_option = entry.options.get("trigger_channel", "TRIG")
        trigger_name = None if trigger_option is None else str(trigger_option)
        if channels is None:
            contents = read_file(
                path, format=entry.format, options={"name": stream, "nominal_rate_hz": entry.nominal_rate_hz}
            )
            signal = (
                _signal_with(contents, trigger_name, path, key, stream)
                if trigger_name is not None
                else next(iter(contents.signals.values()))
            )
            emg_index = [i for i, name in enumerate(signal.channel_names) if name != trigger_name]
            names = [signal.channel_names[i] for i in emg_index]
            expected = int(entry.options.get("n_channels", 16))
            if len(names) != expected:
                besides = f" besides {trigger_name!r}" if trigger_name is not None else ""
                raise InputFileError(
                    f"expected {expected} EMG channels{besides}, found {len(names)}: {', '.join(names)}",
                    path=path,
                    recording=key,
                    stream=stream,
                )
        else:
            # Files with channels at several rates: the manifest's rate is checked against the chosen ones.
            contents = read_file(path, format=entry.format, options={"name": stream})
            wanted = list(channels)
            signal, emg_index = _selected(contents, wanted, trigger_name, path, key, stream)
            _check_rate(signal, entry.nominal_rate_hz, path, key, stream)
            names = [str(channels[label]) for label in wanted] if isinstance(channels, dict) else wanted
        rate = float(signal.nominal_rate_hz)
        scale = np.array([_to_microvolts(signal.units[i], path, key, stream) for i in emg_index])
        raw = (signal.data[:, emg_index] * scale).astype(np.float32)
        t_device = np.asarray(signal.timestamps_s, dtype=np.float64)
        if trigger_name is not None:
            trigger = np.asarray(signal.channel(trigger_name), dtype=np.float32)
        else:  # no trigger wired: a flat line keeps the staged layout, and no pulse is found in it
            trigger = np.zeros(t_device.shape, dtype=np.float32)
        clean = clean_emg(raw, rate, mains_hz=mains_hz, band_hz=settings.emg_band_hz)
        envelope, envelope_rate = emg_envelope(clean, rate, out_rate_hz=settings.emg_envelope_rate_hz)
        envelope_t = t_device[0] + np.arange(envelope.shape[0]) / envelope_rate
        quality = channel_quality(raw, rate, mains_hz=mains_hz, channel_names=names)
        pulses = detect_pulses(trigger, t_device)
        train = train_source(entry)
        if train is None:
            events = label_events(pulses.onset_s, t_device, source="trigger", uncertainty_s=TRIGGER_EDGE_UNCERTAINTY_S)
        else:  # a pulse train on the trigger input: every pulse is an event
            events = train_events(
                pulses.onset_s,
                pulse_widths(pulses.onset_s, pulses.offset_s),
                t_device,
                source="trigger",
                uncertainty_s=TRIGGER_EDGE_UNCERTAINTY_S,
                pulse_s=settings.sync_pulse_s,
                sync_source=train,
            )
        summary = source.summary(
            t_device=t_device,
            n_channels=len(names),
            sync_events=events,
            channel_quality=[{k: v for k, v in q.to_dict().items() if k != "flags"} for q in quality],
            warnings=[*contents.warnings, *signal.warnings],
        )
        rows = (EMG_CHUNK_ROWS,)
        group = open_group_for_write(group_dir)
        write_array(group, "raw", raw, chunks=(*rows, len(names)))
        write_array(group, "clean", clean.astype(np.float32), chunks=(*rows, len(names)))
        write_array(group, "trigger", trigger, chunks=rows)
        write_array(group, "t_device", t_device, chunks=rows)
        write_array(group, "envelope", envelope.astype(np.float32), chunks=(*rows, len(names)))
        write_array(group, "envelope_t_device", envelope_t, chunks=rows)
        group.attrs.update(
            {
                "kind": "emg",
                "units": "uV",
                "channel_names": names,
                "nominal_rate_hz": rate,
                "mains_hz": float(mains_hz),
                "band_hz": [float(b) for b in settings.emg_band_hz],
                "envelope_rate_hz": float(envelope_rate),
                "ingest": summary.to_attrs(),
            }
        )
        bad = [f"{q.name} ({', '.join(q.flags)})" for q in quality if not q.ok]
        quality_check = outcome(
            self.checks[1],
            not bad,
            f"{source.where}: " + (f"channels with problems: {', '.join(bad)}" if bad else "all channels ok"),
            bad_channels=bad,
        )
        return StageOutput(
            summary=summary,
            t_device=t_device,
            metadata=_metadata(summary, quality),
            checks=[quality_check],
            no_sync_reason=None if trigger_name is not None else "no trigger channel (trigger_channel null)",
        )


def _to_microvolts(unit: str, path, key: str, stream: str) -> float:
    try:
        return TO_MICROVOLTS[unit]
    except KeyError:
        raise InputFileError(
            f"EMG channel unit {unit!r} is not a voltage ({', '.join(TO_MICROVOLTS)})",
            path=path,
            recording=key,
            stream=stream,
        ) from None


def _metadata(summary: StreamSummary, quality) -> dict:
    return {
        "samples": summary.n_samples,
        "channels": summary.n_channels,
        "rate_hz": summary.measured_rate_hz,
        "duration_s": summary.t_device_last_s - summary.t_device_first_s,
        "channel_quality": TableMeta(
            ("channel", "rms_uv", "snr_db", "powerline_ratio", "flags"),
            tuple((q.name, q.rms_uv, q.snr_db, q.powerline_ratio, ",".join(q.flags) or "ok") for q in quality),
        ),
        "trigger_pulses": TableMeta(
            ("label", "onset_device_s"), tuple((e.label, e.t_device_s) for e in summary.sync_events)
        ),
    }
