"""One config dataclass: every field has the blog's value as its default and a one-line docstring.

The command line (`python -m ddpg_helpers train --help`) and the notebooks are both built from it.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Literal

from .errors import DDPGError

CONFIRM_SEED_OFFSET = 1000
"""A solving evaluation is confirmed on env seeds eval_seed + 1000, + 1001, ...: fresh episodes, kept
apart from the evaluations' own seeds and from the low seeds (0, 1, ...) a user reports with."""
KEEP_SEED_OFFSET = 2000
"""An evaluation that beats the kept nets is judged again (`keep_episodes`) on env seeds eval_seed + 2000, ...:
apart from the confirmations' seeds, so the nets a run keeps are not chosen on the episodes that solve it."""
REPORT_SEEDS = 100
"""Env seeds 0-99 are the ones results are reported on (`evaluate --seed 0 --episodes 100`): no run judges on them."""


@dataclass
class Config:
    env_id: str = "MountainCarContinuous-v0"
    """gymnasium environment id; its action space must be continuous (Box)"""
    algo: Literal["ddpg", "td3", "tqc"] = "ddpg"
    """'ddpg' (the blog's), 'td3' (twin critics, target smoothing, delayed actor), 'tqc' (TD3, quantile critics)"""
    seed: int = 0
    """seed for the nets, the noise, the replay sampling and the env resets"""
    episodes: int = 200
    """number of training episodes"""
    total_steps: int | None = None
    """optional cap on env steps over the whole run (the last episode stops where the cap is reached)"""
    max_episode_steps: int | None = None
    """optional cap on steps per episode; None keeps the env's own time limit (999 for MountainCar)"""
    batch_size: int = 128
    """transitions per update"""
    gamma: float = 0.999
    """discount factor"""
    tau: float = 0.001
    """soft-update rate of the target nets"""
    actor_lr: float = 1e-3
    """Adam learning rate of the actor"""
    critic_lr: float = 3e-3
    """Adam learning rate of the critic"""
    critic_weight_decay: float = 1e-4
    """Adam weight decay (L2) of the critic"""
    memory_size: int = 10_000
    """replay memory capacity in transitions"""
    actor_hidden: tuple[int, ...] = (128, 128, 128)
    """hidden layer sizes of the actor"""
    critic_state_hidden: int = 64
    """size of the critic's first layer, which sees the state alone"""
    critic_hidden: tuple[int, ...] = (128, 128)
    """critic layer sizes after the action joins the state features"""
    critic_layer_norm: bool = False
    """LayerNorm in each hidden layer of the critic (as in DroQ), to keep it steady with updates_per_step > 1"""
    n_step: int = 1
    """rewards summed before the TD target bootstraps from gamma^n Q' (1: one-step, as in DDPG and TD3)"""
    updates_per_step: int = 1
    """gradient updates after each env step"""
    update_every: int = 1
    """env steps between rounds of updates, each round update_every x updates_per_step of them (1: after every
    step; 64: blocked, n env steps with the same actor, then n updates, as the RL Baselines3 Zoo's TQC)"""
    warmup_steps: int = 0
    """env steps with uniform random actions before the actor acts"""
    learning_starts: int = 0
    """env steps before the first gradient update (0: as soon as the memory holds one batch)"""
    noise: Literal["blog", "gaussian"] = "blog"
    """exploration noise: 'blog' (mean-reverting, uniform kicks) or 'gaussian'"""
    sigma_start: float = 1.0
    """noise scale in the first episode"""
    sigma_end: float = 0.3
    """noise scale it decays towards"""
    sigma_decay: float = 30.0
    """episodes over which sigma falls by a factor e towards sigma_end (the blog's corrected value)"""
    noise_theta: float = 0.08
    """mean reversion of the blog's noise per step"""
    policy_noise: float = 0.2
    """TD3: std of the noise added to the target action (in units of the action range half-width)"""
    noise_clip: float = 0.5
    """TD3: clip of that noise"""
    policy_delay: int = 2
    """TD3: critic updates per actor and target update"""
    n_quantiles: int = 25
    """TQC: quantiles of the return each of the two critics predicts"""
    top_quantiles_to_drop: int = 2
    """TQC: largest quantiles dropped per critic from the pooled target (the truncation against overestimation)"""
    actor_preact_l2: float = 0.0
    """weight of an L2 penalty on the actor's outputs before tanh, part of its logged loss (0: none, as in the blog)"""
    init_from: str | None = None
    """start the nets (not the optimisers or the memory) from this run's checkpoint"""
    eval_every: int = 5
    """episodes between noise-free evaluations (0: only at the end)"""
    eval_episodes: int = 5
    """episodes per noise-free evaluation (at most 1000: the confirmation's seeds come next)"""
    eval_envs: int = 10
    """copies of the env an evaluation plays side by side, the actor acting for all in one call (1: one by one)"""
    eval_seed: int = 10_000
    """first env seed of the evaluations (eval_seed, +1, ...; confirmations +1000, longer looks +2000); at least 100"""
    target_return: float | None = None
    """stop once the run is solved at this return (default: the env's own threshold, without stopping)"""
    stop_when_solved: bool = False
    """stop once the run is solved at its threshold (the env's, or target_return, which stops in any case)"""
    confirm_episodes: int = 100
    """fresh noise-free episodes that must also reach the threshold before a run counts as solved (0: none; max 1000)"""
    keep_episodes: int = 0
    """fresh noise-free episodes that judge an evaluation beating the kept nets before they replace them (0: none)"""
    keep_from: float | None = None
    """evaluations below this mean are ranked on their own episodes, with no longer look (None: from any mean)"""
    checkpoint_every: int = 10
    """episodes between checkpoints in the run folder (0: only at the end)"""
    snapshot_every: int = 0
    """episodes between copies of the actor and critic kept in RUN/snapshots (0: none), to study learning"""
    record_final: bool = True
    """keep the final nets' noise-free episode (observations, actions, rewards) in the run folder"""
    tensorboard: bool = True
    """write TensorBoard event files into RUN/tensorboard: returns, evaluations, losses against env steps"""
    device: str = "auto"
    """'auto' (cuda if available; no GPU speed measured yet: benchmarks/gpu_check.sh), 'cuda' or 'cpu'"""
    compile: Literal["auto", "graph", "compile", "eager", "on", "off"] = "auto"
    """update path: 'auto' (cuda: graph, checked against eager, GPU speed unmeasured; cpu: eager), 'compile', 'eager'"""
    threads: int = 1
    """CPU threads for torch (1: fastest measured for these nets, idle or beside a busy core; 0: torch's default)"""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # a list from the command line or JSON: the same sizes as a tuple
            if typing.get_origin(hints[f.name]) is tuple:
                setattr(self, f.name, tuple(getattr(self, f.name)))
        self.check()

    def check(self) -> None:
        """Reject values that would make a run meaningless, before anything is built or written."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            choices = typing.get_args(hints[f.name]) if typing.get_origin(hints[f.name]) is Literal else ()
            if choices and getattr(self, f.name) not in choices:
                raise DDPGError(f"unknown {f.name} {getattr(self, f.name)!r} (choose {', '.join(map(repr, choices))})")
        for name in ("episodes", "batch_size", "memory_size", "eval_episodes", "eval_envs", "updates_per_step",
                     "update_every", "n_step", "policy_delay", "sigma_decay", "actor_lr", "critic_lr", "n_quantiles"):
            if getattr(self, name) <= 0:
                raise DDPGError(f"{name} must be positive, got {getattr(self, name)}")
        for f in dataclasses.fields(self):  # nan and inf pass every comparison below, or fail it unhelpfully
            value = getattr(self, f.name)
            target = f.name == "target_return"  # inf: a target never reached, the run goes on to its cap
            if isinstance(value, float) and not math.isfinite(value) and not (target and value == math.inf):
                allowed = " (or inf: no target)" if target else ""
                raise DDPGError(f"{f.name} must be a finite number{allowed}, got {value}")
        for name in ("eval_every", "checkpoint_every", "snapshot_every", "warmup_steps", "learning_starts", "threads",
                     "confirm_episodes", "keep_episodes", "policy_noise", "noise_clip", "critic_weight_decay",
                     "actor_preact_l2", "seed", "sigma_start", "sigma_end", "noise_theta", "top_quantiles_to_drop"):
            if getattr(self, name) < 0:
                raise DDPGError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("total_steps", "max_episode_steps"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise DDPGError(f"{name} must be positive, got {getattr(self, name)}")
        first_update = max(self.warmup_steps, self.learning_starts)
        if self.total_steps is not None and self.total_steps <= first_update:
            raise DDPGError(f"total_steps ({self.total_steps}) ends the run before its first update, after "
                            f"{first_update} env steps (warmup_steps {self.warmup_steps}, learning_starts "
                            f"{self.learning_starts}): nothing would be learned")
        # The evaluation, confirmation and longer-look episodes each keep to their own env seeds.
        if self.eval_seed < REPORT_SEEDS:
            raise DDPGError(f"eval_seed must be at least {REPORT_SEEDS} (seeds 0-{REPORT_SEEDS - 1} are for "
                            f"reporting), got {self.eval_seed}")
        most_episodes = {"eval_episodes": CONFIRM_SEED_OFFSET,
                         "confirm_episodes": KEEP_SEED_OFFSET - CONFIRM_SEED_OFFSET}
        for name, most in most_episodes.items():
            if getattr(self, name) > most:
                raise DDPGError(f"{name} must be at most {most}, got {getattr(self, name)}")
        sizes = {"actor_hidden": self.actor_hidden, "critic_state_hidden": (self.critic_state_hidden,),
                 "critic_hidden": self.critic_hidden}
        for name, layers in sizes.items():
            if any(n <= 0 for n in layers):
                raise DDPGError(f"{name} must be positive layer sizes, got {getattr(self, name)}")
        if self.top_quantiles_to_drop >= self.n_quantiles:
            raise DDPGError(f"top_quantiles_to_drop ({self.top_quantiles_to_drop}) must be less than n_quantiles "
                            f"({self.n_quantiles}): the target needs quantiles left")
        if self.memory_size < self.batch_size:
            raise DDPGError(f"memory_size ({self.memory_size}) must hold at least one batch ({self.batch_size})")
        if not 0 < self.gamma <= 1 or not 0 < self.tau <= 1:
            raise DDPGError("gamma and tau must lie in (0, 1]")

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k not in OBSOLETE}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        values = {k: tuple(v) if hints[k] == tuple[int, ...] else v for k, v in data.items()}
        return cls(**values)


OBSOLETE = frozenset({"frame_stride"})
"""Fields of older configs that no longer do anything; their values are ignored when read."""


def with_defaults(saved: dict) -> dict:
    """A saved config.json as its run ran: fields added since it was written at their defaults (the behaviour
    from before they existed, as `Config.from_dict` reads them), fields since dropped left out."""
    defaults = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default  # as JSON holds them
                for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}
    return {**defaults, **{k: v for k, v in saved.items() if k not in OBSOLETE}}

RESUMABLE = frozenset({"episodes", "total_steps", "target_return", "stop_when_solved", "device", "threads", "compile",
                       "eval_every", "eval_envs", "checkpoint_every", "snapshot_every", "confirm_episodes",
                       "keep_episodes", "keep_from", "tensorboard"})
"""Config fields a resumed run may change: how long it goes on, where and how fast it runs, how often it saves.
The rest would make the continued run a different experiment from the one its history records."""


# Tuned settings per env, applied on top of the defaults by `make_config` (explicit values win).
# BipedalWalker-v3 follows the RL Baselines3 Zoo's tuned TD3 (gamma 0.98, 200k memory, 10k random warm-up
# steps before the first update, Gaussian noise 0.1, lr 1e-3; its tau 0.005 is 0.02 here, below) with the original
# DDPG paper's critic shape (the action joins at the second layer, as in the blog's critic). The nets are [256, 256]
# and the batch 128 instead of the Zoo's [400, 300] and 256: on a CPU, where the updates are nearly
# all of the training time, they take 2.15x and 2.21x the env steps/s in two runs (BENCHMARKS.md,
# "the preset's sizes").
PRESETS: dict[str, dict] = {
    "BipedalWalker-v3": dict(
        # Trains until solved: an evaluation at 300 confirmed on 100 fresh episodes (confirm_episodes), as
        # gymnasium defines solved. Seeds 0-4 were all confirmed within 190k env steps of the 300k runs
        # (BENCHMARKS.md); the cap ends an unlucky seed, and the episodes are out of reach so that it alone does.
        stop_when_solved=True, total_steps=300_000, episodes=1_000_000,
        gamma=0.98, batch_size=128, memory_size=200_000,
        actor_lr=1e-3, critic_lr=1e-3, critic_weight_decay=0.0,
        actor_hidden=(256, 256), critic_state_hidden=256, critic_hidden=(256,),
        warmup_steps=10_000, learning_starts=10_000, noise="gaussian", sigma_start=0.1, sigma_end=0.1,
        eval_every=25, eval_episodes=10, checkpoint_every=10,
        # One env at a time: its step (0.37 ms) is most of an evaluation's, batching the actor's calls saves little,
        # and the walker's published figures came from evaluations played one by one.
        eval_envs=1,
        # Not the Zoo's: keeps the actor out of tanh's flat tails, where it stops learning (docs/walker.md, notebook 6).
        actor_preact_l2=1e-3,
        # Kept nets judged on 100 more episodes: seed 1's nets kept on their 10-episode 303.1 scored 299.4
        # over 100 and fell twice (docs/experiments.md); a look this long takes 16-23 s on an idle CPU core.
        keep_episodes=100,
        # LayerNorm in the critic (as in DroQ): with TD3 and two updates per env step, 4 of 5 seeds kept nets at
        # 300 or more over 100 episodes where the 3-step preset alone left 0 of 5 (docs/experiments.md).
        critic_layer_norm=True,
        # TQC's truncated quantile critics, one update per env step. Seeds 0-4, 300k env steps, 3-step returns: 5 of 5
        # kept nets at 322.8 or more over 100 episodes (TD3 with two updates per step: 4 of 5 at 300), the median seed's
        # first evaluation at 300 after 120,766 env steps (148,467), at 1.29x the env steps/s (BENCHMARKS.md).
        algo="tqc", updates_per_step=1,
        # One-step targets and tau 0.02, as the Zoo's TQC (3-step returns and TD3's tau 0.005 before). Seeds 0-4, 300k
        # env steps: the median seed's first evaluation at 300 after 93,389 env steps (120,766) (BENCHMARKS.md).
        n_step=1, tau=0.02,
    ),
}


def make_config(env_id: str = Config.env_id, **overrides) -> Config:
    """The defaults, then the env's preset (if any), then `overrides`."""
    values = {**PRESETS.get(env_id, {}), **{k: v for k, v in overrides.items() if v is not None}}
    return Config(env_id=env_id, **values)


def field_docs() -> dict[str, str]:
    """Each field's one-line docstring, read from this file's source (for --help)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(Config))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = nxt.value.value
    return docs
