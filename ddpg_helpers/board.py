"""TensorBoard event files of a run, written from the trainer's history with env steps as the x axis.

    %load_ext tensorboard
    %tensorboard --logdir runs          # every run under runs/, side by side (Colab shows it inline)

The history is the record: each call writes the episodes and evaluations added since the last one.
The run writes them after every episode and, before each checkpoint, flushes them to disk, so the
event files always hold at least what the checkpoint holds. A resumed run starts from its
checkpoint and redoes the episodes after it: it opens the log with TensorBoard's `purge_step` at
the first env step after the checkpoint, which hides the points of the redone episodes that the
killed process had written, so the curves go on from where the checkpoint was, with no restart at
0 and no point twice. A run that had no event files (trained with `--no-tensorboard`, or before
they were written) gets its whole history written at the resume.
"""

from __future__ import annotations

import math
from pathlib import Path

from .errors import DDPGError

EVAL_SCALARS = {"mean": "eval/mean", "std": "eval/std", "confirm_mean": "eval/confirm_mean",
                "keep_mean": "eval/keep_mean"}
"""An evaluation row's numbers and their tags: the noise-free evaluation, its confirmation and its longer look."""
EPISODE_SCALARS = {"return": "train/return", "length": "train/episode_length", "sigma": "train/sigma",
                   "critic_loss": "loss/critic", "actor_loss": "loss/actor"}
"""A training episode's numbers and their tags (a loss is left out where the episode made no update)."""


def has_events(log_dir: Path) -> bool:
    return log_dir.is_dir() and any(log_dir.glob("events.out.tfevents.*"))


class TensorBoardLog:
    """Appends a run's history to its event files; `write(history)` is cheap when nothing is new."""

    def __init__(self, log_dir: str | Path, history: dict, env_steps: int):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise DDPGError("TensorBoard logging needs the tensorboard package: pip install tensorboard "
                            "(or train with --no-tensorboard)") from None
        log_dir = Path(log_dir)
        if has_events(log_dir):  # a resumed run: hide what was written after its checkpoint
            self.episodes, self.evals = len(history["episode"]), len(history["evals"])
            self.writer = SummaryWriter(str(log_dir), purge_step=env_steps + 1)
        else:  # a new run, or one that never logged: its whole history
            self.episodes = self.evals = 0
            self.writer = SummaryWriter(str(log_dir))

    def write(self, history: dict) -> None:
        for i in range(self.episodes, len(history["episode"])):
            step = history["env_steps"][i]
            for key, tag in EPISODE_SCALARS.items():
                if not math.isnan(value := history[key][i]):
                    self.writer.add_scalar(tag, value, step)
            # The run's env steps per second so far, evaluations and saving included (as in summary.json).
            if history["wall_time"][i] > 0:
                self.writer.add_scalar("perf/env_steps_per_second", step / history["wall_time"][i], step)
        self.episodes = len(history["episode"])
        for row in history["evals"][self.evals:]:
            for key, tag in EVAL_SCALARS.items():
                if key in row:
                    self.writer.add_scalar(tag, row[key], row["env_steps"])
        self.evals = len(history["evals"])

    def flush(self, history: dict) -> None:
        self.write(history)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """The scalars TensorBoard shows for a run (points hidden by a resume's purge left out): tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
