"""``mjmimic`` command-line entry point.

    mjmimic train --arg_file args/deepmimic_humanoid_squat.txt
    mjmimic test --model_file output/model.pt
    mjmimic plot output/
    mjmimic export output/ -o policy.onnx
    mjmimic sim2sim policy.onnx --robot robot.xml
    mjmimic motion check clip.npz --robot g1.xml
    mjmimic doctor output/                 # why did this run fail?
    mjmimic explain --arg_file args/x.txt  # every setting, its value and its origin
    mjmimic robot check g1
    python -m mjmimic --arg_file args/x.txt --mode test    # MimicKit's form

User errors (``MjmimicError``) print one line, ``mjmimic: error: ...``, and exit with 2;
anything else is a bug of mjmimic: its traceback, a line saying so, exit 1.
"""

from __future__ import annotations

import sys
import traceback

from mjmimic.errors import MjmimicError

USAGE = """usage: mjmimic COMMAND [flags]

commands:
  train   train a policy (MimicKit flags: --arg_file --env_config --agent_config ...)
  test    evaluate a model.pt (returns, normalized return, tracking errors)
  plot    plot a run's log.txt (test return and episode length vs samples and time)
  export  RUN_DIR|model.pt -o policy.onnx: ONNX policy with deployment metadata;
          --describe policy.onnx prints the metadata
  sim2sim policy.onnx --robot MJCF [--motion CLIP] [--seconds S] [--video out.mp4]:
          run the ONNX alone in a fresh MuJoCo simulation; falls and tracking errors;
          --episodes N: a success rate; --randomize: under training's randomization
  motion  motion clips: info, convert, trim, resample, set-loop, check, render,
          view (a window), retarget (human clip -> robot)
  robot   check ROBOT: DoF table, gains and their source, mass, joint sweep
  doctor  diagnose a run directory (diagnosis.md), or pre-flight an --arg_file
  explain every resolved setting of an --arg_file: value, origin, meaning, range

'mjmimic COMMAND --help' lists a command's flags. Without a command, MimicKit's
'--mode train|test' picks one."""


def _dispatch(argv: list[str]) -> int:
    from mjmimic.cli import deploy, doctor, explain, motion, plot, robot, train_test

    commands = {
        "train": train_test.train,
        "test": train_test.test,
        "plot": plot.main,
        "export": deploy.export,
        "sim2sim": deploy.sim2sim,
        "motion": motion.main,
        "doctor": doctor.main,
        "explain": explain.main,
        "robot": robot.main,
    }
    specs = {"train": train_test.TRAIN_SPEC, "test": train_test.TEST_SPEC}
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command.startswith("--"):  # MimicKit form: the mode flag picks the command
        command, rest = _mode_of(argv), argv
    if command not in commands:
        raise MjmimicError(f"unknown command '{command}'; commands: {', '.join(commands)}")
    if command in specs and ("--help" in rest or "-h" in rest):
        print(specs[command].format_help())
        return 0
    return commands[command](rest)


def _mode_of(argv: list[str]) -> str:
    for i, token in enumerate(argv):
        if token == "--mode" and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith("--mode="):
            return token.split("=", 1)[1]
    if "--arg_file" in argv:
        from mjmimic.config import read_arg_file

        path = (
            argv[argv.index("--arg_file") + 1] if argv.index("--arg_file") + 1 < len(argv) else ""
        )
        words = [t.text for t in read_arg_file(path)]
        if "--mode" in words and words.index("--mode") + 1 < len(words):
            return words[words.index("--mode") + 1]
    return "train"


BUG_EXIT = 1  # an error of mjmimic itself; 2 is the user's (a file, flag or value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except MjmimicError as exc:
        print(f"mjmimic: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmjmimic: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Inputs are validated at the boundary, so whatever else escapes is mjmimic's
        # fault: the traceback is for the report, the last line says so.
        traceback.print_exc()
        first_line = (str(exc).splitlines() or [""])[0]
        print(
            "mjmimic: this is a bug in mjmimic, please report it with the command line and "
            f"the traceback above ({type(exc).__name__}: {first_line})",
            file=sys.stderr,
        )
        return BUG_EXIT
