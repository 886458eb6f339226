"""Making envs and choosing the device, with one-line errors for what a user can get wrong."""

from __future__ import annotations

import os

import gymnasium as gym
import torch

from .errors import DDPGError


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """gymnasium.make with one-line errors for an unknown id, a non-continuous action space, or
    observations that are not a flat vector (the nets take one)."""
    if render_mode == "rgb_array" and not os.environ.get("DISPLAY"):
        # pygame draws rgb_array frames off-screen; without this, SDL looks for a display on a
        # headless machine and prints an XDG_RUNTIME_DIR error (the frames come out right anyway).
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        env = gym.make(env_id, render_mode=render_mode)
    except gym.error.Error as e:
        raise DDPGError(f"unknown environment id {env_id!r} ({e})") from None
    except Exception as e:  # an entry point that fails to import or to build
        raise DDPGError(f"cannot make environment {env_id!r} ({type(e).__name__}: {e})") from None
    problem = None
    if not isinstance(env.action_space, gym.spaces.Box):
        problem = (f"{env_id} has a {type(env.action_space).__name__} action space; "
                   "DDPG needs a continuous (Box) one")
    elif not isinstance(env.observation_space, gym.spaces.Box) or len(env.observation_space.shape) != 1:
        problem = (f"{env_id} has observations of shape {getattr(env.observation_space, 'shape', None)}; "
                   "these nets need a flat vector")
    if problem:
        env.close()
        raise DDPGError(problem)
    return env


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DDPGError("--device cuda was asked for but no CUDA GPU is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DDPGError(f"unknown device {name!r}") from None
