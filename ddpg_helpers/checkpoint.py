"""Save and load a whole run in one file, atomically, without ever executing code from it."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from .errors import DDPGError

FORMAT = 1
CHECKPOINT = "checkpoint.pt"
REQUIRED = {"config", "env_id", "obs_dim", "act_dim", "action_low", "action_high", "actor", "critic"}


def atomic_write(path: str | Path, write) -> None:
    """Call `write(tmp_path)`, then rename over `path`: a kill midway leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a run's files are ordinary ones
    try:
        write(tmp)
        with open(tmp, "rb+") as f:  # on disk before the rename, so a machine crash cannot swap in an empty file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict (tensors, numbers, strings, lists, dicts only)."""
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, **payload}, tmp))


def resolve(path: str | Path) -> Path:
    """A run folder means its checkpoint.pt; a file means itself."""
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def load_payload(path: str | Path) -> dict:
    """Read a checkpoint with `weights_only=True`; every failure becomes a one-line DDPGError."""
    file = resolve(path)
    if not file.exists():
        raise DDPGError(f"no checkpoint at {file}")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise DDPGError(f"checkpoint {file} is truncated or corrupt ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not REQUIRED <= set(payload):
        raise DDPGError(f"{file} is not a ddpg_helpers checkpoint")
    return payload
