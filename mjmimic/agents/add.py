"""ADD (Adversarial Differential Discriminator) as MimicKit's ADDAgent: AMP whose
discriminator judges the *difference* between the reference and the simulated state.

Each step the env reports ``disc_obs`` (sim) and ``disc_obs_demo`` (the reference at the
same motion time); the input to D is ``delta = disc_obs_demo - disc_obs``, divided by the
running mean |delta| (``DiffNormalizer``). Perfect tracking is delta = 0, so the one
positive sample is the zero vector (fed to D as it is, as in MimicKit: 0 scaled is 0);
the negatives are the normalized deltas of the rollout minibatch plus replayed pairs,
whose delta is recomputed with the current normalizer (the replay stores the raw pairs).
Loss: 1/2 [BCE(D(0), 1) + BCE(D(delta), 0)] + w_gp * 1/2 [E|dD/d delta|^2 + |dD/dx at 0|^2]
+ w_logit * |W_logit|^2; the penalty at 0 is what keeps D from becoming a spike there.
Reward as AMP's, from D (before its update) on the normalized rollout deltas; no demo
sampler is needed. Everything else (hooks, schedule, state) is AMPAgent's.

Statistics keep AMP's names: ``disc_demo_*`` is the positive (zero) sample, ``disc_agent_*``
the deltas (MimicKit logs them as disc_pos_* / disc_neg_*).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mjmimic.agents.adversarial_config import ADDConfig
from mjmimic.agents.amp import AMPAgent, disc_obs_size
from mjmimic.agents.diff_normalizer import DiffNormalizer


class ADDAgent(AMPAgent):
    for_what = "agent_name: ADD"
    needs_demos = False
    disc_record_names = ("disc_obs", "disc_obs_demo")

    def __init__(
        self,
        cfg: ADDConfig,
        obs_dim: int,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        num_envs: int,
        disc_obs_dim: int,
        device: torch.device | str = "cpu",
    ):
        super().__init__(
            cfg, obs_dim, action_low, action_high, num_envs, disc_obs_dim, None, device=device
        )
        self._zero = torch.zeros(1, disc_obs_dim, device=self.device)

    @classmethod
    def from_env(cls, cfg: ADDConfig, env: Any, device: torch.device | str = "cpu") -> ADDAgent:
        """Sizes from the env; D from ``info_spec.extras`` ``disc_obs`` and
        ``disc_obs_demo`` (``env_name: add``). No demo sampler: the reference is in the
        rollout."""
        low, high = env.action_bounds()
        disc_dim = disc_obs_size(env, cls.disc_record_names, cls.for_what)
        return cls(cfg, env.obs_dim, low, high, env.num_envs, disc_dim, device=device)

    def _disc_input(self, records: dict[str, torch.Tensor]) -> torch.Tensor:
        # MimicKit's sign: demo - sim.
        return records["disc_obs_demo"] - records["disc_obs"]

    def _build_disc_obs_norm(self) -> nn.Module:
        return DiffNormalizer(self.disc_obs_dim, min_diff=1e-4)

    def _prepare_disc_data(self) -> None:
        self._push_replay(self._disc_records())

    def _disc_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positive: the single zero vector; negatives: rollout deltas of ``idx`` and as
        many replayed ones, normalized now."""
        records = self._disc_records(idx)
        delta = self._disc_input(records)
        replayed = self._disc_input(self.replay.sample(len(idx)))
        self._adversarial = (records["disc_obs"], records["disc_obs_demo"])
        pos = self._zero.clone().requires_grad_(True)
        neg = self.disc_obs_norm(torch.cat([delta, replayed])).requires_grad_(True)
        return pos, neg

    def adversarial_inputs(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(sim, demo): the raw ``disc_obs`` and ``disc_obs_demo`` rows of the last disc
        minibatch of the last update, (n, D) each; None before the first update.

        Not (delta, zeros): the positive is one fixed vector, not a distribution, so a
        per-dimension comparison against it says nothing; sim against reference, at the
        same motion times, shows a reference the robot never reaches (D's input is their
        difference, demo - sim)."""
        return self._adversarial
