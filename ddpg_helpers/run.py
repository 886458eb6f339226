"""The run folder: the one place that knows its file names and how to write, read and check them.

    RUN/checkpoint.pt       everything to resume exactly (nets, optimisers, memory, random states)
    RUN/best.pt             the nets of the best noise-free evaluation so far (agent layout)
    RUN/config.json         the settings, readable without torch
    RUN/metrics.csv         one row per episode, with the evaluation where one was run
    RUN/summary.json        written when the run finishes: final and best evaluation, timings
    RUN/reward_curve.png    the learning curve
    RUN/final_episode.npz   the final nets' noise-free episode (observations, actions, rewards)
    RUN/snapshots/          copies of the nets during training (`snapshot_every`)
    RUN/tensorboard/        TensorBoard event files, written as the run goes (board.py)

Every file is written atomically (a temporary file renamed over the old one), so a run killed at
any moment keeps its previous files intact.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from . import checkpoint
from .config import RESUMABLE, Config, with_defaults
from .errors import DDPGError

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
CONFIG = "config.json"
METRICS = "metrics.csv"
SUMMARY = "summary.json"
CURVE = "reward_curve.png"
FINAL_EPISODE = "final_episode.npz"
SNAPSHOTS = "snapshots"
TENSORBOARD = "tensorboard"
FILES = (CHECKPOINT, BEST, CONFIG, METRICS, SUMMARY, CURVE, FINAL_EPISODE)
"""The files of a run folder (snapshots apart); an export copies those other than the checkpoint."""


def default_name(config: Config) -> str:
    """The run folder name used when none is given: ENV-ALGO-sSEED."""
    return f"{config.env_id}-{config.algo}-s{config.seed}"


def checkpoint_file(path: str | Path, best: bool = False) -> Path:
    """A run folder means its checkpoint (or its best nets); a file means itself."""
    path = Path(path)
    if not path.is_dir():
        if not path.exists():
            raise DDPGError(f"no checkpoint at {path}")
        if best:
            raise DDPGError(f"the best nets are kept in a run folder; {path} is a file")
        return path
    return path / (BEST if best else CHECKPOINT)


def load(path: str | Path, best: bool = False) -> dict:
    """The payload of a run folder's checkpoint (or best nets), or of a checkpoint file."""
    file = checkpoint_file(path, best)
    if best and not file.is_file():
        raise DDPGError(f"{Path(path)} holds no best nets ({BEST}): it has not evaluated its nets yet, "
                        "or it was trained before runs kept them")
    return checkpoint.load(file)


class Run:
    """A run folder on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoint = self.path / CHECKPOINT
        self.best = self.path / BEST
        self.snapshot_dir = self.path / SNAPSHOTS
        self.board_dir = self.path / TENSORBOARD
        self.board = None  # the open TensorBoardLog while this process trains the run

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    # --- what is there ---
    def holds_run(self) -> bool:
        return any((self.path / f).exists() for f in FILES)

    def is_finished(self) -> bool:
        """A checkpoint and a summary: the run wrote its files at its end."""
        return self.checkpoint.is_file() and (self.path / SUMMARY).is_file()

    def how_to_go_on(self) -> str:
        """What a user types to go on from a run that was stopped."""
        if self.checkpoint.is_file():
            return f"continue it with: python -m ddpg_helpers train --resume {self.path}"
        return f"it had not written a checkpoint yet; start it again with --overwrite --out {self.path}"

    def snapshots(self) -> list[Path]:
        """The snapshot files, oldest first."""
        return sorted(self.snapshot_dir.glob("episode_*.pt"))

    # --- writing ---
    def prepare(self, overwrite: bool = False) -> Run:
        """Refuse to train over an existing run unless told to; with `overwrite`, clear only its files."""
        if self.path.exists() and not self.path.is_dir():
            raise DDPGError(f"{self.path} exists and is not a folder")
        existing = [f for f in FILES if (self.path / f).exists()]
        if existing and not overwrite:
            raise DDPGError(f"{self.path} already holds a run ({existing[0]}); pass --resume {self.path} to continue "
                            "it or --overwrite to start again")
        for f in existing:
            (self.path / f).unlink()
        if overwrite:
            for f in [*self.snapshots(), *self.board_dir.glob("events.out.tfevents.*")]:
                f.unlink()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DDPGError(f"cannot make the run folder {self.path}: {e.strerror}") from None
        return self

    def remove_stale(self) -> None:
        """Temporary files of writes that a kill cut short (the files they were replacing are intact)."""
        for stale in [*self.path.glob(".*.tmp"), *self.snapshot_dir.glob(".*.tmp")]:
            stale.unlink()

    def open_board(self, history: dict, env_steps: int) -> None:
        """Start (or, for a resumed run, continue) the TensorBoard event files from the trainer's history."""
        from .board import TensorBoardLog

        self.board = TensorBoardLog(self.board_dir, history, env_steps)

    def log(self, history: dict) -> None:
        """The episodes and evaluations added to `history` since the last call, into the event files."""
        if self.board is not None:
            self.board.write(history)

    def close_board(self) -> None:
        if self.board is not None:
            self.board.close()
            self.board = None

    def save_checkpoint(self, state: dict) -> None:
        # The event files first: they then hold at least what the checkpoint does, which a resume relies on.
        if self.board is not None:
            self.board.flush(state["history"])
        checkpoint.save(self.checkpoint, checkpoint.select(state, "checkpoint"))

    def save_best(self, state: dict) -> None:
        checkpoint.save(self.best, checkpoint.select(state, "agent", memory=False))

    def save_snapshot(self, state: dict) -> Path:
        path = self.snapshot_dir / f"episode_{state['episode']:04d}.pt"
        checkpoint.save(path, checkpoint.select(state, "snapshot"))
        return path

    def write_config(self, config: Config) -> None:
        _write_json(self.path / CONFIG, config.to_dict())

    def write_summary(self, summary: dict) -> None:
        _write_json(self.path / SUMMARY, summary)

    def write_metrics(self, history: dict) -> None:
        """metrics.csv: one row per episode, with the evaluation mean where one was run."""
        evals = {e["episode"]: e for e in history["evals"]}
        cols = ["episode", "return", "length", "sigma", "critic_loss", "actor_loss", "env_steps", "wall_time"]

        def write(tmp):
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(cols + ["eval_mean", "eval_std"])
                for i in range(len(history["episode"])):
                    e = evals.get(history["episode"][i] + 1, {})
                    w.writerow([history[k][i] for k in cols] + [e.get("mean", ""), e.get("std", "")])

        checkpoint.atomic_write(self.path / METRICS, write)

    def write_curve(self, history: dict, title: str) -> None:
        from .plotting import save_reward_curve

        save_reward_curve(history, self.path / CURVE, title=title)

    def write_episode(self, episode) -> None:
        episode.save(self.path / FINAL_EPISODE)

    # --- reading ---
    def summary(self) -> dict:
        """summary.json: final and best evaluation, timings, the final episode's return."""
        file = self.path / SUMMARY
        if not file.is_file():
            raise DDPGError(f"{self.path} is not a finished run (no {SUMMARY}): finish it with "
                            f"train --resume {self.path}")
        return json.loads(file.read_text())

    def config(self) -> dict | None:
        """config.json as written (None when there is none)."""
        file = self.path / CONFIG
        return json.loads(file.read_text()) if file.is_file() else None

    def history(self) -> dict:
        """The per-episode history (returns, losses, evaluations), read from the checkpoint."""
        return checkpoint.load(self.checkpoint)["history"]

    def final_episode(self):
        """The recorded final episode (no frames), or None where the run kept none."""
        from .rollouts import Episode

        file = self.path / FINAL_EPISODE
        return Episode.load(file) if file.is_file() else None

    # --- checks ---
    def check_same_settings(self, config: Config, remedy: str = "start a new run to change it") -> None:
        """Refuse to go on with other settings than the run's own (other than how long and where it runs)."""
        saved = self.config()
        saved = {} if saved is None else with_defaults(saved)  # a field newer than the run: it ran at the default
        for name, value in config.to_dict().items():  # env_id and algo come first
            if name not in RESUMABLE and saved.get(name, value) != value:
                what = (f"a {saved[name]} run, not {value}" if name in ("env_id", "algo")
                        else f"a run with {name}={saved[name]!r}, not {value!r}")
                raise DDPGError(f"{self.path} holds {what}; {remedy}")

    # --- sharing ---
    def export(self, dest: str | Path, keep_memory: bool = False, snapshots: bool = True,
               overwrite: bool = False, best: bool = False) -> Run:
        """A small copy of a finished run: the agent without optimisers and random states (and,
        unless `keep_memory`, without the replay memory), and the run's other files.

        `best`: the agent is the nets the run kept at its best evaluation (`best.pt`), not its last
        ones; the final nets' recorded episode and its return are left out, and the summary says
        `"nets": "best"` (its final_* figures are still the run's last evaluation)."""
        dest = Run(dest)
        if not self.path.is_dir():
            raise DDPGError(f"{self.path} is not a run folder")
        if not self.is_finished():
            raise DDPGError(f"{self.path} is not a finished run (no {SUMMARY}): finish it first with "
                            f"train --resume {self.path}")
        if best and not self.best.is_file():
            raise DDPGError(f"{self.path} kept no best nets ({BEST}): it was never evaluated")
        if dest.path.exists() and not dest.path.is_dir():
            raise DDPGError(f"{dest.path} exists and is not a folder")
        if dest.path.exists() and dest.path.resolve() == self.path.resolve():
            raise DDPGError("export needs a destination other than the run itself")
        if dest.path.exists() and any(dest.path.iterdir()):
            if not overwrite:
                raise DDPGError(f"{dest.path} is not empty; pass --overwrite to replace it")
        payload = checkpoint.load(self.checkpoint)
        if best:  # the kept nets over the last ones; a memory kept on request is the run's (the states it visited)
            payload = {**payload, **checkpoint.load(self.best)}
        dest.prepare(overwrite=True)
        checkpoint.save(dest.checkpoint, checkpoint.select(payload, "agent", memory=keep_memory))
        # Atomic copies, the summary last: a destination that holds one is complete.
        left_out = (CHECKPOINT, SUMMARY, FINAL_EPISODE) if best else (CHECKPOINT, SUMMARY)
        copies = [(self.path / f, dest.path / f) for f in FILES if f not in left_out]
        copies += [(s, dest.snapshot_dir / s.name) for s in (self.snapshots() if snapshots else [])]
        copies += [(e, dest.board_dir / e.name) for e in sorted(self.board_dir.glob("events.out.tfevents.*"))]
        for source, target in copies:
            if source.exists():
                checkpoint.atomic_write(target, lambda tmp, source=source: shutil.copyfile(source, tmp))
        summary = self.summary()
        if best:
            summary.pop("final_episode_return", None)
        dest.write_summary({**summary, "nets": "best" if best else summary.get("nets", "last")})  # an export's export
        return dest


def _write_json(path: Path, data: dict) -> None:
    checkpoint.atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"))


def finished_runs(runs: str | Path, env_id: str | None = None, algo: str | None = None) -> list[Run]:
    """The finished run folders in `runs` for `env_id` and `algo` (None: any), oldest summary first."""
    runs = Path(runs)
    if not runs.is_dir():
        return []
    found = []
    for path in runs.iterdir():
        run = Run(path)
        if path.is_dir() and run.is_finished():
            summary = run.summary()
            if env_id in (None, summary.get("env_id")) and algo in (None, summary.get("algo")):
                found.append(((path / SUMMARY).stat().st_mtime, path.name, run))
    return [run for *_, run in sorted(found, key=lambda t: t[:2])]
