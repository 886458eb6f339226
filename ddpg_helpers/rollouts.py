"""Noise-free episodes of an agent: playing, evaluating, recording, and keeping them on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from . import checkpoint


@dataclass
class Episode:
    """One noise-free episode: per-step observations, actions, rewards, and (optionally) frames."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    frames: list = field(default_factory=list)

    @property
    def total_return(self) -> float:
        return float(self.rewards.sum())

    def save(self, path: str | Path) -> None:
        """The observations, actions and rewards (not the frames), written atomically."""
        def write(tmp):
            with open(tmp, "wb") as f:  # a file object: given a name, numpy would append ".npz"
                np.savez_compressed(f, observations=self.observations, actions=self.actions, rewards=self.rewards)

        checkpoint.atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> Episode:
        with np.load(path) as d:
            return cls(d["observations"], d["actions"], d["rewards"])


def run_episode(agent, env: gym.Env, seed: int, record: bool = False, frame_stride: int = 1,
                max_steps: int | None = None) -> Episode:
    """Play one episode with the actor alone (no noise), optionally keeping every
    `frame_stride`-th frame (`env` must then render rgb_array)."""
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, frames = [obs], [], [], []
    if record:
        frames.append(env.render())
    t = 0
    while True:
        action = agent.act(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        t += 1
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        if record and t % frame_stride == 0:
            frames.append(env.render())
        if terminated or truncated or (max_steps is not None and t >= max_steps):
            break
    return Episode(np.asarray(observations, np.float32), np.asarray(actions, np.float32),
                   np.asarray(rewards, np.float32), frames)


class Interrupted(Exception):
    """A stop was asked for (SIGTERM) while the agent was being evaluated."""


def evaluate(agent, env: gym.Env, episodes: int, seed: int, max_steps: int | None = None,
             should_stop=None) -> list[float]:
    """Noise-free returns over `episodes` episodes with env seeds seed, seed+1, ...

    `should_stop()`, checked between episodes, cuts a long evaluation short (raises Interrupted).
    """
    returns = []
    for i in range(episodes):
        if should_stop is not None and should_stop():
            raise Interrupted("stopped during an evaluation")
        returns.append(run_episode(agent, env, seed + i, max_steps=max_steps).total_return)
    return returns
