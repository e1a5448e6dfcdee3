"""Discriminator observations as pure functions (AMP and ADD) and the frame history."""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.envs.add.observations import (
    ADDDiscSettings,
    add_disc_obs_layout,
    compute_add_disc_obs,
)
from mjmimic.envs.amp.observations import (
    AMPDiscSettings,
    amp_disc_obs_layout,
    compute_amp_disc_obs,
)
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.observations import observation_labels, observation_size
from mjmimic.envs.disc_history import DiscHistory, frame_name
from mjmimic.rotations import quat_canonical, quat_from_axis_angle, quat_mul, quat_normalize

KEYS = ["head", "right_hand", "left_hand", "right_foot", "left_foot"]
KEY_IDS = [2, 5, 8, 11, 14]  # their indices in the humanoid's body order
STEPS = 4


def random_window(robot, n: int, steps: int, seed: int = 0) -> CharState:
    """A random (not physically consistent) window of frames, (n, steps, ...)."""
    gen = torch.Generator().manual_seed(seed)
    b, d = robot.num_bodies, robot.num_dofs

    def quat(*shape):
        return quat_canonical(quat_normalize(torch.randn(*shape, 4, generator=gen)))

    root_pos = torch.randn(n, steps, 3, generator=gen)
    body_pos = root_pos.unsqueeze(-2) + 0.5 * torch.randn(n, steps, b, 3, generator=gen)
    body_pos[:, :, 0] = root_pos
    assert [robot.body_names[i] for i in KEY_IDS] == KEYS
    return CharState(
        root_pos=root_pos,
        root_rot=quat(n, steps),
        joint_rot=quat(n, steps, b - 1),
        key_pos=body_pos[:, :, KEY_IDS],
        root_vel=torch.randn(n, steps, 3, generator=gen),
        root_ang_vel=torch.randn(n, steps, 3, generator=gen),
        dof_vel=torch.randn(n, steps, d, generator=gen),
        body_pos=body_pos,
    )


def rotated_about_z(frames: CharState, angle: float, shift=(0.7, -1.3), only=None) -> CharState:
    """The window turned by ``angle`` about the world z axis and moved by ``shift`` in xy
    (every frame, or only frame ``only``, turned about its own root)."""
    n, steps = frames.root_pos.shape[:2]
    q = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(angle))
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    move = torch.tensor([shift[0], shift[1], 0.0])
    mask = torch.ones(steps, dtype=torch.bool) if only is None else torch.arange(steps) == only

    def pick(new, old):
        m = mask.view(1, steps, *([1] * (new.dim() - 2)))
        return torch.where(m, new, old)

    if only is None:
        root_pos = frames.root_pos @ rot.T + move
        body_pos = frames.body_pos @ rot.T + move
    else:  # about the frame's own root, no shift
        root_pos = frames.root_pos
        rel = frames.body_pos - frames.root_pos.unsqueeze(-2)
        body_pos = pick(rel @ rot.T + frames.root_pos.unsqueeze(-2), frames.body_pos)
    return CharState(
        root_pos=pick(root_pos, frames.root_pos),
        root_rot=pick(quat_mul(q.expand(n, steps, 4), frames.root_rot), frames.root_rot),
        joint_rot=frames.joint_rot,
        key_pos=body_pos[:, :, KEY_IDS],
        root_vel=pick(frames.root_vel @ rot.T, frames.root_vel),
        root_ang_vel=pick(frames.root_ang_vel @ rot.T, frames.root_ang_vel),
        dof_vel=frames.dof_vel,
        body_pos=body_pos,
    )


def value(obs: torch.Tensor, labels: list[str], label: str) -> torch.Tensor:
    return obs[:, labels.index(label)]


# ---------------------------------------------------------------------------------------
# AMP


@pytest.mark.parametrize("height", [True, False])
@pytest.mark.parametrize("dof_vel", [True, False])
def test_amp_size_and_labels_follow_body_key_and_dof_counts(humanoid, height, dof_vel):
    cfg = AMPDiscSettings(global_obs=True, root_height_obs=height, dof_vel_obs=dof_vel)
    b, k, d = humanoid.num_bodies, len(KEYS), humanoid.num_dofs
    per_frame = (3 if height else 2) + 6 + 6 * (b - 1) + 3 * k + 3 + 3 + (d if dof_vel else 0)
    layout = amp_disc_obs_layout(STEPS, humanoid.body_names, KEYS, humanoid.dof_names, cfg)
    obs = compute_amp_disc_obs(random_window(humanoid, 3, STEPS), cfg)
    assert obs.shape == (3, STEPS * per_frame) and observation_size(layout) == STEPS * per_frame
    labels = observation_labels(layout)
    assert len(labels) == len(set(labels)) == STEPS * per_frame
    assert labels[0] == "disc[t-3].root_pos.x" and labels[-per_frame] == "disc[t].root_pos.x"
    # MimicKit's humanoid with 10 frames: 142 numbers per frame.
    if height and dof_vel:
        assert per_frame == 142


def test_amp_frames_are_relative_to_the_newest_root(humanoid):
    cfg = AMPDiscSettings(global_obs=True)
    frames = random_window(humanoid, 5, STEPS)
    obs = compute_amp_disc_obs(frames, cfg)
    labels = observation_labels(
        amp_disc_obs_layout(STEPS, humanoid.body_names, KEYS, humanoid.dof_names, cfg)
    )
    newest = frames.root_pos[:, -1]
    for k in range(STEPS):
        p = frame_name(k, STEPS)
        x = value(obs, labels, f"{p}.root_pos.x")
        assert torch.allclose(x, frames.root_pos[:, k, 0] - newest[:, 0], atol=1e-6)
        height = value(obs, labels, f"{p}.root_height")
        assert torch.allclose(height, frames.root_pos[:, k, 2])  # absolute
        head = value(obs, labels, f"{p}.key_pos[head].y")
        expected = frames.key_pos[:, k, 0, 1] - frames.root_pos[:, k, 1]  # own root
        assert torch.allclose(head, expected, atol=1e-6)
        vel = value(obs, labels, f"{p}.root_ang_vel.z")
        assert torch.allclose(vel, frames.root_ang_vel[:, k, 2])
        dof = value(obs, labels, f"{p}.dof_vel[{humanoid.dof_names[3]}]")
        assert torch.equal(dof, frames.dof_vel[:, k, 3])
    assert torch.allclose(value(obs, labels, "disc[t].root_pos.y"), torch.zeros(5))
    # track_root (target obs in world frame): absolute positions instead.
    tracked = compute_amp_disc_obs(frames, AMPDiscSettings(global_obs=True, track_root=True))
    assert torch.allclose(value(tracked, labels, "disc[t-2].root_pos.x"), frames.root_pos[:, 1, 0])


def test_amp_local_obs_is_seen_from_the_newest_heading(humanoid):
    cfg = AMPDiscSettings(global_obs=False)
    frames = random_window(humanoid, 1, 2)
    frames.root_rot[:, -1] = quat_from_axis_angle(
        torch.tensor([0.0, 0.0, 1.0]), torch.tensor(0.5 * math.pi)
    )
    frames.root_vel[:, 0] = torch.tensor([1.0, 0.0, 0.25])
    obs = compute_amp_disc_obs(frames, cfg)
    labels = observation_labels(
        amp_disc_obs_layout(2, humanoid.body_names, KEYS, humanoid.dof_names, cfg)
    )
    vel = [value(obs, labels, f"disc[t-1].root_vel.{a}") for a in "xyz"]
    # Facing +y, a world +x velocity is to the character's right (-y).
    assert torch.allclose(torch.cat(vel), torch.tensor([0.0, -1.0, 0.25]), atol=1e-6)
    assert torch.allclose(
        torch.cat([value(obs, labels, f"disc[t].root_rot.tan.{a}") for a in "xyz"]),
        torch.tensor([1.0, 0.0, 0.0]),
        atol=1e-6,
    )


def test_amp_local_obs_ignores_the_scene_heading_and_global_obs_does_not(humanoid):
    frames = random_window(humanoid, 6, STEPS, seed=1)
    turned = rotated_about_z(frames, 1.1)
    local = AMPDiscSettings(global_obs=False)
    assert torch.allclose(
        compute_amp_disc_obs(frames, local), compute_amp_disc_obs(turned, local), atol=1e-5
    )
    world = AMPDiscSettings(global_obs=True)
    diff = compute_amp_disc_obs(frames, world) - compute_amp_disc_obs(turned, world)
    assert diff.abs().max() > 0.1
    # One older frame turned alone changes it: all frames share the newest frame's heading.
    one = rotated_about_z(frames, 1.1, only=0)
    diff = compute_amp_disc_obs(frames, local) - compute_amp_disc_obs(one, local)
    assert diff.abs().max() > 0.1


# ---------------------------------------------------------------------------------------
# ADD


def test_add_size_and_labels_follow_body_and_dof_counts(humanoid):
    b, d = humanoid.num_bodies, humanoid.num_dofs
    per_frame = 3 + 6 + 6 * (b - 1) + 3 * b + 3 + 3 + d
    assert per_frame == 172  # MimicKit's humanoid
    layout = add_disc_obs_layout(2, humanoid.body_names, humanoid.dof_names)
    obs = compute_add_disc_obs(random_window(humanoid, 3, 2), ADDDiscSettings(global_obs=True))
    assert obs.shape == (3, 2 * per_frame) and observation_size(layout) == 2 * per_frame
    labels = observation_labels(layout)
    assert len(set(labels)) == len(labels)
    assert labels[per_frame] == "disc[t].root_pos.x"
    assert "disc[t-1].body_pos[left_foot].z" in labels


def test_add_positions_are_absolute_in_world_frame_and_heights_in_local(humanoid):
    frames = random_window(humanoid, 4, 1)
    labels = observation_labels(add_disc_obs_layout(1, humanoid.body_names, humanoid.dof_names))
    world = compute_add_disc_obs(frames, ADDDiscSettings(global_obs=True))
    local = compute_add_disc_obs(frames, ADDDiscSettings(global_obs=False))
    root = torch.stack([value(world, labels, f"disc[t].root_pos.{a}") for a in "xyz"], -1)
    assert torch.allclose(root, frames.root_pos[:, 0])
    assert torch.equal(value(local, labels, "disc[t].root_pos.x"), torch.zeros(4))
    assert torch.allclose(value(local, labels, "disc[t].root_pos.z"), frames.root_pos[:, 0, 2])
    foot = value(world, labels, "disc[t].body_pos[left_foot].x")
    i = humanoid.body_names.index("left_foot")
    assert torch.allclose(foot, frames.body_pos[:, 0, i, 0] - frames.root_pos[:, 0, 0], atol=1e-6)
    assert torch.equal(value(world, labels, "disc[t].body_pos[pelvis].y"), torch.zeros(4))


def test_add_local_obs_ignores_each_frames_heading_and_global_obs_does_not(humanoid):
    frames = random_window(humanoid, 6, 3, seed=2)
    local, world = ADDDiscSettings(global_obs=False), ADDDiscSettings(global_obs=True)
    for turned in (rotated_about_z(frames, -2.0), rotated_about_z(frames, 0.8, only=1)):
        assert torch.allclose(
            compute_add_disc_obs(frames, local), compute_add_disc_obs(turned, local), atol=1e-5
        )
        diff = compute_add_disc_obs(frames, world) - compute_add_disc_obs(turned, world)
        assert diff.abs().max() > 0.1


# ---------------------------------------------------------------------------------------
# The history


def _frame(robot, n: int, stamp: torch.Tensor) -> CharState:
    """Frames whose every number is the env's stamp (stamp (n,) or (n, steps))."""
    lead = stamp.shape

    def full(*shape):
        return stamp.reshape(*lead, *([1] * len(shape))).expand(*lead, *shape).clone()

    b = robot.num_bodies
    return CharState(
        root_pos=full(3),
        root_rot=full(4),
        joint_rot=full(b - 1, 4),
        key_pos=full(len(KEYS), 3),
        root_vel=full(3),
        root_ang_vel=full(3),
        dof_vel=full(robot.num_dofs),
        body_pos=full(b, 3),
    )


def test_history_is_oldest_to_newest_and_fill_replaces_only_its_envs(humanoid):
    n, steps = 3, 4
    hist = DiscHistory(n, steps, humanoid.num_bodies, humanoid.num_dofs, torch.tensor(KEY_IDS))
    ids = torch.arange(n)
    hist.fill(ids, _frame(humanoid, n, torch.arange(steps).float().expand(n, steps) - 10.0))
    for k in range(6):  # wraps around the ring
        hist.push(_frame(humanoid, n, torch.full((n,), float(k))))
        window = hist.window()
        expected = (torch.arange(k - steps + 1, k + 1).float()).expand(n, steps)
        # Pushed values k-3..k; before the 4th push some are the pre-filled -10..-7.
        expected = torch.where(expected < 0, expected - 10.0 + steps, expected)
        for name in ("root_pos", "root_rot", "joint_rot", "dof_vel", "body_pos", "key_pos"):
            got = getattr(window, name).reshape(n, steps, -1)
            assert torch.equal(got, expected[..., None].expand_as(got)), (name, k)
    hist.fill(torch.tensor([1]), _frame(humanoid, 1, torch.full((1, steps), 99.0)))
    window = hist.window()
    assert (window.root_pos[1] == 99.0).all()
    assert torch.equal(window.root_pos[[0, 2], :, 0], torch.tensor([[2.0, 3, 4, 5]] * 2))
    assert torch.equal(hist.window(torch.tensor([2])).dof_vel, window.dof_vel[2:3])
