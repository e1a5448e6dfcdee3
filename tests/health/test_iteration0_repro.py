"""The iteration-0 NaN of the issue, reproduced through the CLI: a run started from a
model file with one bad number in it.

Measured without the guards (``health: {enabled: false}``), one iteration: a NaN in the
actor's log-std gives critic loss 12.7 and actor loss NaN at iteration 0 (the user's K1
report: 36.3 and NaN) while MuJoCo silently resets every env that got a NaN command; a
negative variance in the observation normalizer makes every loss NaN. With the guards
the run stops at iteration 0, step 0, before the physics sees a NaN, and the report
names the bad tensor and entry.
"""

from __future__ import annotations

import json
import math

import pytest

from mjmimic.cli.main import main
from mjmimic.training import checkpoint


def _corrupt_normalizer(model: dict, labels: list[str]) -> str:
    model["obs_norm.var"][labels.index("key_pos[head].z")] = -1.0
    return "key_pos[head].z"


def _corrupt_log_std(model: dict, labels: list[str]) -> str:
    model["actor.log_std"][3] = math.nan
    return "actor.log_std"


@pytest.mark.parametrize(
    ("corrupt", "kind", "cause"),
    [
        (_corrupt_normalizer, "nonfinite_normalizer", "normalizer"),
        (_corrupt_log_std, "nonfinite_action", "actor parameters are non-finite"),
    ],
)
def test_iteration0_nan_from_a_corrupt_model_file(
    tmp_path, capsys, health_kit, corrupt, kind, cause
):
    k = health_kit
    agent = {"model": {"actor_std_type": "CONSTANT"}}
    donor = k.make_trainer(tmp_path / "donor", **agent)
    payload = donor.model_payload()
    donor.env.engine.close()
    culprit = corrupt(payload["model"], donor.health.labels)
    broken = tmp_path / "broken_model.pt"
    checkpoint.atomic_save(payload, broken)

    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--engine_config", str(k.ENGINE),
            "--env_config", str(k.SQUAT_ENV),
            "--agent_config", str(k.write_agent(tmp_path / "agent.yaml", **agent)),
            "--num_envs", str(k.NUM_ENVS),
            "--max_samples", str(2 * k.NUM_ENVS * k.STEPS),
            "--out_dir", str(out),
            "--model_file", str(broken),
            "--rand_seed", "1",
            "--threads", "1",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mjmimic: error: training stopped at ")
    assert "iteration 0, step 0" in lines[0]

    report = json.loads((out / "diagnosis.json").read_text())
    first = report["first_problem"]
    assert first["kind"] == kind
    assert any(culprit in text for text in [*first["labels"], *first["upstream"]])
    assert cause in report["causes"][0]["cause"]
    assert "--model_file" in report["causes"][0]["try"][0]
