"""A scripted stand-in for an env, for tests of the evaluation loop without a simulator.

Env ``i`` ends every ``lengths[i]`` steps (a time-out) with reward 1 per step, so an
episode's return is its length; its tracking errors are ``error`` per step, or the episode
length (to check per-episode averaging). Actions must be finite: what the evaluation
sends on to an env never is NaN.
"""

from __future__ import annotations

import torch

from mjmimic.envs.done import DoneFlag
from mjmimic.training.evaluation import TRACKING_METRICS


class ScriptedEnv:
    def __init__(
        self,
        lengths: list[int],
        error: float | None = None,
        best_return_per_step: float = 2.0,
        full_steps_per_step: float = 4.0,
        clip_seconds: float = 10.0,
    ):
        self.lengths = torch.tensor(lengths)
        self.num_envs = len(lengths)
        self.device = torch.device("cpu")
        self.dt = 0.1
        self.t = torch.zeros(self.num_envs, dtype=torch.long)
        self.compute_tracking_errors = False
        self.resets = 0
        self.tracked_body_names, self.tracked_joint_names = ["foot"], ["knee"]
        self._error = error
        self._best, self._full, self._clip = best_return_per_step, full_steps_per_step, clip_seconds

    def set_tracking(self, enabled):
        self.compute_tracking_errors = enabled

    def clip_names(self):
        return ["clip"]

    def clip_durations(self):
        return torch.tensor([self._clip])

    def reset(self, env_ids=None):
        self.t[torch.arange(self.num_envs) if env_ids is None else env_ids] = 0
        self.resets += 1
        return torch.zeros(self.num_envs, 1)

    def best_episode_return(self):
        return self._best * self.lengths.double()

    def full_episode_steps(self):
        return self._full * self.lengths.double()

    def step(self, action):
        assert torch.isfinite(action).all() and self.compute_tracking_errors
        self.t += 1
        done = torch.where(self.t >= self.lengths, int(DoneFlag.TIME), int(DoneFlag.NULL))
        err = (
            self.lengths.double()
            if self._error is None
            else torch.full((self.num_envs,), self._error, dtype=torch.float64)
        )
        tracking = {k: err for k in TRACKING_METRICS}
        tracking.update(
            body_pos_err=err[:, None],
            joint_err=err[:, None],
            clip=torch.zeros(self.num_envs, dtype=torch.long),
            clip_time=self.t * self.dt,
        )
        return (
            torch.zeros(self.num_envs, 1),
            torch.ones(self.num_envs),
            done,
            {"tracking": tracking},
        )
