"""Export and sim2sim of policies trained by the real AMP and ADD learners.

Each is trained for two iterations through the CLI (tiny nets, 4 envs, the DeepMimic
walk), exported, checked against torch by onnxruntime (``export_policy`` measures the
largest action difference), and run alone in MuJoCo. ADD observes the reference (target
frames), so its clip is embedded and tracked in sim2sim; AMP observes only the robot, so
nothing is embedded and sim2sim runs without a reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mjmimic.cli.main import main
from mjmimic.export.onnx_export import export_policy
from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.paths import ASSETS_DIR, REPO_DIR

ENGINE = REPO_DIR / "configs" / "engines" / "mujoco_cpu.yaml"
CASES = {
    "ADD": ("configs/envs/add_humanoid.yaml", "configs/agents/add_cpu.yaml"),
    "AMP": ("configs/envs/amp_humanoid.yaml", "configs/agents/amp_humanoid_cpu.yaml"),
}


def _train(root: Path, name: str) -> Path:
    env_file, agent_file = CASES[name]
    agent = yaml.safe_load((REPO_DIR / agent_file).read_text())
    for net in ("actor_net", "critic_net", "disc_net"):
        agent["model"][net] = [32, 32]
    agent.update(steps_per_iter=8, iters_per_output=2, test_episodes=2, disc_buffer_size=512)
    (root / "agent.yaml").write_text(yaml.safe_dump(agent))
    run_dir = root / "run"
    argv = ["train", "--engine_config", str(ENGINE), "--env_config", str(REPO_DIR / env_file)]
    argv += ["--agent_config", str(root / "agent.yaml"), "--num_envs", "4"]
    argv += ["--max_samples", "64", "--out_dir", str(run_dir), "--rand_seed", "3"]
    assert main([*argv, "--threads", "1"]) == 0
    return run_dir / "model.pt"


@pytest.mark.parametrize("name", CASES)
def test_a_trained_adversarial_policy_exports_and_runs_alone(name, tmp_path, shared_data, capsys):
    model = _train(tmp_path, name)
    capsys.readouterr()
    onnx_file = tmp_path / "policy.onnx"
    meta, err = export_policy(model, onnx_file)
    assert err < 1e-4  # onnxruntime against torch, largest action difference

    sim = Sim2Sim(onnx_file, ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml")
    report = sim.run(0.2)
    assert report.steps == 6
    if name == "ADD":
        # Target frames are observed: the clip travels in the file and is tracked.
        assert meta.observation.enable_tar_obs
        assert [clip.name for clip in meta.reference_motions] == ["humanoid3d_walk"]
        assert sim.reference is not None and len(report.root_pos_err) == 6
    else:
        assert meta.reference_motions == [] and sim.reference is None
        assert report.root_pos_err == []
