"""The argparse parser every ``mjmimic`` subcommand uses."""

from __future__ import annotations

import argparse

from mjmimic.errors import ConfigError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one-line ``ConfigError``s (printed as ``mjmimic: error:``,
    exit 2) instead of argparse's usage dump; subparsers made from it inherit that."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")
