"""Domain randomization pieces (envs/randomization.py): the config and its errors, what is
drawn and its ranges, actuator latency, push timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mjmimic.config import load_config
from mjmimic.envs.randomization import (
    ActionDelay,
    DomainRandomizationConfig,
    PushSchedule,
    sample_encoder_bias,
    sample_latency,
    sample_physics_variation,
)
from mjmimic.errors import ConfigError

FULL = DomainRandomizationConfig(
    floor_friction=[0.3, 1.6],
    mass_body="torso_link",
    added_mass=[-1.0, 3.0],
    com_offset=[0.025, 0.05, 0.05],
    kp_scale=[0.8, 1.2],
    kd_scale=[0.5, 0.7],
    encoder_bias=0.01,
    action_latency_steps=[1, 3],
    push_interval=[1.0, 3.0],
    push_lin_vel=[0.5, 0.5, 0.2],
    push_ang_vel=[0.52, 0.52, 0.78],
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -------------------------------------------------------------------------------- config
def test_everything_is_off_by_default_and_each_key_turns_it_on():
    cfg = DomainRandomizationConfig()
    cfg.validate()
    assert not cfg.is_enabled() and not cfg.has_physics() and not cfg.has_pushes()
    assert not DomainRandomizationConfig(resample_on_reset=True).is_enabled()
    assert DomainRandomizationConfig(encoder_bias=0.01).is_enabled()
    assert DomainRandomizationConfig(kd_scale=[1.0, 1.1]).has_physics()
    FULL.validate()
    assert FULL.is_enabled() and FULL.has_physics() and FULL.has_pushes()


def test_the_loader_reads_it_and_checks_bounds():
    cfg = load_config(
        DomainRandomizationConfig,
        {"floor_friction": [0.4, 1.0], "action_latency_steps": [0, 2]},
        "env.yaml",
        section="env.domain_randomization",
    )
    assert cfg.floor_friction == [0.4, 1.0] and cfg.action_latency_steps == [0, 2]
    with pytest.raises(ConfigError, match="floor_friction"):
        load_config(
            DomainRandomizationConfig,
            {"floor_friction": [0.0, 1.0]},
            "env.yaml",
            section="env.domain_randomization",
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"floor_friction": [1.0, 0.5]}, r"floor_friction: low 1.0 is above high 0.5"),
        ({"floor_friction": [0.0, 0.5]}, r"floor_friction must be > 0"),
        ({"floor_friction": [0.5]}, r"floor_friction: must be \[low, high\]"),
        ({"kp_scale": [-0.1, 1.0]}, r"kp_scale must be >= 0"),
        ({"kd_scale": [1.0, 1.2, 1.3]}, r"kd_scale: must be \[low, high\]"),
        ({"action_latency_steps": [2, 1]}, r"action_latency_steps: low 2 is above high 1"),
        ({"action_latency_steps": [-1, 1]}, r"action_latency_steps must be >= 0"),
        ({"encoder_bias": -0.01}, r"encoder_bias must be >= 0"),
        ({"encoder_bias": float("nan")}, r"encoder_bias must be a finite number"),
        ({"com_offset": [0.1, 0.1]}, r"com_offset: must be 3 numbers"),
        ({"push_lin_vel": [0.5, 0.5]}, r"push_lin_vel: must be 3 numbers"),
        ({"push_interval": [0.0, 1.0]}, r"push_interval must be > 0"),
        ({"added_mass": [0.0, 1.0]}, r"mass_body: is required with added_mass"),
        ({"mass_body": "pelvis"}, r"mass_body: is set but neither"),
        ({"push_interval": [1.0, 2.0]}, r"push_interval: is set but neither"),
        ({"push_ang_vel": [0.1, 0.1, 0.1]}, r"push_interval: is required with"),
    ],
)
def test_bad_settings_name_the_key(change, message):
    cfg = dataclasses.replace(DomainRandomizationConfig(), **change)
    with pytest.raises(ConfigError, match=r"^env\.domain_randomization\." + message):
        cfg.validate()


# ------------------------------------------------------------------------------- draws
def test_physics_draws_are_within_range_per_env_and_dof_and_reproducible():
    n, d = 500, 29
    v = sample_physics_variation(FULL, n, d, gen(1))
    assert v is not None and v.body_name == "torso_link"
    v.validate(n, d, {"torso_link": 10.0})
    for value, low, high in [
        (v.floor_friction, 0.3, 1.6),
        (v.added_mass, -1.0, 3.0),
        (v.kp_scale, 0.8, 1.2),
        (v.kd_scale, 0.5, 0.7),
    ]:
        assert value.dtype == np.float64
        assert value.min() >= low and value.max() <= high
        assert value.max() - value.min() > 0.9 * (high - low)  # the range is used, not a point
    assert v.kp_scale.shape == (n, d) and np.unique(v.kp_scale[0]).size == d  # per DoF
    assert v.com_offset.shape == (n, 3)
    reach = np.abs(v.com_offset).max(axis=0)
    assert (reach <= [0.025, 0.05, 0.05]).all() and (reach > [0.024, 0.048, 0.048]).all()
    assert (v.com_offset.min(axis=0) < 0).all()  # both signs
    again = sample_physics_variation(FULL, n, d, gen(1))
    for f in ("floor_friction", "added_mass", "com_offset", "kp_scale", "kd_scale"):
        np.testing.assert_array_equal(getattr(v, f), getattr(again, f))
    other = sample_physics_variation(FULL, n, d, gen(2))
    assert not np.array_equal(v.floor_friction, other.floor_friction)


def test_only_the_set_physics_keys_are_drawn():
    assert sample_physics_variation(DomainRandomizationConfig(), 4, 3, gen()) is None
    only = DomainRandomizationConfig(floor_friction=[0.5, 0.5], encoder_bias=0.1)
    v = sample_physics_variation(only, 4, 3, gen())
    np.testing.assert_array_equal(v.floor_friction, np.full(4, 0.5))
    assert v.body_name is None and v.added_mass is None and v.kp_scale is None


def test_encoder_bias_and_latency_draws():
    n, d = 400, 5
    bias = sample_encoder_bias(FULL, n, d, gen(3))
    assert bias.shape == (n, d) and bias.dtype == torch.float32
    assert bias.abs().max() <= 0.01 and bias.abs().max() > 0.0099 and bias.min() < 0
    assert torch.equal(bias, sample_encoder_bias(FULL, n, d, gen(3)))
    assert not sample_encoder_bias(DomainRandomizationConfig(), n, d, gen()).any()
    latency = sample_latency(FULL, n, gen(4))
    assert latency.dtype == torch.long and set(latency.tolist()) == {1, 2, 3}
    assert torch.equal(latency, sample_latency(FULL, n, gen(4)))
    assert not sample_latency(DomainRandomizationConfig(), n, gen()).any()


# ------------------------------------------------------------------------------- latency
def test_each_env_gets_the_command_of_its_delay_steps_ago():
    delay = ActionDelay(num_envs=3, action_dim=2, max_delay=3, device="cpu")
    delay.set_delays(torch.arange(3), torch.tensor([0, 1, 3]))
    first = torch.full((3, 2), -1.0)
    delay.reset(torch.arange(3), first)
    given = [torch.randn(3, 2, generator=gen(t)) for t in range(8)]
    for t, command in enumerate(given):
        out = delay(command)
        assert torch.equal(out[0], command[0])  # delay 0: exactly this step's
        assert torch.equal(out[1], given[t - 1][1] if t >= 1 else first[1])
        assert torch.equal(out[2], given[t - 3][2] if t >= 3 else first[2])


def test_reset_refills_the_history_of_those_envs_only():
    delay = ActionDelay(num_envs=2, action_dim=1, max_delay=2, device="cpu")
    delay.set_delays(torch.arange(2), torch.tensor([2, 2]))
    delay.reset(torch.arange(2), torch.zeros(2, 1))
    for t in range(1, 4):
        delay(torch.full((2, 1), float(t)))
    delay.reset(torch.tensor([1]), torch.tensor([[9.0]]))  # env 1: a new episode
    out = [delay(torch.full((2, 1), float(t))).flatten().tolist() for t in range(4, 7)]
    # env 0 keeps its past (2, 3, then 4); env 1 sees its first command until its own arrive
    assert out == [[2.0, 9.0], [3.0, 9.0], [4.0, 4.0]]


def test_delays_outside_the_buffer_are_refused():
    delay = ActionDelay(num_envs=2, action_dim=1, max_delay=2, device="cpu")
    with pytest.raises(ValueError, match=r"delays must be in \[0, 2\]"):
        delay.set_delays(torch.tensor([0]), torch.tensor([3]))
    with pytest.raises(ValueError, match="max_delay must be >= 0"):
        ActionDelay(num_envs=2, action_dim=1, max_delay=-1, device="cpu")


# --------------------------------------------------------------------------------- pushes
def test_pushes_come_every_interval_with_velocities_in_range():
    n, dt, steps = 1000, 0.02, 600  # 12 s
    schedule = PushSchedule(n, [1.0, 3.0], [0.5, 0.5, 0.2], [0.0, 0.0, 0.78], dt, "cpu", gen(5))
    last = torch.zeros(n)
    gaps, lins, angs = [], [], []
    for t in range(1, steps + 1):
        ids, lin, ang = schedule.step()
        assert ids.unique().numel() == ids.numel() and lin.shape == ang.shape == (len(ids), 3)
        gaps.append(t * dt - last[ids])
        last[ids] = t * dt
        lins.append(lin)
        angs.append(ang)
    gaps, lin, ang = torch.cat(gaps), torch.cat(lins), torch.cat(angs)
    assert gaps.min() >= 1.0 - dt / 2 - 1e-6 and gaps.max() <= 3.0 + dt / 2 + 1e-6
    assert gaps.mean() == pytest.approx(2.0, abs=0.05)
    assert len(gaps) == pytest.approx(n * 12 / 2.0, rel=0.1)
    reach = lin.abs().max(0).values
    top = torch.tensor([0.5, 0.5, 0.2])
    assert (reach <= top).all() and (reach > 0.95 * top).all()
    assert lin.mean(0).abs().max() < 0.02
    assert not ang[:, :2].any() and ang[:, 2].abs().max() > 0.7


def test_reset_restarts_the_wait():
    n, dt = 200, 0.1  # an interval of exactly 10 steps
    schedule = PushSchedule(n, [1.0, 1.0], [1.0] * 3, None, dt, "cpu", gen(6))
    for _ in range(5):
        assert len(schedule.step()[0]) == 0
    schedule.reset(torch.arange(100))  # half the envs start a new wait now
    pushed = [schedule.step()[0] for _ in range(10)]
    assert torch.equal(pushed[4], torch.arange(100, 200))  # the others: at step 10 as before
    assert torch.equal(pushed[9], torch.arange(100))
    assert all(len(p) == 0 for i, p in enumerate(pushed) if i not in (4, 9))


def test_a_seed_repeats_the_schedule():
    def run(seed: int) -> list[tuple[torch.Tensor, ...]]:
        schedule = PushSchedule(50, [0.1, 0.5], [1.0] * 3, None, 0.02, "cpu", gen(seed))
        return [schedule.step() for _ in range(60)]

    first, again, other = run(7), run(7), run(8)
    assert sum(len(ids) for ids, _, _ in first) > 100
    for (ids, lin, ang), (ids2, lin2, ang2) in zip(first, again, strict=True):
        assert torch.equal(ids, ids2) and torch.equal(lin, lin2) and torch.equal(ang, ang2)
        assert not ang.any()  # ang_vel None: no angular push
    assert any(not torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))
