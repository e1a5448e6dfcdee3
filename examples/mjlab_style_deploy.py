"""A deploy loop that knows only mjlab's ONNX conventions, run in MuJoCo.

    python examples/mjlab_style_deploy.py policy.onnx --mjcf g1.xml --seconds 10 --json out.json

This is what a deployment script written for an mjlab/BeyondMimic tracking policy does,
and it uses nothing of mjmimic: only ``mujoco``, ``numpy`` and ``onnxruntime``, the
unprefixed metadata keys mjlab's exporter writes (``joint_names``, ``default_joint_pos``,
``action_scale``, ``joint_stiffness``, ``joint_damping``, ``observation_names``,
``anchor_body_name``, ``body_names``: comma-separated values) and BeyondMimic's ONNX I/O
(inputs ``obs``, ``time_step``; outputs ``actions`` and the reference ``joint_pos``,
``joint_vel``, ``body_pos_w``, ``body_quat_w``, ``body_lin_vel_w``, ``body_ang_vel_w``
of the ``body_names`` at that time step). mjmimic's test suite runs it on an exported
policy and compares the outcome with ``mjmimic sim2sim``: if this script and mjmimic
agree, a deploy script written for mjlab reads our files.

Each control step, as on a robot: read the IMU (root angular velocity, gravity in the
root frame) and encoders (joint positions and velocities), ask the policy file for the
reference at this time step, assemble the observation terms in ``observation_names``
order, run the policy, and send ``default_joint_pos + action_scale * action`` as PD
targets to position actuators with ``joint_stiffness``/``joint_damping``, held for the
physics substeps of one control step. mjlab's metadata does not carry the control rate,
effort limits or the end effectors: they are flags here (defaults: mjlab's tracking task,
50 Hz control, 200 Hz physics, the G1's ankles and wrists); the motors of a real robot
clip the torque.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import mujoco
import numpy as np
import onnx
import onnxruntime as ort

G1_END_EFFECTORS = (
    "left_ankle_roll_link",
    "right_ankle_roll_link",
    "left_wrist_yaw_link",
    "right_wrist_yaw_link",
)
GRAVITY = np.array([0.0, 0.0, -1.0])


def read_metadata(path: Path) -> dict[str, str]:
    model = onnx.load(str(path))
    return {p.key: p.value for p in model.metadata_props}


def csv(meta: dict[str, str], key: str, kind=float) -> list:
    return [kind(v) for v in meta[key].split(",")]


def rotation(quat: np.ndarray) -> np.ndarray:
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, dtype=np.float64))
    return mat.reshape(3, 3)


def build_model(mjcf: Path, joints: list[str], kp: list[float], kd: list[float], sim_dt: float):
    """The robot with one position actuator per policy joint (the MJCF's own actuators
    replaced, their torque limits kept: the motors'), on the MJCF's floor or a new one."""
    spec = mujoco.MjSpec.from_file(str(mjcf))
    limits = {}
    for actuator in list(spec.actuators):
        if actuator.forcelimited == 1:
            limits[actuator.target] = list(actuator.forcerange)
        spec.delete(actuator)
    for name, p, d in zip(joints, kp, kd, strict=True):
        act = spec.add_actuator(target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        act.gainprm = np.r_[p, np.zeros(9)]
        act.biasprm = np.r_[0.0, -p, -d, np.zeros(7)]
        if name in limits:
            act.forcelimited = 1
            act.forcerange = limits[name]
    if not any(g.type == mujoco.mjtGeom.mjGEOM_PLANE for g in spec.geoms):
        floor = spec.worldbody.add_geom()
        floor.type = mujoco.mjtGeom.mjGEOM_PLANE
        floor.size = [0.0, 0.0, 0.05]
    spec.option.timestep = sim_dt
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.iterations = 10
    spec.option.ls_iterations = 20
    return spec.compile()


class Deployment:
    def __init__(self, policy: Path, mjcf: Path, control_freq: float, sim_freq: float):
        meta = read_metadata(policy)
        self.joints = csv(meta, "joint_names", str)
        self.default = np.array(csv(meta, "default_joint_pos"))
        self.scale = np.array(csv(meta, "action_scale"))
        self.obs_names = csv(meta, "observation_names", str)
        self.body_names = csv(meta, "body_names", str)
        self.anchor_name = meta["anchor_body_name"]
        kp, kd = csv(meta, "joint_stiffness"), csv(meta, "joint_damping")
        self.substeps = round(sim_freq / control_freq)
        self.model = build_model(mjcf, self.joints, kp, kd, 1.0 / sim_freq)
        self.data = mujoco.MjData(self.model)
        self.session = ort.InferenceSession(str(policy), providers=["CPUExecutionProvider"])
        self.obs_size = self.session.get_inputs()[0].shape[1]
        m = self.model

        def jid(name: str) -> int:
            return mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)

        self.qpos_adr = np.array([m.jnt_qposadr[jid(j)] for j in self.joints])
        self.qvel_adr = np.array([m.jnt_dofadr[jid(j)] for j in self.joints])
        self.root = int(m.jnt_bodyid[0])  # the free joint's body
        self.anchor = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, self.anchor_name)
        self.last_action = np.zeros(len(self.joints))

    def reference(self, step: int) -> dict[str, np.ndarray]:
        """The policy file's reference at control step ``step`` (its obs input unused)."""
        names = [o.name for o in self.session.get_outputs()]
        out = self.session.run(
            None,
            {
                "obs": np.zeros((1, self.obs_size), np.float32),
                "time_step": np.array([[step]], np.float32),
            },
        )
        return {n: v[0].astype(np.float64) for n, v in zip(names, out, strict=True)}

    def start(self, ref: dict[str, np.ndarray]) -> None:
        """Put the robot on the reference (its first body must be the root, as mjlab's)."""
        d = self.data
        root_name = mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_BODY, self.root)
        root_ref = self.body_names.index(root_name)
        d.qpos[:3] = ref["body_pos_w"][root_ref]
        d.qpos[3:7] = ref["body_quat_w"][root_ref]
        d.qpos[self.qpos_adr] = ref["joint_pos"]
        d.qvel[:3] = ref["body_lin_vel_w"][root_ref]
        d.qvel[3:6] = rotation(d.qpos[3:7]).T @ ref["body_ang_vel_w"][root_ref]
        d.qvel[self.qvel_adr] = ref["joint_vel"]
        mujoco.mj_forward(self.model, d)

    def observation(self, ref: dict[str, np.ndarray]) -> np.ndarray:
        d = self.data
        root_rot = rotation(d.xquat[self.root])
        anchor_pos, anchor_rot = d.xpos[self.anchor], rotation(d.xquat[self.anchor])
        a = self.body_names.index(self.anchor_name)
        ref_anchor_rot = rotation(ref["body_quat_w"][a])
        terms = {
            "command": np.r_[ref["joint_pos"], ref["joint_vel"]],
            "motion_anchor_pos_b": anchor_rot.T @ (ref["body_pos_w"][a] - anchor_pos),
            "motion_anchor_ori_b": (anchor_rot.T @ ref_anchor_rot)[:, :2].reshape(-1),
            "base_lin_vel": root_rot.T @ d.qvel[:3],
            "base_ang_vel": d.qvel[3:6].copy(),  # the free joint's: already the root frame
            "projected_gravity": root_rot.T @ GRAVITY,
            "joint_pos": d.qpos[self.qpos_adr] - self.default,
            "joint_vel": d.qvel[self.qvel_adr].copy(),
            "actions": self.last_action,
        }
        return np.concatenate([terms[n] for n in self.obs_names]).astype(np.float32)

    def act(self, obs: np.ndarray, step: int) -> np.ndarray:
        out = self.session.run(
            ["actions"], {"obs": obs[None], "time_step": np.array([[step]], np.float32)}
        )
        return out[0][0].astype(np.float64)

    def step(self, action: np.ndarray) -> None:
        self.data.ctrl[:] = self.default + self.scale * action
        for _ in range(self.substeps):
            mujoco.mj_step(self.model, self.data)
        self.last_action = action

    def failed(self, ref: dict[str, np.ndarray], end_effectors: list[str]) -> str | None:
        """BeyondMimic's terminations: anchor height, anchor tilt, end-effector height."""
        d = self.data
        a = self.body_names.index(self.anchor_name)
        if abs(ref["body_pos_w"][a][2] - d.xpos[self.anchor][2]) > 0.25:
            return "anchor height"
        tilt_ref = (rotation(ref["body_quat_w"][a]).T @ GRAVITY)[2]
        tilt = (rotation(d.xquat[self.anchor]).T @ GRAVITY)[2]
        if abs(tilt_ref - tilt) > 0.8:
            return "anchor orientation"
        for name in end_effectors:
            if name not in self.body_names:
                continue
            b = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
            if abs(ref["body_pos_w"][self.body_names.index(name)][2] - d.xpos[b][2]) > 0.25:
                return f"{name} height"
        return None


def run(args: argparse.Namespace) -> dict:
    dep = Deployment(args.policy, args.mjcf, args.control_freq, args.sim_freq)
    first = args.start_step
    steps = round(args.seconds * args.control_freq)
    dep.start(dep.reference(first))
    joint_err, actions, outcome = [], [], {"failed_at_s": None, "cause": None}
    for k in range(first, first + steps):
        ref = dep.reference(k)
        action = dep.act(dep.observation(ref), k)
        actions.append(action.tolist())
        dep.step(action)
        after = dep.reference(k + 1)
        joint_err.append(float(np.abs(dep.data.qpos[dep.qpos_adr] - after["joint_pos"]).mean()))
        cause = dep.failed(after, args.end_effectors)
        if cause is not None:
            outcome = {"failed_at_s": (k + 1 - first) / args.control_freq, "cause": cause}
            break
    return {
        "control_steps": len(joint_err),
        "seconds": len(joint_err) / args.control_freq,
        **outcome,
        "mean_joint_err_rad": float(np.mean(joint_err)),
        "start_step": first,
        "first_actions": actions[:3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", type=Path)
    parser.add_argument("--mjcf", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--start_step", type=int, default=0, help="time_step to start at")
    parser.add_argument("--control_freq", type=float, default=50.0)
    parser.add_argument("--sim_freq", type=float, default=200.0)
    parser.add_argument("--end_effectors", nargs="*", default=list(G1_END_EFFECTORS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = run(args)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
