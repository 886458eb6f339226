"""ddpg_helpers: the shared code of the DDPG notebook series.

The notebooks import everything from here (`import ddpg_helpers as dh`), so a reader always knows
where a helper came from. One module per job:

    config      the Config dataclass (the blog's values as defaults) and the walker's preset
    memory, networks, noise, agent        the algorithm: replay memory, actor and critic, DDPG and TD3
    envs, rollouts, evaluations           making envs, noise-free episodes, how a run judges its evaluations
    trainer, training                     the loop, a run start to end (and its summary)
    checkpoint, run                       the checkpoint schema, the run folder and its files
    runs, budget, colab, live, walker     finding runs, the notebooks' budget, Colab, live plots, walker analysis
    plotting, animation, surfaces, display               pictures
    cli, commands                         `python -m ddpg_helpers train | evaluate | export`: the parser, the commands
"""

from .agent import Agent, soft_update, td_target
from .animation import frame_stride_for
from .budget import (
                   QUICK_EPISODES,
                   QUICK_MAX_EPISODE_STEPS,
                   QUICK_VAR,
                   QUICK_WARMUP_STEPS,
                   budget,
                   quick_mode,
                   setting,
                   short_budget,
)
from .colab import (
                   COLAB_CHECKOUT,
                   REPO_URL,
                   REQUIREMENTS,
                   device_report,
                   in_colab,
                   missing_requirements,
                   mount_drive,
                   repo_root,
                   training_report,
)
from .config import PRESETS, Config, make_config
from .envs import make_env, pick_device
from .errors import DDPGError
from .live import LiveRewardPlot, figure_png, show_source
from .memory import Batch, NStepReturns, ReplayMemory
from .networks import Actor, Critic
from .noise import BlogNoise, GaussianNoise, sigma_schedule
from .plotting import compare_curves, episode_plots, reward_curve
from .rollouts import Episode, evaluate, run_episode
from .run import Run, default_name
from .runs import (
                   SHIPPED_LEARNING,
                   SHIPPED_RUN,
                   SHIPPED_WALKER,
                   choose_run,
                   find_shipped,
                   is_shipped,
                   latest_run,
                   load_history,
                   load_summary,
                   runs_dir,
                   shipped_run,
)
from .trainer import Trainer
from .training import load_agent, resume, train, train_or_resume
from .walker import WALKER_ID, Stage, Walk, gait_strip, learning_stages, record_walk, walker_outcome, walker_torque_cost
from .widgets import slider_view

run_name = default_name

__all__ = [
    "Actor", "Agent", "Batch", "BlogNoise", "COLAB_CHECKOUT", "Config", "Critic", "DDPGError", "Episode",
    "GaussianNoise", "LiveRewardPlot", "NStepReturns", "PRESETS", "QUICK_EPISODES", "QUICK_MAX_EPISODE_STEPS",
    "QUICK_VAR", "QUICK_WARMUP_STEPS", "REPO_URL", "REQUIREMENTS", "ReplayMemory", "Run", "SHIPPED_LEARNING",
    "SHIPPED_RUN", "SHIPPED_WALKER", "Stage", "Trainer", "WALKER_ID", "Walk", "budget", "choose_run",
    "compare_curves", "default_name", "device_report", "episode_plots", "evaluate", "figure_png", "find_shipped",
    "frame_stride_for", "gait_strip", "in_colab", "is_shipped", "latest_run", "learning_stages", "load_agent",
    "load_history", "load_summary", "make_config", "make_env", "missing_requirements", "mount_drive",
    "pick_device", "quick_mode", "record_walk", "repo_root", "resume", "reward_curve", "run_episode", "run_name",
    "runs_dir", "setting", "shipped_run", "short_budget", "show_source", "slider_view", "sigma_schedule", "soft_update",
    "td_target", "train", "train_or_resume", "training_report", "walker_outcome", "walker_torque_cost",
]
