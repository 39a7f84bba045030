"""Synthetic motion of one set: joints, muscle activation and exertion over true time, with truth.

This is the generator's single source of movement. Every rendered stream (video, mocap, EMG,
physiology) samples the same ``SetMotion``, so the streams agree with each other and with the
annotations: each repetition is a preparation, then an eccentric and a concentric phase (in
the family's order), and every error written in ``RepetitionTruth.errors`` changed the
kinematics the way its FKG ``kinematic_effect`` says (a shallow squat does not go as deep,
knee valgus brings the knees together, a fast eccentric is shorter...).

Time is the generator's "true" time in seconds, starting at 0 with ``lead_in_s`` of quiet
standing; the subject's tempo, range of motion, error rate and weaker side shape the set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from flexsync.fkg.catalogue import Action, ErrorType, FitnessKnowledgeGraph
from flexsync.skeleton import joint_index
from flexsync.synth.motion_activation import PHASE_CODE, effort_from_activation, muscle_activation
from flexsync.synth.motion_body import body_joints
from flexsync.synth.motion_families import MotionSpec, Track, motion_spec
from flexsync.synth.scores import error_probability, errors_in_range
from flexsync.synth.subjects import Subject

__all__ = ["DEFAULT_RATE_HZ", "PhaseSpan", "RepetitionTruth", "SetMotion", "simulate_set"]

logger = logging.getLogger(__name__)

DEFAULT_RATE_HZ = 200.0
BAR_HALF_LENGTH_M = 1.1  # an Olympic bar is 2.2 m long
_PREP_RANGE_S = (0.3, 0.8)
_LEAD_OUT_RAMP_S = 0.8  # return to the start pose after an incomplete last rep
_EFFECT_SMOOTH_S = 0.25  # errors fade in/out over this window (no jumps at rep boundaries)


@dataclass(frozen=True)
class PhaseSpan:
    """One key step of a repetition on the true time axis."""

    phase: str
    key_step: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class RepetitionTruth:
    """A repetition as generated: its span, key-step phases and observed errors."""

    index: int  # 1-based
    start_s: float
    end_s: float
    phases: tuple[PhaseSpan, ...]
    errors: tuple[tuple[str, str], ...]  # (error_id, key_step_id)

    @property
    def error_ids(self) -> tuple[str, ...]:
        return tuple(e for e, _ in self.errors)


@dataclass
class SetMotion:
    """Everything that moves during one set, sampled at ``rate_hz`` on true time.

    ``joints_m`` is (T, 21, 3) in the lab frame (order ``flexsync.skeleton.JOINT_NAMES``);
    ``activation`` is (T, 16) in [0, 1] per EMG channel (order ``emg_channels``);
    ``effort`` is (T,) in [0, 1]; ``equipment_m`` is (T, 2, 3): bar ends (right, left) for a
    barbell, or the right and left hand implements for dumbbells.
    """

    rate_hz: float
    t_s: np.ndarray
    joints_m: np.ndarray
    activation: np.ndarray
    effort: np.ndarray
    repetitions: tuple[RepetitionTruth, ...]
    equipment_m: np.ndarray
    action_id: str = ""
    subject_id: str = ""
    emg_channels: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def sample(self, t_true: np.ndarray) -> np.ndarray:
        """Joints (N, 21, 3) at arbitrary true times, linearly interpolated.

        Times outside ``[0, duration_s]`` hold the first/last pose.
        """
        return _interp_rows(self.t_s, self.joints_m, np.asarray(t_true, dtype=np.float64))

    def sample_equipment(self, t_true: np.ndarray) -> np.ndarray:
        """Equipment points (N, 2, 3) at arbitrary true times (same rule as ``sample``)."""
        return _interp_rows(self.t_s, self.equipment_m, np.asarray(t_true, dtype=np.float64))


@dataclass(frozen=True)
class _RepPlan:
    index: int
    prep_s: float
    move_s: tuple[float, float]  # durations of the first and second movement phase
    errors: tuple[tuple[ErrorType, str, float], ...]  # (error, key step id, severity 0-1)
    s_peak: float
    s_end: float


def simulate_set(
    fkg: FitnessKnowledgeGraph,
    action_id: str,
    subject: Subject,
    *,
    n_reps: int,
    rng: np.random.Generator,
    lead_in_s: float = 2.5,
    lead_out_s: float = 2.5,
    rate_hz: float = DEFAULT_RATE_HZ,
    forced_errors: Mapping[int, Iterable[str]] | None = None,
    score_range: tuple[float, float] | None = None,
) -> SetMotion:
    """Simulate one set of ``n_reps`` repetitions of ``action_id`` by ``subject``.

    Parameters
    ----------
    lead_in_s, lead_out_s
        Quiet standing before the first and after the last repetition (seconds).
    rate_hz
        Sample rate of the returned motion.
    forced_errors
        ``{rep index (1-based): error ids}``: those repetitions get exactly these errors (an
        empty list makes a clean rep); the others draw errors from the subject's error rate.
    score_range
        ``(min, max)`` of the action's scores (FLEX's class range): the subject's error rate is
        scaled into it and each drawn error set is moved to the nearest one scoring inside it
        (:mod:`flexsync.synth.scores`). None: each error type has probability ``error_rate``.

    Raises
    ------
    KeyError
        Unknown action or forced error id.
    ValueError
        Non-positive ``n_reps`` / ``rate_hz``, negative lead times, forced rep out of range.
    """
    if n_reps < 1:
        raise ValueError(f"n_reps must be >= 1, got {n_reps}")
    if not rate_hz > 0:
        raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
    if lead_in_s < 0 or lead_out_s < 0:
        raise ValueError(f"lead_in_s and lead_out_s must be >= 0, got {lead_in_s} and {lead_out_s}")
    action = fkg.action(action_id)
    spec = motion_spec(action.id, action.family)
    forced = _check_forced(action, n_reps, forced_errors)
    plans = _plan_reps(action, subject, spec, n_reps, rng, forced, score_range)
    reps, segments = _timeline(action, plans, lead_in_s, lead_out_s)
    n = int(np.floor((reps[-1].end_s + lead_out_s) * rate_hz + 1e-9)) + 1
    t = np.arange(n) / rate_hz
    s, phase_code, rep_of = _progress(t, segments)
    amounts = _effect_amounts(t, reps, plans, rate_hz)
    tracks = _pose_tracks(t, s, spec, subject, amounts, rng)
    joints = body_joints(
        tracks,
        height_m=subject.height_m,
        stance_m=spec.stance * subject.height_m,
        toe_out_deg=spec.toe_out_deg,
        arms_in_trunk_frame=spec.arms_in_trunk_frame,
    )
    activation = muscle_activation(
        s, phase_code, rep_of, amounts.get("asymmetric"), side_bias=subject.side_bias, rate_hz=rate_hz
    )
    logger.debug("simulated %s by %s: %d reps, %.1f s", action.id, subject.id, n_reps, t[-1])
    return SetMotion(
        rate_hz=float(rate_hz),
        t_s=t,
        joints_m=joints,
        activation=activation,
        effort=effort_from_activation(activation, rate_hz),
        repetitions=tuple(reps),
        equipment_m=_equipment(joints, action.equipment),
        action_id=action.id,
        subject_id=subject.id,
        emg_channels=action.emg_channels,
    )


def _check_forced(action: Action, n_reps: int, forced: Mapping[int, Iterable[str]] | None) -> dict[int, frozenset[str]]:
    out: dict[int, frozenset[str]] = {}
    known = {e.id for e in action.errors}
    for index, ids in (forced or {}).items():
        if not 1 <= index <= n_reps:
            raise ValueError(f"forced_errors: repetition {index} is outside 1..{n_reps}")
        chosen = frozenset(ids)
        unknown = sorted(chosen - known)
        if unknown:
            raise KeyError(f"forced_errors: action {action.id} has no error type(s) {', '.join(unknown)}")
        out[index] = chosen
    return out


def _plan_reps(
    action: Action,
    subject: Subject,
    spec: MotionSpec,
    n_reps: int,
    rng: np.random.Generator,
    forced: dict[int, frozenset[str]],
    score_range: tuple[float, float] | None = None,
) -> list[_RepPlan]:
    """Durations, depth and errors per repetition (same rng draws whatever the outcome)."""
    errors = action.errors
    weights = tuple(e.weight for e in errors)
    first = _movement_order(action)[0]
    plans = []
    for i in range(1, n_reps + 1):
        draws = rng.random(len(errors))
        severity = rng.uniform(0.75, 1.0, len(errors))
        jitter = rng.normal(0.0, 1.0, 3)
        prep_s = float(rng.uniform(*_PREP_RANGE_S))
        rate = subject.error_rate * (1.0 + 0.03 * (i - 1))  # fatigue: more errors late
        if i in forced:
            chosen = [(e, 1.0) for e in errors if e.id in forced[i]]
        elif score_range is None:
            p_error = min(0.95, rate)
            chosen = [(e, float(sev)) for e, d, sev in zip(errors, draws, severity, strict=True) if d < p_error]
        else:
            p_error = min(0.95, error_probability(rate, score_range))
            mask = errors_in_range(weights, draws, p_error, score_range)
            chosen = [(e, float(sev)) for e, m, sev in zip(errors, mask, severity, strict=True) if m]
        effect = {e.kinematic_effect: sev for e, sev in chosen if e.kinematic_effect}
        ecc = spec.eccentric_s * subject.tempo_factor * (1.0 + 0.02 * (i - 1)) * np.exp(0.06 * jitter[0])
        con = spec.concentric_s * subject.tempo_factor * (1.0 + 0.035 * (i - 1)) * np.exp(0.06 * jitter[1])
        ecc *= 1.0 - 0.5 * effect.get("fast_eccentric", 0.0)
        con *= 1.0 - 0.3 * effect.get("momentum_swing", 0.0)
        s_peak = min(1.0, subject.rom_factor * np.exp(0.03 * jitter[2]))
        s_peak *= 1.0 - 0.4 * effect.get("shallow_depth", 0.0)
        s_end = 0.0
        if first == "eccentric":  # lockout is the end of the rep
            s_end = 0.25 * effect.get("incomplete_lockout", 0.0)
        else:  # lockout is the top of the range
            s_peak *= 1.0 - 0.2 * effect.get("incomplete_lockout", 0.0)
        plans.append(
            _RepPlan(
                index=i,
                prep_s=prep_s,
                move_s=(float(ecc), float(con)) if first == "eccentric" else (float(con), float(ecc)),
                errors=tuple((e, action.key_step_of(e.id).id, sev) for e, sev in chosen),
                s_peak=float(s_peak),
                s_end=float(s_end),
            )
        )
    return plans


def _movement_order(action: Action) -> tuple[str, str]:
    first = next(k.phase for k in action.key_steps if k.phase != "preparation")
    return (first, "concentric" if first == "eccentric" else "eccentric")


def _timeline(
    action: Action, plans: list[_RepPlan], lead_in_s: float, lead_out_s: float
) -> tuple[list[RepetitionTruth], list[tuple[float, float, float, float, int, int]]]:
    """Repetition truths and progress segments ``(t0, t1, s0, s1, phase code, rep index)``."""
    order = ("preparation", *_movement_order(action))
    steps = {p: [k for k in action.key_steps if k.phase == p] for p in order}
    reps: list[RepetitionTruth] = []
    segments: list[tuple[float, float, float, float, int, int]] = []
    t0, s_prev = lead_in_s, 0.0
    for plan in plans:
        start = t0
        spans: list[PhaseSpan] = []
        targets = (0.0, plan.s_peak, plan.s_end)
        for phase, duration, target in zip(order, (plan.prep_s, *plan.move_s), targets, strict=True):
            segments.append((t0, t0 + duration, s_prev, target, PHASE_CODE[phase], plan.index))
            step_s = duration / len(steps[phase])
            for j, step in enumerate(steps[phase]):
                end = t0 + duration if j == len(steps[phase]) - 1 else t0 + (j + 1) * step_s
                spans.append(PhaseSpan(phase, step.id, t0 + j * step_s, end))
            t0, s_prev = t0 + duration, target
        reps.append(RepetitionTruth(plan.index, start, t0, tuple(spans), tuple((e.id, k) for e, k, _ in plan.errors)))
    ramp = min(_LEAD_OUT_RAMP_S, lead_out_s)
    if ramp > 0:
        segments.append((t0, t0 + ramp, s_prev, 0.0, PHASE_CODE["rest"], plans[-1].index))
    return reps, segments


def _progress(
    t: np.ndarray, segments: list[tuple[float, float, float, float, int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Progress s(t) with minimum-jerk easing, plus the phase code and rep index per sample."""
    s = np.zeros_like(t)
    code = np.zeros(t.shape, dtype=np.int64)
    rep = np.zeros(t.shape, dtype=np.int64)
    for t0, t1, s0, s1, c, r in segments:
        m = (t >= t0) & (t < t1)
        u = (t[m] - t0) / (t1 - t0)
        s[m] = s0 + (s1 - s0) * u**3 * (10.0 - 15.0 * u + 6.0 * u * u)
        code[m], rep[m] = c, r
    last = t >= segments[-1][1]
    s[last], rep[last] = segments[-1][3], segments[-1][5]
    return s, code, rep


def _effect_amounts(
    t: np.ndarray, reps: list[RepetitionTruth], plans: list[_RepPlan], rate_hz: float
) -> dict[str, np.ndarray]:
    """Per kinematic effect, its severity over time (0 outside the reps that have it), smoothed."""
    raw: dict[str, np.ndarray] = {}
    for rep, plan in zip(reps, plans, strict=True):
        m = (t >= rep.start_s) & (t < rep.end_s)
        for error, _, sev in plan.errors:
            if error.kinematic_effect:
                raw.setdefault(error.kinematic_effect, np.zeros_like(t))[m] = sev
    width = max(3, round(_EFFECT_SMOOTH_S * rate_hz) | 1)
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    return {k: np.convolve(np.pad(v, width // 2, mode="edge"), kernel, mode="valid") for k, v in sorted(raw.items())}


def _track(track: Track | None, s: np.ndarray, default: float = 0.0) -> np.ndarray:
    if track is None:
        return np.full_like(s, default)
    v0, v1, a, b = (*track, 0.0, 1.0)[:4] if len(track) == 2 else track
    return v0 + (v1 - v0) * np.clip((s - a) / (b - a), 0.0, 1.0)


def _sway(t: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Quiet-standing sway: three slow sines with random frequencies and phases."""
    freqs = rng.uniform(0.1, 0.6, 3)
    phases = rng.uniform(0.0, 2.0 * np.pi, 3)
    weights = rng.uniform(0.5, 1.0, 3)
    weights *= amplitude / weights.sum()
    return np.sum(weights[:, None] * np.sin(2.0 * np.pi * freqs[:, None] * t[None, :] + phases[:, None]), axis=0)


def _pose_tracks(
    t: np.ndarray,
    s: np.ndarray,
    spec: MotionSpec,
    subject: Subject,
    amounts: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Body tracks (metres, degrees) from the progress, the family keyframes and the error effects."""
    zero = np.zeros_like(s)
    a = {
        name: amounts.get(name, zero)
        for name in (
            "asymmetric",
            "elbow_drift",
            "elbow_flare",
            "excess_knee_bend",
            "heel_lift",
            "hip_shift",
            "knee_valgus",
            "lean_back",
            "momentum_swing",
            "rounded_back",
            "short_step",
            "shrug_compensation",
            "trunk_lean",
        )
    }
    h = subject.height_m
    key = spec.tracks.get
    weak = "r" if subject.side_bias < 0 else "l"
    sway_m = 0.003 + 0.003 * subject.error_rate
    out = {
        "pelvis_x_m": _sway(t, rng, sway_m) + (1.0 if weak == "r" else -1.0) * 0.035 * h * a["hip_shift"] * s,
        "pelvis_y_m": _sway(t, rng, sway_m) + h * _track(key("pelvis_back"), s),
        "pelvis_drop_m": h * (_track(key("pelvis_drop"), s) + 0.06 * a["excess_knee_bend"] * s),
        "trunk_flex_deg": (
            _track(key("trunk_flex"), s)
            + _sway(t, rng, 0.4)
            + 15.0 * a["trunk_lean"] * s
            - 12.0 * a["lean_back"] * s
            - 48.0 * a["momentum_swing"] * s * (1.0 - s)
        ),
        "upper_flex_deg": _track(key("upper_flex"), s) + 22.0 * a["rounded_back"],
        "head_flex_deg": _track(key("head_flex"), s),
    }
    # The weaker side lags and stays lower when the rep is asymmetric.
    lagged = np.interp(t - 0.12 * a["asymmetric"], t, s) * (1.0 - 0.1 * a["asymmetric"])
    for side in ("l", "r"):
        s_arm = lagged if side == weak else s
        out[f"shrug_{side}_deg"] = _track(key("shrug"), s_arm) + 15.0 * a["shrug_compensation"] * s
        out[f"arm_f_{side}_deg"] = _track(key("arm_f"), s_arm) + 25.0 * a["elbow_drift"] * s_arm
        out[f"arm_b_{side}_deg"] = _track(key("arm_b"), s_arm) + 20.0 * a["elbow_flare"] * s_arm
        out[f"arm_e_{side}_deg"] = _track(key("arm_e"), s_arm)
        out[f"arm_tw_{side}_deg"] = _track(key("arm_tw"), s_arm)
        out[f"knee_out_{side}"] = _track(key("knee_out"), s, 0.3) - 1.0 * a["knee_valgus"] * s
        out[f"heel_{side}_deg"] = _track(key(f"heel_{side}"), s) + 14.0 * a["heel_lift"] * s
        step = key(f"step_{side}")
        out[f"foot_y_{side}_m"] = h * _track(step, s) * (1.0 - 0.4 * a["short_step"])
        if step is None:
            out[f"foot_z_{side}_m"] = zero
        else:  # the stepping foot clears the floor in an arc
            lift = _track((0.0, 1.0, *step[2:4]) if len(step) == 4 else (0.0, 1.0), s)
            out[f"foot_z_{side}_m"] = 0.03 * h * np.sin(np.pi * lift)
    return out


def _equipment(joints: np.ndarray, equipment: str) -> np.ndarray:
    right, left = joints[:, joint_index("r_hand")], joints[:, joint_index("l_hand")]
    if equipment != "barbell":
        return np.stack([right, left], axis=1)
    centre = 0.5 * (right + left)
    axis = left - right
    norm = np.linalg.norm(axis, axis=1, keepdims=True)
    axis = np.where(norm > 1e-6, axis / np.maximum(norm, 1e-12), np.array([1.0, 0.0, 0.0]))
    return np.stack([centre - BAR_HALF_LENGTH_M * axis, centre + BAR_HALF_LENGTH_M * axis], axis=1)


def _interp_rows(t: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    q = np.clip(query, t[0], t[-1])
    i = np.clip(np.searchsorted(t, q, side="right") - 1, 0, len(t) - 2)
    frac = ((q - t[i]) / (t[i + 1] - t[i])).reshape((-1,) + (1,) * (values.ndim - 1))
    return values[i] * (1.0 - frac) + values[i + 1] * frac
