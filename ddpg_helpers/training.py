"""The training loop: episodes of acting with noise, one update per step, noise-free evaluations."""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from . import checkpoint
from .agent import Agent
from .config import Config
from .errors import DDPGError
from .memory import ReplayMemory
from .noise import make_noise, sigma_schedule

SNAPSHOTS = "snapshots"
RUN_FILES = ("checkpoint.pt", "metrics.csv", "config.json", "summary.json", "reward_curve.png", "final_episode.npz")


# --- plumbing: env, device, run folder ------------------------------------------------------

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


def prepare_out(out: str | Path, overwrite: bool) -> Path:
    """Refuse to train over an existing run unless told to; with `overwrite`, clear only its files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DDPGError(f"{out} exists and is not a folder")
    existing = [f for f in RUN_FILES if (out / f).exists()]
    if existing and not overwrite:
        raise DDPGError(f"{out} already holds a run ({existing[0]}); pass --overwrite to replace it "
                        "or --resume to continue it")
    for f in existing:
        (out / f).unlink()
    if overwrite and (out / SNAPSHOTS).is_dir():
        for f in (out / SNAPSHOTS).glob("episode_*.pt"):
            f.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_config(c: Config) -> None:
    """Reject values that would make a run meaningless, before anything is written."""
    for name in ("episodes", "batch_size", "memory_size", "eval_episodes", "updates_per_step",
                 "policy_delay", "frame_stride"):
        if getattr(c, name) <= 0:
            raise DDPGError(f"{name} must be positive, got {getattr(c, name)}")
    for name in ("eval_every", "checkpoint_every", "snapshot_every", "warmup_steps", "learning_starts", "threads"):
        if getattr(c, name) < 0:
            raise DDPGError(f"{name} must not be negative, got {getattr(c, name)}")
    for name in ("total_steps", "max_episode_steps"):
        if getattr(c, name) is not None and getattr(c, name) <= 0:
            raise DDPGError(f"{name} must be positive, got {getattr(c, name)}")
    for name in ("sigma_decay", "actor_lr", "critic_lr"):
        if getattr(c, name) <= 0:
            raise DDPGError(f"{name} must be positive, got {getattr(c, name)}")
    for name in ("policy_noise", "noise_clip", "critic_weight_decay", "actor_preact_l2"):
        if getattr(c, name) < 0:
            raise DDPGError(f"{name} must not be negative, got {getattr(c, name)}")
    if c.memory_size < c.batch_size:
        raise DDPGError(f"memory_size ({c.memory_size}) must hold at least one batch ({c.batch_size})")
    if c.algo not in ("ddpg", "td3"):
        raise DDPGError(f"unknown algo {c.algo!r} (choose 'ddpg' or 'td3')")
    if c.noise not in ("blog", "gaussian"):
        raise DDPGError(f"unknown noise {c.noise!r} (choose 'blog' or 'gaussian')")
    if c.compile not in ("auto", "on", "off"):
        raise DDPGError(f"compile must be 'auto', 'on' or 'off', got {c.compile!r}")
    if not 0 < c.gamma <= 1 or not 0 < c.tau <= 1:
        raise DDPGError("gamma and tau must lie in (0, 1]")


# --- evaluation and recording -----------------------------------------------------------------

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
        def write(tmp):
            with open(tmp, "wb") as f:  # a file object: given a name, numpy would append ".npz"
                np.savez_compressed(f, observations=self.observations, actions=self.actions, rewards=self.rewards)

        checkpoint.atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> Episode:
        with np.load(path) as d:
            return cls(d["observations"], d["actions"], d["rewards"])


def run_episode(agent: Agent, env: gym.Env, seed: int, record: bool = False, frame_stride: int = 1,
                max_steps: int | None = None) -> Episode:
    """Play one episode with the actor alone (no noise), optionally keeping frames."""
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


def evaluate(agent: Agent, env: gym.Env, episodes: int, seed: int, max_steps: int | None = None) -> list[float]:
    """Noise-free returns over `episodes` episodes with env seeds seed, seed+1, ..."""
    return [run_episode(agent, env, seed + i, max_steps=max_steps).total_return for i in range(episodes)]


# --- the run ----------------------------------------------------------------------------------

def empty_history() -> dict:
    return {"episode": [], "return": [], "length": [], "sigma": [], "critic_loss": [], "actor_loss": [],
            "env_steps": [], "wall_time": [], "evals": []}


@dataclass
class TrainResult:
    agent: Agent
    config: Config
    history: dict
    summary: dict
    final_episode: Episode | None
    out: Path | None


class Trainer:
    """Everything a run holds between episodes; `run_episodes` is the loop."""

    def __init__(self, config: Config):
        check_config(config)
        self.config = c = config
        self.env = make_env(c.env_id)
        self.eval_env = make_env(c.env_id)
        self.device = pick_device(c.device)
        if c.threads:
            torch.set_num_threads(c.threads)
        torch.manual_seed(c.seed)
        self.rng = np.random.default_rng(c.seed)
        obs_dim = self.env.observation_space.shape[0]
        space = self.env.action_space
        self.action_low, self.action_high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.agent = Agent(c, obs_dim, space.shape[0], space.low, space.high, self.device)
        self.memory = ReplayMemory(c.memory_size, obs_dim, space.shape[0], self.device)
        self.noise = make_noise(c.noise, space.shape[0], self.rng, theta=c.noise_theta)
        self.history = empty_history()
        self.episode = 0  # episodes finished
        self.env_steps = 0
        self.wall_time = 0.0  # seconds of training so far, across resumes
        self.solved_at: dict | None = None
        self.threshold = c.target_return if c.target_return is not None else self.env.spec.reward_threshold

    # ALGO LOGIC: one training episode
    def train_episode(self) -> None:
        c, agent, memory = self.config, self.agent, self.memory
        sigma = sigma_schedule(self.episode, c.sigma_start, c.sigma_end, c.sigma_decay)
        self.noise.reset(sigma)
        # Seeding each episode from the run's generator keeps a resumed run on the same path.
        obs, _ = self.env.reset(seed=int(self.rng.integers(2**31)))
        half_range = (self.action_high - self.action_low) / 2
        ep_return, t = 0.0, 0
        losses = torch.zeros(2, device=self.device)
        n_updates = n_actor_updates = 0
        while True:
            if self.env_steps < c.warmup_steps:
                action = self.rng.uniform(self.action_low, self.action_high).astype(np.float32)
            else:
                action = np.clip(agent.act(obs) + self.noise() * half_range, self.action_low, self.action_high)
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            memory.push(obs, action, reward, next_obs, terminated)
            obs = next_obs
            ep_return += float(reward)
            t += 1
            self.env_steps += 1
            if len(memory) >= c.batch_size and self.env_steps >= c.learning_starts:
                for _ in range(c.updates_per_step):
                    critic_loss, actor_loss = agent.update(memory.sample(c.batch_size))
                    losses[0] += critic_loss
                    n_updates += 1
                    if actor_loss is not None:  # TD3 moves its actor every policy_delay updates only
                        losses[1] += actor_loss
                        n_actor_updates += 1
            out_of_steps = c.total_steps is not None and self.env_steps >= c.total_steps
            if terminated or truncated or out_of_steps or (c.max_episode_steps and t >= c.max_episode_steps):
                break
        sums = losses.tolist()  # the episode's one device-to-host copy of the losses
        mean_losses = [sums[0] / n_updates if n_updates else math.nan,
                       sums[1] / n_actor_updates if n_actor_updates else math.nan]
        h = self.history
        h["episode"].append(self.episode)
        h["return"].append(ep_return)
        h["length"].append(t)
        h["sigma"].append(sigma)
        h["critic_loss"].append(mean_losses[0])
        h["actor_loss"].append(mean_losses[1])
        h["env_steps"].append(self.env_steps)
        self.episode += 1

    def evaluate_now(self, episode_start: float | None = None) -> dict:
        """Noise-free evaluation; `wall_time` in its row counts up to its end."""
        c = self.config
        returns = evaluate(self.agent, self.eval_env, c.eval_episodes, c.eval_seed, c.max_episode_steps)
        now = self.wall_time + (time.perf_counter() - episode_start if episode_start is not None else 0.0)
        row = {"episode": self.episode, "env_steps": self.env_steps, "wall_time": now,
               "mean": float(np.mean(returns)), "std": float(np.std(returns))}
        self.history["evals"].append(row)
        if self.solved_at is None and self.threshold is not None and row["mean"] >= self.threshold:
            self.solved_at = row
        return row

    @property
    def done(self) -> bool:
        c = self.config
        if self.episode >= c.episodes or (c.total_steps is not None and self.env_steps >= c.total_steps):
            return True
        return c.target_return is not None and self.solved_at is not None

    def run_episodes(self, out: Path | None = None, progress: bool = True, callback=None) -> None:
        """Train until done, evaluating and checkpointing on schedule; `callback(trainer)` after each episode."""
        from tqdm.auto import tqdm

        c = self.config
        bar = tqdm(total=c.episodes, initial=self.episode, disable=not progress, desc=f"{c.algo} {c.env_id}",
                   unit="ep", dynamic_ncols=True)
        try:
            while not self.done:
                start = time.perf_counter()
                self.train_episode()
                self.history["wall_time"].append(self.wall_time + time.perf_counter() - start)
                postfix = {"return": f"{self.history['return'][-1]:.1f}", "sigma": f"{self.history['sigma'][-1]:.2f}"}
                if c.eval_every and self.episode % c.eval_every == 0:
                    postfix["eval"] = f"{self.evaluate_now(start)['mean']:.1f}"
                self.wall_time += time.perf_counter() - start  # evaluations count: they are part of the run
                if out is not None and c.checkpoint_every and self.episode % c.checkpoint_every == 0:
                    self.save(out / checkpoint.CHECKPOINT)
                if out is not None and c.snapshot_every and self.episode % c.snapshot_every == 0:
                    self.save_snapshot(out)
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
                if callback is not None:
                    callback(self)
        finally:
            bar.close()

    # --- checkpoints ---
    def state(self, with_memory: bool = True) -> dict:
        env = self.env
        state = {
            "config": self.config.to_dict(), "env_id": self.config.env_id,
            "obs_dim": env.observation_space.shape[0], "act_dim": env.action_space.shape[0],
            "action_low": self.action_low.tolist(), "action_high": self.action_high.tolist(),
            "episode": self.episode, "env_steps": self.env_steps, "wall_time": self.wall_time,
            "history": self.history, "solved_at": self.solved_at, **self.agent.state_dict(),
        }
        if with_memory:
            # The replay memory is saved so a resumed run continues exactly; without it the
            # critic would retrain on a handful of fresh transitions and could collapse.
            state["memory"] = self.memory.state_dict()
            state["rng"] = self.rng.bit_generator.state
            state["noise_state"] = torch.as_tensor(getattr(self.noise, "state", np.zeros(0)))
            state["torch_rng"] = torch.get_rng_state()
            if self.device.type == "cuda":  # sampling and TD3's target noise draw on the GPU
                state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def save(self, path: str | Path, with_memory: bool = True) -> None:
        checkpoint.save(path, self.state(with_memory))

    def save_snapshot(self, out: Path) -> Path:
        """A small loadable copy of the nets at this episode: RUN/snapshots/episode_NNNN.pt."""
        state = self.state(with_memory=False)
        keep = {"actor", "critic", "critic2", "config", "env_id", "obs_dim", "act_dim", "action_low",
                "action_high", "episode", "env_steps", "updates"}
        path = out / SNAPSHOTS / f"episode_{self.episode:04d}.pt"
        checkpoint.save(path, {k: v for k, v in state.items() if k in keep})
        return path

    def start_from(self, run: str | Path) -> None:
        """Warm start: copy the nets of another run (same env, algo and sizes) before training."""
        payload = checkpoint.load_payload(run)
        theirs = config_from(payload, run)
        c = self.config
        shape = ("env_id", "algo", "actor_hidden", "critic_state_hidden", "critic_hidden")
        differ = [f"{k} {getattr(theirs, k)!r} vs {getattr(c, k)!r}"
                  for k in shape if getattr(theirs, k) != getattr(c, k)]
        if differ:
            raise DDPGError(f"cannot start from {checkpoint.resolve(run)}: its nets differ ({'; '.join(differ)})")
        missing = [n for n in self.agent.modules() if not n.endswith(("_opt", "_target")) and n not in payload]
        if missing:
            raise DDPGError(f"cannot start from {checkpoint.resolve(run)}: it holds no {', '.join(missing)}")
        self.agent.load_nets(payload)

    @classmethod
    def resume(cls, path: str | Path, **overrides) -> Trainer:
        """Rebuild a run from its checkpoint (config, nets, optimisers, memory, history, RNGs)."""
        payload = checkpoint.load_payload(path)
        missing = {"memory", "rng", "actor_opt", "critic_opt"} - set(payload)
        if missing:
            raise DDPGError(f"{checkpoint.resolve(path)} is an exported agent without its training state "
                            f"({', '.join(sorted(missing))}) and cannot be resumed")
        config = config_from(payload, path, **overrides)
        trainer = cls(config)
        trainer.agent.load_state_dict(payload)
        trainer.memory.load_state_dict(payload["memory"])
        trainer.rng.bit_generator.state = payload["rng"]
        if hasattr(trainer.noise, "state"):
            trainer.noise.state = payload["noise_state"].numpy()
        torch.set_rng_state(payload["torch_rng"])
        if "cuda_rng" in payload and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(payload["cuda_rng"], trainer.device)
        trainer.history = payload["history"]
        trainer.episode, trainer.env_steps = payload["episode"], payload["env_steps"]
        trainer.wall_time = payload["wall_time"]
        # The first evaluation that reached the (possibly new) target.
        trainer.solved_at = next((e for e in trainer.history["evals"]
                                  if trainer.threshold is not None and e["mean"] >= trainer.threshold), None)
        return trainer

    def summary(self) -> dict:
        final = self.history["evals"][-1]
        solved = self.solved_at
        return {
            "env_id": self.config.env_id, "algo": self.config.algo, "seed": self.config.seed,
            "device": str(self.device), "episodes": self.episode, "env_steps": self.env_steps,
            "wall_seconds": round(self.wall_time, 2),
            "steps_per_second": round(self.env_steps / max(self.wall_time, 1e-9), 1),
            "final_eval_mean": final["mean"], "final_eval_std": final["std"],
            "eval_episodes": self.config.eval_episodes, "solve_threshold": self.threshold,
            "solved": solved is not None,
            "steps_to_solve": solved["env_steps"] if solved else None,
            "seconds_to_solve": round(solved["wall_time"], 2) if solved else None,
            "torch": torch.__version__,
        }


def write_metrics(path: Path, history: dict) -> None:
    """metrics.csv: one row per episode, with the evaluation mean where one was run."""
    evals = {e["episode"]: e for e in history["evals"]}
    cols = ["episode", "return", "length", "sigma", "critic_loss", "actor_loss", "env_steps", "wall_time"]

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols + ["eval_mean", "eval_std"])
            for i in range(len(history["episode"])):
                e = evals.get(history["episode"][i] + 1, {})
                w.writerow([history[k][i] for k in cols] + [e.get("mean", ""), e.get("std", "")])

    checkpoint.atomic_write(path, write)


def write_json(path: Path, data: dict) -> None:
    checkpoint.atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"))


def finish(trainer: Trainer, out: Path | None) -> TrainResult:
    """Evaluate the final nets (unless the last evaluation was of them), record their noise-free
    episode and write the run folder."""
    if not trainer.history["evals"] or trainer.history["evals"][-1]["episode"] != trainer.episode:
        trainer.evaluate_now()  # also for a resumed checkpoint written between evaluations
    c = trainer.config
    final = None
    if c.record_final:
        env = make_env(c.env_id, render_mode="rgb_array")
        final = run_episode(trainer.agent, env, c.eval_seed, record=True, frame_stride=c.frame_stride,
                            max_steps=c.max_episode_steps)
        env.close()
    summary = trainer.summary()
    if final is not None:
        summary["final_episode_return"] = final.total_return
    if out is not None:
        from .plotting import save_reward_curve

        trainer.save(out / checkpoint.CHECKPOINT)
        write_json(out / "config.json", c.to_dict())
        write_metrics(out / "metrics.csv", trainer.history)
        save_reward_curve(trainer.history, out / "reward_curve.png", title=f"{c.algo.upper()} on {c.env_id}")
        if final is not None:
            final.save(out / "final_episode.npz")
        write_json(out / "summary.json", summary)
    return TrainResult(trainer.agent, c, trainer.history, summary, final, out)


def train(config: Config | None = None, out: str | Path | None = None, overwrite: bool = False,
          progress: bool = True, callback=None) -> TrainResult:
    """Train an agent from scratch; with `out`, write checkpoints and the run's files there."""
    config = config or Config()
    trainer = Trainer(config)  # validates the config and the env before any file is touched
    if config.init_from is not None:
        trainer.start_from(config.init_from)
    out = prepare_out(out, overwrite) if out is not None else None
    if out is not None:
        write_json(out / "config.json", config.to_dict())
        if config.snapshot_every:
            trainer.save_snapshot(out)  # the untrained nets, as a baseline
    trainer.run_episodes(out, progress, callback)
    return finish(trainer, out)


def why_finished(trainer: Trainer) -> str:
    """What stopped a finished run, and which flag takes it further."""
    c = trainer.config
    if trainer.episode >= c.episodes:
        return f"has run its {c.episodes} episodes; pass a larger --episodes"
    if c.total_steps is not None and trainer.env_steps >= c.total_steps:
        return f"has run its {c.total_steps} env steps; pass a larger --total-steps"
    return (f"reached its target return {c.target_return} at episode {trainer.solved_at['episode']}; "
            "pass a higher --target-return (inf: none)")


def resume(out: str | Path, progress: bool = True, callback=None, finished_ok: bool = False,
           **overrides) -> TrainResult:
    """Continue the run in `out` from its last checkpoint (e.g. with more `episodes`).

    A run that is already finished is refused, or with `finished_ok` returned as it is. One whose
    process was killed after its last checkpoint but before its summary gets its files written.
    """
    out = Path(out)
    trainer = Trainer.resume(out, **overrides)
    for stale in [*out.glob(".*.tmp"), *(out / SNAPSHOTS).glob(".*.tmp")]:
        stale.unlink()  # a write that a kill cut short; the file it was replacing is intact
    if trainer.done:
        if not (out / "summary.json").is_file():
            return finish(trainer, out)
        if not finished_ok:
            raise DDPGError(f"{out} is finished: it {why_finished(trainer)} to go on")
        final = out / "final_episode.npz"
        return TrainResult(trainer.agent, trainer.config, trainer.history,
                           json.loads((out / "summary.json").read_text()),
                           Episode.load(final) if final.is_file() else None, out)
    trainer.run_episodes(out, progress, callback)
    return finish(trainer, out)


def config_from(payload: dict, path, **overrides) -> Config:
    """The run's Config from a checkpoint payload (with overrides), as a one-line error if it does not fit."""
    try:
        return Config.from_dict({**payload["config"], **overrides})
    except (TypeError, ValueError) as e:
        raise DDPGError(f"{checkpoint.resolve(path)} holds a config this version cannot read ({e})") from None


def list_snapshots(run: str | Path) -> list[Path]:
    """The snapshot files of a run folder, oldest first."""
    return sorted((Path(run) / SNAPSHOTS).glob("episode_*.pt"))


def load_agent(path: str | Path, env_id: str | None = None, device: str = "auto") -> tuple[Agent, Config, dict]:
    """The agent of a saved run (folder or checkpoint file), its config, and the raw payload.

    With `env_id`, refuse a checkpoint that was trained on another env.
    """
    payload = checkpoint.load_payload(path)
    config = config_from(payload, path)
    if env_id is not None and env_id != payload["env_id"]:
        raise DDPGError(f"{checkpoint.resolve(path)} was trained on {payload['env_id']}, not {env_id}")
    env = make_env(payload["env_id"])
    dims = (env.observation_space.shape[0], env.action_space.shape[0])
    env.close()
    if dims != (payload["obs_dim"], payload["act_dim"]):
        raise DDPGError(f"{checkpoint.resolve(path)} does not match the spaces of {payload['env_id']}")
    agent = Agent(config, *dims, payload["action_low"], payload["action_high"], pick_device(device))
    try:
        agent.load_state_dict(payload, actor_only=True)
    except (KeyError, RuntimeError) as e:
        raise DDPGError(f"{checkpoint.resolve(path)} does not fit the nets of its config "
                        f"({type(e).__name__})") from None
    return agent, config, payload
