"""ddpg_helpers: the shared code of the DDPG notebook series (memory, nets, noise, agent, training)."""

from .agent import Agent, soft_update, td_target
from .config import PRESETS, Config, make_config
from .errors import DDPGError
from .memory import Batch, ReplayMemory
from .networks import Actor, Critic
from .noise import BlogNoise, GaussianNoise, sigma_schedule
from .training import Episode, Trainer, evaluate, make_env, resume, run_episode, train

__all__ = [
    "Actor", "Agent", "Batch", "BlogNoise", "Config", "Critic", "DDPGError", "Episode", "GaussianNoise",
    "PRESETS", "ReplayMemory", "Trainer", "evaluate", "make_config", "make_env", "resume", "run_episode",
    "sigma_schedule", "soft_update", "td_target", "train",
]
