"""The checkpoint schema, and saving and loading it atomically without ever executing code from it.

A checkpoint is one flat dict of named entries. The entries come in groups, and every kind of
file a run writes is a choice of groups (`LAYOUTS`): the full checkpoint a run resumes from, the
agent an export or the best-nets copy keeps, and the small snapshot of the nets. Adding an entry
to the checkpoint means adding it to its group here and to the `state_dict` of the part that owns
it; everything that selects or checks entries derives from these groups.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from .errors import DDPGError

FORMAT = 1

GROUPS: dict[str, tuple[str, ...]] = {
    # What the file is: enough to rebuild the nets without the env's help.
    "meta": ("config", "env_id", "obs_dim", "act_dim", "action_low", "action_high"),
    # How far the run got.
    "position": ("episode", "env_steps", "updates"),
    # The run's record: per-episode history, the evaluation that solved it, the best evaluation.
    "record": ("wall_time", "history", "solved_at", "best"),
    # The nets the agent acts and learns with (critic2: TD3 only).
    "nets": ("actor", "critic", "critic2"),
    "targets": ("actor_target", "critic_target", "critic2_target"),
    "optimisers": ("actor_opt", "critic_opt"),
    "memory": ("memory",),
    # Random states: the run's numpy generator, the noise's own state, torch's CPU and CUDA generators.
    "random": ("rng", "noise_state", "torch_rng", "cuda_rng"),
}

LAYOUTS: dict[str, tuple[str, ...]] = {
    "checkpoint": tuple(GROUPS),  # everything: a resumed run continues exactly
    "agent": ("meta", "position", "record", "nets", "targets"),  # an export, the best nets: no training state
    "snapshot": ("meta", "position", "nets"),  # the nets at one episode, to study learning
}

REQUIRED = {"actor", "critic", *GROUPS["meta"]}
"""What every file of any layout holds."""
RESUME_NEEDS = ("actor_opt", "critic_opt", "memory", "rng")
"""What a run needs to go on training, and an exported agent lacks: the optimisers, the memory and the
run's generator (the noise's and CUDA's states are optional)."""


def keys(layout: str, *, memory: bool | None = None) -> set[str]:
    """The entry names of a layout; `memory` adds or removes the replay memory (None: as the layout has it)."""
    names = {k for g in LAYOUTS[layout] for k in GROUPS[g]}
    if memory is None:
        return names
    return names | set(GROUPS["memory"]) if memory else names - set(GROUPS["memory"])


def select(payload: dict, layout: str, *, memory: bool | None = None) -> dict:
    """The entries of `payload` that a file of `layout` keeps."""
    wanted = keys(layout, memory=memory)
    return {k: v for k, v in payload.items() if k in wanted}


def missing_for_resume(payload: dict) -> list[str]:
    """The entries a checkpoint lacks to be resumed (empty when it can be)."""
    return sorted(k for k in RESUME_NEEDS if k not in payload)


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


def check_writable(path: str | Path) -> None:
    """Refuse, with a one-line DDPGError, a file `atomic_write` could not write: so a long job
    (a 100-episode evaluation before its GIF) learns it before it starts, not at its end."""
    path = Path(path)
    if path.is_dir():
        raise DDPGError(f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise DDPGError(f"cannot write {path}: {e.strerror}") from None


def save(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict (tensors, numbers, strings, lists, dicts only)."""
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, **payload}, tmp))


def load(file: str | Path) -> dict:
    """Read a checkpoint file with `weights_only=True`; every failure becomes a one-line DDPGError."""
    file = Path(file)
    if not file.exists():
        raise DDPGError(f"no checkpoint at {file}")
    if file.is_dir():
        raise DDPGError(f"{file} is a folder without a checkpoint")
    with open(file, "rb") as f:
        head = f.read(4)
    if not head:
        raise DDPGError(f"checkpoint {file} is empty: truncated or corrupt")
    if head != b"PK\x03\x04":  # torch.save writes a zip archive; anything else is some other file
        raise DDPGError(f"{file} is not a checkpoint (not a file written by torch.save)")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise DDPGError(f"checkpoint {file} is truncated or corrupt ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not REQUIRED <= set(payload):
        raise DDPGError(f"{file} is not a ddpg_helpers checkpoint")
    return payload
