"""The training loop: collect ``steps_per_iter`` steps from all envs, update, log, repeat.

Every ``iters_per_output`` iterations (and at the end) it runs test episodes, writes
``model.pt`` and ``checkpoint.pt``, then resets all envs. Ctrl-C or SIGTERM ends the run
after the iteration in progress, saved but without test episodes (``stop_signals.py``).
Resetting right after the checkpoint (which stores the RNG states) is what makes
``--resume`` continue exactly as an uninterrupted run would: the env state after a
checkpoint is a function of the RNG. A resumed run first cuts log.txt and
health_events.jsonl back to the checkpoint's iteration: a run killed after it had logged
iterations past its last checkpoint trains those again.

The health monitor (``mjmimic/health``) watches every step and update through three
hooks; it may ask to skip an iteration or roll back to the last checkpoint, stop the run
with a diagnosis, or, when something crashes, write the diagnosis before the error
propagates.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mjmimic.agents.base import Agent
from mjmimic.envs.base import Env
from mjmimic.errors import MjmimicError
from mjmimic.health.monitor import EVENTS_FILE, HealthMonitor, Verdict
from mjmimic.logging.progress import ProgressLine
from mjmimic.logging.table_log import TableLog, cut_rows
from mjmimic.paths import atomic_write_bytes
from mjmimic.training import checkpoint
from mjmimic.training.episodes import EpisodeTracker
from mjmimic.training.evaluation import evaluate
from mjmimic.training.stop_signals import StopSignals


@dataclass
class RunSettings:
    out_dir: Path
    max_samples: int  # the run's, counted over resumed sessions like ``samples``
    # Minutes of Wall_Time (training time summed over resumed sessions); None = no limit.
    max_minutes: float | None
    iters_per_output: int
    test_episodes: int
    logger: str  # "txt" | "tb"
    save_int_models: bool = False
    progress: bool = True
    # torch threads while the envs step (rollouts, test episodes); None: as for the update.
    # Idle OpenMP workers of a multi-threaded torch spin beside MuJoCo's rollout threads
    # and slow both: on 2 cores 1 thread here made env stepping ~20 % faster.
    collect_threads: int | None = None


class Trainer:
    def __init__(
        self,
        env: Env,
        agent: Agent,
        settings: RunSettings,
        run_config: dict[str, Any],
        test_env: Env | None = None,
    ):
        self.env = env
        self.test_env = env if test_env is None else test_env  # where test episodes run
        self.agent = agent
        self.settings = settings
        self.run_config = run_config
        self.iteration = 0
        self.samples = 0
        self.wall_time = 0.0  # seconds of training, summed over resumed sessions
        self.last_test: dict[str, float] = {}
        self.stopped_by: str | None = None  # the signal that ended the last train()
        self.health = HealthMonitor(agent.cfg.health, env, agent, settings.out_dir, run_config)

    # -------------------------------------------------------------------- persistence
    def model_payload(self) -> dict[str, Any]:
        return {
            "format": checkpoint.MODEL_FORMAT,
            "format_version": checkpoint.FORMAT_VERSION,
            "model": self.agent.model_state_dict(),
            "config": self.run_config,
            "iteration": self.iteration,
            "samples": self.samples,
        }

    def save(self) -> None:
        out = self.settings.out_dir
        try:
            self._save(out)
        except MjmimicError as exc:  # a full disk, say: the previous checkpoint still counts
            if not (out / "checkpoint.pt").is_file():
                raise
            raise MjmimicError(
                f"{exc}; to continue from the last checkpoint.pt: mjmimic train --resume {out}"
            ) from None

    def _save(self, out: Path) -> None:
        checkpoint.atomic_save(self.model_payload(), out / "model.pt")
        if self.settings.save_int_models:  # atomic_save makes int_models/
            path = out / "int_models" / f"model_{self.iteration:010d}.pt"
            checkpoint.atomic_save(self.model_payload(), path)
        state = {
            **self.model_payload(),
            "format": checkpoint.CHECKPOINT_FORMAT,
            "training": self.agent.training_state_dict(),
            "env": self.env.state_dict(),
            "wall_time": self.wall_time,
            "last_test": self.last_test,
            "rng": checkpoint.capture_rng(),
        }
        checkpoint.atomic_save(state, out / "checkpoint.pt")

    def restore(self, path: Path) -> None:
        state = checkpoint.load(path, checkpoint.CHECKPOINT_FORMAT)
        self.agent.load_model_state_dict(state["model"])
        self.agent.load_training_state_dict(state["training"])
        self.iteration = state["iteration"]
        self.samples = state["samples"]
        self.wall_time = state["wall_time"]
        self.last_test = state["last_test"]
        self.env.load_state_dict(state.get("env", {}))
        checkpoint.restore_rng(state["rng"])

    def rollback(self) -> None:
        """Back to the last checkpoint's weights, optimizers and counters, keeping the
        current RNG state: replaying the stored one would replay the failure."""
        state = checkpoint.load(
            self.settings.out_dir / "checkpoint.pt", checkpoint.CHECKPOINT_FORMAT
        )
        self.agent.load_model_state_dict(state["model"])
        self.agent.load_training_state_dict(state["training"])
        self.iteration = state["iteration"]
        self.samples = state["samples"]

    def _cut_to_checkpoint(self) -> None:
        """The files the run appends to, back to the restored checkpoint: a run killed
        after its last checkpoint wrote log rows and health events of iterations that the
        resumed run trains again."""
        out = self.settings.out_dir
        cut_rows(out / "log.txt", self.iteration)
        _cut_events(out / EVENTS_FILE, self.iteration)

    # ---------------------------------------------------------------------- the loop
    def train(self) -> None:
        s = self.settings
        if self.iteration > 0:
            self._cut_to_checkpoint()
        logs = [TableLog(s.out_dir / "log.txt", append=self.iteration > 0)]
        tb = None
        if s.logger == "tb":
            from mjmimic.logging.tensorboard import TensorBoardLog

            # A resumed session purges what a killed run logged after its last checkpoint
            # (TensorBoard's purge_step: events at later steps are dropped on reading), so
            # the redone iterations are not shown twice, as log.txt is cut back.
            tb = TensorBoardLog(s.out_dir, purge_step=self.samples + 1 if self.samples else None)
        budget = math.inf if s.max_minutes is None else 60.0 * s.max_minutes
        progress = (
            ProgressLine(s.max_samples, max_seconds=budget - self.wall_time) if s.progress else None
        )
        env, agent = self.env, self.agent
        tracker = EpisodeTracker(env.num_envs)
        obs = env.reset()
        steps_per_iter = agent.cfg.steps_per_iter
        health = self.health
        update_threads = torch.get_num_threads()
        collect_threads = s.collect_threads or update_threads
        with StopSignals() as signals:
            try:
                while self.samples < s.max_samples:
                    start = time.perf_counter()
                    torch.set_num_threads(collect_threads)
                    health.start_iteration(self.iteration)
                    obs, verdict, term_sums = self._collect(obs, tracker)
                    collect_time = time.perf_counter() - start
                    torch.set_num_threads(update_threads)
                    if verdict is Verdict.OK:
                        verdict = health.before_update()
                    if verdict is Verdict.OK:
                        stats = agent.update()
                        verdict = health.after_update(stats)
                    if verdict is not Verdict.OK:
                        obs = self._recover(verdict)
                        tracker.drop_running()
                        continue
                    self.iteration += 1
                    self.samples += steps_per_iter * env.num_envs
                    iter_time = time.perf_counter() - start
                    stop = signals.received is not None
                    # The time budget is the run's, like max_samples: Wall_Time so far.
                    time_up = self.wall_time + time.perf_counter() - start >= budget
                    last = stop or self.samples >= s.max_samples or time_up
                    output_now = self.iteration % s.iters_per_output == 0 or last
                    tested = output_now and not stop
                    if tested:
                        torch.set_num_threads(collect_threads)
                        self.last_test = evaluate(
                            self.test_env,
                            agent,
                            s.test_episodes,
                            criteria=getattr(agent.cfg, "evaluation", None),
                        )
                    # Wall_Time is the honest clock of the run: evaluation counts too.
                    self.wall_time += time.perf_counter() - start
                    row = self._log_row(
                        stats,
                        tracker,
                        term_sums,
                        steps_per_iter,
                        collect_time,
                        iter_time,
                        self.last_test if tested else {},
                    )
                    tracker.clear_finished()
                    for log in logs:
                        log.write(row)
                    if tb is not None:
                        tb.write(row, self.samples)
                    if progress is not None:
                        progress.update(
                            self.iteration,
                            self.samples,
                            row["Samples_Per_Sec"],
                            self.wall_time,
                            self.last_test.get("return"),
                        )
                    if output_now:
                        self.save()
                        obs = env.reset()
                        tracker.drop_running()
                    if last:
                        break
            except Exception as exc:
                # A full disk fails the diagnosis too; the first error is the news.
                with contextlib.suppress(OSError):
                    health.on_crash(exc)
                raise
            finally:
                torch.set_num_threads(update_threads)
                self.stopped_by = signals.received
                for log in logs:
                    log.close()
                if tb is not None:
                    tb.close()
                if progress is not None:
                    progress.finish()

    def _collect(
        self, obs: torch.Tensor, tracker: EpisodeTracker
    ) -> tuple[torch.Tensor, Verdict, dict[str, torch.Tensor]]:
        """One rollout of ``steps_per_iter`` steps from all envs into the agent's buffer:
        (the next observation, the health verdict, per-term sums of mean rewards). A verdict
        other than OK stops the rollout where it was given."""
        env, agent, health = self.env, self.agent, self.health
        term_sums: dict[str, torch.Tensor] = {}
        # The env's tensors live on the engine's device (the CPU), the agent's on its own
        # (--devices cuda:0): one explicit copy each way per step, a no-op on the CPU.
        to_agent, to_env = agent.device, env.device
        for _ in range(agent.cfg.steps_per_iter):
            action = agent.act(obs.to(to_agent)).to(to_env)
            verdict = health.after_act(obs, action)
            if verdict is not Verdict.OK:
                return obs, verdict, term_sums
            next_obs, reward, done, info = env.step(action)
            verdict = health.after_step(action, next_obs, reward, info)
            if verdict is not Verdict.OK:
                return obs, verdict, term_sums
            agent.record_step(next_obs.to(to_agent), reward.to(to_agent), done.to(to_agent), info)
            tracker.step(reward, done)
            for k, v in info["reward_terms"].items():
                term_sums[k] = term_sums.get(k, 0.0) + v.mean()
            obs = next_obs
            done_ids = torch.nonzero(done).flatten()
            if done_ids.numel():
                obs = env.reset(done_ids)
        return obs, Verdict.OK, term_sums

    def _recover(self, verdict: Verdict) -> torch.Tensor:
        """Drop this iteration (and with ROLLBACK return to the checkpoint); fresh episodes."""
        if verdict is Verdict.ROLLBACK:
            self.rollback()
        self.agent.discard_rollout()
        return self.env.reset()

    def _log_row(
        self, stats, tracker, term_sums, steps, collect_time, iter_time, test
    ) -> dict[str, float]:
        """``test``: this iteration's test results, empty (nan columns) when it ran none."""
        train = tracker.summary()
        nan = float("nan")
        row: dict[str, float] = {
            "Iteration": self.iteration,
            "Wall_Time": self.wall_time / 3600.0,
            "Samples": self.samples,
            "Samples_Per_Sec": steps * self.env.num_envs / iter_time,
            "Collect_Fraction": collect_time / iter_time,
            "Test_Return": test.get("return", nan),
            "Test_Normalized_Return": test.get("normalized_return", nan),
            "Test_Episode_Length": test.get("episode_length", nan),
            "Test_Episode_Length_Fraction": test.get("episode_length_fraction", nan),
            "Test_Full_Length_Rate": test.get("full_length_rate", nan),
            "Test_Episodes": test.get("episodes", nan),
            "Test_Joint_Rot_Err": test.get("joint_rot_err", nan),
            "Test_Root_Pos_Err": test.get("root_pos_err", nan),
            "Test_Key_Pos_Err": test.get("key_pos_err", nan),
            "Test_Success_Rate": test.get("success_rate", nan),
            "Test_Worst_Body_Err": test.get("worst_body_err", nan),
            "Test_Worst_Body_Frames_Over": test.get("frames_over_threshold", nan),
            "Train_Return": train.get("return", nan),
            "Train_Episode_Length": train.get("episode_length", nan),
            "Train_Episodes": train.get("episodes", 0.0),
        }
        row.update({_title(k): float(v) for k, v in stats.items()})
        mean, var = self.agent.obs_norm_stats()
        row["Obs_Norm_Mean"] = float(mean.abs().mean())  # MimicKit: mean |mu|
        row["Obs_Norm_Std"] = float(var.clamp_min(0.0).sqrt().mean())
        row.update({f"Env_Reward_{k}": float(v) / steps for k, v in term_sums.items()})
        return row


def _cut_events(path: Path, iteration: int) -> None:
    """Keep the health events of the first ``iteration`` iterations (an event's
    ``iteration`` counts the iterations done before it: 0 in the first); drop later ones
    and a line cut off by a kill. Rewritten atomically, only when something goes."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if _event_before(line, iteration)]
    if len(kept) != len(lines):
        atomic_write_bytes(path, "".join(kept).encode())


def _event_before(line: str, iteration: int) -> bool:
    if not line.endswith("\n"):
        return False
    try:
        event = json.loads(line)
    except ValueError:
        return False
    done = event.get("iteration") if isinstance(event, dict) else None
    return not isinstance(done, int) or done < iteration


def _title(key: str) -> str:
    """``critic_loss`` -> ``Critic_Loss`` (MimicKit's log key style)."""
    return "_".join(part[:1].upper() + part[1:] for part in key.split("_"))
