"""Episode end flags, one int per env, as MimicKit defines them.

FAIL and SUCC end an episode with no future return (terminal value 0); TIME ends it only
because the episode ran out of time, so the learner bootstraps from the value of the last
observation.
"""

from enum import IntEnum


class DoneFlag(IntEnum):
    NULL = 0
    FAIL = 1
    SUCC = 2
    TIME = 3
