"""Issue 19, the must-show case: a G1 that never kicks must not pass a kick clip.

A policy trained on the ASAP kick clip stood on both feet through the kick, and every
averaged number of ``mjmimic test`` said "learned" (full-length episodes, normalized return
0.82, key-body error 0.09 m). Here a real policy that does exactly that, holding the clip's
first (standing) pose as its PD target on every step, acts in MuJoCo on the G1 with the G1
walk config and the kick clip, and the evaluation must fail it: a low success rate, the
kicking foot named as the worst body, its worst window overlapping the kick (both found
from the reference clip here, not written down), and the foot marked red in the video.

The G1's mjlab PD gains are too soft to hold any pose without feedback: a held pose (the
clip's first frame, the profile's default pose, even the reference replayed) falls over
within about a second, with stiffer gains too. A trained policy balances through them. So
the stand-in runs with gravity off, a robot held in a gantry: its body stays where its
joints hold it, which is all this test needs of it.
"""

from __future__ import annotations

import json
import re

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from mjmimic.logging.tracking_report_files import write_tracking_report
from mjmimic.render import record_policy_video
from mjmimic.training.evaluation import run_evaluation
from mjmimic.training.setup import RunConfig, build_env_and_agent

KICK = "motions/g1_asap/npz/0-motions_raw_tairantestbed_smpl_video_kick_level2_filter_amass.npz"
FEET = ("left_ankle_roll_link", "right_ankle_roll_link")


class HoldStartPose:
    """A deterministic policy: every env's PD target is the clip's first pose, always."""

    device = torch.device("cpu")

    def __init__(self, pose: torch.Tensor):
        self.pose = pose
        self.training = True

    def eval_mode(self) -> None:
        self.training = False

    def train_mode(self) -> None:
        self.training = True

    def act(self, obs: torch.Tensor, deterministic: bool | None = None) -> torch.Tensor:
        return self.pose.expand(obs.shape[0], -1).clone()


@pytest.fixture(scope="module")
def kick_env(kit, shared_data, tmp_path_factory):
    """The G1 walk env config with the kick clip, episodes from the clip's start."""
    assert (shared_data / KICK).is_file()
    text = (kit.REPO / "configs" / "envs" / "deepmimic_g1_walk.yaml").read_text()
    text, n_motion = re.subn(r"motion_file: .*", f'motion_file: "${{MJMIMIC_DATA}}/{KICK}"', text)
    text, n_reset = re.subn(r"rand_reset: .*", "rand_reset: False", text)
    assert n_motion == 1 and n_reset == 1
    env_file = tmp_path_factory.mktemp("kick") / "g1_kick.yaml"
    env_file.write_text(text)
    run = RunConfig.from_files(kit.ENGINE, env_file, kit.BASE_AGENT, 2, 0, "cpu")
    run.engine.num_threads = 1
    env, _ = build_env_and_agent(run)
    env.engine.model.opt.gravity[:] = 0.0  # the gantry (module docstring)
    yield env
    env.engine.close()


def _kick(env) -> tuple[str, float, float, float]:
    """From the reference clip: the kicking foot (the one that rises highest above its
    starting height), the times it is above half that rise, and the time of the peak."""
    duration = float(env.clip_durations()[0])
    t = torch.arange(0.0, duration, env.dt)
    state = env.motion_lib.get_state(torch.zeros(t.shape, dtype=torch.long), t)
    rise = {}
    for name in FEET:
        z = state.body_pos[:, env.robot.body_names.index(name), 2]
        rise[name] = z - z[0]
    foot = max(FEET, key=lambda n: float(rise[n].max()))
    other = next(n for n in FEET if n != foot)
    assert float(rise[other].max()) < float(rise[foot].max()) / 3  # one foot kicks
    up = t[rise[foot] > 0.5 * rise[foot].max()]
    return foot, float(up.min()), float(up.max()), float(t[rise[foot].argmax()])


@pytest.fixture(scope="module")
def evaluation(kick_env):
    start = kick_env.motion_lib.get_state(torch.zeros(1, dtype=torch.long), torch.zeros(1))
    return run_evaluation(kick_env, HoldStartPose(start.dof_pos[0]), num_episodes=2)


def test_averages_look_learned_but_the_kick_fails(kick_env, evaluation):
    summary, report = evaluation.summary, evaluation.report
    # What issue 19 saw: nothing fell, the return is high, the mean key-body error is under
    # the threshold ...
    assert summary["episode_length_fraction"] >= 0.99
    assert summary["normalized_return"] > 0.5
    assert summary["key_pos_err"] < report.criteria.body_threshold
    # ... and the worst body says what happened.
    assert summary["success_rate"] == 0.0
    foot, kick_start, kick_end, kick_peak = _kick(kick_env)
    worst = report.worst_body
    assert worst.name == foot, report.table()
    assert summary["worst_body_err"] == worst.max > 0.5
    assert 0.1 < summary["frames_over_threshold"] == worst.frames_over < 0.6
    assert worst.window_start < kick_end and worst.window_end > kick_start, (
        (worst.window_start, worst.window_end),
        (kick_start, kick_peak, kick_end),
    )
    assert worst.window_end - worst.window_start == pytest.approx(report.criteria.window, abs=0.04)
    torso = next(s for s in report.body_stats if s.name == "torso_link")
    assert torso.max < 0.05  # the body that stood still is tracked


def test_report_files_name_the_kicking_foot(kick_env, evaluation, tmp_path):
    json_path, png_path = write_tracking_report(evaluation.report, tmp_path / "report", "kick")
    data = json.loads(json_path.read_text())
    foot = _kick(kick_env)[0]
    assert data["worst_body"]["name"] == foot
    assert data["success_rate"] == 0.0
    assert data["thresholds"]["body_threshold"] == evaluation.report.criteria.body_threshold
    (clip,) = data["clips"]
    bins = len(clip["time_bins"])
    assert bins == len(clip["frames_per_bin"]) == len(clip["body_mean_err"][foot])
    assert clip["time_bins"][1] == pytest.approx(kick_env.dt)
    peak = max(v for v in clip["body_mean_err"][foot] if v is not None)
    assert peak == pytest.approx(data["worst_body"]["max"], rel=1e-4)  # one frame per bin
    assert png_path.stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "tracking_heatmap.png",
        "tracking_report.json",
    ]


def _red_pixels(frame: np.ndarray) -> int:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((r > 180) & (g < 70) & (b < 70)).sum())


def test_video_marks_the_foot_while_it_is_off(kick_env, evaluation, tmp_path):
    kick_peak = _kick(kick_env)[3]
    start = kick_env.motion_lib.get_state(torch.zeros(1, dtype=torch.long), torch.zeros(1))
    fps = 3  # few frames: rendering the G1's meshes is the slow part
    path = record_policy_video(
        kick_env,
        HoldStartPose(start.dof_pos[0]),
        tmp_path / "kick.gif",
        seconds=kick_peak + 0.5,
        fps=fps,
        width=160,
        height=120,
        marker_threshold=evaluation.report.criteria.body_threshold,
    )
    frames = imageio.mimread(path)
    at_peak = frames[round(kick_peak * fps)]
    assert _red_pixels(frames[0]) == 0  # nothing is off at the start
    assert _red_pixels(at_peak) > 20
