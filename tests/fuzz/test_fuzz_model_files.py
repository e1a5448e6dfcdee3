"""Robot models (MJCF), checkpoints (checkpoint.pt/model.pt), exported policies (ONNX
metadata) and a run's files as ``mjmimic doctor`` reads them, fed damaged input: a valid
result or one line, nothing else."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mjmimic.export.metadata import (
    FallInfo,
    ObservationInfo,
    ObsTermInfo,
    PhysicsInfo,
    PolicyMetadata,
    encode_clip,
    read_policy,
)
from mjmimic.health.doctor import diagnose_run
from mjmimic.health.events import HealthEvent
from mjmimic.robots.model import RobotModel
from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig
from tests.fuzz.fuzzing import (
    AGENT_YAML,
    ENGINE_YAML,
    ENV_YAML,
    HUMANOID_XML,
    check_reader,
    damaged,
    edited_dict,
    finite,
    json_values,
)


def valid_robot(robot: RobotModel) -> None:
    assert isinstance(robot, RobotModel) and robot.num_bodies >= 1
    finite(robot.body_local_pos, robot.body_local_quat, robot.dof_low, robot.dof_high)


@given(data=st.data())
def test_mjcf(data, fuzz_dir):
    case, xml = data.draw(damaged(HUMANOID_XML.read_bytes(), text=True))
    path = fuzz_dir / "robot.xml"
    path.write_bytes(xml)
    check_reader("MJCF", case, lambda: RobotModel.from_file(path), valid_robot)


# ---------------------------------------------------------------------------------------
# checkpoint.pt / model.pt


def _model_file() -> dict[str, Any]:
    return {
        "format": checkpoint.MODEL_FORMAT,
        "format_version": checkpoint.FORMAT_VERSION,
        "iteration": 3,
        "model": {"actor.weight": torch.zeros(2, 3), "obs_norm.var": torch.ones(3)},
        "config": {"num_envs": 8},
    }


def _torch_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _read_model(path: Path) -> dict[str, Any]:
    return checkpoint.load(path, checkpoint.MODEL_FORMAT)


def valid_model(obj: dict[str, Any]) -> None:
    assert isinstance(obj, dict) and obj["format"] == checkpoint.MODEL_FORMAT


@given(data=st.data())
def test_model_file(data, fuzz_dir):
    case, blob = data.draw(damaged(_torch_bytes(_model_file()), text=False))
    path = fuzz_dir / "model.pt"
    path.write_bytes(blob)
    check_reader("model.pt", case, lambda: _read_model(path), valid_model)


@given(data=st.data())
def test_model_file_with_wrong_values(data, fuzz_dir):
    obj = data.draw(edited_dict(_model_file(), json_values))
    path = fuzz_dir / "model.pt"
    path.write_bytes(_torch_bytes(obj))
    check_reader("model.pt", "wrong values", lambda: _read_model(path), valid_model)


# ---------------------------------------------------------------------------------------
# ONNX metadata


def _metadata() -> PolicyMetadata:
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (2, 1))
    return PolicyMetadata(
        mjmimic_version="0.1.0",
        robot_name="humanoid",
        robot_file="humanoid.xml",
        joint_names=["knee", "hip"],
        default_joint_pos=[0.0, 0.0],
        control_mode="pos",
        action_scale=[0.5, 0.5],
        action_offset=[0.0, 0.0],
        kp=[10.0, 10.0],
        kd=[1.0, 1.0],
        effort_limit=[None, 5.0],
        control_dt=1 / 30,
        sim_dt=1 / 120,
        observation=ObservationInfo(
            size=3,
            terms=[ObsTermInfo("dof_pos", 3, ["a", "b", "c"])],
            global_obs=True,
            root_height_obs=True,
            enable_phase_obs=False,
            num_phase_encoding=0,
            enable_tar_obs=False,
            tar_obs_steps=[],
            body_names=["pelvis"],
            key_bodies=[],
        ),
        physics=PhysicsInfo(
            "implicitfast", "newton", 100, 50, 1.0, [0.0] * 2, [0.0] * 2, [0.0] * 2, [0.0] * 2
        ),
        falls=FallInfo(["left_foot"], 0.3),
        reference_motions=[
            encode_clip("walk", 1.0, 30.0, "wrap", np.zeros((2, 3)), quat, np.zeros((2, 2)))
        ],
        config_hash="sha256:0",
    )


def _onnx_bytes(props: dict[str, str]) -> bytes:
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["obs"], ["actions"])],
        "policy",
        [onnx.helper.make_tensor_value_info("obs", onnx.TensorProto.FLOAT, [1, 3])],
        [onnx.helper.make_tensor_value_info("actions", onnx.TensorProto.FLOAT, [1, 3])],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    onnx.helper.set_model_props(model, props)
    return model.SerializeToString()


def valid_policy(result: tuple[onnx.ModelProto, PolicyMetadata]) -> None:
    _, meta = result
    assert isinstance(meta, PolicyMetadata)


def _check_policy(case: str, blob: bytes, fuzz_dir: Path) -> None:
    path = fuzz_dir / "policy.onnx"
    path.write_bytes(blob)
    check_reader("ONNX metadata", case, lambda: read_policy(path), valid_policy)


@given(data=st.data())
def test_onnx_file(data, fuzz_dir):
    case, blob = data.draw(damaged(_onnx_bytes(_metadata().to_props()), text=False))
    _check_policy(case, blob, fuzz_dir)


@given(data=st.data())
def test_onnx_metadata_values(data, fuzz_dir):
    props = _metadata().to_props()
    values = {key: json.loads(text) for key, text in props.items()}
    edited = data.draw(edited_dict(values, json_values))
    blob = _onnx_bytes({key: json.dumps(value) for key, value in edited.items()})
    _check_policy("wrong values", blob, fuzz_dir)


# ---------------------------------------------------------------------------------------
# mjmimic doctor RUN_DIR


@pytest.fixture(scope="module")
def run_files() -> dict[str, bytes]:
    """A config.yaml and a health_events.jsonl as a run writes them."""
    config = RunConfig.from_files(ENGINE_YAML, ENV_YAML, AGENT_YAML, 8, 0, "cpu").to_dict()
    events = [
        HealthEvent("nonfinite_obs", "nonfinite", "obs is NaN", 2, step=3, tensor="obs"),
        HealthEvent("ratio_explosion", "learner", "Imp_Ratio 40", 5, numbers={"imp_ratio": 40}),
    ]
    return {
        "config.yaml": yaml.safe_dump(config).encode(),
        "health_events.jsonl": "".join(json.dumps(e.to_dict()) + "\n" for e in events).encode(),
    }


def valid_report(report: dict[str, Any]) -> None:
    assert isinstance(report, dict) and "status" in report


@pytest.mark.parametrize("damaged_file", ["config.yaml", "health_events.jsonl"])
@given(data=st.data())
def test_doctor(damaged_file, data, run_files, fuzz_dir):
    run_dir = fuzz_dir / "run"
    run_dir.mkdir(exist_ok=True)
    for stale in run_dir.iterdir():  # an earlier example's diagnosis would be read back
        stale.unlink()
    case, blob = data.draw(damaged(run_files[damaged_file], text=True))
    for name, content in run_files.items():
        (run_dir / name).write_bytes(blob if name == damaged_file else content)
    check_reader(f"doctor {damaged_file}", case, lambda: diagnose_run(run_dir), valid_report)
