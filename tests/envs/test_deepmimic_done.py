"""DeepMimic termination: flags, their priority and every FAIL condition."""

from __future__ import annotations

import dataclasses
import math

import torch

from mjmimic.envs.deepmimic.terminations import TerminationSettings, compute_done
from mjmimic.envs.done import DoneFlag
from mjmimic.rotations import quat_from_axis_angle, quat_rotate

N, B = 4, 6
NULL, FAIL, SUCC, TIME = (int(f) for f in DoneFlag)
CONTACT_OK = torch.tensor([False, False, False, False, True, True])  # "feet" 4, 5
BODY_OFFSETS = torch.tensor(
    [
        [0.0, 0.0, 0.0],
        [0.0, 0.0, 0.4],
        [0.8, 0.0, 0.2],
        [0.0, 0.3, -0.2],
        [0.1, 0.1, -0.9],
        [0.1, -0.1, -0.9],
    ]
)


@dataclasses.dataclass
class Case:
    """Inputs of compute_done for N envs: sim == ref, mid-episode, no contact."""

    time: torch.Tensor = dataclasses.field(default_factory=lambda: torch.full((N,), 1.0))
    motion_time: torch.Tensor = dataclasses.field(default_factory=lambda: torch.full((N,), 1.0))
    motion_duration: torch.Tensor = dataclasses.field(default_factory=lambda: torch.full((N,), 3.0))
    motion_wraps: torch.Tensor = dataclasses.field(
        default_factory=lambda: torch.zeros(N, dtype=torch.bool)
    )
    ground_contact: torch.Tensor = dataclasses.field(
        default_factory=lambda: torch.zeros(N, B, dtype=torch.bool)
    )
    contact_body_mask: torch.Tensor = dataclasses.field(default_factory=lambda: CONTACT_OK.clone())
    char_body_pos: torch.Tensor = dataclasses.field(
        default_factory=lambda: (
            (BODY_OFFSETS + torch.tensor([1.0, 2.0, 1.0])).expand(N, B, 3).clone()
        )
    )
    char_root_rot: torch.Tensor = dataclasses.field(
        default_factory=lambda: torch.tensor([1.0, 0, 0, 0]).expand(N, 4)
    )
    ref_body_pos: torch.Tensor = dataclasses.field(
        default_factory=lambda: (
            (BODY_OFFSETS + torch.tensor([1.0, 2.0, 1.0])).expand(N, B, 3).clone()
        )
    )
    ref_root_rot: torch.Tensor = dataclasses.field(
        default_factory=lambda: torch.tensor([1.0, 0, 0, 0]).expand(N, 4)
    )

    def done(self, cfg: TerminationSettings, episode_length: float = 10.0) -> list[int]:
        flags = compute_done(episode_length=episode_length, cfg=cfg, **dataclasses.asdict(self))
        assert flags.dtype == torch.long and flags.shape == (N,)
        return flags.tolist()


EARLY = TerminationSettings(enable_early_termination=True)
POSE = TerminationSettings(
    enable_early_termination=True, pose_termination=True, pose_termination_dist=1.0
)


def test_nothing_ends_a_normal_step():
    assert Case().done(EARLY) == [NULL] * N
    assert Case().done(dataclasses.replace(POSE, termination_height=0.3)) == [NULL] * N


def test_time_then_success_then_fail_priority():
    c = Case()
    c.time = torch.tensor([9.9, 10.0, 10.0, 10.5])
    c.motion_time = torch.tensor([1.0, 1.0, 3.0, 3.2])
    c.ground_contact[3, 0] = True  # a fall on the last env overrides everything
    assert c.done(EARLY) == [NULL, TIME, SUCC, FAIL]
    # Episode length may differ per env.
    c = Case()
    c.time = torch.full((N,), 5.0)
    flags = compute_done(
        episode_length=torch.tensor([4.0, 5.0, 6.0, 7.0]), cfg=EARLY, **dataclasses.asdict(c)
    )
    assert flags.tolist() == [TIME, TIME, NULL, NULL]


def test_looping_clips_never_succeed():
    c = Case()
    c.motion_time = torch.full((N,), 7.0)  # past the end of a 3 s clip
    c.motion_wraps = torch.tensor([True, False, True, False])
    assert c.done(EARLY) == [NULL, SUCC, NULL, SUCC]
    c.time = torch.full((N,), 10.0)
    assert c.done(EARLY) == [TIME, SUCC, TIME, SUCC]


def test_contact_of_a_body_not_allowed_fails():
    c = Case()
    c.ground_contact[0, 2] = True  # not allowed
    c.ground_contact[1, 4] = True  # a foot: allowed
    c.ground_contact[2, [4, 5]] = True  # both feet
    c.ground_contact[3, [0, 5]] = True  # root + a foot
    assert c.done(EARLY) == [FAIL, NULL, NULL, FAIL]
    # Off without early termination; an empty allow-list switches the check off (MimicKit).
    assert c.done(TerminationSettings(enable_early_termination=False)) == [NULL] * N
    c.contact_body_mask = torch.zeros(B, dtype=torch.bool)
    assert c.done(EARLY) == [NULL] * N


def test_first_step_never_fails():
    c = Case()
    c.time = torch.tensor([0.0, 0.0, 1 / 30, 1 / 30])
    c.ground_contact[:, 1] = True
    c.char_body_pos[:, :, 2] -= 0.8
    assert c.done(dataclasses.replace(POSE, termination_height=0.5)) == [NULL, NULL, FAIL, FAIL]


def test_pose_termination_by_distance():
    c = Case()
    c.char_body_pos[0, 3, 0] += 1.1  # a limb 1.1 m off
    c.char_body_pos[1, 3, 0] += 0.9  # within the limit
    c.char_body_pos[2, 2] += torch.tensor([0.6, 0.6, 0.6])  # |d| = 1.04 m
    assert c.done(POSE) == [FAIL, NULL, FAIL, NULL]
    assert c.done(EARLY) == [NULL] * N  # pose_termination off
    for global_obs, track_root in ((True, True), (False, False)):
        cfg = dataclasses.replace(POSE, global_obs=global_obs, track_root=track_root)
        assert c.done(cfg) == [FAIL, NULL, FAIL, NULL]


def test_pose_termination_frames():
    # The whole sim character 5 m away from the reference: only root tracking notices.
    c = Case()
    c.char_body_pos += torch.tensor([5.0, 0.0, 0.0])
    assert c.done(POSE) == [NULL] * N
    assert c.done(dataclasses.replace(POSE, global_obs=False)) == [NULL] * N
    assert c.done(dataclasses.replace(POSE, track_root=True)) == [FAIL] * N
    # Only the root drifted 1.2 m (bodies in place): root tracking's root check fires.
    c = Case()
    c.char_body_pos[:, 0, 0] += 1.2
    assert c.done(dataclasses.replace(POSE, track_root=True)) == [FAIL] * N
    # Turned 90 degrees about its root: the body 0.8 m ahead moves 1.13 m in world axes,
    # but nothing moves in the root's own frame.
    c = Case()
    q = quat_from_axis_angle(
        torch.tensor([0.0, 0.0, 1.0]).expand(N, 3), torch.full((N,), math.pi / 2)
    )
    root = c.char_body_pos[:, :1]
    c.char_body_pos = root + quat_rotate(q.unsqueeze(1).expand(N, B, 4), c.char_body_pos - root)
    c.char_root_rot = q
    assert c.done(POSE) == [FAIL] * N
    assert c.done(dataclasses.replace(POSE, global_obs=False)) == [NULL] * N


def test_termination_height():
    c = Case()
    c.char_body_pos[:, :, 2] += torch.tensor([0.0, -0.6, -0.8, -0.65]).unsqueeze(
        1
    )  # root z 1, .4, .2, .35
    assert c.done(dataclasses.replace(EARLY, termination_height=0.3)) == [NULL, NULL, FAIL, NULL]
    assert c.done(EARLY) == [NULL] * N
    assert (
        c.done(dataclasses.replace(EARLY, termination_height=0.3, enable_early_termination=False))
        == [NULL] * N
    )


def test_key_body_termination_catches_a_skipped_kick():
    """A foot 0.4 m off its reference (relative to the root) fails at 0.3 m, though the
    1 m pose check passes it; a whole-character shift does not fail (root-relative)."""
    cfg = dataclasses.replace(POSE, key_body_termination_dist=0.3)
    key_ids = torch.tensor([4, 5])  # the feet
    c = Case()
    c.ref_body_pos[0, 5, 2] += 0.4  # env 0: reference foot kicks up, the policy's stays
    c.ref_body_pos[1, 5, 2] += 0.2  # env 1: within the threshold
    c.ref_body_pos[2, 3, 2] += 0.4  # env 2: a body that is not a key body
    c.char_body_pos[3] += torch.tensor([0.5, 0.0, 0.0])  # env 3: root and all moved
    flags = compute_done(episode_length=10.0, cfg=cfg, key_ids=key_ids, **dataclasses.asdict(c))
    assert flags.tolist() == [FAIL, NULL, NULL, NULL]
    # Unset (the default), or no key bodies: no check.
    assert c.done(POSE) == [NULL] * N
    assert (
        compute_done(
            episode_length=10.0,
            cfg=cfg,
            key_ids=torch.tensor([], dtype=torch.long),
            **dataclasses.asdict(c),
        ).tolist()
        == [NULL] * N
    )


def test_key_body_termination_in_the_root_frame():
    """Without global_obs both sides are compared in their own root frame: a character
    turned 90 degrees about z with its reference is no error."""
    cfg = TerminationSettings(
        enable_early_termination=True, global_obs=False, key_body_termination_dist=0.1
    )
    c = Case()
    yaw = quat_from_axis_angle(torch.tensor([[0.0, 0.0, 1.0]]).expand(N, 3), torch.full((N,), 1.57))
    root = c.char_body_pos[:, :1]
    c.char_body_pos = root + quat_rotate(yaw[:, None].expand(N, B, 4), c.char_body_pos - root)
    c.char_root_rot = yaw
    flags = compute_done(
        episode_length=10.0, cfg=cfg, key_ids=torch.tensor([2, 4]), **dataclasses.asdict(c)
    )
    assert flags.tolist() == [NULL] * N


def test_clocks_summed_in_float32_end_on_the_step_they_should():
    """100 steps of 1/30 s add up to 3.3333316 s in float32, short of the 3.3333333 s
    clip (101 frames at 30 fps): without a tolerance the clip ended one step late (test
    episodes ran 101 of 100 steps). The same for the time limit."""
    c = Case()
    clock = torch.zeros(N)
    for _ in range(100):
        clock += 1.0 / 30.0
    assert float(clock[0]) < 100 / 30  # the float32 shortfall this guards against
    c.time, c.motion_time = clock.clone(), clock.clone()
    c.motion_duration = torch.full((N,), 100 / 30)
    assert c.done(EARLY, episode_length=10.0) == [SUCC] * N
    c.motion_time = torch.zeros(N)
    assert c.done(EARLY, episode_length=100 / 30) == [TIME] * N
    # One step earlier is not the end of either.
    c.time = c.motion_time = clock - 1.0 / 30.0
    assert c.done(EARLY, episode_length=100 / 30) == [NULL] * N
