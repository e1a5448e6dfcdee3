"""A ``PhysicsVariation`` applied to MuJoCo models: one ``MjModel`` copy per env.

Shared by every consumer that simulates with MuJoCo models (the CPU engine's per-env
models, ``sim2sim --randomize``'s robot of each episode), so a range means the same
physics in training and in sim2sim.
"""

from __future__ import annotations

import copy

import mujoco

from mjmimic.engines.variation import PhysicsVariation


def vary_models(
    base: mujoco.MjModel, variation: PhysicsVariation, num_envs: int
) -> list[mujoco.MjModel]:
    """One copy of ``base`` per env with that env's parameters (actuator d drives DoF d:
    ``engines/scene.py``). Mass and centre-of-mass changes are followed by
    ``mj_setConst``: subtree masses, inverse weights and the solver's mean inertia derive
    from them."""
    data = mujoco.MjData(base)
    body, mass = -1, 0.0
    if variation.body_name is not None:
        body = mujoco.mj_name2id(base, mujoco.mjtObj.mjOBJ_BODY, variation.body_name)
        mass = float(base.body_mass[body])
    models = []
    for i in range(num_envs):
        m = copy.copy(base)
        if variation.floor_friction is not None:
            m.geom_friction[:, 0] = variation.floor_friction[i]
        if variation.added_mass is not None:
            m.body_mass[body] = mass + variation.added_mass[i]
            m.body_inertia[body] = base.body_inertia[body] * (m.body_mass[body] / mass)
        if variation.com_offset is not None:
            m.body_ipos[body] = base.body_ipos[body] + variation.com_offset[i]
        if variation.kp_scale is not None:
            m.actuator_gainprm[:, 0] = base.actuator_gainprm[:, 0] * variation.kp_scale[i]
            m.actuator_biasprm[:, 1] = base.actuator_biasprm[:, 1] * variation.kp_scale[i]
        if variation.kd_scale is not None:
            m.actuator_biasprm[:, 2] = base.actuator_biasprm[:, 2] * variation.kd_scale[i]
        if variation.changes_body:
            mujoco.mj_setConst(m, data)
        models.append(m)
    return models
