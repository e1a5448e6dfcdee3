"""DeepMimic reward: maximum at a perfect match, each term driven by its own error only,
heading-frame invariance without root tracking, joint weights."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.joint_weights import dof_weights, resolve_joint_weights
from mjmimic.envs.deepmimic.rewards import (
    RewardSettings,
    compute_deepmimic_reward,
    max_reward,
)
from mjmimic.rotations import (
    heading_quat_inverse,
    quat_diff_angle,
    quat_from_axis_angle,
    quat_mul,
    quat_rotate,
)

TERMS = ("pose", "vel", "root_pose", "root_vel", "key_pos")
MODES = {
    "track_root": RewardSettings(track_root=True, track_root_height=True),
    "heading_frame": RewardSettings(track_root=False, track_root_height=True),
}


def axis_quat(axis, angle, shape) -> torch.Tensor:
    return quat_from_axis_angle(
        torch.tensor(axis, dtype=torch.float32).expand(*shape, 3), torch.full(shape, float(angle))
    )


def copy(state: CharState, **changes) -> CharState:
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    fields.update(changes)
    return CharState(**fields)


def rotate_world(state: CharState, angle: float, shift=(0.0, 0.0)) -> CharState:
    """Turn the whole character by ``angle`` about the world z axis, then shift it in x, y."""
    n = state.root_pos.shape[0]
    q = axis_quat((0, 0, 1), angle, (n,))
    d = torch.tensor([shift[0], shift[1], 0.0])
    qk = q.unsqueeze(1).expand(n, state.key_pos.shape[1], 4)
    return copy(
        state,
        root_pos=quat_rotate(q, state.root_pos) + d,
        root_rot=quat_mul(q, state.root_rot),
        root_vel=quat_rotate(q, state.root_vel),
        root_ang_vel=quat_rotate(q, state.root_ang_vel),
        key_pos=quat_rotate(qk, state.key_pos) + d,
    )


@pytest.fixture
def upright_pair(make_state):
    """sim == ref, with a yaw-only root so a pitch keeps the heading."""
    state = make_state(n=5, seed=3)
    yaw = torch.linspace(-3.0, 3.0, 5)
    state.root_rot = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]).expand(5, 3), yaw)
    return state


@pytest.mark.parametrize("mode", MODES)
def test_perfect_match_earns_the_sum_of_weights(make_state, humanoid, mode):
    cfg = MODES[mode]
    state = make_state(n=6)
    jw = torch.rand(humanoid.num_bodies - 1)
    reward, terms = compute_deepmimic_reward(state, state, jw, dof_weights(humanoid, jw), cfg)
    assert max_reward(cfg) == pytest.approx(1.0)
    torch.testing.assert_close(reward, torch.ones(6), atol=1e-5, rtol=0)
    for name in TERMS:
        torch.testing.assert_close(terms[name], torch.ones(6), atol=1e-5, rtol=0)
    # Without key bodies the key term is left out.
    no_keys = copy(state, key_pos=state.key_pos[:, :0])
    reward, terms = compute_deepmimic_reward(no_keys, no_keys, jw, dof_weights(humanoid, jw), cfg)
    assert "key_pos" not in terms
    assert max_reward(cfg, has_key_bodies=False) == pytest.approx(0.85)
    torch.testing.assert_close(reward, torch.full((6,), 0.85), atol=1e-5, rtol=0)


def _perturbations(humanoid):
    """name -> (perturb(state, a) -> state, the term it must lower)."""
    knee = humanoid.joint_by_name("right_knee")
    n = 5

    def pose(s, a):
        jr = s.joint_rot.clone()
        jr[:, knee.body - 1] = quat_mul(axis_quat((0, 1, 0), a, (n,)), jr[:, knee.body - 1])
        return copy(s, joint_rot=jr)

    def vel(s, a):
        dv = s.dof_vel.clone()
        dv[:, knee.dof_start] += 5 * a
        return copy(s, dof_vel=dv)

    def height(s, a):
        d = torch.tensor([0.0, 0.0, a])
        return copy(s, root_pos=s.root_pos + d, key_pos=s.key_pos + d)

    def root_rot(s, a):  # pitch in the body frame: heading unchanged
        return copy(s, root_rot=quat_mul(s.root_rot, axis_quat((0, 1, 0), a, (n,))))

    def root_vel(s, a):
        return copy(s, root_vel=s.root_vel + torch.tensor([a, -a, 0.5 * a]))

    def root_ang_vel(s, a):
        return copy(s, root_ang_vel=s.root_ang_vel + torch.tensor([0.0, 3 * a, a]))

    def key_pos(s, a):
        kp = s.key_pos.clone()
        kp[:, 1] += torch.tensor([0.5 * a, 0.0, a])
        return copy(s, key_pos=kp)

    return {
        "pose": (pose, "pose"),
        "vel": (vel, "vel"),
        "root_height": (height, "root_pose"),
        "root_rot": (root_rot, "root_pose"),
        "root_vel": (root_vel, "root_vel"),
        "root_ang_vel": (root_ang_vel, "root_vel"),
        "key_pos": (key_pos, "key_pos"),
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "error", ["pose", "vel", "root_height", "root_rot", "root_vel", "root_ang_vel", "key_pos"]
)
def test_each_error_lowers_its_own_term_only(humanoid, upright_pair, mode, error):
    cfg = MODES[mode]
    perturb, term = _perturbations(humanoid)[error]
    jw = torch.ones(humanoid.num_bodies - 1)
    dw = dof_weights(humanoid, jw)
    ref = upright_pair
    rewards, values = [], []
    for a in (0.0, 0.05, 0.1, 0.2, 0.4):
        reward, terms = compute_deepmimic_reward(perturb(ref, a), ref, jw, dw, cfg)
        rewards.append(reward)
        values.append(terms[term])
        for other in TERMS:
            if other != term:
                torch.testing.assert_close(terms[other], torch.ones(5), atol=1e-5, rtol=0)
    for lower, higher in zip(rewards[1:], rewards[:-1], strict=True):
        assert (lower < higher).all()
    for lower, higher in zip(values[1:], values[:-1], strict=True):
        assert (lower < higher).all()


def test_root_xy_counts_only_when_tracking_the_root(humanoid, upright_pair):
    jw = torch.ones(humanoid.num_bodies - 1)
    dw = dof_weights(humanoid, jw)
    d = torch.tensor([0.3, -0.2, 0.0])
    moved = copy(upright_pair, root_pos=upright_pair.root_pos + d, key_pos=upright_pair.key_pos + d)
    r_track, _ = compute_deepmimic_reward(moved, upright_pair, jw, dw, MODES["track_root"])
    r_head, _ = compute_deepmimic_reward(moved, upright_pair, jw, dw, MODES["heading_frame"])
    assert (r_track < 0.99).all()
    torch.testing.assert_close(r_head, torch.ones(5), atol=1e-5, rtol=0)
    # Root height off: z does not count either.
    lifted = copy(
        upright_pair, root_pos=upright_pair.root_pos + 0.2, key_pos=upright_pair.key_pos + 0.2
    )
    cfg = RewardSettings(track_root=False, track_root_height=False)
    r, _ = compute_deepmimic_reward(lifted, upright_pair, jw, dw, cfg)
    torch.testing.assert_close(r, torch.ones(5), atol=1e-5, rtol=0)


def test_heading_frame_reward_ignores_yaw_and_planar_position(humanoid, make_state):
    sim, ref = make_state(n=6, seed=1), make_state(n=6, seed=2)
    jw = torch.rand(humanoid.num_bodies - 1, generator=torch.Generator().manual_seed(0))
    dw = dof_weights(humanoid, jw)
    cfg = MODES["heading_frame"]
    base, _ = compute_deepmimic_reward(sim, ref, jw, dw, cfg)
    assert (base < 0.9).all()  # a real mismatch, so the check below means something
    for angle in (0.5, -2.0, math.pi):
        both, _ = compute_deepmimic_reward(
            rotate_world(sim, angle), rotate_world(ref, angle), jw, dw, cfg
        )
        torch.testing.assert_close(both, base, atol=1e-5, rtol=0)
        sim_only, _ = compute_deepmimic_reward(
            rotate_world(sim, angle, (2.0, -1.0)), ref, jw, dw, cfg
        )
        torch.testing.assert_close(sim_only, base, atol=1e-5, rtol=0)
    # Tracking the root: turning both is still free, turning only the sim is not.
    cfg = MODES["track_root"]
    base, _ = compute_deepmimic_reward(sim, ref, jw, dw, cfg)
    both, _ = compute_deepmimic_reward(rotate_world(sim, 0.5), rotate_world(ref, 0.5), jw, dw, cfg)
    torch.testing.assert_close(both, base, atol=1e-5, rtol=0)
    sim_only, _ = compute_deepmimic_reward(rotate_world(sim, 0.5), ref, jw, dw, cfg)
    assert not torch.allclose(sim_only, base, atol=1e-3)


def test_zero_weight_removes_a_joint(humanoid, upright_pair):
    jw = resolve_joint_weights(humanoid, {"right_knee": 0.0}, "env.joint_err_w")
    dw = dof_weights(humanoid, jw)
    perturb = _perturbations(humanoid)
    ref = upright_pair
    for error, term in (("pose", "pose"), ("vel", "vel")):
        _, terms = compute_deepmimic_reward(
            perturb[error][0](ref, 0.4), ref, jw, dw, MODES["track_root"]
        )
        torch.testing.assert_close(terms[term], torch.ones(5), atol=1e-6, rtol=0)
    # Another joint still counts.
    elbow = humanoid.joint_by_name("left_elbow")
    jr = ref.joint_rot.clone()
    jr[:, elbow.body - 1] = quat_mul(axis_quat((0, 0, 1), 0.4, (5,)), jr[:, elbow.body - 1])
    _, terms = compute_deepmimic_reward(copy(ref, joint_rot=jr), ref, jw, dw, MODES["track_root"])
    assert (terms["pose"] < 0.99).all()


def test_matches_the_formula_written_out(humanoid, make_state):
    """An independent, slow restatement of MimicKit's formula (heading-frame mode)."""
    sim, ref = make_state(n=4, seed=5), make_state(n=4, seed=6)
    gen = torch.Generator().manual_seed(1)
    jw = torch.rand(humanoid.num_bodies - 1, generator=gen)
    dw = dof_weights(humanoid, jw)
    cfg = RewardSettings(track_root=False, track_root_height=True)
    reward, terms = compute_deepmimic_reward(sim, ref, jw, dw, cfg)

    def local(s):
        h = heading_quat_inverse(s.root_rot)
        hk = h.unsqueeze(1).expand(-1, s.key_pos.shape[1], 4)
        return (
            quat_mul(h, s.root_rot),
            quat_rotate(h, s.root_vel),
            quat_rotate(h, s.root_ang_vel),
            quat_rotate(hk, s.key_pos - s.root_pos.unsqueeze(1)),
        )

    rot, v, w, k = local(sim)
    rot_r, v_r, w_r, k_r = local(ref)
    e_p = (jw * quat_diff_angle(sim.joint_rot, ref.joint_rot) ** 2).sum(-1)
    e_v = (dw * (ref.dof_vel - sim.dof_vel) ** 2).sum(-1)
    e_rp = (ref.root_pos[:, 2] - sim.root_pos[:, 2]) ** 2
    e_rr = quat_diff_angle(rot, rot_r) ** 2
    e_rv = ((v_r - v) ** 2).sum(-1)
    e_rw = ((w_r - w) ** 2).sum(-1)
    e_k = ((k_r - k) ** 2).sum((-1, -2))
    expected = (
        0.5 * torch.exp(-0.25 * e_p)
        + 0.1 * torch.exp(-0.01 * e_v)
        + 0.15 * torch.exp(-5.0 * (e_rp + 0.1 * e_rr))
        + 0.1 * torch.exp(-1.0 * (e_rv + 0.1 * e_rw))
        + 0.15 * torch.exp(-10.0 * e_k)
    )
    torch.testing.assert_close(reward, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(terms["root_rot_err"], e_rr, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(terms["key_pos_err"], e_k, atol=1e-5, rtol=1e-4)
