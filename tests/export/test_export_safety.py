"""Export never damages a good file, and sim2sim never reports a broken policy as good.

``export -o`` must not replace the run's model with an ONNX file, and a failed export
must leave what was at ``-o`` as it was. sim2sim must refuse, in one line naming the file
and the key, metadata that does not fit together (per-joint lists of another length,
NaN/inf, sizes that disagree) and weights that are NaN; a policy that still outputs a
non-finite action, or drives MuJoCo into a reset, is reported as failing (exit 1).
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from mjmimic.errors import MjmimicError
from mjmimic.export import onnx_export
from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.paths import ASSETS_DIR

HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"


@pytest.fixture
def run_dir(exported, tmp_path):
    """A private copy of the exported run (model.pt, checkpoint.pt, config...)."""
    dest = tmp_path / "run"
    shutil.copytree(exported.run_dir, dest)
    return dest


# ---------------------------------------------------------------------------- export -o
@pytest.mark.parametrize("target", ["model.pt", "checkpoint.pt", "weights.bin"])
def test_export_never_overwrites_a_torch_file(target, run_dir, cli, one_line_error):
    shutil.copy(run_dir / "model.pt", run_dir / "weights.bin")  # a torch file by another name
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    result = cli(["export", str(run_dir), "-o", str(run_dir / target)])
    one_line_error(result, str(run_dir / target), "refusing to overwrite a torch file")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_failed_export_leaves_the_file_at_o_intact(exported, run_dir, cli, monkeypatch):
    out_dir = run_dir / "deploy"
    out_dir.mkdir()
    policy = out_dir / "policy.onnx"
    shutil.copy(exported.policy, policy)
    good = policy.read_bytes()

    def parity_fails(path, *args):
        assert path != policy  # the new file is checked under another name
        raise MjmimicError("parity failed")

    monkeypatch.setattr(onnx_export, "_check_parity", parity_fails)
    assert cli(["export", str(run_dir), "-o", str(policy)]).code == 2
    assert policy.read_bytes() == good
    assert [p.name for p in out_dir.iterdir()] == ["policy.onnx"]  # no temporary left
    monkeypatch.undo()
    policy.write_bytes(b"an older export")
    result = cli(["export", str(run_dir), "-o", str(policy)])
    assert result.code == 0, result.err
    assert [p.name for p in out_dir.iterdir()] == ["policy.onnx"]
    assert onnx.load(str(policy)).graph.node  # the new policy, complete


def test_export_refuses_nan_weights_and_broken_model_files(run_dir, cli, one_line_error):
    out = run_dir / "policy.onnx"
    saved = torch.load(run_dir / "model.pt", weights_only=True)
    saved["model"]["actor.mean_head.weight"][0, 0] = math.nan
    torch.save(saved, run_dir / "nan.pt")
    one_line_error(
        cli(["export", str(run_dir / "nan.pt"), "-o", str(out)]),
        "nan.pt",
        "actor.mean_head.weight holds 1 non-finite value",
    )
    del saved["config"]
    torch.save(saved, run_dir / "no_config.pt")
    one_line_error(
        cli(["export", str(run_dir / "no_config.pt"), "-o", str(out)]),
        "no_config.pt",
        "without config",
    )
    (run_dir / "cut.pt").write_bytes((run_dir / "model.pt").read_bytes()[:3000])
    one_line_error(cli(["export", str(run_dir / "cut.pt"), "-o", str(out)]), "cut.pt", "truncated")
    assert not out.exists()


# --------------------------------------------------------------- inconsistent metadata
def _edited(policy, dest, edit):
    """A copy of ``policy`` whose metadata values (parsed JSON, by key) ``edit`` changed
    in place; a key it sets to None is removed."""
    model = onnx.load(str(policy))
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    edit(props)
    del model.metadata_props[:]
    for key, value in props.items():
        if value is not None:
            model.metadata_props.add(key=key, value=json.dumps(value))  # NaN as NaN
    onnx.save(model, str(dest))
    return dest


def _ghost_joint(p):
    """One joint more than the robot and the ONNX graph have, every per-joint list
    consistent with it."""
    p["mjmimic.joint_names"].append("ghost")
    for key in ("default_joint_pos", "action_scale", "action_offset", "kp", "kd"):
        p[f"mjmimic.{key}"].append(1.0)
    p["mjmimic.effort_limit"].append(None)
    for key in ("armature", "damping", "stiffness", "frictionloss"):
        p["mjmimic.physics"][key].append(0.0)


CASES = {
    "short_kp": (lambda p: p["mjmimic.kp"].pop(), ["mjmimic.kp", "one per joint", "27"]),
    "long_kd": (lambda p: p["mjmimic.kd"].append(1.0), ["mjmimic.kd", "one per joint"]),
    "nan_kp": (
        lambda p: p["mjmimic.kp"].__setitem__(3, math.nan),
        ["mjmimic.kp[3]", "nan", "a finite number"],
    ),
    "inf_effort": (
        lambda p: p["mjmimic.effort_limit"].__setitem__(0, math.inf),
        ["mjmimic.effort_limit[0]", "a finite number"],
    ),
    "nan_dt": (lambda p: p.__setitem__("mjmimic.sim_dt", math.nan), ["mjmimic.sim_dt"]),
    "dt_ratio": (
        lambda p: p.__setitem__("mjmimic.control_dt", 0.02),
        ["mjmimic.control_dt", "whole multiple"],
    ),
    "obs_size": (
        lambda p: p["mjmimic.observation"].__setitem__("size", 10),
        ["mjmimic.observation.size", "sum of the term sizes"],
    ),
    "integrator": (
        lambda p: p["mjmimic.physics"].__setitem__("integrator", "verlet"),
        ["mjmimic.physics.integrator", "'verlet'", "euler"],
    ),
    "no_falls": (lambda p: p.__setitem__("mjmimic.falls", None), ["lacks mjmimic.falls"]),
    "ghost_joint": (_ghost_joint, ["outputs shape (1, 28)", "lists 29 joints"]),
}


@pytest.mark.parametrize("case", CASES)
def test_inconsistent_metadata_is_one_line(case, exported, cli, one_line_error, tmp_path):
    edit, needles = CASES[case]
    policy = _edited(exported.policy, tmp_path / f"{case}.onnx", edit)
    result = cli(["sim2sim", str(policy), "--robot", str(HUMANOID), "--seconds", "0.1"])
    one_line_error(result, str(policy), *needles)
    if case != "ghost_joint":  # the metadata disagrees with itself: --describe says so too
        one_line_error(cli(["export", "--describe", str(policy)]), str(policy), *needles)


def test_a_torch_file_is_not_a_policy(exported, cli, one_line_error):
    model = exported.run_dir / "model.pt"
    one_line_error(cli(["sim2sim", str(model), "--robot", str(HUMANOID)]), str(model), "ONNX")


# ------------------------------------------------------------------ a policy that fails
def _nan_weights(policy, dest, which):
    """``policy`` with NaN in its last layer's first weight (``one``) or in every float
    constant (``all``)."""
    model = onnx.load(str(policy))
    joints = len(json.loads({p.key: p.value for p in model.metadata_props}["mjmimic.kp"]))
    for init in model.graph.initializer:
        values = numpy_helper.to_array(init).copy()
        if values.dtype.kind != "f":
            continue
        if which == "all":
            values[...] = np.nan
        elif values.ndim == 2 and joints in values.shape:  # the action head
            values.flat[0] = np.nan
        else:
            continue
        init.CopyFrom(numpy_helper.from_array(values, init.name))
        if which == "one":
            break
    onnx.save(model, str(dest))
    return dest


@pytest.mark.parametrize("which", ["one", "all"])
def test_nan_weights_are_refused(which, exported, cli, one_line_error, tmp_path):
    policy = _nan_weights(exported.policy, tmp_path / "nan.onnx", which)
    result = cli(["sim2sim", str(policy), "--robot", str(HUMANOID), "--seconds", "0.2"])
    one_line_error(result, str(policy), "non-finite value", "cannot act")


@pytest.mark.parametrize(
    ("action", "reason"),
    [(math.nan, "on a non-finite action"), (1e11, "on unstable physics")],
)
def test_failed_steps_are_reported_and_exit_1(action, reason, exported, cli, monkeypatch):
    """A NaN action is not sent (MuJoCo would zero it silently); a finite one beyond
    MuJoCo's limit (1e10) makes it drop the controls: both fail the step."""
    monkeypatch.setattr(Sim2Sim, "act", lambda self, obs: np.full(len(self.meta.kp), action))
    result = cli(["sim2sim", str(exported.policy), "--robot", str(HUMANOID), "--seconds", "0.2"])
    assert result.code == 1, result
    assert f"failed steps:        6 of 6 control steps failed (6 {reason}" in result.out
    assert "tracking errors:     none (every control step failed)" in result.out
    assert "root position err" not in result.out


def test_only_the_failed_steps_are_left_out(exported):
    sim = Sim2Sim(exported.policy, HUMANOID)
    act, calls = sim.act, []

    def every_third_nan(obs):
        calls.append(obs)
        action = act(obs)
        return action * np.nan if len(calls) % 3 == 0 else action

    sim.act = every_third_nan
    report = sim.run(0.3)  # 9 control steps
    assert [kind for _, kind in report.failures] == ["action"] * 3
    assert [round(t / (1 / 30)) for t, _ in report.failures] == [3, 6, 9]
    assert len(report.root_pos_err) == 6 and np.isfinite(report.root_pos_err).all()
