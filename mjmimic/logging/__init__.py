"""Run outputs: the log.txt table, TensorBoard scalars and the live progress line."""
