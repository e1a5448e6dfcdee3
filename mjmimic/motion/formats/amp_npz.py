"""AMP poselib-style ``.npz`` motions (``amp_humanoid_cmu/npz`` in the reference data):
a poselib ``SkeletonMotion`` saved as plain arrays.

* ``fps``; ``root_translation`` (T, 3) m, z-up;
* ``local_rotation_xyzw`` (T, K, 4): every node's rotation relative to its parent
  (**xyzw**; the root's is its world rotation);
* ``node_names`` (K,); ``parent_indices``, ``local_translation``, ``global_velocity``,
  ``global_angular_velocity`` describe the skeleton and are not needed.

Nodes are matched to the robot's bodies **by name** (every robot body must be a node; a
node the robot lacks is an error). Each body's local rotation is decomposed onto its
joint (``dof_from_joint_rotations``: hinge twist, spherical Euler angles), so the robot
must have the skeleton's rest pose (the AMP humanoid has).

The poselib ``.npy`` originals (``SkeletonMotion.to_file``) are a numpy object array
holding one pickled dict of plain data (``{"rotation": {"arr": ...}, "root_translation":
..., "skeleton_tree": {"node_names": ...}, "fps": ..., "__name__": "SkeletonMotion"}``);
``poselib_npy_arrays`` reads it through the restricted unpickler into the keys above.
"""

from __future__ import annotations

import tokenize
from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats.arrays import names, real_array, real_scalar
from mjmimic.motion.motion import Motion
from mjmimic.motion.safe_pickle import safe_load
from mjmimic.robots.joint_coordinates import dof_from_joint_rotations, unwrap_dof_trajectory
from mjmimic.robots.model import RobotModel

KEYS = ("fps", "root_translation", "local_rotation_xyzw", "node_names")


def is_amp_npz(keys: set[str]) -> bool:
    return set(KEYS) <= keys


def read_amp_npz(path: Path, arrays: dict[str, np.ndarray], robot: RobotModel) -> Motion:
    src = path.name
    nodes = names(arrays["node_names"], "node_names", src)
    extra = [n for n in nodes if n not in robot.body_names]
    missing = [b for b in robot.body_names if b not in nodes]
    if extra or missing:
        raise MotionError(
            f"{src}: skeleton nodes do not match the bodies of robot {Path(robot.source).name} "
            f"(not in the robot: {', '.join(extra) or 'none'}; missing from the file: "
            f"{', '.join(missing) or 'none'}); use the robot the clip was made for"
        )
    local = real_array(arrays["local_rotation_xyzw"], "local_rotation_xyzw", src)
    if not np.isfinite(local).all():
        # The decomposition onto the joints would spread a NaN to every DoF.
        raise MotionError(f"{src}: local_rotation_xyzw has NaN or infinite values")
    if local.ndim != 3 or local.shape[1:] != (len(nodes), 4):
        raise MotionError(
            f"{src}: local_rotation_xyzw must be (T, {len(nodes)}, 4), found {local.shape}"
        )
    norm = np.linalg.norm(local, axis=-1)
    if not (np.isfinite(norm) & (norm > 1e-6)).all():
        frame, node = (int(i[0]) for i in np.nonzero(~(np.isfinite(norm) & (norm > 1e-6))))
        raise MotionError(
            f"{src}: local_rotation_xyzw of node {nodes[node]} at frame {frame} is not a "
            "rotation (zero or overflowing quaternion)"
        )
    local = local[:, [nodes.index(b) for b in robot.body_names]][..., [3, 0, 1, 2]]
    dof = dof_from_joint_rotations(robot, None, torch.from_numpy(local[:, 1:])).numpy()
    return Motion(
        fps=real_scalar(arrays["fps"], "fps", src),
        loop_mode="clamp",
        root_pos=real_array(arrays["root_translation"], "root_translation", src),
        root_rot=local[:, 0],
        dof_pos=unwrap_dof_trajectory(robot, dof),
        joint_names=list(robot.dof_names),
        name=path.stem,
        source=src,
    )


def poselib_npy_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a poselib ``SkeletonMotion`` ``.npy``, keyed like the ``.npz`` form."""
    src = path.name
    with path.open("rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            _, _, dtype = read_header(f)
        # numpy parses the header as a Python literal: a damaged one fails in the tokenizer
        # or the parser as well as in numpy's own checks.
        except (ValueError, SyntaxError, tokenize.TokenError, RecursionError) as exc:
            reason = " ".join(str(exc).split())
            raise MotionError(f"{src}: not a readable .npy file ({reason})") from None
        if not dtype.hasobject:
            raise MotionError(
                f"{src}: a plain array, not a poselib SkeletonMotion; store motions as .npz"
            )
        data = safe_load(f, src)
    try:
        data = data.item() if isinstance(data, np.ndarray) else data
        if data["__name__"] != "SkeletonMotion" or not data["is_local"]:
            raise KeyError("__name__")
        return {
            "fps": np.asarray(data["fps"]),
            "root_translation": data["root_translation"]["arr"],
            "local_rotation_xyzw": data["rotation"]["arr"],
            "node_names": np.array(data["skeleton_tree"]["node_names"]),
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MotionError(
            f"{src}: not a poselib SkeletonMotion with local rotations (expected a dict with "
            "rotation, root_translation, skeleton_tree, fps and is_local)"
        ) from None
