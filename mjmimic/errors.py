"""User-facing errors.

Anything the user can fix (a bad file, key, value or flag) raises ``MjmimicError`` with a
one-line message that names the file/key/value and says what to do. The CLI prints it as
``mjmimic: error: <message>`` and exits with status 2, never with a traceback.
Programming errors stay ordinary exceptions.
"""


class MjmimicError(Exception):
    """An error caused by user input, reported as one line."""


class ConfigError(MjmimicError):
    """A configuration file, key, value or command-line flag is invalid."""


class AssetError(MjmimicError):
    """A robot model (MJCF) cannot be loaded or is not supported."""


class MotionError(MjmimicError):
    """A motion clip cannot be read or does not fit the robot."""
