"""The training budget of the notebooks' training cells: one switch, the environment variable `DDPG_QUICK`.

Set to 1 (as the notebook checks do), training cells train for a few episodes only; unset, a reader
gets the full settings.
"""

from __future__ import annotations

import dataclasses
import os

from .config import Config

QUICK_VAR = "DDPG_QUICK"
"""The environment variable that switches training cells to a tiny budget."""
QUICK_EPISODES = 3
"""Episodes trained by a training cell in quick mode."""
QUICK_MAX_EPISODE_STEPS = 200
"""Step cap per episode of a quick run in `short_budget` (the walker's own limit is 1600)."""
QUICK_WARMUP_STEPS = 100
"""Random warm-up steps of a quick run in `short_budget` (the walker's preset has 10,000)."""


def quick_mode() -> bool:
    """True when DDPG_QUICK is set to a true value (1, true, yes, on)."""
    return os.environ.get(QUICK_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def budget(config: Config, episodes: int = QUICK_EPISODES) -> Config:
    """`config` as given, or in quick mode a copy that trains a few episodes and evaluates once.

    Everything that shapes the algorithm (nets, learning rates, noise) stays as given: quick mode
    only makes the run short, so a quick run exercises exactly the code a full run does.
    """
    if not quick_mode():
        return config
    return dataclasses.replace(config, episodes=min(episodes, config.episodes), eval_every=0, eval_episodes=1,
                               keep_episodes=min(config.keep_episodes, 1), checkpoint_every=0, snapshot_every=0)


def short_budget(config: Config, episodes: int = QUICK_EPISODES, max_episode_steps: int = QUICK_MAX_EPISODE_STEPS,
                 warmup_steps: int = QUICK_WARMUP_STEPS) -> Config:
    """`budget`, and in quick mode also short episodes and a short random warm-up (before which
    nothing is learned, as in the full config).

    For envs whose episodes and warm-up are long (BipedalWalker: up to 1600 steps per episode,
    10,000 random steps first), a few episodes alone would still take minutes and never reach
    the actor. The nets, learning rates and noise stay as given, as in `budget`.
    """
    if not quick_mode():
        return config
    limit = min(max_episode_steps, config.max_episode_steps or max_episode_steps)
    return dataclasses.replace(budget(config, episodes), max_episode_steps=limit,
                               warmup_steps=min(warmup_steps, config.warmup_steps),
                               learning_starts=min(warmup_steps, config.learning_starts))


def setting(name: str, value, choices: tuple):
    """A notebook's setting, checked against its choices: a clear error in the cell for a typo."""
    from .errors import DDPGError

    if value not in choices:
        raise DDPGError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
