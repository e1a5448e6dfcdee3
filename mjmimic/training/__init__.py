"""The training loop, test-mode evaluation and checkpoints."""
