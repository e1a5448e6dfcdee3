"""Reading a model.pt for ``test`` and ``export``: every way it can fail is one line.

``checkpoint.load`` refuses files that are not mjmimic's; this module adds what a file of
the right format can still get wrong: a torch archive cut off by a full disk (torch says
only ``OSError: Invalid argument``), a model without its weights or config, and weights
of another robot, env or network size (torch's ``load_state_dict`` raises a page of
size mismatches). ``torch_file_problem`` and ``unpickling_refusal`` are also what
``mjmimic doctor`` says about a checkpoint it cannot read.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mjmimic.errors import MjmimicError
from mjmimic.training import checkpoint

if TYPE_CHECKING:  # doctor reads checkpoints through this module without agents or envs
    from mjmimic.agents.base import Agent
    from mjmimic.envs.base import Env

_ZIP_MAGIC = b"PK\x03\x04"


def torch_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete ``torch.save`` archive, without unpickling
    anything; None when it is one. (torch.save has written zip archives since 1.6.)"""
    try:
        with path.open("rb") as f:
            head = f.read(4)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()
    except zipfile.BadZipFile:
        if head == _ZIP_MAGIC:
            return "truncated or damaged (its zip archive is incomplete)"
        return "not a torch file (torch.save writes a zip archive)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    if damaged is not None:
        return f"damaged ({damaged} in its zip archive fails its checksum)"
    if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "a zip archive but not a torch file (no data.pkl in it)"
    return None


def is_torch_file(path: Path) -> bool:
    """``path`` is a file ``torch.save`` wrote (complete or not)."""
    problem = torch_file_problem(path)
    return problem is None or problem.startswith("truncated")


def unpickling_refusal(exc: BaseException) -> str | None:
    """For the error of ``torch.load(weights_only=True)`` on a file that holds more than
    tensors and plain containers: what to tell the user. Never torch's own text, which
    suggests ``weights_only=False``: that runs whatever code the file names."""
    if not isinstance(exc, pickle.UnpicklingError):
        return None
    found = re.search(r"GLOBAL (\S+) was not an allowed global", str(exc))
    named = f" (it names {found.group(1)})" if found else ""
    return (
        f"not a plain tensor file: loading it would import and call Python code{named}, "
        "which can do anything, so it is not loaded"
    )


def read_model(path: Path) -> dict[str, Any]:
    """A model.pt (``checkpoint.MODEL_FORMAT``) with its ``model`` (name -> tensor) and
    ``config`` (dict) checked, or a one-line error naming the file."""
    path = Path(path)
    if path.is_file():
        problem = torch_file_problem(path)
        if problem is not None:
            raise MjmimicError(
                f"{path}: not a readable mjmimic file: {problem}; give the model.pt of a "
                "training run"
            )
    saved = checkpoint.load(path, checkpoint.MODEL_FORMAT)
    missing = [k for k in ("model", "config") if k not in saved]
    if missing:
        raise MjmimicError(
            f"{path}: a {checkpoint.MODEL_FORMAT} file without {' and '.join(missing)}; "
            "it was not written by mjmimic train: give the model.pt of a training run"
        )
    weights, config = saved["model"], saved["config"]
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
    ):
        raise MjmimicError(f"{path}: its 'model' is not a dict of named tensors")
    if not isinstance(config, dict):
        raise MjmimicError(f"{path}: its 'config' is a {type(config).__name__}, not a dict")
    return saved


def load_weights(agent: Agent, env: Env, weights: dict[str, torch.Tensor], path: Path) -> None:
    """``agent.load_model_state_dict(weights)``, or one line saying what does not match:
    the observation or action size (a model of another robot or env config), a network
    size (another agent config) or the tensor names (another agent)."""
    expected = agent.model_state_dict()
    missing = [k for k in expected if k not in weights]
    extra = [k for k in weights if k not in expected]
    if missing or extra:
        parts = [f"lacks {_names(missing)}"] if missing else []
        parts += [f"has {_names(extra)} the agent does not"] if extra else []
        raise MjmimicError(
            f"{path}: the model {' and '.join(parts)}: it was trained with another agent "
            "(agent_name) than the one configured"
        )
    mismatched = [
        (k, tuple(weights[k].shape), tuple(t.shape))
        for k, t in expected.items()
        if weights[k].shape != t.shape
    ]
    if mismatched:
        raise MjmimicError(f"{path}: {_mismatch(mismatched, env.obs_dim, env.action_dim)}")
    agent.load_model_state_dict(weights)


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _mismatch(mismatched: list[tuple[str, tuple, tuple]], obs_dim: int, action_dim: int) -> str:
    """The most telling size mismatch: the observation's, the action's, else the first
    tensor's (a network of another size)."""
    found: dict[str, tuple[int, int]] = {}
    for _, got, want in mismatched:
        if len(got) != len(want):
            continue
        for g, w in zip(got, want, strict=True):
            if g != w and w in (obs_dim, action_dim):
                found.setdefault("obs" if w == obs_dim else "action", (g, w))
    if "obs" in found:
        g, w = found["obs"]
        return (
            f"obs size {g} in the model, the env gives {w}: a model of another robot or env config"
        )
    if "action" in found:
        g, w = found["action"]
        return f"action size {g} in the model, the env takes {w}: a model of another robot"
    key, got, want = mismatched[0]
    return (
        f"{key} has shape {list(got)} in the model, {list(want)} for the agent config: a "
        "model trained with other network sizes"
    )
