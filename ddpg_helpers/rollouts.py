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


def evaluate(agent, envs, episodes: int, seed: int, max_steps: int | None = None,
             should_stop=None) -> list[float]:
    """Noise-free returns over `episodes` episodes with env seeds seed, seed+1, ...

    `envs`: one env, or a list of copies of one env that play the episodes side by side, the actor
    acting for all of them in one call per step. Where an env steps in microseconds (MountainCar:
    3 us against the actor's 48 us on a CPU core), the actor's calls are nearly all of an
    evaluation's time, and a call on 10 rows costs little more than on one.

    Episode k plays in env k mod len(envs), in that row of every call (an idle env's row repeats its
    last observation, its action unused). A matrix routine may round a row's last bit by its place,
    never by the other rows' values: an episode's return depends on its seed and its row, not on the
    episodes beside it. One env: one observation per call, as `run_episode` plays it.

    `should_stop()`, checked before each episode starts, cuts a long evaluation short (raises Interrupted).
    """
    envs = list(envs) if isinstance(envs, (list, tuple)) else [envs]
    if len(envs) == 1:
        returns = []
        for i in range(episodes):
            if should_stop is not None and should_stop():
                raise Interrupted("stopped during an evaluation")
            returns.append(run_episode(agent, envs[0], seed + i, max_steps=max_steps).total_return)
        return returns
    return _evaluate_side_by_side(agent, envs, episodes, seed, max_steps, should_stop)


def _evaluate_side_by_side(agent, envs, episodes, seed, max_steps, should_stop) -> list[float]:
    rewards: list[list[float]] = [[] for _ in range(episodes)]
    obs = np.zeros((len(envs), envs[0].observation_space.shape[0]), np.float32)
    playing: dict[int, int] = {}  # env (and row) -> the episode it plays

    def start(episode: int) -> None:
        if should_stop is not None and should_stop():
            raise Interrupted("stopped during an evaluation")
        row = episode % len(envs)
        obs[row], _ = envs[row].reset(seed=seed + episode)
        playing[row] = episode

    for episode in range(min(len(envs), episodes)):
        start(episode)
    while playing:
        actions = agent.act(obs)
        for row, episode in list(playing.items()):
            obs[row], reward, terminated, truncated, _ = envs[row].step(actions[row])
            rewards[episode].append(reward)
            if terminated or truncated or (max_steps is not None and len(rewards[episode]) >= max_steps):
                del playing[row]
                if episode + len(envs) < episodes:
                    start(episode + len(envs))
    # Summed as `Episode.total_return` sums them: in float32.
    return [float(np.asarray(r, np.float32).sum()) for r in rewards]
