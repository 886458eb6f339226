"""What the tests share: one thread, one tiny config, one fake run folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from ddpg_helpers import Config
from ddpg_helpers.run import CHECKPOINT, SUMMARY

TINY = dict(episodes=2, max_episode_steps=100, eval_every=0, eval_episodes=1, record_final=False)
"""Settings of a run that trains in seconds: two short MountainCar episodes, one evaluation episode."""


@pytest.fixture(autouse=True)
def _one_thread():
    # One thread: the learning tests' numbers then do not depend on how many cores the machine has.
    torch.set_num_threads(1)


@pytest.fixture
def tiny_config() -> Config:
    return Config(**TINY)


def fake_run(path: Path, env_id="MountainCarContinuous-v0", algo="ddpg", mtime: float | None = None,
             finished=True) -> Path:
    """A folder that looks like a run (an empty checkpoint; with `finished`, a summary), to test run discovery."""
    path.mkdir(parents=True)
    (path / CHECKPOINT).write_bytes(b"")
    if finished:
        (path / SUMMARY).write_text(json.dumps({"env_id": env_id, "algo": algo}))
        if mtime is not None:
            os.utime(path / SUMMARY, (mtime, mtime))
    return path
