"""DeepMimic observation: size, layout labels, frames and phase encoding."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.observations import (
    ObsSettings,
    compute_deepmimic_obs,
    observation_labels,
    observation_layout,
    observation_size,
    phase_encoding,
)
from mjmimic.envs.heading import heading_cos_sin, remove_heading, tan_norm, yaw_rotate_inverse
from mjmimic.rotations import (
    heading_angle,
    heading_quat_inverse,
    quat_canonical,
    quat_from_axis_angle,
    quat_mul,
    quat_normalize,
    quat_rotate,
    quat_to_tan_norm,
)

HUMANOID_KEY_BODIES = ["head", "right_hand", "left_hand", "right_foot", "left_foot"]


def random_quat(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return quat_canonical(quat_normalize(torch.randn(*shape, 4, generator=gen)))


SHIPPED = ObsSettings(
    global_obs=True,
    root_height_obs=True,
    enable_phase_obs=False,
    num_phase_encoding=4,
    enable_tar_obs=True,
    tar_obs_steps=(1, 2, 3),
)
STEPS = (1, 3)
FULL_GLOBAL = ObsSettings(
    global_obs=True,
    root_height_obs=True,
    enable_phase_obs=True,
    num_phase_encoding=2,
    enable_tar_obs=True,
    tar_obs_steps=STEPS,
)
FULL_LOCAL = dataclasses.replace(FULL_GLOBAL, global_obs=False)


def layout_for(robot, cfg, keys=HUMANOID_KEY_BODIES):
    return observation_layout(
        robot.num_bodies, robot.num_dofs, keys, robot.body_names, robot.dof_names, cfg
    )


def yaw_quat(angle: float, shape=()) -> torch.Tensor:
    axis = torch.tensor([0.0, 0.0, 1.0]).expand(*shape, 3)
    return quat_from_axis_angle(axis, torch.full(shape, angle))


def rotate_world(state: CharState, angle: float) -> CharState:
    """The same state seen after turning the whole world by ``angle`` about +z."""
    lead = state.root_pos.shape[:-1]
    q = yaw_quat(angle, lead)

    def vec(v):
        return None if v is None else quat_rotate(q.unsqueeze(-2).expand(*v.shape[:-1], 4), v)

    return CharState(
        root_pos=quat_rotate(q, state.root_pos),
        root_rot=quat_mul(q, state.root_rot),
        joint_rot=state.joint_rot,
        key_pos=vec(state.key_pos),
        root_vel=None if state.root_vel is None else quat_rotate(q, state.root_vel),
        root_ang_vel=None if state.root_ang_vel is None else quat_rotate(q, state.root_ang_vel),
        dof_vel=state.dof_vel,
    )


def test_fused_rotation_helpers_match_rotations_module():
    gen = torch.Generator().manual_seed(1)
    q = random_quat(gen, 64, 3)
    torch.testing.assert_close(tan_norm(q), quat_to_tan_norm(q), atol=1e-6, rtol=0)
    cos, sin = heading_cos_sin(q)
    h = heading_angle(q)
    torch.testing.assert_close(cos, torch.cos(h), atol=1e-6, rtol=0)
    torch.testing.assert_close(sin, torch.sin(h), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        remove_heading(q), quat_mul(heading_quat_inverse(q), q), atol=1e-6, rtol=0
    )
    v = torch.randn(64, 3, 3, generator=gen)
    torch.testing.assert_close(
        yaw_rotate_inverse(cos, sin, v), quat_rotate(heading_quat_inverse(q), v), atol=1e-5, rtol=0
    )


def test_shipped_humanoid_config_gives_464_dims(humanoid, make_state):
    char = make_state(n=4)
    targets = make_state(n=4, seed=1, steps=3)
    obs = compute_deepmimic_obs(char, targets, None, SHIPPED)
    assert obs.shape == (4, 464)
    layout = layout_for(humanoid, SHIPPED)
    assert observation_size(layout) == 464
    assert [t.name for t in layout[:7]] == [
        "root_height",
        "root_rot",
        "root_vel",
        "root_ang_vel",
        "joint_rot",
        "dof_vel",
        "key_pos",
    ]
    assert torch.isfinite(obs).all()


@pytest.mark.parametrize("global_obs", [True, False])
@pytest.mark.parametrize("root_height_obs", [True, False])
@pytest.mark.parametrize("phase", [(False, 0), (True, 0), (True, 3)])
@pytest.mark.parametrize("tar", [(False, (1,)), (True, (1,)), (True, (1, 2, 5))])
@pytest.mark.parametrize("num_keys", [0, 5])
def test_layout_size_matches_obs(
    humanoid, make_state, global_obs, root_height_obs, phase, tar, num_keys
):
    cfg = ObsSettings(
        global_obs=global_obs,
        root_height_obs=root_height_obs,
        enable_phase_obs=phase[0],
        num_phase_encoding=phase[1],
        enable_tar_obs=tar[0],
        tar_obs_steps=tar[1],
    )
    char = make_state(n=3, num_keys=num_keys)
    targets = make_state(n=3, seed=1, steps=len(tar[1]), num_keys=num_keys)
    obs = compute_deepmimic_obs(char, targets, torch.rand(3), cfg)
    layout = layout_for(humanoid, cfg, HUMANOID_KEY_BODIES[:num_keys])
    labels = observation_labels(layout)
    assert obs.shape[1] == observation_size(layout) == len(labels)
    assert len(set(labels)) == len(labels)
    assert all(t.size == len(t.labels) > 0 for t in layout)


def changed_labels(labels, a, b):
    dims = ((a - b).abs() > 1e-5).any(0).nonzero().flatten().tolist()
    return {labels[i] for i in dims}


def xyz(prefix):
    return {f"{prefix}.{a}" for a in "xyz"}


def six(prefix):
    return {f"{prefix}.{s}.{a}" for s in ("tan", "norm") for a in "xyz"}


def perturbed(state: CharState, name: str, index, value) -> CharState:
    tensors = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    t = tensors[name].clone()
    t[index] = value
    tensors[name] = t
    return CharState(**tensors)


def test_labels_name_exactly_the_dims_an_input_moves(humanoid, make_state):
    cfg = FULL_GLOBAL
    labels = observation_labels(layout_for(humanoid, cfg))
    bodies, dofs, keys = humanoid.body_names, humanoid.dof_names, HUMANOID_KEY_BODIES
    gen = torch.Generator().manual_seed(7)
    char, targets, phase = make_state(n=4), make_state(n=4, seed=1, steps=2), torch.rand(4)
    base = compute_deepmimic_obs(char, targets, phase, cfg)

    def check(new_char, new_targets, new_phase, expected):
        obs = compute_deepmimic_obs(new_char, new_targets, new_phase, cfg)
        assert changed_labels(labels, base, obs) == expected

    new_rot = random_quat(gen, 4)
    check(
        perturbed(char, "dof_vel", (slice(None), 5), 3.0), targets, phase, {f"dof_vel[{dofs[5]}]"}
    )
    check(
        perturbed(char, "joint_rot", (slice(None), 3), new_rot),
        targets,
        phase,
        six(f"joint_rot[{bodies[4]}]"),
    )
    check(
        perturbed(char, "key_pos", (slice(None), 2), 5.0),
        targets,
        phase,
        xyz(f"key_pos[{keys[2]}]"),
    )
    check(perturbed(char, "root_vel", slice(None), 2.0), targets, phase, xyz("root_vel"))
    check(perturbed(char, "root_ang_vel", slice(None), 2.0), targets, phase, xyz("root_ang_vel"))
    # Global frame: the root rotation moves only its own 6 numbers.
    check(perturbed(char, "root_rot", slice(None), new_rot), targets, phase, six("root_rot"))
    # Root height: itself and the key positions (relative to the root); the targets'
    # root height is absolute, so not them.
    check(
        perturbed(char, "root_pos", (slice(None), 2), 0.5),
        targets,
        phase,
        {"root_height"} | {f"key_pos[{k}].z" for k in keys},
    )
    # Root x: key positions and every target's root position relative to the sim root.
    check(
        perturbed(char, "root_pos", (slice(None), 0), 3.0),
        targets,
        phase,
        {f"key_pos[{k}].x" for k in keys} | {f"tar{s}.root_pos.x" for s in STEPS},
    )
    check(
        char,
        targets,
        phase + 0.1,
        {"phase", "phase.sin0", "phase.sin1", "phase.cos0", "phase.cos1"},
    )
    check(
        char,
        perturbed(targets, "joint_rot", (slice(None), 1, 7), new_rot),
        phase,
        six(f"tar3.joint_rot[{bodies[8]}]"),
    )
    check(
        char,
        perturbed(targets, "key_pos", (slice(None), 0, 4), 5.0),
        phase,
        xyz(f"tar1.key_pos[{keys[4]}]"),
    )
    check(
        char,
        perturbed(targets, "root_pos", (slice(None), 1, 2), 0.5),
        phase,
        {"tar3.root_height"} | {f"tar3.key_pos[{k}].z" for k in keys},
    )
    check(
        char, perturbed(targets, "root_rot", (slice(None), 0), new_rot), phase, six("tar1.root_rot")
    )


def test_local_target_obs_are_relative_to_the_first_target_frame(humanoid, make_state):
    cfg = FULL_LOCAL
    labels = observation_labels(layout_for(humanoid, cfg))
    keys = HUMANOID_KEY_BODIES
    char, targets, phase = make_state(n=4), make_state(n=4, seed=1, steps=2), torch.rand(4)
    base = compute_deepmimic_obs(char, targets, phase, cfg)
    # Moving the first target's root sideways: it is the reference, so its own root
    # position stays 0 while its keys (relative to it) and the later target move.
    moved = perturbed(targets, "root_pos", (slice(None), 0, 0), 3.0)
    obs = compute_deepmimic_obs(char, moved, phase, cfg)
    expected = {f"tar1.key_pos[{k}].{a}" for k in keys for a in "xy"}
    expected |= {"tar3.root_pos.x", "tar3.root_pos.y"}
    assert changed_labels(labels, base, obs) == expected
    # Moving the simulated root sideways changes nothing: only heights are absolute.
    obs = compute_deepmimic_obs(
        perturbed(
            perturbed(char, "root_pos", (slice(None), 0), 3.0),
            "key_pos",
            (slice(None), slice(None), 0),
            9.0,
        ),
        targets,
        phase,
        cfg,
    )
    assert changed_labels(labels, base, obs) == {f"key_pos[{k}].{a}" for k in keys for a in "xy"}


def test_local_obs_are_invariant_to_turning_the_world(make_state):
    char, targets, phase = make_state(n=6), make_state(n=6, seed=1, steps=2), torch.rand(6)
    for cfg in (FULL_LOCAL, dataclasses.replace(FULL_LOCAL, root_height_obs=False)):
        base = compute_deepmimic_obs(char, targets, phase, cfg)
        for angle in (0.7, -2.5, math.pi):
            turned = compute_deepmimic_obs(
                rotate_world(char, angle), rotate_world(targets, angle), phase, cfg
            )
            torch.testing.assert_close(turned, base, atol=2e-5, rtol=0)
    # The world-frame observation does see the turn.
    base = compute_deepmimic_obs(char, targets, phase, FULL_GLOBAL)
    turned = compute_deepmimic_obs(
        rotate_world(char, 0.7), rotate_world(targets, 0.7), phase, FULL_GLOBAL
    )
    assert (turned - base).abs().max() > 0.1


def test_local_root_rotation_has_heading_removed():
    state = CharState(
        root_pos=torch.tensor([[1.0, 2.0, 0.9]]),
        root_rot=yaw_quat(1.2, (1,)),
        joint_rot=torch.tensor([[[1.0, 0, 0, 0]]]),
        key_pos=torch.zeros(1, 0, 3),
        root_vel=torch.tensor([[1.0, 0.0, 0.0]]),
        root_ang_vel=torch.zeros(1, 3),
        dof_vel=torch.zeros(1, 0),
    )
    cfg = ObsSettings(global_obs=False, enable_phase_obs=False)
    obs = compute_deepmimic_obs(state, None, None, cfg)
    # height, rot tan (1,0,0) norm (0,0,1), vel rotated into the heading frame
    expected = torch.tensor([0.9, 1, 0, 0, 0, 0, 1, math.cos(1.2), -math.sin(1.2), 0, 0, 0, 0])
    torch.testing.assert_close(obs[0, :13], expected, atol=1e-6, rtol=0)
    glob = compute_deepmimic_obs(state, None, None, dataclasses.replace(cfg, global_obs=True))
    torch.testing.assert_close(glob[0, 1:4], torch.tensor([math.cos(1.2), math.sin(1.2), 0.0]))


def test_phase_encoding_values():
    enc = phase_encoding(torch.tensor([0.25, 0.0]), 3)
    s2 = math.sqrt(0.5)
    # [φ, sin(2πφ), sin(4πφ), sin(8πφ), cos(2πφ), cos(4πφ), cos(8πφ)]
    expected = torch.tensor([[0.25, 1.0, 0.0, 0.0, 0.0, -1.0, 1.0], [0, 0, 0, 0, 1, 1, 1]])
    torch.testing.assert_close(enc, expected, atol=1e-6, rtol=0)
    assert phase_encoding(torch.tensor([0.125]), 1)[0].tolist() == pytest.approx([0.125, s2, s2])
    assert phase_encoding(torch.tensor([0.3]), 0)[0].tolist() == pytest.approx([0.3])


def test_missing_inputs_are_reported(make_state):
    char = make_state(n=2)
    with pytest.raises(ValueError, match="phase"):
        compute_deepmimic_obs(char, None, None, ObsSettings(global_obs=True))
    cfg = ObsSettings(
        global_obs=True, enable_phase_obs=False, enable_tar_obs=True, tar_obs_steps=(1, 2)
    )
    with pytest.raises(ValueError, match="target"):
        compute_deepmimic_obs(char, make_state(n=2, steps=3), None, cfg)
