"""Headless offscreen rendering of a robot: one character, or a character and its ghost.

The view model is composed with ``mujoco.MjSpec`` from the robot file alone: the file's
own demo floors and lights are removed (as for the simulated scene), actuators, sensors
and keyframes too (only kinematics is needed: poses are set through ``qpos`` and
``mj_kinematics``), and collisions are off. On a plain floor with faint 1 m grid strips
(geoms, no textures, no skybox) the robot is attached once as the character
(``char/`` names) and, optionally, once more as the reference "ghost" (``ghost/``):
every ghost geom drawn in one translucent colour.

Rendering uses ``mujoco.Renderer``. On Linux with ``MUJOCO_GL`` unset we select EGL
(headless; Mesa's software EGL works on a CPU-only machine) before the first GL
context is made, even when ``mujoco`` was imported earlier.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from pathlib import Path

import mujoco
import numpy as np

from mjmimic.engines.scene import strip_demo_scene
from mjmimic.errors import AssetError, MjmimicError

CHAR_PREFIX = "char/"
GHOST_PREFIX = "ghost/"
GHOST_RGB = (1.0, 0.6, 0.2)
GHOST_ALPHA = 0.35
MARKER_RGBA = (0.95, 0.1, 0.1, 0.75)  # bodies off their reference (test videos)
MARKER_RADIUS = 0.07  # m

# Camera that follows the character: looking from the side, slightly from the front.
CAMERA_DISTANCE = 3.0  # m, at least
CAMERA_ELEVATION = -15.0  # degrees
CAMERA_AZIMUTH = 110.0  # degrees, for a ghost offset along +x (the robots' rest heading)
_FRAME_MARGIN = 1.1  # m of view kept on each side of the two figures

_FLOOR_HALF_SIZE = 40.0  # m
_FLOOR_RGBA = (0.78, 0.8, 0.82, 1.0)
_GRID_RGBA = (0.62, 0.65, 0.7, 1.0)
_INSTALL_HINT = (
    "install the system package (apt-get install libegl1 libgl1-mesa-dri), "
    "or set MUJOCO_GL=osmesa with libosmesa6"
)


# ------------------------------------------------------------------------------ GL
def select_gl_backend() -> None:
    """Use EGL when ``MUJOCO_GL`` is unset (Linux): rendering without a display.

    MuJoCo picks its GL backend when ``mujoco`` is imported; if that happened with the
    variable unset, its GL-context module is reloaded so that the choice applies.
    """
    if not sys.platform.startswith("linux") or os.environ.get("MUJOCO_GL"):
        return
    os.environ["MUJOCO_GL"] = "egl"
    module = sys.modules.get(getattr(mujoco.Renderer, "__module__", ""), None)
    gl_context = getattr(module, "gl_context", None)
    if gl_context is not None and getattr(gl_context, "_MUJOCO_GL", "egl") != "egl":
        importlib.reload(gl_context)


def make_renderer(model: mujoco.MjModel, width: int, height: int) -> mujoco.Renderer:
    """A ``mujoco.Renderer``; a missing GL library is a one-line ``MjmimicError``."""
    select_gl_backend()
    try:
        return mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # ImportError, RuntimeError, mujoco.FatalError, ...
        lines = str(exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        backend = os.environ.get("MUJOCO_GL", "")
        raise MjmimicError(
            f"offscreen rendering is unavailable (MUJOCO_GL={backend}: {reason}); {_INSTALL_HINT}"
        ) from None


# ------------------------------------------------------------------------ the model
def _robot_spec(robot_file: str | Path) -> mujoco.MjSpec:
    try:
        spec = mujoco.MjSpec.from_file(str(robot_file))
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise AssetError(f"{robot_file}: MuJoCo cannot load this MJCF: {first}") from None
    strip_demo_scene(spec)
    for items in (spec.actuators, spec.sensors, spec.keys):
        for item in list(items):
            spec.delete(item)
    for texture in list(spec.textures):
        if texture.type == mujoco.mjtTexture.mjTEXTURE_SKYBOX:
            spec.delete(texture)
    for geom in spec.geoms:
        geom.contype = 0
        geom.conaffinity = 0
    return spec


def _root_name(spec: mujoco.MjSpec, robot_file: str | Path) -> str:
    root = spec.worldbody.first_body()
    if root is None:
        raise AssetError(f"{robot_file}: no body in worldbody")
    if not root.name:
        root.name = "root"
    return root.name


def _add_floor_and_light(spec: mujoco.MjSpec, width: int, height: int) -> None:
    world = spec.worldbody
    h = _FLOOR_HALF_SIZE
    floor = world.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[h, h, 0.1], rgba=_FLOOR_RGBA
    )
    floor.contype = floor.conaffinity = 0
    for k in range(-int(h), int(h) + 1):  # 1 m grid: motion is visible under a moving camera
        for axis in range(2):
            pos = [float(k), 0.0, 0.0005] if axis == 0 else [0.0, float(k), 0.0005]
            size = [0.008, h, 0.0005] if axis == 0 else [h, 0.008, 0.0005]
            strip = world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size)
            strip.rgba = _GRID_RGBA
            strip.contype = strip.conaffinity = 0
    world.add_light(
        pos=[0.0, 0.0, 6.0],
        dir=[0.25, 0.35, -1.0],
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        diffuse=[0.7, 0.7, 0.7],
        specular=[0.15, 0.15, 0.15],
        castshadow=False,
    )
    spec.visual.headlight.ambient = [0.4, 0.4, 0.4]
    spec.visual.headlight.diffuse = [0.45, 0.45, 0.45]
    spec.visual.headlight.specular = [0.05, 0.05, 0.05]
    spec.visual.global_.offwidth = max(int(width), 1)
    spec.visual.global_.offheight = max(int(height), 1)
    spec.visual.map.znear = 0.01


def build_view_model(
    robot_file: str | Path,
    ghost: bool,
    width: int,
    height: int,
    ghost_alpha: float = GHOST_ALPHA,
) -> tuple[mujoco.MjModel, slice, slice | None, np.ndarray]:
    """The view model: (model, character qpos slice, ghost qpos slice or None, ghost geom
    ids). The offscreen buffer is sized for ``width`` x ``height``."""
    view = mujoco.MjSpec()
    view.modelname = "mjmimic_view"
    _add_floor_and_light(view, width, height)
    char = _robot_spec(robot_file)
    root = _root_name(char, robot_file)
    view.option = char.option  # equal options: no attach-conflict warnings
    view.attach(char, prefix=CHAR_PREFIX, frame=view.worldbody.add_frame())
    if ghost:
        copy = _robot_spec(robot_file)
        for geom in copy.geoms:
            if geom.rgba[3] > 0:  # invisible geoms (alpha 0) stay invisible
                geom.rgba = [*GHOST_RGB, ghost_alpha]
            geom.material = ""
        view.attach(copy, prefix=GHOST_PREFIX, frame=view.worldbody.add_frame())
    try:
        model = view.compile()
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise AssetError(f"{robot_file}: cannot build the view model: {first}") from None
    # Each copy's joints are contiguous in qpos, the character's first.
    nq = model.nq // 2 if ghost else model.nq
    char_qpos = _copy_qpos(model, CHAR_PREFIX + root, 0, nq, robot_file)
    ghost_qpos = _copy_qpos(model, GHOST_PREFIX + root, nq, nq, robot_file) if ghost else None
    ghost_geoms = np.array(
        [
            g
            for g in range(model.ngeom)
            if _name(model, mujoco.mjtObj.mjOBJ_GEOM, g).startswith(GHOST_PREFIX)
            or _name(model, mujoco.mjtObj.mjOBJ_BODY, model.geom_bodyid[g]).startswith(GHOST_PREFIX)
        ],
        dtype=np.int64,
    )
    return model, char_qpos, ghost_qpos, ghost_geoms


def _name(model: mujoco.MjModel, kind: mujoco.mjtObj, index: int) -> str:
    return mujoco.mj_id2name(model, kind, int(index)) or ""


def _copy_qpos(
    model: mujoco.MjModel, root_body: str, start: int, nq: int, robot_file: str | Path
) -> slice:
    body = model.body(root_body)
    jnt = int(body.jntadr[0])
    if (
        body.jntnum[0] < 1
        or model.jnt_type[jnt] != mujoco.mjtJoint.mjJNT_FREE
        or model.jnt_qposadr[jnt] != start
    ):
        raise AssetError(f"{robot_file}: the root body needs a free joint (a floating base)")
    return slice(start, start + nq)


# -------------------------------------------------------------------------- the view
class RobotView:
    """Offscreen renders of a robot (and optionally its ghost) on a plain floor.

    ``set_pose(char_qpos, ghost_qpos)`` places both copies (robot-file qpos layout; the
    ghost is drawn where its qpos says: add any display offset to its root first), and
    ``render()`` returns an (H, W, 3) uint8 image from a camera that follows the
    character's root. ``ghost_offset`` only aims the camera so both figures are in view.
    """

    def __init__(
        self,
        robot_file: str | Path,
        width: int = 640,
        height: int = 480,
        ghost: bool = False,
        ghost_offset: tuple[float, float, float] | list[float] = (0.0, 0.0, 0.0),
        ghost_alpha: float = GHOST_ALPHA,
    ):
        if width < 1 or height < 1:
            raise MjmimicError(f"render size must be positive, got {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.robot_file = robot_file
        self.model, self.char_qpos, self.ghost_qpos, self.ghost_geoms = build_view_model(
            robot_file, ghost, self.width, self.height, ghost_alpha
        )
        self.data = mujoco.MjData(self.model)
        self._ghost_rgba = self.model.geom_rgba[self.ghost_geoms].copy()
        self.option = mujoco.MjvOption()
        self.option.sitegroup[:] = 0  # no sites
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        offset = np.asarray(ghost_offset, dtype=np.float64) if ghost else np.zeros(3)
        self._look_shift = 0.5 * np.array([offset[0], offset[1], 0.0])
        span = float(np.hypot(offset[0], offset[1]))
        heading = math.degrees(math.atan2(offset[1], offset[0])) if span > 1e-6 else 0.0
        self.camera.azimuth = heading + CAMERA_AZIMUTH
        self.camera.elevation = CAMERA_ELEVATION
        half_fov = math.radians(self.model.vis.global_.fovy) / 2
        aspect = self.width / self.height
        needed = (0.5 * span + _FRAME_MARGIN) / (math.tan(half_fov) * aspect)
        self.camera.distance = max(CAMERA_DISTANCE, needed)
        rest_height = float(self.model.qpos0[self.char_qpos.start + 2])
        self._look_height = 0.9 * rest_height if rest_height > 0 else 0.8
        self.renderer = make_renderer(self.model, self.width, self.height)
        self._markers: list[int] = []

    @property
    def nq(self) -> int:
        """Robot-file qpos size of one copy."""
        return self.char_qpos.stop - self.char_qpos.start

    def check_frames(self, qpos_frames: np.ndarray) -> np.ndarray:
        """``qpos_frames`` as a float64 (T, nq) array in the robot file's layout, or a
        one-line error naming the shape expected."""
        frames = np.asarray(qpos_frames, dtype=np.float64)
        if frames.ndim != 2 or frames.shape[1] != self.nq:
            raise MjmimicError(
                f"{self.robot_file}: qpos frames must have shape (T, {self.nq}), got {frames.shape}"
            )
        return frames

    def set_ghost_alpha(self, alpha: float) -> None:
        """Change the ghost's opacity (0 hides it)."""
        if self.ghost_geoms.size:
            rgba = self._ghost_rgba.copy()
            rgba[rgba[:, 3] > 0, 3] = alpha
            self.model.geom_rgba[self.ghost_geoms] = rgba

    def set_pose(self, char_qpos: np.ndarray, ghost_qpos: np.ndarray | None = None) -> None:
        self.data.qpos[self.char_qpos] = char_qpos
        if ghost_qpos is not None:
            if self.ghost_qpos is None:
                raise ValueError("this view has no ghost")
            self.data.qpos[self.ghost_qpos] = ghost_qpos
        mujoco.mj_kinematics(self.model, self.data)

    def set_markers(self, body_names: list[str]) -> None:
        """Draw a red sphere (``MARKER_RGBA``) at each of these character bodies (robot-file
        names) in the following renders; an empty list removes them."""
        self._markers = [self.model.body(CHAR_PREFIX + name).id for name in body_names]

    def render(self) -> np.ndarray:
        """The current pose seen from the camera following the character's root."""
        root = self.data.qpos[self.char_qpos.start : self.char_qpos.start + 3]
        self.camera.lookat[:] = [
            root[0] + self._look_shift[0],
            root[1] + self._look_shift[1],
            self._look_height,
        ]
        self.renderer.update_scene(self.data, self.camera, self.option)
        scene = self.renderer.scene
        for body in self._markers:
            if scene.ngeom >= scene.maxgeom:
                break
            mujoco.mjv_initGeom(
                scene.geoms[scene.ngeom],
                mujoco.mjtGeom.mjGEOM_SPHERE,
                np.array([MARKER_RADIUS, 0.0, 0.0]),
                self.data.xpos[body],
                np.eye(3).flatten(),
                np.array(MARKER_RGBA, dtype=np.float32),
            )
            scene.ngeom += 1
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()

    def __enter__(self) -> RobotView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_motion_frames(
    robot_file: str | Path,
    qpos_frames: np.ndarray,
    width: int = 640,
    height: int = 480,
) -> list[np.ndarray]:
    """One (height, width, 3) uint8 image per row of ``qpos_frames`` (T, nq), robot-file
    qpos layout, from a camera following the robot's root."""
    with RobotView(robot_file, width, height) as view:
        images = []
        for qpos in view.check_frames(qpos_frames):
            view.set_pose(qpos)
            images.append(view.render().copy())
        return images
