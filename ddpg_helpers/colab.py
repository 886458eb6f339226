"""Where the notebooks run: Colab or a laptop, the GPU, Google Drive, and what is installed."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from .errors import DDPGError

REPO_URL = "https://github.com/ddpg-notebooks/ddpg-notebooks"
"""The project's repository: the notebooks' install cell clones it and Colab links open from it."""
COLAB_CHECKOUT = Path("/content/ddpg-notebooks")
"""Where the install cell clones the project on Colab."""
DRIVE_ROOT = Path("/content/drive")
"""Where Google Drive is mounted on Colab."""
# import name -> what to pip install for it
REQUIREMENTS = {
    "torch": "torch", "gymnasium": "gymnasium[box2d]", "Box2D": "gymnasium[box2d]", "pygame": "gymnasium[box2d]",
    "numpy": "numpy", "matplotlib": "matplotlib", "tqdm": "tqdm", "ipywidgets": "ipywidgets", "PIL": "pillow",
    "tensorboard": "tensorboard", "scipy": "scipy", "optuna": "optuna",
}


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


def mount_drive(folder: str = "ddpg-runs") -> Path:
    """Mount Google Drive (Colab asks the reader for permission) and return a folder in it for runs."""
    if not in_colab():
        raise DDPGError("Google Drive can only be mounted inside Colab")
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(str(DRIVE_ROOT))
    path = DRIVE_ROOT / "MyDrive" / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


def training_report(config) -> str:
    """One line: where `config` trains, with which update path and how many CPU threads.

    `compile="auto"` picks the fastest path measured for the device: on a GPU the update captured
    once in a CUDA graph and replayed, with acting on a host copy of the actor (one update behind);
    on a CPU the eager update.
    """
    import torch

    from .agent import update_mode
    from .envs import pick_device

    device = pick_device(config.device)
    mode = update_mode(config.compile, device)
    how = {"graph": "the update captured once in a CUDA graph and replayed, acting beside it on the CPU; checked "
                    "against the eager update before training on it, and not yet timed on a GPU",
           "compile": "the update compiled by torch.compile", "eager": "the eager update"}[mode]
    threads = config.threads or torch.get_num_threads()
    return f"training on {device} with {how} (compile={config.compile!r}), {threads} CPU thread(s)"
