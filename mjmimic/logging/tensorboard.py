"""TensorBoard scalars, grouped like MimicKit's collections (``0_Main/Test_Return``)."""

from __future__ import annotations

from pathlib import Path

_MAIN = {
    "Test_Return",
    "Test_Episode_Length",
    "Test_Episode_Length_Fraction",
    "Test_Full_Length_Rate",
    "Train_Return",
    "Train_Episode_Length",
    "Test_Normalized_Return",
}


class TensorBoardLog:
    def __init__(self, out_dir: Path, purge_step: int | None = None):
        """``purge_step``: on reading, drop events of earlier sessions at this step and
        after (a resume from a checkpoint at step ``purge_step - 1``)."""
        from torch.utils.tensorboard import SummaryWriter  # import cost only when used

        self._writer = SummaryWriter(log_dir=str(out_dir / "tb"), purge_step=purge_step)

    def write(self, row: dict[str, float], step: int) -> None:
        for key, value in row.items():
            if key in ("Iteration", "Samples"):
                continue
            group = "0_Main" if key in _MAIN else "2_Env" if key.startswith("Env_") else "1_Info"
            self._writer.add_scalar(f"{group}/{key}", value, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
