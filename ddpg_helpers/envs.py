"""Making envs and choosing the device, with one-line errors for what a user can get wrong."""

from __future__ import annotations

import os

import gymnasium as gym
import torch

from .errors import DDPGError


class FreshBox2DWorld(gym.Wrapper):
    """A new Box2D world at every reset, so that an episode depends on its seed and actions only.

    BipedalWalker keeps one `b2World` for the env's life and only destroys the bodies at a reset.
    What the world keeps depends on the episodes before (most likely the order in which its broad
    phase reuses ids, which sets the order contacts are solved in, and so the rounding): the same
    seed and the same actions gave another episode in an env that had run other episodes first
    (tests/test_envs.py). A run resumed from a checkpoint, whose envs are new, then left the
    uninterrupted run's path at its first episode, and the same nets scored differently on the
    same evaluation seeds. (gymnasium's LunarLander makes a new world at each reset for the same
    reason: Farama-Foundation/Gymnasium#728.)
    """

    @staticmethod
    def needed(env: gym.Env) -> bool:
        env = env.unwrapped
        return type(getattr(env, "world", None)).__name__ == "b2World" and hasattr(env, "_destroy")

    def reset(self, **kwargs):
        env = self.env.unwrapped
        env._destroy()  # the old world's bodies, as the env's own reset would (then it finds none left)
        env.world = type(env.world)(gravity=env.world.gravity)
        return self.env.reset(**kwargs)


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """gymnasium.make with one-line errors for an unknown id, a non-continuous action space, or
    observations that are not a flat vector (the nets take one); a Box2D env gets a new world at
    every reset (`FreshBox2DWorld`)."""
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
    return FreshBox2DWorld(env) if FreshBox2DWorld.needed(env) else env


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DDPGError("--device cuda was asked for but no CUDA GPU is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DDPGError(f"unknown device {name!r}") from None
