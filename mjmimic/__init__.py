"""mjmimic: physics-based motion imitation for humanoids in MuJoCo."""

__version__ = "0.1.0"
