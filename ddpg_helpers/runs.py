"""Where run folders are kept and found: the runs folder (or Google Drive), the latest finished run,
and the agents the project ships in trained/."""

from __future__ import annotations

from pathlib import Path

from . import colab
from .budget import quick_mode
from .errors import DDPGError
from .run import Run, finished_runs

SHIPPED_RUN = Path("trained") / "mcc"
"""The trained MountainCarContinuous agent the project ships, relative to the repository root."""
SHIPPED_WALKER = Path("trained") / "walker-tqc"
"""Where the project's trained walker (the preset's TQC) lies, relative to the repository root (a checkout may
lack it). trained/walker-td3 beside it is the TD3 walker shipped before."""
SHIPPED_LEARNING = Path("trained") / "walker-notebook"
"""A walker trained as notebook 6's first training cell trains one (seed 0, until solved), with a snapshot of its
nets at each evaluation: what notebook 6's slider shows before a reader has a run of their own."""
QUICK_SUBDIR = "quick"
"""Quick runs go to RUNS/quick, so they never replace or hide a reader's full run."""


def runs_dir(use_drive: bool = False, drive_folder: str = "ddpg-runs") -> Path:
    """The folder that holds run folders: Google Drive (if asked, on Colab) or the checkout's runs/.

    Outside a checkout (e.g. the package was pip-installed) it is ./runs. Quick runs go to a
    `quick` folder inside it.
    """
    if use_drive:
        base = colab.mount_drive(drive_folder)
    else:
        root = colab.repo_root()
        base = (root if root is not None else Path.cwd()) / "runs"
    return base / QUICK_SUBDIR if quick_mode() else base


def latest_run(runs: str | Path | None = None, env_id: str | None = "MountainCarContinuous-v0",
               algo: str | None = None) -> Path | None:
    """The most recently finished run folder in `runs` (default: `runs_dir()`) for `env_id` (and
    `algo`, if given), or None. `env_id=None` accepts any env."""
    found = finished_runs(runs if runs is not None else runs_dir(), env_id, algo)
    return found[-1].path if found else None


def find_shipped(relative: str | Path = SHIPPED_RUN) -> Path | None:
    """A run folder the project ships (trained/mcc, trained/walker-tqc), or None where this checkout lacks it."""
    for root in (colab.repo_root(), Path.cwd(), Path.cwd().parent, colab.COLAB_CHECKOUT):
        if root is not None and Run(root / relative).is_finished():
            return root / relative
    return None


def shipped_run() -> Path:
    """The trained agent that comes with the project (trained/mcc in the checkout)."""
    found = find_shipped(SHIPPED_RUN)
    if found is None:
        raise DDPGError(f"the shipped agent ({SHIPPED_RUN}) was not found; is this a checkout of {colab.REPO_URL}?")
    return found


def is_shipped(run: str | Path, relative: str | Path = SHIPPED_RUN) -> bool:
    """Whether `run` is the shipped agent at `relative` (trained/mcc by default)."""
    return Path(run).resolve().parts[-2:] == Path(relative).parts


def choose_run(run: str | Path | None = None, runs: str | Path | None = None,
               env_id: str = "MountainCarContinuous-v0") -> Path:
    """`run` if given, else the latest finished run in `runs`, else the shipped trained agent."""
    if run is not None:
        run = Path(run)
        if not Run(run).is_finished():
            raise DDPGError(f"{run} is not a finished run folder (it has no checkpoint or no summary)")
        return run
    return latest_run(runs, env_id) or shipped_run()


def load_summary(run: str | Path) -> dict:
    """The run's summary (final and best evaluation, timings, the final episode's return)."""
    return Run(run).summary()


def load_history(run: str | Path) -> dict:
    """The per-episode history of a run (returns, losses, evaluations), read from its checkpoint."""
    return Run(run).history()
