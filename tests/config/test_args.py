"""MimicKit-style flags: arg files, command-line precedence, typing and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjmimic.config import (
    ArgFlag,
    ArgSpec,
    ArgToken,
    parse_arg_tokens,
    read_arg_file,
    resolve_args,
)
from mjmimic.errors import ConfigError

SPEC = ArgSpec(
    [
        ArgFlag("mode", str, "train", help="train or test", choices=("train", "test")),
        ArgFlag("num_envs", int, 1, help="parallel environments"),
        ArgFlag("visualize", bool, True, help="open a viewer"),
        ArgFlag("max_samples", float, None, help="stop after this many samples"),
        ArgFlag("env_config", Path, help="env YAML", required=True),
        ArgFlag("devices", list[str], ["cpu"], help="devices, one process each"),
        ArgFlag("rand_seed", int, help="random seed; default: from the clock"),
    ],
    prog="mjmimic run",
)

# The layout of MimicKit's args/*.txt files, with comments mjmimic must skip.
ARG_FILE = """\
# DeepMimic humanoid
--num_envs 4096

--env_config configs/envs/deepmimic.yaml   # relative to the current directory
--visualize false
# --mode test
"""


def _arg_file(tmp_path: Path, text: str = ARG_FILE) -> Path:
    path = tmp_path / "args.txt"
    path.write_text(text)
    return path


def _error(tokens: list[str]) -> str:
    with pytest.raises(ConfigError) as info:
        resolve_args(tokens, SPEC)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_parse_tokens_groups_values_under_keys() -> None:
    parsed = parse_arg_tokens(["--devices", "cuda:0", "cuda:1", "--num_envs=8"], "command line")
    assert parsed == {
        "devices": (["cuda:0", "cuda:1"], "command line"),
        "num_envs": (["8"], "command line"),
    }


def test_parse_tokens_origins_carry_lines() -> None:
    tokens = [ArgToken("--num_envs", 3), ArgToken("16", 3)]
    assert parse_arg_tokens(tokens, "args/x.txt") == {"num_envs": (["16"], "args/x.txt:3")}


def test_duplicate_key_in_one_source_is_an_error() -> None:
    tokens = [ArgToken("--num_envs", 2), ArgToken("4", 2), ArgToken("--num_envs", 7)]
    with pytest.raises(ConfigError) as info:
        parse_arg_tokens(tokens, "args/x.txt")
    assert str(info.value) == (
        "args/x.txt:7: --num_envs is given twice (first at args/x.txt:2); keep one"
    )


def test_value_before_any_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="value 'train' comes before any --flag"):
        parse_arg_tokens(["train", "--num_envs", "2"], "command line")


def test_read_arg_file_skips_comments(tmp_path: Path) -> None:
    tokens = read_arg_file(_arg_file(tmp_path))
    assert [t.text for t in tokens] == [
        "--num_envs",
        "4096",
        "--env_config",
        "configs/envs/deepmimic.yaml",
        "--visualize",
        "false",
    ]
    assert tokens[2].line == 4


def test_arg_file_values_are_typed_with_file_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _arg_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = resolve_args(["--arg_file", "args.txt"], SPEC)
    assert args.num_envs == 4096
    assert args.visualize is False
    assert args.env_config == Path("configs/envs/deepmimic.yaml")
    assert args.mode == "train"  # commented out in the file
    assert args.arg_file == Path("args.txt")
    assert args.origin("num_envs") == "args.txt:2"
    assert args.origin("env_config") == "args.txt:4"
    assert args.origin("mode") == "default"
    assert args.origin("arg_file") == "command line"


def test_command_line_overrides_the_arg_file(tmp_path: Path) -> None:
    path = _arg_file(tmp_path)
    args = resolve_args(["--num_envs", "2", "--arg_file", str(path)], SPEC)
    assert args.num_envs == 2
    assert args.origin("num_envs") == "command line"
    assert args.visualize is False  # still filled in from the file
    assert args.origin("visualize") == f"{path}:5"


def test_same_key_in_cli_and_file_is_not_a_duplicate(tmp_path: Path) -> None:
    path = _arg_file(tmp_path, "--mode train\n--env_config a.yaml\n")
    assert resolve_args(["--mode", "test", "--arg_file", str(path)], SPEC).mode == "test"


def test_missing_arg_file_names_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "args").mkdir()
    _arg_file(tmp_path / "args")
    monkeypatch.chdir(tmp_path / "args")
    # Relative to the current directory, as in MimicKit: from the parent, args.txt is missing.
    assert resolve_args(["--arg_file", "args.txt"], SPEC).num_envs == 4096
    monkeypatch.chdir(tmp_path)
    message = _error(["--arg_file", "args.txt"])
    assert message == (
        "arg file not found: args.txt (relative paths are taken from the current "
        f"directory, {tmp_path})"
    )


def test_missing_absolute_arg_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.txt"
    assert _error(["--arg_file", str(missing)]) == f"arg file not found: {missing}"


def test_arg_file_inside_arg_file_is_rejected(tmp_path: Path) -> None:
    path = _arg_file(tmp_path, "--env_config a.yaml\n--arg_file other.txt\n")
    message = _error(["--arg_file", str(path)])
    assert message.startswith(f"{path}:2: --arg_file inside an arg file is not supported")


def test_unknown_flag_suggests_the_closest() -> None:
    message = _error(["--env_config", "a.yaml", "--num_env", "4"])
    assert message == "command line: unknown flag --num_env (did you mean --num_envs?)"


def test_unknown_flag_in_arg_file_names_the_line(tmp_path: Path) -> None:
    path = _arg_file(tmp_path, "--env_config a.yaml\n\n--visualise true\n")
    message = _error(["--arg_file", str(path)])
    assert message == f"{path}:3: unknown flag --visualise (did you mean --visualize?)"


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["--num_envs", "many"], "command line: --num_envs value 'many' is not an int"),
        (["--max_samples", "1e9x"], "command line: --max_samples value '1e9x' is not a float"),
        (["--visualize", "yes"], "command line: --visualize value 'yes' is not a bool"),
        (["--mode", "tets"], "command line: --mode value 'tets' is not one of: train, test"),
        (["--num_envs", "1", "2"], "command line: --num_envs takes one value, got 2: 1 2"),
        (["--num_envs"], "command line: --num_envs needs a value (--num_envs INT)"),
    ],
)
def test_malformed_values_name_flag_value_and_origin(tokens: list[str], expected: str) -> None:
    assert _error(["--env_config", "a.yaml", *tokens]).startswith(expected)


def test_wrong_type_in_arg_file_names_the_line(tmp_path: Path) -> None:
    path = _arg_file(tmp_path, "--env_config a.yaml\n--num_envs 4k\n")
    assert _error(["--arg_file", str(path)]) == f"{path}:2: --num_envs value '4k' is not an int"


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, True) for text in ("true", "True", "1", "T", "t")]
    + [(text, False) for text in ("false", "False", "0", "F", "f")],
)
def test_bools_parse_like_mimickit(text: str, expected: bool) -> None:
    assert resolve_args(["--env_config", "a", "--visualize", text], SPEC).visualize is expected


def test_defaults_lists_and_given() -> None:
    args = resolve_args(["--env_config", "a.yaml", "--devices", "cuda:0", "cuda:1"], SPEC)
    assert args.devices == ["cuda:0", "cuda:1"]
    assert args.num_envs == 1 and args.max_samples is None and args.arg_file is None
    assert args.given("devices") and not args.given("rand_seed")
    assert args.as_dict()["mode"] == "train"
    with pytest.raises(AttributeError):
        _ = args.num_env


def test_missing_required_flag() -> None:
    message = _error(["--num_envs", "2"])
    assert message.startswith("missing required flag --env_config (env YAML)")


def test_spec_rejects_programming_mistakes() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        ArgSpec([ArgFlag("a"), ArgFlag("a")])
    with pytest.raises(ValueError, match="reserved"):
        ArgSpec([ArgFlag("arg_file")])
    with pytest.raises(TypeError, match="unsupported flag type"):
        ArgFlag("a", dict)


def test_format_help_lists_flags_with_help_and_defaults() -> None:
    text = SPEC.format_help()
    lines = text.splitlines()
    assert lines[0] == "usage: mjmimic run [--arg_file PATH] [--flag VALUE ...]"
    assert any(
        line.startswith("  --num_envs INT") and line.endswith("parallel environments (default: 1)")
        for line in lines
    )
    assert "open a viewer (default: true)" in text
    assert "env YAML (required)" in text
    assert "--devices STR [STR ...]" in text
    assert "(one of: train, test; default: train)" in text
    assert "--arg_file PATH" in text
