"""The synthetic motion model: anatomy, direction of movement, timing, errors, activation."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from flexsync.fkg import KINEMATIC_EFFECTS, default_fkg
from flexsync.skeleton import BONES, joint_index
from flexsync.synth.motion import SetMotion, simulate_set
from flexsync.synth.subjects import Subject, make_subjects

FKG = default_fkg()
CLEAN = Subject("S90", "expert", "M", 1.75, 72.0, tempo_factor=1.0, rom_factor=1.0, error_rate=0.0, side_bias=0.3)
NOVICE = Subject("S91", "novice", "F", 1.62, 58.0, tempo_factor=1.1, rom_factor=0.9, error_rate=0.4, side_bias=-0.5)
FEET = [joint_index(n) for n in ("l_ankle", "r_ankle", "l_heel", "r_heel", "l_toe", "r_toe")]


def _j(name: str) -> int:
    return joint_index(name)


def _clean(action_id: str, n_reps: int = 3, seed: int = 5, subject: Subject = CLEAN) -> SetMotion:
    return simulate_set(
        FKG,
        action_id,
        subject,
        n_reps=n_reps,
        rng=np.random.default_rng(seed),
        forced_errors=dict.fromkeys(range(1, n_reps + 1), ()),
    )


def _turn_s(rep) -> float:
    """End of the first movement phase: the bottom of a squat, the top of a curl."""
    first = rep.phases[next(i for i, p in enumerate(rep.phases) if p.phase != "preparation")].phase
    return [p for p in rep.phases if p.phase == first][-1].end_s


def _move_start_s(rep) -> float:
    return next(p.start_s for p in rep.phases if p.phase != "preparation")


def _pose(m: SetMotion, t: float) -> np.ndarray:
    return m.sample(np.array([t]))[0]


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(joints[:, _j(a)] - joints[:, _j(b)], axis=1) for a, b in BONES], axis=1)


def _span(m: SetMotion, rep) -> slice:
    return slice(int(np.searchsorted(m.t_s, rep.start_s)), int(np.searchsorted(m.t_s, rep.end_s)))


def test_shapes_time_axis_and_ranges():
    m = simulate_set(FKG, "A01", NOVICE, n_reps=10, rng=np.random.default_rng(0))
    n = len(m.t_s)
    assert m.t_s[0] == 0.0 and m.rate_hz == 200.0
    np.testing.assert_allclose(np.diff(m.t_s), 1 / 200.0, rtol=0, atol=1e-12)
    assert m.joints_m.shape == (n, 21, 3) and m.activation.shape == (n, 16) and m.effort.shape == (n,)
    assert m.equipment_m.shape == (n, 2, 3)
    for arr in (m.joints_m, m.activation, m.effort, m.equipment_m):
        assert arr.dtype == np.float64 and np.isfinite(arr).all()
    assert m.activation.min() >= 0.0 and m.activation.max() <= 1.0
    assert m.effort.min() >= 0.0 and m.effort.max() < 1.0
    assert m.emg_channels == FKG.action("A01").emg_channels and m.action_id == "A01" and m.subject_id == "S91"
    assert len(m.repetitions) == 10
    assert m.repetitions[0].start_s == 2.5
    assert m.duration_s == pytest.approx(m.repetitions[-1].end_s + 2.5, abs=1 / 200.0)


@pytest.mark.parametrize("action_id", FKG.action_ids)
def test_bones_rigid_feet_on_floor(action_id):
    m = simulate_set(FKG, action_id, NOVICE, n_reps=4, rng=np.random.default_rng(11))
    lengths = _bone_lengths(m.joints_m)
    assert (lengths.max(axis=0) - lengths.min(axis=0)).max() < 1e-6
    rng = np.random.default_rng(0)
    resampled = _bone_lengths(m.sample(rng.uniform(0, m.duration_s, 500)))
    assert np.abs(resampled - lengths[0]).max() < 0.01  # interpolation keeps bones within 1 cm
    assert m.joints_m[:, FEET, 2].min() >= 0.0
    np.testing.assert_allclose(m.joints_m[0, FEET, 2][2:], 0.0, atol=1e-12)  # heels and toes flat at the start
    assert m.joints_m[:, :, 2].max() < 1.3 * NOVICE.height_m


def _squat(m, rep):
    hip_stand = _pose(m, 0.0)[_j("l_hip"), 2]
    return _pose(m, _turn_s(rep))[_j("l_hip"), 2] < hip_stand - 0.25


def _knee_deg(pose: np.ndarray, side: str = "r") -> float:
    a = pose[_j(f"{side}_hip")] - pose[_j(f"{side}_knee")]
    b = pose[_j(f"{side}_ankle")] - pose[_j(f"{side}_knee")]
    return float(np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))))


def _trunk_deg(pose: np.ndarray) -> float:
    """Forward lean of the pelvis-centre -> chest line from vertical."""
    v = pose[_j("chest")] - 0.5 * (pose[_j("l_hip")] + pose[_j("r_hip")])
    return float(np.degrees(np.arctan2(-v[1], v[2])))


def _hinge(m, rep, *, min_knee_deg=140.0):
    start, turn = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    chest_drop = start[_j("chest"), 2] - turn[_j("chest"), 2]
    return (
        _trunk_deg(start) < 10.0
        and _trunk_deg(turn) > 50.0
        and chest_drop > 0.2
        and _knee_deg(turn) > min_knee_deg
        and turn[_j("l_hip"), 1] > start[_j("l_hip"), 1] + 0.1
    )


def _press(m, rep):
    start, top = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    return (
        abs(start[_j("r_wrist"), 2] - start[_j("r_shoulder"), 2]) < 0.25
        and top[_j("r_wrist"), 2] > top[_j("head"), 2] + 0.2
    )


def _curl(m, rep):
    start, top = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    return (
        top[_j("l_wrist"), 2] > start[_j("l_wrist"), 2] + 0.35
        and np.linalg.norm(top[_j("l_elbow")] - start[_j("l_elbow")]) < 0.1
    )


def _row(m, rep):
    return _pose(m, _turn_s(rep))[_j("r_elbow"), 2] > _pose(m, _move_start_s(rep))[_j("r_elbow"), 2] + 0.2


def _raise(m, rep):
    start, top = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    return (
        top[_j("l_wrist"), 0] > start[_j("l_wrist"), 0] + 0.4
        and abs(top[_j("l_wrist"), 2] - top[_j("l_shoulder"), 2]) < 0.1
    )


def _lunge(m, rep):
    start, bottom = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    return (
        bottom[_j("r_toe"), 1] < start[_j("r_toe"), 1] - 0.5
        and bottom[_j("l_heel"), 2] > 0.05
        and bottom[_j("l_hip"), 2] < start[_j("l_hip"), 2] - 0.25
    )


def _shrug(m, rep):
    return _pose(m, _turn_s(rep))[_j("l_shoulder"), 2] > _pose(m, _move_start_s(rep))[_j("l_shoulder"), 2] + 0.05


def _extension(m, rep):
    start, bottom = _pose(m, _move_start_s(rep)), _pose(m, _turn_s(rep))
    return (
        bottom[_j("r_wrist"), 2] < start[_j("r_wrist"), 2] - 0.3
        and abs(bottom[_j("r_elbow"), 2] - start[_j("r_elbow"), 2]) < 0.08
    )


def _fly(m, rep):
    return _pose(m, _turn_s(rep))[_j("l_wrist"), 0] > _pose(m, _move_start_s(rep))[_j("l_wrist"), 0] + 0.4


@pytest.mark.parametrize(
    ("action_id", "check"),
    [
        ("A01", _squat),
        ("A02", _squat),
        ("A11", _squat),
        ("A04", _hinge),
        ("A05", _hinge),
        ("A06", _press),
        ("A13", _press),
        ("A07", _row),
        ("A14", _row),
        ("A08", _curl),
        ("A15", _curl),
        ("A16", _raise),
        ("A18", _lunge),
        ("A10", _shrug),
        ("A19", _extension),
        ("A20", _fly),
    ],
)
def test_family_moves_the_right_joints_the_right_way(action_id, check):
    m = _clean(action_id)
    for rep in m.repetitions:
        assert check(m, rep), f"{action_id} rep {rep.index}"


def test_deadlift_bends_the_knees_more_than_the_romanian():
    dl, rdl = _clean("A03"), _clean("A04")
    for a, b in zip(dl.repetitions, rdl.repetitions, strict=True):
        assert _hinge(dl, a, min_knee_deg=95.0)
        assert _knee_deg(_pose(dl, _turn_s(a))) < _knee_deg(_pose(rdl, _turn_s(b))) - 15.0


def test_reverse_lunge_steps_back_and_front_raise_goes_forward():
    m = _clean("A09")
    for rep in m.repetitions:
        assert _pose(m, _turn_s(rep))[_j("r_toe"), 1] > _pose(m, rep.start_s)[_j("r_toe"), 1] + 0.5
    m = _clean("A17")
    for rep in m.repetitions:
        top = _pose(m, _turn_s(rep))
        assert top[_j("l_wrist"), 1] < top[_j("l_shoulder"), 1] - 0.5  # arm straight out in front


@pytest.mark.parametrize("action_id", ["A01", "A08", "A18"])
def test_repetition_timeline(action_id):
    m = simulate_set(FKG, action_id, NOVICE, n_reps=10, rng=np.random.default_rng(3))
    action = FKG.action(action_id)
    reps = m.repetitions
    assert [r.index for r in reps] == list(range(1, 11))
    for prev, rep in itertools.pairwise(reps):
        assert rep.start_s == prev.end_s  # back-to-back repetitions
    ecc, con = [], []
    for rep in reps:
        assert [p.key_step for p in rep.phases] == [k.id for k in action.key_steps]
        assert [p.phase for p in rep.phases] == [k.phase for k in action.key_steps]
        assert rep.phases[0].start_s == rep.start_s and rep.phases[-1].end_s == rep.end_s
        for a, b in zip(rep.phases, rep.phases[1:], strict=False):
            assert a.end_s == b.start_s and a.end_s > a.start_s
        prep = sum(p.end_s - p.start_s for p in rep.phases if p.phase == "preparation")
        assert 0.3 <= prep <= 0.8
        ecc.append(sum(p.end_s - p.start_s for p in rep.phases if p.phase == "eccentric"))
        con.append(sum(p.end_s - p.start_s for p in rep.phases if p.phase == "concentric"))
    assert reps[0].start_s > 0.0 and reps[-1].end_s < m.duration_s
    assert np.mean(con) < np.mean(ecc)


def test_tempo_and_fatigue():
    slow = Subject("S92", "expert", "M", 1.75, 72.0, tempo_factor=1.2, rom_factor=1.0, error_rate=0.0)
    m_fast, m_slow = _clean("A08", n_reps=10), _clean("A08", n_reps=10, subject=slow)
    move = [r.end_s - _move_start_s(r) for r in m_fast.repetitions]
    move_slow = [r.end_s - _move_start_s(r) for r in m_slow.repetitions]
    np.testing.assert_allclose(np.array(move_slow) / np.array(move), 1.2, rtol=1e-9)  # same rng draws
    ecc = [sum(p.end_s - p.start_s for p in r.phases if p.phase == "eccentric") for r in m_fast.repetitions]
    con = [sum(p.end_s - p.start_s for p in r.phases if p.phase == "concentric") for r in m_fast.repetitions]
    assert np.mean(con) == pytest.approx(np.mean(ecc) * 1.0 / 1.7, rel=0.15)  # curl base tempo 1.0 s vs 1.7 s
    assert np.mean(move[-3:]) > 1.1 * np.mean(move[:3])  # later reps slower


def test_errors_are_recorded_with_their_key_step():
    m = simulate_set(
        FKG,
        "A01",
        NOVICE,
        n_reps=3,
        rng=np.random.default_rng(1),
        forced_errors={1: ["A01_E5", "A01_E4", "A01_E4"], 2: []},
    )
    assert m.repetitions[0].errors == (("A01_E4", "A01_K3"), ("A01_E5", "A01_K3"))
    assert m.repetitions[1].errors == ()
    assert m.repetitions[0].error_ids == ("A01_E4", "A01_E5")


def _with(action_id: str, error_id: str | None, n_reps: int = 3) -> SetMotion:
    forced = {i: () for i in range(1, n_reps + 1)}
    if error_id:
        forced[2] = (error_id,)
    return simulate_set(FKG, action_id, CLEAN, n_reps=n_reps, rng=np.random.default_rng(9), forced_errors=forced)


def test_shallow_depth_raises_the_bottom():
    m = _with("A01", "A01_E5")
    hip = m.joints_m[:, _j("l_hip"), 2]
    lows = [hip[_span(m, r)].min() for r in m.repetitions]
    assert lows[1] > lows[0] + 0.15 and lows[1] > lows[2] + 0.15  # 40 % of a 0.44 m drop
    assert abs(lows[0] - lows[2]) < 0.03


def test_knee_valgus_brings_the_knees_together():
    m = _with("A01", "A01_E4")
    sep = [np.abs(np.diff(_pose(m, _turn_s(r))[[_j("l_knee"), _j("r_knee")], 0])) for r in m.repetitions]
    ankles = [np.abs(np.diff(_pose(m, _turn_s(r))[[_j("l_ankle"), _j("r_ankle")], 0])) for r in m.repetitions]
    assert sep[1] < sep[0] - 0.08 and sep[1] < sep[2] - 0.08
    np.testing.assert_allclose(ankles[1], ankles[0], atol=0.01)


def _metric_at_turn(name, axis):
    return lambda m, rep: _pose(m, _turn_s(rep))[_j(name), axis]


@pytest.mark.parametrize(
    ("action_id", "error_id", "metric", "min_change"),
    [
        ("A01", "A01_E6", _metric_at_turn("chest", 1), -0.03),  # trunk lean: chest further forward (-Y)
        ("A01", "A01_E3", _metric_at_turn("l_heel", 2), 0.02),  # heel lift
        ("A03", "A03_E2", _metric_at_turn("neck", 2), -0.03),  # rounded back: the neck drops
        ("A03", "A03_E3", _metric_at_turn("l_hip", 2), -0.05),  # knees bend too much: the hips drop
        ("A06", "A06_E3", lambda m, r: _pose(m, _turn_s(r) - 0.4)[_j("l_elbow"), 0], 0.03),  # elbow flare (+X)
        ("A08", "A08_E3", _metric_at_turn("l_elbow", 1), -0.05),  # elbow drift forward
        ("A08", "A08_E5", _metric_at_turn("head", 1), 0.03),  # lean back: head goes back (+Y)
        ("A16", "A16_E2", _metric_at_turn("l_shoulder", 2), 0.02),  # shrug
        ("A18", "A18_E2", _metric_at_turn("r_toe", 1), 0.15),  # short step: toe less far forward
        ("A07", "A07_E1", lambda m, r: _pose(m, _move_start_s(r))[_j("neck"), 2], -0.03),  # rounded back
    ],
)
def test_errors_move_joints_in_the_expected_direction(action_id, error_id, metric, min_change):
    clean, bad = _with(action_id, None), _with(action_id, error_id)
    change = metric(bad, bad.repetitions[1]) - metric(clean, clean.repetitions[1])
    assert change * np.sign(min_change) > abs(min_change), f"{error_id}: change {change:+.3f}"


def test_asymmetry_lowers_the_weak_side():
    m = _with("A06", "A06_E4")  # uneven press; CLEAN has side_bias > 0: left is weaker
    rep = m.repetitions[1]
    mid = 0.5 * (_move_start_s(rep) + _turn_s(rep))
    pose = _pose(m, mid)
    assert pose[_j("r_wrist"), 2] > pose[_j("l_wrist"), 2] + 0.05
    sl = _span(m, rep)
    assert m.activation[sl, 0].mean() < 0.9 * m.activation[sl, 1].mean()  # main muscle L vs R


def test_hip_shift_moves_the_pelvis_sideways():
    clean, bad = _with("A01", None), _with("A01", "A01_E7")
    shift = (
        _pose(bad, _turn_s(bad.repetitions[1]))[_j("l_hip"), 0]
        - _pose(clean, _turn_s(clean.repetitions[1]))[_j("l_hip"), 0]
    )
    assert abs(shift) > 0.04


def test_timing_errors_change_phase_durations():
    clean, fast = _with("A01", None), _with("A01", "A01_E2")  # dropping into the squat

    def ecc(m):
        return sum(p.end_s - p.start_s for p in m.repetitions[1].phases if p.phase == "eccentric")

    assert ecc(fast) < 0.65 * ecc(clean)
    clean, swing = _with("A08", None), _with("A08", "A08_E2")  # swinging the curl

    def con(m):
        return sum(p.end_s - p.start_s for p in m.repetitions[1].phases if p.phase == "concentric")

    assert con(swing) < 0.8 * con(clean)


def test_incomplete_lockout_stops_short_of_standing():
    m = _with("A03", "A03_E6")
    hip = m.joints_m[:, _j("l_hip"), 2]
    stand = hip[0]
    ends = [hip[min(int(np.searchsorted(m.t_s, r.end_s)), len(hip) - 1)] for r in m.repetitions]
    assert ends[1] < stand - 0.005 and abs(ends[0] - stand) < 0.005


@pytest.mark.parametrize(
    ("action_id", "error_id", "effect"),
    [(a.id, e.id, e.kinematic_effect) for a in FKG.actions for e in a.errors],
)
def test_every_error_changes_kinematics_and_only_its_rep(action_id, error_id, effect):
    clean, bad = _with(action_id, None), _with(action_id, error_id)
    assert bad.repetitions[1].error_ids == (error_id,)
    if effect == "breath_hold":  # declared for the physiology generator; no kinematic change
        np.testing.assert_array_equal(bad.joints_m, clean.joints_m)
        return
    before = int(np.searchsorted(clean.t_s, clean.repetitions[1].start_s - 0.2))
    np.testing.assert_array_equal(bad.joints_m[:before], clean.joints_m[:before])
    n = min(len(clean.t_s), len(bad.t_s))
    rep = _span(clean, clean.repetitions[1])
    moved = np.abs(bad.joints_m[:n] - clean.joints_m[:n])[rep].max()
    assert moved > 0.02, f"{error_id} ({effect}) moved joints by only {moved:.4f} m"


def test_declared_effects_are_all_used_by_the_default_fkg():
    used = {e.kinematic_effect for a in FKG.actions for e in a.errors}
    assert used == set(KINEMATIC_EFFECTS)


def test_experts_make_fewer_errors_than_novices():
    subjects = make_subjects(38, np.random.default_rng(0))
    expert = next(s for s in subjects if s.skill == "expert")
    novice = next(s for s in subjects if s.skill == "novice")
    rng = np.random.default_rng(4)
    counts = {}
    for s in (expert, novice):
        reps = [r for _ in range(6) for r in simulate_set(FKG, "A01", s, n_reps=10, rng=rng).repetitions]
        counts[s.skill] = sum(len(r.errors) for r in reps)
        # Each of the 7 error types is drawn per rep with p = error_rate * (1 + 0.03 (i - 1)).
        p = np.array([min(0.95, s.error_rate * (1 + 0.03 * (r.index - 1))) for r in reps])
        expected, sd = 7 * p.sum(), np.sqrt(7 * np.sum(p * (1 - p)))
        assert abs(counts[s.skill] - expected) < 4 * sd, (s.skill, counts[s.skill], expected)
    assert counts["expert"] < counts["novice"] / 3


def test_deterministic_from_the_rng():
    a = simulate_set(FKG, "A18", NOVICE, n_reps=5, rng=np.random.default_rng(21))
    b = simulate_set(FKG, "A18", NOVICE, n_reps=5, rng=np.random.default_rng(21))
    c = simulate_set(FKG, "A18", NOVICE, n_reps=5, rng=np.random.default_rng(22))
    for name in ("t_s", "joints_m", "activation", "effort", "equipment_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.repetitions == b.repetitions
    assert a.repetitions != c.repetitions


def test_sample_interpolates_linearly_and_holds_outside():
    m = _clean("A08", n_reps=2)
    idx = np.arange(0, len(m.t_s), 37)
    np.testing.assert_allclose(m.sample(m.t_s[idx]), m.joints_m[idx], atol=1e-12)
    mid = 0.5 * (m.t_s[100] + m.t_s[101])
    np.testing.assert_allclose(m.sample(np.array([mid]))[0], 0.5 * (m.joints_m[100] + m.joints_m[101]), atol=1e-12)
    np.testing.assert_allclose(m.sample(np.array([-1.0, m.duration_s + 5.0])), m.joints_m[[0, -1]], atol=0)


def test_equipment_follows_the_hands():
    bar = _clean("A08", n_reps=2)
    ends = bar.equipment_m
    np.testing.assert_allclose(np.linalg.norm(ends[:, 1] - ends[:, 0], axis=1), 2.2, atol=1e-9)
    hands = bar.joints_m[:, [_j("r_hand"), _j("l_hand")]]
    np.testing.assert_allclose(ends.mean(axis=1), hands.mean(axis=1), atol=1e-9)
    assert (ends[:, 1, 0] > ends[:, 0, 0]).all()  # left end on +X
    bells = _clean("A16", n_reps=2)
    np.testing.assert_array_equal(bells.equipment_m, bells.joints_m[:, [_j("r_hand"), _j("l_hand")]])


def test_activation_bursts_by_phase_and_muscle():
    m = _clean("A01", n_reps=5)
    code = np.zeros(len(m.t_s), dtype=int)
    for rep in m.repetitions:
        for p in rep.phases:
            # skip 60 ms after each boundary: activation is smoothed
            sl = slice(int(np.searchsorted(m.t_s, p.start_s + 0.06)), int(np.searchsorted(m.t_s, p.end_s)))
            code[sl] = {"preparation": 1, "eccentric": 2, "concentric": 3}[p.phase]
    rest = m.t_s < 2.0
    main = m.activation[:, 0]
    assert main[code == 3].mean() > 1.3 * main[code == 2].mean() > 2.0 * main[rest].mean()
    assert m.activation[code == 3, 0].mean() > 3.0 * m.activation[code == 3, 14].mean()
    assert np.abs(np.diff(m.activation, axis=0)).max() < 0.05  # smooth: no jumps between 5 ms samples
    ends = [m.effort[int(np.searchsorted(m.t_s, r.end_s)) - 1] for r in m.repetitions]
    assert all(b > a for a, b in itertools.pairwise(ends))
    assert m.effort[0] < 0.01 and ends[-1] > 0.3


def test_ten_rep_set_is_fast():
    simulate_set(FKG, "A01", NOVICE, n_reps=2, rng=np.random.default_rng(0))  # warm-up
    start = time.perf_counter()
    m = simulate_set(FKG, "A18", NOVICE, n_reps=10, rng=np.random.default_rng(0))
    elapsed = time.perf_counter() - start
    assert m.duration_s > 30.0
    assert elapsed < 1.0


def test_invalid_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_reps must be >= 1"):
        simulate_set(FKG, "A01", CLEAN, n_reps=0, rng=rng)
    with pytest.raises(ValueError, match="rate_hz must be > 0"):
        simulate_set(FKG, "A01", CLEAN, n_reps=1, rng=rng, rate_hz=0.0)
    with pytest.raises(ValueError, match=r"forced_errors: repetition 4 is outside 1\.\.3"):
        simulate_set(FKG, "A01", CLEAN, n_reps=3, rng=rng, forced_errors={4: []})
    with pytest.raises(KeyError, match=r"forced_errors: action A01 has no error type.*A02_E1"):
        simulate_set(FKG, "A01", CLEAN, n_reps=3, rng=rng, forced_errors={1: ["A02_E1"]})
    with pytest.raises(KeyError, match="unknown action 'A42'"):
        simulate_set(FKG, "A42", CLEAN, n_reps=3, rng=rng)
