"""Exploration noise: the blog's (with its 2019-12-26 correction) and plain Gaussian noise."""

from __future__ import annotations

import math

import numpy as np
import torch


def sigma_schedule(episode: int, start: float = 1.0, end: float = 0.3, decay: float = 30.0) -> float:
    """The noise scale for an episode: `end + (start - end) * exp(-episode / decay)`.

    The blog's first version advanced `episode` every *step*, so sigma fell to `end` within the
    first episode; its correction counts episodes, and `decay` is measured in episodes.
    """
    return end + (start - end) * math.exp(-episode / decay)


class BlogNoise:
    """The blog's mean-reverting noise: `noise <- noise - theta * noise + sigma * U(-1, 1)`.

    It starts each episode at U(-init, init). Being correlated in time, it pushes the car the same
    way for many steps, which is what lets it rock up the hill before the actor has learned anything.
    """

    def __init__(self, act_dim: int, theta: float = 0.08, init: float = 0.5, rng: np.random.Generator | None = None):
        self.act_dim, self.theta, self.init = act_dim, theta, init
        self.rng = rng if rng is not None else np.random.default_rng()
        self.sigma = 1.0
        self.reset()

    def reset(self, sigma: float | None = None) -> None:
        """Start a new episode (optionally with a new sigma)."""
        if sigma is not None:
            self.sigma = sigma
        self.state = self.rng.uniform(-self.init, self.init, self.act_dim)

    def state_dict(self) -> dict:
        """The noise's position within an episode (its generator is the run's, saved with the run)."""
        return {"noise_state": torch.as_tensor(self.state)}

    def load_state_dict(self, state: dict) -> None:
        self.state = state["noise_state"].numpy()

    def __call__(self) -> np.ndarray:
        self.state = self.state - self.theta * self.state + self.sigma * self.rng.uniform(-1.0, 1.0, self.act_dim)
        return self.state


class GaussianNoise:
    """Independent N(0, sigma^2) noise each step (what TD3 and most modern code use)."""

    def __init__(self, act_dim: int, rng: np.random.Generator | None = None):
        self.act_dim = act_dim
        self.rng = rng if rng is not None else np.random.default_rng()
        self.sigma = 0.1

    def reset(self, sigma: float | None = None) -> None:
        if sigma is not None:
            self.sigma = sigma

    def state_dict(self) -> dict:
        return {}  # no state between steps; sigma is set again at each episode's start

    def load_state_dict(self, state: dict) -> None:
        pass

    def __call__(self) -> np.ndarray:
        return self.rng.normal(0.0, self.sigma, self.act_dim)


def make_noise(kind: str, act_dim: int, rng: np.random.Generator, theta: float = 0.08, init: float = 0.5):
    """Build the noise named by the config's `noise` field."""
    if kind == "blog":
        return BlogNoise(act_dim, theta=theta, init=init, rng=rng)
    if kind == "gaussian":
        return GaussianNoise(act_dim, rng=rng)
    raise ValueError(f"unknown noise {kind!r} (choose 'blog' or 'gaussian')")
