"""``mjmimic robot ...``: check a robot profile against its MJCF.

    mjmimic robot check ROBOT [--mjcf PATH] [--no-sweep]

ROBOT is a profile name (g1, k1, t1, humanoid, mimickit_humanoid) or a profile .yaml.
Exit status 1 when the sweep flags a joint.
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.cli.parsing import ArgumentParser


def main(argv: list[str]) -> int:
    from mjmimic.robots.check import (
        collision_geoms,
        dof_table,
        format_sweep,
        joint_sweep,
        total_mass,
    )
    from mjmimic.robots.profiles import resolve_robot

    parser = ArgumentParser(prog="mjmimic robot", description="robot profiles")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    check = sub.add_parser("check", help="DoF table, mass, collision geoms, joint sweep")
    check.add_argument("robot", help="profile name or .yaml")
    check.add_argument("--mjcf", type=Path, help="robot MJCF (default: the profile's)")
    check.add_argument("--no-sweep", action="store_true", help="skip the joint sweep")
    args = parser.parse_args(argv)
    profile, robot = resolve_robot(args.robot, args.mjcf)
    print(f"robot:   {profile.name}: {profile.description}")
    print(f"mjcf:    {robot.source}")
    print(f"gains:   {profile.gains_source}")
    print(f"mass:    {total_mass(robot):.2f} kg, {robot.num_dofs} DoF")
    geoms = collision_geoms(robot)
    listed = ", ".join(f"{body} ({n})" for body, n in geoms.items())
    print(f"collision geoms: {sum(geoms.values())} on {len(geoms)} bodies: {listed}")
    print(dof_table(profile, robot))
    if args.no_sweep:
        return 0
    results = joint_sweep(profile, robot)
    print("joint sweep (base fixed, no gravity, slow sine over 80% of each range):")
    print(format_sweep(results))
    flagged = [r.joint for r in results if r.flagged]
    if flagged:
        print(f"{len(flagged)} joint(s) track badly: {', '.join(flagged)}")
        return 1
    return 0
