"""The pure parts of retargeting: scaling the source, finding stance, pinning feet.

All arrays are numpy, z-up, metres; ``T`` frames.
"""

from __future__ import annotations

import numpy as np

# A foot is in stance when its keypoint (the ankle) is within this height of its standing
# height and moves slower than STANCE_SPEED. Ankles lift ~5 cm at heel-off, and a planted
# foot's ankle still rolls at up to ~0.2 m/s in mocap; a swinging foot moves at 1-4 m/s.
STANCE_HEIGHT = 0.03  # m, in robot scale
STANCE_SPEED = 0.3  # m/s, in robot scale
MIN_STANCE_FRAMES = 3  # shorter "stances" are noise at touch-down/lift-off
PIN_RAMP = 2  # frames over which a foot target blends into and out of its pin


def leg_length(pelvis: np.ndarray, knee: np.ndarray, foot: np.ndarray) -> float:
    """Pelvis-to-knee plus knee-to-ankle distance (3,) each: bone lengths, so it does not
    depend on the pose (CMU's rest pose has the legs spread)."""
    return float(np.linalg.norm(knee - pelvis) + np.linalg.norm(foot - knee))


def standing_foot_height(foot_z: np.ndarray) -> float:
    """The source's ankle height when the foot is on the ground (T, 2 feet): the 5th
    percentile of the lower ankle, robust to a few frames of noise or penetration."""
    return float(np.percentile(np.min(foot_z, axis=1), 5))


def scale_positions(
    pos: np.ndarray, scale: float, source_floor: float, robot_floor: float
) -> np.ndarray:
    """Positions (..., 3) scaled about the world origin so that the source's standing
    ankle height ``source_floor`` lands on the robot's ``robot_floor``."""
    out = pos * scale
    out[..., 2] = (pos[..., 2] - source_floor) * scale + robot_floor
    return out


def widen(points: np.ndarray, left: np.ndarray, delta: float) -> np.ndarray:
    """``points`` (T, 3) moved ``delta`` m along the horizontal unit ``left`` axis (T, 3).

    Scaling by leg length also scales the stance width, but robots' hips are relatively
    wider than humans' (T1: 0.21 m apart vs 0.11 m for a human scaled to its legs); a
    foot target inside the robot's hip width pulls the legs inward and drags the planted
    foot sideways. Each leg's knee and foot targets are moved out by the difference."""
    flat = left.copy()
    flat[:, 2] = 0.0
    flat /= np.linalg.norm(flat, axis=1, keepdims=True).clip(1e-9)
    return points + delta * flat


def detect_stance(
    foot: np.ndarray,
    fps: float,
    standing_z: float,
    height: float = STANCE_HEIGHT,
    speed: float = STANCE_SPEED,
    min_frames: int = MIN_STANCE_FRAMES,
) -> np.ndarray:
    """(T,) bool: frames where the foot keypoint (T, 3) is low and (nearly) still."""
    velocity = np.gradient(foot[:, :2], axis=0) * fps if len(foot) > 1 else np.zeros((1, 2))
    stance = (foot[:, 2] < standing_z + height) & (np.linalg.norm(velocity, axis=1) < speed)
    for start, stop in stance_segments(stance):
        if stop - start < min_frames:
            stance[start:stop] = False
    return stance


def stance_segments(stance: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame ranges of consecutive True values."""
    edges = np.diff(np.r_[0, stance.astype(np.int8), 0])
    return list(
        zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True)
    )


def pin_stance(
    foot: np.ndarray, stance: np.ndarray, standing_z: float, ramp: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Foot targets (T, 3) with every stance segment held at one point, its median xy at
    the standing height: a pinned foot cannot slide or sink while it bears weight.

    Also returns the pin weight (T,): 1 in stance, falling linearly to 0 over ``ramp``
    frames before and after each segment, where the target is blended from the source
    towards the pin, so that touch-down and lift-off are not a one-frame jump."""
    out = foot.copy()
    weight = np.zeros(len(foot))
    frames = np.arange(len(foot))
    for start, stop in stance_segments(stance):
        pin = np.r_[np.median(foot[start:stop, :2], axis=0), standing_z]
        distance = np.maximum(start - frames, frames - (stop - 1)).clip(min=0)
        w = (1.0 - distance / (ramp + 1)).clip(min=0.0)
        closer = w > weight  # the nearest segment wins where two ramps meet
        out[closer] = (1.0 - w[closer, None]) * foot[closer] + w[closer, None] * pin
        weight[closer] = w[closer]
    return out, weight


def ground_shift(lowest: np.ndarray, in_stance: np.ndarray) -> np.ndarray:
    """Per-frame root height change (T,) from the robot's lowest point per frame: frames
    with a foot in stance are moved so that the lowest point touches the floor; the
    others only up, out of the floor (a jump's flight phase stays in the air)."""
    return np.where(in_stance, -lowest, np.maximum(0.0, -lowest))
