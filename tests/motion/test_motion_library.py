"""MotionLib: interpolation, wrap/clamp, velocities and clip sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.motion.library import LOOP_CLAMP, LOOP_WRAP, MotionLib
from mjmimic.motion.motion import Motion
from mjmimic.paths import ASSETS_DIR
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_diff_angle, quat_from_axis_angle, quat_mul, quat_slerp

FPS = 60.0
YAW_RATE = 1.3  # rad/s
PITCH = 0.4  # constant tilt, so a body-frame angular velocity would not be (0, 0, w)


@pytest.fixture(scope="module")
def g1(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")


def _rot(t: np.ndarray) -> np.ndarray:
    """yaw(YAW_RATE t) * pitch(PITCH): world angular velocity (0, 0, YAW_RATE)."""
    tt = torch.as_tensor(t, dtype=torch.float64)
    z = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(len(t), 3)
    y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(len(t), 3)
    yaw = quat_from_axis_angle(z, YAW_RATE * tt)
    pitch = quat_from_axis_angle(y, torch.full_like(tt, PITCH))
    return quat_mul(yaw, pitch).numpy()


def _analytic(robot: RobotModel, t: np.ndarray) -> dict[str, np.ndarray]:
    """Root x = sin t, hinge 0 = 0.5 sin 2t, hinge 1 = 0.2 t, yaw at a constant rate."""
    n = len(t)
    pos = np.stack([np.sin(t), 0.1 * t, 0.8 + 0.05 * np.cos(t)], axis=1)
    vel = np.stack([np.cos(t), np.full(n, 0.1), -0.05 * np.sin(t)], axis=1)
    dof = np.zeros((n, robot.num_dofs))
    dof_vel = np.zeros_like(dof)
    dof[:, 0], dof_vel[:, 0] = 0.5 * np.sin(2 * t), np.cos(2 * t)
    dof[:, 1], dof_vel[:, 1] = 0.2 * t, 0.2
    return {"pos": pos, "vel": vel, "rot": _rot(t), "dof": dof, "dof_vel": dof_vel}


def _analytic_clip(robot, loop_mode="clamp", seconds=3.0, name="analytic") -> Motion:
    t = np.arange(round(seconds * FPS) + 1) / FPS
    a = _analytic(robot, t)
    return Motion(FPS, loop_mode, a["pos"], a["rot"], a["dof"], list(robot.dof_names), name)


def _random_clip(robot, loop_mode, frames=40, fps=30.0, seed=0) -> Motion:
    rng = np.random.default_rng(seed)
    rot = rng.normal(size=(frames, 4)) * 0.1 + np.array([1.0, 0, 0, 0])
    dof = np.cumsum(rng.normal(scale=0.05, size=(frames, robot.num_dofs)), axis=0)
    pos = np.cumsum(rng.normal(scale=0.03, size=(frames, 3)), axis=0) + np.array([0, 0, 0.8])
    return Motion(
        fps,
        loop_mode,
        pos,
        rot / np.linalg.norm(rot, axis=1, keepdims=True),
        dof,
        None,
        f"random{seed}",
    )


def _query(lib: MotionLib, clip: int, times) -> object:
    times = torch.as_tensor(np.asarray(times, dtype=np.float64))
    return lib.get_state(torch.full(times.shape, clip, dtype=torch.long), times)


def test_frame_times_return_the_frames(g1):
    clips = [_random_clip(g1, "clamp", seed=1), _random_clip(g1, "wrap", frames=25, seed=2)]
    lib = MotionLib(clips, None, g1, dtype=torch.float64)
    for c, m in enumerate(clips):
        s = _query(lib, c, np.arange(m.num_frames) / m.fps)
        last = m.num_frames if m.loop_mode == "clamp" else m.num_frames - 1
        np.testing.assert_allclose(s.root_pos[:last].numpy(), m.root_pos[:last], atol=1e-12)
        np.testing.assert_allclose(s.dof_pos[:last].numpy(), m.dof_pos[:last], atol=1e-12)
        assert quat_diff_angle(s.root_rot, torch.tensor(m.root_rot))[:last].max() < 1e-7
    # A WRAP clip's end time is the start of its next cycle: frame 0, moved by the xy delta.
    m = clips[1]
    delta = np.array([*(m.root_pos[-1, :2] - m.root_pos[0, :2]), 0.0])
    np.testing.assert_allclose(s.root_pos[-1].numpy(), m.root_pos[0] + delta, atol=1e-12)
    np.testing.assert_allclose(s.dof_pos[-1].numpy(), m.dof_pos[0], atol=1e-12)


def test_halfway_values(g1):
    m = _random_clip(g1, "clamp", seed=3)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    s = _query(lib, 0, (np.arange(m.num_frames - 1) + 0.5) / m.fps)
    np.testing.assert_allclose(s.root_pos.numpy(), 0.5 * (m.root_pos[1:] + m.root_pos[:-1]))
    np.testing.assert_allclose(s.dof_pos.numpy(), 0.5 * (m.dof_pos[1:] + m.dof_pos[:-1]))
    q0, q1 = torch.tensor(m.root_rot[:-1]), torch.tensor(m.root_rot[1:])
    halfway = quat_slerp(q0, q1, torch.tensor(0.5, dtype=torch.float64))
    assert quat_diff_angle(s.root_rot, halfway).max() < 1e-7
    # Slerp, not a normalized lerp: equidistant from both frames.
    torch.testing.assert_close(quat_diff_angle(s.root_rot, q0), quat_diff_angle(s.root_rot, q1))


def test_wrap_offset_after_cycles(g1):
    m = _random_clip(g1, "wrap", seed=4)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    delta = m.root_pos[-1] - m.root_pos[0]
    delta[2] = 0.0
    assert np.linalg.norm(delta[:2]) > 0.05
    dur = m.duration
    s = _query(lib, 0, [0.5 * dur, 2.5 * dur, -0.5 * dur])
    p = s.root_pos.numpy()
    np.testing.assert_allclose(p[1], p[0] + 2 * delta, atol=1e-9)
    np.testing.assert_allclose(p[2], p[0] - delta, atol=1e-9)
    torch.testing.assert_close(s.dof_pos[1], s.dof_pos[0])
    torch.testing.assert_close(s.dof_pos[2], s.dof_pos[0])
    torch.testing.assert_close(s.root_rot[1], s.root_rot[0])


def test_clamp_holds_the_ends(g1):
    m = _random_clip(g1, "clamp", seed=5)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    s = _query(lib, 0, [m.duration, m.duration + 0.7, 10 * m.duration, -1.0])
    for k in range(3):
        np.testing.assert_allclose(s.root_pos[k].numpy(), m.root_pos[-1], atol=1e-12)
        np.testing.assert_allclose(s.dof_pos[k].numpy(), m.dof_pos[-1], atol=1e-12)
    np.testing.assert_allclose(s.root_pos[3].numpy(), m.root_pos[0], atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_velocities_match_the_analytic_derivative(g1, dtype):
    lib = MotionLib([_analytic_clip(g1)], None, g1, dtype=dtype)
    gen = torch.Generator().manual_seed(0)
    ids = torch.zeros(2000, dtype=torch.long)
    times = lib.sample_times(ids, generator=gen)
    s = lib.get_state(ids, times)
    a = _analytic(g1, times.double().numpy())
    # 2% of each signal's amplitude (relative error is meaningless at zero crossings).
    np.testing.assert_allclose(s.root_lin_vel.double().numpy(), a["vel"], atol=0.02 * 1.0)
    np.testing.assert_allclose(s.dof_vel[:, :2].double().numpy(), a["dof_vel"][:, :2], atol=0.02)
    expected_w = np.tile([0.0, 0.0, YAW_RATE], (len(times), 1))
    np.testing.assert_allclose(s.root_ang_vel.double().numpy(), expected_w, atol=0.02 * YAW_RATE)
    # Positions too (float32 round-off in the stored frames is ~1e-7).
    np.testing.assert_allclose(s.root_pos.double().numpy(), a["pos"], atol=1e-3)
    assert quat_diff_angle(s.root_rot.double(), torch.tensor(a["rot"])).max() < 1e-3


def test_velocity_at_wrap_is_continuous(g1):
    m = _random_clip(g1, "wrap", seed=6)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    s = _query(lib, 0, [0.0, m.duration - 1e-9, m.duration])
    for key in ("root_lin_vel", "root_ang_vel", "dof_vel"):
        v = getattr(s, key)
        torch.testing.assert_close(v[0], v[1], atol=1e-6, rtol=0)
        torch.testing.assert_close(v[0], v[2])


@pytest.mark.parametrize("loop_mode", ["clamp", "wrap"])
def test_integrated_velocity_matches_displacement(g1, loop_mode):
    m = _random_clip(g1, loop_mode, frames=50, seed=7)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    sub = 16  # samples per frame interval; the velocity is piecewise linear, so trapezoid is exact
    t = np.linspace(0.0, m.duration, (m.num_frames - 1) * sub + 1)
    s = _query(lib, 0, t)
    dt = t[1] - t[0]

    def integral(v: torch.Tensor) -> np.ndarray:
        v = v.numpy()
        return dt * (v.sum(0) - 0.5 * (v[0] + v[-1]))

    np.testing.assert_allclose(integral(s.root_lin_vel), m.root_pos[-1] - m.root_pos[0], atol=1e-9)
    np.testing.assert_allclose(integral(s.dof_vel), m.dof_pos[-1] - m.dof_pos[0], atol=1e-9)


def test_velocity_is_not_the_forward_difference(g1):
    """Central differences, lerped: at a frame time the velocity is centred on the frame."""
    m = _random_clip(g1, "clamp", seed=8)
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    i = 10
    s = _query(lib, 0, [i / m.fps])
    central = (m.root_pos[i + 1] - m.root_pos[i - 1]) * m.fps / 2
    np.testing.assert_allclose(s.root_lin_vel[0].numpy(), central, atol=1e-9)


def test_unwrapped_hinge_interpolates_the_short_way(g1):
    yaw = g1.dof_names.index("waist_yaw_joint")
    m = _random_clip(g1, "clamp", frames=4, seed=9)
    m.dof_pos[:, yaw] = [3.0, 3.1, -3.1, -3.0]  # crosses +-pi; steps 0.1, 0.083, 0.1
    lib = MotionLib([m], None, g1, dtype=torch.float64)
    s = _query(lib, 0, [1.5 / m.fps])
    angle = float(s.dof_pos[0, yaw])
    assert math.cos(angle) == pytest.approx(-1.0, abs=1e-6)  # halfway is pi, not 0
    # Frames 1 and 2 both have the central difference (0.1 + 0.083) / 2 per frame.
    step = 2 * math.pi - 6.2
    assert float(s.dof_vel[0, yaw]) == pytest.approx((0.1 + step) / 2 * m.fps, rel=1e-6)


def test_weighted_clip_sampling(g1):
    clips = [_random_clip(g1, "wrap", seed=k) for k in range(3)]
    lib = MotionLib(clips, [1.0, 3.0, 0.0], g1)
    ids = lib.sample_clips(200_000, generator=torch.Generator().manual_seed(1))
    assert ids.dtype == torch.long
    freq = torch.bincount(ids, minlength=3).double() / len(ids)
    np.testing.assert_allclose(freq.numpy(), [0.25, 0.75, 0.0], atol=0.005)
    torch.testing.assert_close(lib.weights, torch.tensor([0.25, 0.75, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("weights", [[1.0, -1.0], [0.0, 0.0], [1.0], [1.0, float("nan")]])
def test_bad_weights(g1, weights):
    clips = [_random_clip(g1, "wrap", seed=k) for k in range(2)]
    with pytest.raises(MotionError, match=r"motion library: "):
        MotionLib(clips, weights, g1)


def test_sample_times_and_clip_info(g1):
    clips = [_random_clip(g1, "wrap", frames=31, fps=30.0), _random_clip(g1, "clamp", frames=61)]
    lib = MotionLib(clips, None, g1)
    assert lib.num_clips == 2
    ids = torch.tensor([0, 1, 1, 0])
    torch.testing.assert_close(lib.clip_duration(ids), torch.tensor([1.0, 2.0, 2.0, 1.0]))
    assert lib.clip_loop_mode(ids).tolist() == [LOOP_WRAP, LOOP_CLAMP, LOOP_CLAMP, LOOP_WRAP]
    many = ids.repeat(5000)
    t = lib.sample_times(many, truncate_end=0.5)
    dur = lib.clip_duration(many)
    assert (t >= 0).all() and (t <= dur - 0.5 + 1e-6).all()
    assert (t[many == 1] > 1.4).any()  # spans the range, not just [0, 1]
    assert (lib.sample_times(ids, truncate_end=5.0) == 0).all()


def test_clip_must_fit_the_robot(g1):
    m = _random_clip(g1, "wrap")
    short = Motion(m.fps, "wrap", m.root_pos, m.root_rot, m.dof_pos[:, :23], None, "short")
    with pytest.raises(MotionError, match=r"short: motion has 23 DoFs but robot g1.xml has 29"):
        MotionLib([short], None, g1)
    with pytest.raises(MotionError, match=r"no motion clips"):
        MotionLib([], None, g1)


def test_reference_body_tables_match_fk_of_the_interpolated_pose():
    """With kinematics, get_state's body positions and joint rotations equal FK of the
    interpolated pose at frame times and stay within a few mm/mrad between frames."""

    robot = RobotModel.from_file(ASSETS_DIR / "robots/humanoid/humanoid.xml")
    kin = Kinematics(robot)
    motion = read_motion(ASSETS_DIR / "motions/humanoid_step.npz", robot)
    lib = MotionLib([motion], None, robot, kinematics=kin)
    times = torch.linspace(0.0, 2.5 * motion.duration, 97)
    clips = torch.zeros_like(times, dtype=torch.long)
    state = lib.get_state(clips, times)
    pos, _ = kin.forward_kinematics(state.root_pos, state.root_rot, state.dof_pos)
    assert (state.body_pos - pos).norm(dim=-1).max() < 5e-3
    assert quat_diff_angle(state.joint_rot, kin.joint_rotations(state.dof_pos)).max() < 5e-3
    at_frames = lib.get_state(clips[:5], torch.arange(5) / motion.fps)
    pos, _ = kin.forward_kinematics(at_frames.root_pos, at_frames.root_rot, at_frames.dof_pos)
    assert torch.allclose(at_frames.body_pos, pos, atol=1e-5)
