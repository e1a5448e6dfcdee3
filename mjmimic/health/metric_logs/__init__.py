"""``mjmimic doctor`` for runs of other tools: MimicKit, rsl_rl/mjlab, GRPO-style CSV/JSONL.

``readers`` turns a log into a ``MetricLog`` (steps x named series) and maps its columns
to *roles* (``roles``: value loss, policy ratio, action std...); ``rules`` are pure
functions from a ``MetricLog`` to findings; ``causes`` ranks what produced the first one,
naming the config key of the tool the run came from; ``report`` writes the same
``diagnosis.md``/``diagnosis.json`` as for mjmimic's own runs. Only the logs are needed,
never the run's code.
"""
