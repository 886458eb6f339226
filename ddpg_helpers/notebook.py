"""Plumbing for the notebooks: the training budget, Colab and Drive, run folders, live plots.

The notebooks call these so their cells can show the idea, not the bookkeeping.

The budget has one switch, the environment variable `DDPG_QUICK`: set to 1 (as the notebook
checks do), training cells train for a few episodes only; unset, a reader gets the blog's full
settings (`Config()` defaults).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

from .config import RESUMABLE, Config
from .errors import DDPGError

REPO_URL = "https://github.com/ddpg-notebooks/ddpg-notebooks"
"""The project's repository: the notebooks' install cell clones it and Colab links open from it."""
QUICK_VAR = "DDPG_QUICK"
"""The environment variable that switches training cells to a tiny budget."""
QUICK_EPISODES = 3
"""Episodes trained by a training cell in quick mode."""
COLAB_CHECKOUT = Path("/content/ddpg-notebooks")
"""Where the install cell clones the project on Colab."""
DRIVE_ROOT = Path("/content/drive")
"""Where Google Drive is mounted on Colab."""
SHIPPED_RUN = Path("trained") / "mcc"
"""The trained MountainCarContinuous agent the project ships, relative to the repository root."""
QUICK_SUBDIR = "quick"
"""Quick runs go to RUNS/quick, so they never replace or hide a reader's full run."""

# import name -> what to pip install for it
REQUIREMENTS = {
    "torch": "torch", "gymnasium": "gymnasium[box2d]", "Box2D": "gymnasium[box2d]", "pygame": "gymnasium[box2d]",
    "numpy": "numpy", "matplotlib": "matplotlib", "tqdm": "tqdm", "ipywidgets": "ipywidgets", "PIL": "pillow",
}


# --- where we are ---------------------------------------------------------------------------

def quick_mode() -> bool:
    """True when DDPG_QUICK is set to a true value (1, true, yes, on)."""
    return os.environ.get(QUICK_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def budget(config: Config, episodes: int = QUICK_EPISODES) -> Config:
    """`config` as given, or in quick mode a copy that trains a few episodes and evaluates once.

    Everything that shapes the algorithm (nets, learning rates, noise) stays as given: quick mode
    only makes the run short, so a quick run exercises exactly the code a full run does.
    """
    if not quick_mode():
        return config
    return dataclasses.replace(config, episodes=min(episodes, config.episodes), eval_every=0, eval_episodes=1,
                               checkpoint_every=0, snapshot_every=0)


def in_colab() -> bool:
    """True inside a Google Colab runtime (its kernels import google.colab at start; its env sets COLAB_*)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def repo_root() -> Path | None:
    """The project's checkout holding this package, or None when it was installed elsewhere."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def missing_requirements() -> list[str]:
    """The pip names of requirements that cannot be imported here (empty when all are present)."""
    missing = []
    for module, package in REQUIREMENTS.items():
        if importlib.util.find_spec(module) is None and package not in missing:
            missing.append(package)
    return missing


def device_report() -> str:
    """One line: the GPU torch will use, or how to get one."""
    import torch

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)} (training will use cuda)"
    if in_colab():
        return ("No GPU. In Colab: Runtime > Change runtime type > Hardware accelerator: GPU (e.g. T4) > Save; "
                "then run the notebook again from the top. Training also works on the CPU, only slower.")
    return "No GPU: training runs on the CPU (fine for MountainCar: the nets are small)."


# --- run folders ----------------------------------------------------------------------------

def mount_drive(folder: str = "ddpg-runs") -> Path:
    """Mount Google Drive (Colab asks the reader for permission) and return a folder in it for runs."""
    if not in_colab():
        raise DDPGError("Google Drive can only be mounted inside Colab")
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(str(DRIVE_ROOT))
    path = DRIVE_ROOT / "MyDrive" / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir(use_drive: bool = False, drive_folder: str = "ddpg-runs") -> Path:
    """The folder that holds run folders: Google Drive (if asked, on Colab) or the checkout's runs/.

    Outside a checkout (e.g. the package was pip-installed) it is ./runs. Quick runs go to a
    `quick` folder inside it.
    """
    if use_drive:
        base = mount_drive(drive_folder)
    else:
        root = repo_root()
        base = (root if root is not None else Path.cwd()) / "runs"
    return base / QUICK_SUBDIR if quick_mode() else base


def run_name(config: Config) -> str:
    """The run folder name the command line also uses by default: ENV-ALGO-sSEED."""
    return f"{config.env_id}-{config.algo}-s{config.seed}"


def is_finished_run(path: Path) -> bool:
    return (path / "checkpoint.pt").is_file() and (path / "summary.json").is_file()


def latest_run(runs: str | Path | None = None, env_id: str | None = "MountainCarContinuous-v0",
               algo: str | None = None) -> Path | None:
    """The most recently finished run folder in `runs` (default: `runs_dir()`) for `env_id` (and
    `algo`, if given), or None. `env_id=None` accepts any env."""
    runs = Path(runs) if runs is not None else runs_dir()
    if not runs.is_dir():
        return None
    found = []
    for path in runs.iterdir():
        if path.is_dir() and is_finished_run(path):
            summary = load_summary(path)
            if env_id is None or summary.get("env_id") == env_id:
                if algo is None or summary.get("algo") == algo:
                    found.append(((path / "summary.json").stat().st_mtime, path))
    return max(found)[1] if found else None


def find_shipped(relative: str | Path = SHIPPED_RUN) -> Path | None:
    """A run folder the project ships (trained/mcc, trained/walker-td3), or None where this checkout lacks it."""
    for root in (repo_root(), Path.cwd(), Path.cwd().parent, COLAB_CHECKOUT):
        if root is not None and is_finished_run(root / relative):
            return root / relative
    return None


def shipped_run() -> Path:
    """The trained agent that comes with the project (trained/mcc in the checkout)."""
    found = find_shipped(SHIPPED_RUN)
    if found is None:
        raise DDPGError(f"the shipped agent ({SHIPPED_RUN}) was not found; is this a checkout of {REPO_URL}?")
    return found


def is_shipped(run: str | Path, relative: str | Path = SHIPPED_RUN) -> bool:
    """Whether `run` is the shipped agent at `relative` (trained/mcc by default)."""
    return Path(run).resolve().parts[-2:] == Path(relative).parts


def choose_run(run: str | Path | None = None, runs: str | Path | None = None,
               env_id: str = "MountainCarContinuous-v0") -> Path:
    """`run` if given, else the latest finished run in `runs`, else the shipped trained agent."""
    if run is not None:
        run = Path(run)
        if not is_finished_run(run):
            raise DDPGError(f"{run} is not a finished run folder (it needs checkpoint.pt and summary.json)")
        return run
    return latest_run(runs, env_id) or shipped_run()


def load_summary(run: str | Path) -> dict:
    """The run's summary.json (final evaluation, timings, the final episode's return)."""
    return json.loads((Path(run) / "summary.json").read_text())


def load_history(run: str | Path) -> dict:
    """The per-episode history of a run (returns, losses, evaluations), read from its checkpoint."""
    from . import checkpoint

    return checkpoint.load_payload(run)["history"]


# --- showing things -------------------------------------------------------------------------

def show_source(obj):
    """The real source of a class or function from this package, highlighted in the notebook."""
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def figure_png(fig, dpi: int = 80) -> bytes:
    """A Figure rendered to PNG bytes (works without pyplot and without a display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class LiveRewardPlot:
    """A training callback that redraws the reward curve in place each time an episode ends.

        plot = LiveRewardPlot()
        train(config, callback=plot)

    It keeps one display handle and replaces its image, so the cell shows one growing plot instead
    of one plot per episode. Outside a notebook it only counts the redraws.
    """

    def __init__(self, every: int = 1, title: str | None = None, figsize=(7, 3.5)):
        self.every, self.title, self.figsize = max(1, int(every)), title, figsize
        self.handle = None
        self.draws = 0

    def __call__(self, trainer) -> None:
        if trainer.episode % self.every == 0 or trainer.done:
            self.draw(trainer.history)

    def draw(self, history: dict) -> None:
        from matplotlib.figure import Figure

        from .plotting import reward_curve

        fig = Figure(figsize=self.figsize)
        reward_curve(history, fig.add_subplot(), title=self.title)
        fig.tight_layout()
        self.draws += 1
        self._show(figure_png(fig))

    def _show(self, png: bytes) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import Image, display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self.handle is None:
            self.handle = display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))


def frame_stride_for(n_steps: int, max_frames: int = 200) -> int:
    """The frame stride that records about `max_frames` frames of an `n_steps` episode.

    Rendering only the frames the animation keeps saves memory: a 999-step episode at 600x400 is
    about 720 MB of pixels when every frame is kept.
    """
    return max(1, -(-int(n_steps) // max_frames))


# --- BipedalWalker (notebook 6) -------------------------------------------------------------

WALKER_ID = "BipedalWalker-v3"
"""The walker's gymnasium id."""
SHIPPED_WALKER = Path("trained") / "walker-td3"
"""Where the project's trained TD3 walker lies, relative to the repository root (a checkout may lack it)."""
QUICK_MAX_EPISODE_STEPS = 200
"""Step cap per episode of a quick run in `short_budget` (the walker's own limit is 1600)."""
QUICK_WARMUP_STEPS = 100
"""Random warm-up steps of a quick run in `short_budget` (the walker's preset has 10,000)."""


def short_budget(config: Config, episodes: int = QUICK_EPISODES, max_episode_steps: int = QUICK_MAX_EPISODE_STEPS,
                 warmup_steps: int = QUICK_WARMUP_STEPS) -> Config:
    """`budget`, and in quick mode also short episodes and a short random warm-up (before which
    nothing is learned, as in the full config).

    For envs whose episodes and warm-up are long (BipedalWalker: up to 1600 steps per episode,
    10,000 random steps first), a few episodes alone would still take minutes and never reach
    the actor. The nets, learning rates and noise stay as given, as in `budget`.
    """
    if not quick_mode():
        return config
    limit = min(max_episode_steps, config.max_episode_steps or max_episode_steps)
    return dataclasses.replace(budget(config, episodes), max_episode_steps=limit,
                               warmup_steps=min(warmup_steps, config.warmup_steps),
                               learning_starts=min(warmup_steps, config.learning_starts))


def train_or_resume(config: Config, out: str | Path, resume: bool = False, progress: bool = True, callback=None):
    """Train `config` from scratch into `out` (replacing a run there), or continue the run in `out`.

    With `resume`, a checkpoint in `out` (from a run that was interrupted, or one that finished and
    should go on) is continued up to `config.episodes` episodes; a run that needs no more is
    returned as it is. Where `out` holds no checkpoint yet, it trains from scratch, so the same cell
    works before and after a disconnect. A run trained with other settings (other than how long it
    goes on and where it runs) is refused rather than mixed. Returns the `TrainResult`.
    """
    from .training import resume as resume_run
    from .training import train

    out = Path(out)
    if resume and (out / "checkpoint.pt").is_file():
        saved_file = out / "config.json"
        saved = json.loads(saved_file.read_text()) if saved_file.is_file() else {}
        for name, value in config.to_dict().items():  # env_id and algo come first
            if name in saved and name not in RESUMABLE and saved[name] != value:
                what = (f"a {saved[name]} run, not {value}" if name in ("env_id", "algo")
                        else f"a run with {name}={saved[name]!r}, not {value!r}")
                raise DDPGError(f"{out} holds {what}; set resume to False to replace it")
        return resume_run(out, progress=progress, callback=callback, finished_ok=True, episodes=config.episodes)
    return train(config, out, overwrite=True, progress=progress, callback=callback)


class Walk(NamedTuple):
    episode: object  # training.Episode, with its frames
    stride: int  # every stride-th step was rendered
    fps: int  # the env's frames per second
    outcome: str  # walker_outcome: 'fell', 'reached the end' or 'time limit'


def record_walk(run: str | Path, seed: int = 0, max_frames: int = 200) -> Walk:
    """A noise-free episode of a run's agent on env seed `seed`, with about `max_frames` frames.

    The episode is played once without pictures to learn its length, then again rendering only
    every `stride`-th frame: a 1,600-step walker episode at full size is over a gigabyte of
    pixels.
    """
    from .training import load_agent, make_env, run_episode

    agent, config, _ = load_agent(run)
    env = make_env(config.env_id, render_mode="rgb_array")
    probe = run_episode(agent, env, seed, max_steps=config.max_episode_steps)
    stride = frame_stride_for(len(probe.actions), max_frames)
    episode = run_episode(agent, env, seed, record=True, frame_stride=stride, max_steps=config.max_episode_steps)
    env.close()
    if abs(episode.total_return - probe.total_return) > 1e-3:
        raise DDPGError(f"{config.env_id} did not replay the same episode on seed {seed}")
    limit = config.max_episode_steps or env.spec.max_episode_steps
    return Walk(episode, stride, env.metadata["render_fps"], walker_outcome(episode.rewards, limit))


def walker_torque_cost(actions) -> float:
    """What a BipedalWalker episode paid for torque, out of its return.

    The env takes 0.00035 * MOTORS_TORQUE * |a| per joint per step from the reward, with |a|
    clipped to 1. The return plus this cost is what the walk earned: about 364 for reaching the far end.
    """
    import numpy as np
    from gymnasium.envs.box2d.bipedal_walker import MOTORS_TORQUE

    return float(0.00035 * MOTORS_TORQUE * np.clip(np.abs(np.asarray(actions, np.float64)), 0, 1).sum())


def walker_outcome(rewards, time_limit: int) -> str:
    """How a BipedalWalker episode ended, from its per-step rewards: 'fell', 'reached the end' or 'time limit'.

    The env gives exactly -100 on the step the hull touches the ground (or the walker backs off
    the left edge) and ends the episode; it also ends it, without the penalty, at the far end of
    the course. An episode that lasts `time_limit` steps was cut by the clock.
    """
    if len(rewards) and rewards[-1] == -100:
        return "fell"
    return "time limit" if len(rewards) >= time_limit else "reached the end"
