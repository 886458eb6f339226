"""The training loop: episodes of acting with noise, one update per step, noise-free evaluations."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from .agent import Agent
from .config import CONFIRM_SEED_OFFSET, KEEP_SEED_OFFSET, Config
from .envs import make_env, pick_device
from .errors import DDPGError
from .evaluations import first_solved, is_better, judge, solves
from .memory import NStepReturns, ReplayMemory
from .noise import make_noise, sigma_schedule
from .rollouts import Interrupted, evaluate

__all__ = ["CONFIRM_SEED_OFFSET", "KEEP_SEED_OFFSET", "LOOKS", "Trainer"]

LOOKS = {0: "eval", CONFIRM_SEED_OFFSET: "confirm", KEEP_SEED_OFFSET: "keep"}
"""The kinds of noise-free look, by their first env seed's offset from eval_seed."""


class RandomStates:
    """The run's random generators: numpy's (env seeds, noise, warm-up actions) and torch's
    (initial weights, replay sampling, TD3's target noise)."""

    def __init__(self, seed: int, device: torch.device):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.device = device

    def state_dict(self) -> dict:
        state = {"rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}
        if self.device.type == "cuda":  # sampling and TD3's target noise draw on the GPU
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)


def empty_history() -> dict:
    return {"episode": [], "return": [], "length": [], "sigma": [], "critic_loss": [], "actor_loss": [],
            "env_steps": [], "wall_time": [], "evals": []}


class Progress:
    """The run's progress bar. A step cap (the walker's runs) counts env steps: episodes then vary
    from 40 to 1,600 steps, and an episode count would give neither the progress nor the time left."""

    def __init__(self, trainer: Trainer, show: bool):
        from tqdm.auto import tqdm

        c, self.trainer, self.steps = trainer.config, trainer, trainer.env_steps
        self.by_steps = c.total_steps is not None
        total, initial = (c.total_steps, trainer.env_steps) if self.by_steps else (c.episodes, trainer.episode)
        self.bar = tqdm(total=total, initial=initial, disable=not show, desc=f"{c.algo} {c.env_id}",
                        unit="step" if self.by_steps else "ep", unit_scale=self.by_steps, dynamic_ncols=True)

    def episode_done(self, row: dict | None) -> None:
        """The episode just trained, with its evaluation's `row` where it had one."""
        t, history = self.trainer, self.trainer.history
        postfix = {"ep": t.episode} if self.by_steps else {}
        postfix.update({"return": f"{history['return'][-1]:.1f}", "sigma": f"{history['sigma'][-1]:.2f}"})
        if row is not None:
            postfix["eval"] = f"{row['mean']:.1f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(t.env_steps - self.steps if self.by_steps else 1)
        self.steps = t.env_steps

    def run_done(self) -> None:
        if self.bar.n < self.bar.total:  # stopped early: the bar ends where the run did, not midway
            self.bar.total = self.bar.n
            self.bar.set_description_str(f"{self.trainer.config.algo} {self.trainer.config.env_id} (done)")

    def close(self) -> None:
        self.bar.close()


def torch_settings(threads: int, device: torch.device) -> None:
    """torch's process-wide settings for a run: its thread count (unless 0: torch's default) and, on the
    CPU, denormals flushed to zero."""
    if threads:
        torch.set_num_threads(threads)
    if device.type == "cpu":
        # Numbers below 1.2e-38 (denormals) become 0. Adam's moments of the weights that no
        # longer get a gradient (a ReLU unit that never fires) decay through that range, where
        # the CPU takes a slow path on every op, thousands of them at once. Flushing them made
        # MountainCar's loop 1.12x faster on the 2-core CPU (BENCHMARKS.md); a weight moves by
        # less than its own rounding either way.
        torch.set_flush_denormal(True)


class Trainer:
    """Everything a run holds between episodes; `run_episodes` is the loop. A `Run` given to it
    receives the checkpoints, snapshots and best nets on their schedules; the trainer writes no file."""

    def __init__(self, config: Config):
        self.config = c = config
        self.env = make_env(c.env_id)
        self.eval_envs = [make_env(c.env_id) for _ in range(c.eval_envs)]  # rollouts.evaluate plays them side by side
        self.eval_env = self.eval_envs[0]
        self.device = pick_device(c.device)
        self.apply_torch_settings()
        self.random = RandomStates(c.seed, self.device)
        self.rng = self.random.rng
        obs_dim, space = self.env.observation_space.shape[0], self.env.action_space
        self.action_low, self.action_high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.agent = Agent(c, obs_dim, space.shape[0], space.low, space.high, self.device)
        self.memory = ReplayMemory(c.memory_size, obs_dim, space.shape[0], self.device)
        # Empty between episodes, where checkpoints are written, so it needs no saving.
        self.n_step = NStepReturns(c.n_step, c.gamma)
        self.noise = make_noise(c.noise, space.shape[0], self.rng, theta=c.noise_theta)
        self.history = empty_history()
        self.episode = self.env_steps = 0  # episodes finished, env steps taken
        self.wall_time = 0.0  # seconds of training so far, across resumes
        self.solved_at: dict | None = None  # the evaluation whose confirmation solved the run
        self.best: dict | None = None  # the best evaluation so far (the run keeps its nets)
        self.threshold = c.target_return if c.target_return is not None else self.env.spec.reward_threshold
        if c.stop_when_solved and self.threshold is None:
            raise DDPGError(f"{c.env_id} has no reward threshold to stop at: give --target-return")

    def apply_torch_settings(self) -> None:
        """torch's process-wide settings for this run (`torch_settings`); set them again where something
        else in the process changes them between episodes (bench.py's loops)."""
        torch_settings(self.config.threads, self.device)

    # ALGO LOGIC: one training episode
    def train_episode(self) -> None:
        c, agent, memory = self.config, self.agent, self.memory
        # Graph path: each episode starts acting with the learner's actor as it is (then one update
        # behind), so a resumed or evaluated run acts exactly as an uninterrupted one.
        agent.sync_actor()
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
            t += 1
            self.env_steps += 1
            out_of_steps = c.total_steps is not None and self.env_steps >= c.total_steps
            ended = terminated or truncated or out_of_steps or bool(c.max_episode_steps and t >= c.max_episode_steps)
            for transition in self.n_step.add(obs, action, reward, next_obs, terminated, ended):
                memory.push(*transition)
            obs = next_obs
            ep_return += float(reward)
            # Blocked updates (update_every > 1): the round falls on env step counts, so a resumed run keeps it.
            if (len(memory) >= c.batch_size and self.env_steps >= c.learning_starts
                    and self.env_steps % c.update_every == 0):
                for _ in range(c.updates_per_step * c.update_every):
                    critic_loss, actor_loss = agent.learn(memory)
                    losses[0] += critic_loss
                    n_updates += 1
                    if actor_loss is not None:  # TD3 moves its actor every policy_delay updates only
                        losses[1] += actor_loss
                        n_actor_updates += 1
            if ended:
                break
        sums = losses.tolist()  # the episode's one device-to-host copy of the losses
        row = {"episode": self.episode, "return": ep_return, "length": t, "sigma": sigma,
               "critic_loss": sums[0] / n_updates if n_updates else math.nan,
               "actor_loss": sums[1] / n_actor_updates if n_actor_updates else math.nan, "env_steps": self.env_steps}
        for key, value in row.items():
            self.history[key].append(value)
        self.episode += 1

    def evaluate_and_keep(self, run=None, episode_start: float | None = None, should_stop=None) -> dict:
        """Noise-free evaluation of the nets as they are, judged (`evaluations.judge`) against the
        threshold and the kept nets (`self.best`); where it sets a new best, those nets go into the
        run's best nets. `wall_time` in its row counts up to its end."""
        c = self.config
        self.agent.sync_actor()  # the learner's nets as they are now, not the acting copy one update behind

        def look(episodes: int, first_seed: int) -> tuple[float, float]:
            start = time.perf_counter()
            returns = evaluate(self.agent, self.eval_envs, episodes, first_seed, c.max_episode_steps, should_stop)
            # Where a run's time goes: its evaluations, its confirmations and its longer looks, each timed.
            row[LOOKS[first_seed - c.eval_seed] + "_seconds"] = time.perf_counter() - start
            return float(np.mean(returns)), float(np.std(returns))

        row = {"episode": self.episode, "env_steps": self.env_steps}
        row["mean"], row["std"] = look(c.eval_episodes, c.eval_seed)
        judge(row, look, c, self.threshold, self.solved_at, self.best)
        row["wall_time"] = self.wall_time + (time.perf_counter() - episode_start if episode_start is not None else 0.0)
        self.history["evals"].append(row)
        if solves(row, self.threshold):
            self.solved_at = row
        if is_better(row, self.best):
            self.best = row
            if run is not None:
                run.save_best(self.state(with_memory=False))
        return row

    def evaluate_between_episodes(self, run=None, should_stop=None) -> bool:
        """`evaluate_and_keep` on its own (not after a training episode), its time added to the run's;
        True where it kept new best nets."""
        start = time.perf_counter()
        row = self.evaluate_and_keep(run, start, should_stop)
        self.wall_time += time.perf_counter() - start
        return row is self.best

    @property
    def evaluated(self) -> bool:
        """Whether the last evaluation was of the nets as they are now."""
        evals = self.history["evals"]
        return bool(evals) and evals[-1]["episode"] == self.episode

    @property
    def done(self) -> bool:
        c = self.config
        if self.episode >= c.episodes or (c.total_steps is not None and self.env_steps >= c.total_steps):
            return True
        return (c.target_return is not None or c.stop_when_solved) and self.solved_at is not None

    def run_episodes(self, run=None, progress: bool = True, callback=None, should_stop=None) -> None:
        """Train until done, evaluating and saving on schedule; `callback(trainer)` after each episode.

        `should_stop()` (e.g. set by SIGTERM) is checked after each episode and between evaluation
        episodes: the run then saves its checkpoint at that episode's end and raises Interrupted.
        """
        c = self.config
        bar = Progress(self, progress)
        try:
            if c.eval_every and self.episode and self.episode % c.eval_every == 0 and not self.evaluated:
                # A stop came before this episode's evaluation: do it now.
                if self.evaluate_between_episodes(run, should_stop) and run is not None:
                    run.save_checkpoint(self.state())
            while not self.done:
                start = time.perf_counter()
                self.train_episode()
                self.history["wall_time"].append(self.wall_time + time.perf_counter() - start)
                stopping, row = should_stop is not None and should_stop(), None
                if c.eval_every and self.episode % c.eval_every == 0 and not stopping:
                    try:
                        row = self.evaluate_and_keep(run, start, should_stop)
                    except Interrupted:
                        stopping = True
                self.wall_time += time.perf_counter() - start  # evaluations count: they are part of the run
                # New best nets get a checkpoint at once: one killed before the next would resume
                # ranking against an older best than the nets best.pt holds.
                kept = row is not None and row is self.best
                scheduled = c.checkpoint_every and self.episode % c.checkpoint_every == 0
                if run is not None and (stopping or kept or scheduled):
                    run.save_checkpoint(self.state())
                if run is not None and c.snapshot_every and self.episode % c.snapshot_every == 0:
                    run.save_snapshot(self.state(with_memory=False))
                bar.episode_done(row)
                if stopping:
                    raise Interrupted(f"stopped after episode {self.episode}")
                if callback is not None:
                    callback(self)
            bar.run_done()
        finally:
            bar.close()

    # --- state: built from the parts' own state_dicts (checkpoint.GROUPS names the entries) ---
    def state(self, with_memory: bool = True) -> dict:
        space = self.env
        state = {
            "config": self.config.to_dict(), "env_id": self.config.env_id,
            "obs_dim": space.observation_space.shape[0], "act_dim": space.action_space.shape[0],
            "action_low": self.action_low.tolist(), "action_high": self.action_high.tolist(),
            "episode": self.episode, "env_steps": self.env_steps, "wall_time": self.wall_time,
            "history": self.history, "solved_at": self.solved_at, "best": self.best, **self.agent.state_dict(),
        }
        if with_memory:
            # The replay memory is saved so a resumed run continues exactly; without it the
            # critic would retrain on a handful of fresh transitions and could collapse.
            state.update(memory=self.memory.state_dict(), **self.random.state_dict(), **self.noise.state_dict())
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from a full checkpoint (as `state()` wrote it)."""
        self.agent.load_state_dict(state)
        self.memory.load_state_dict(state["memory"])
        self.random.load_state_dict(state)
        self.noise.load_state_dict(state)
        self.history, self.episode, self.env_steps = state["history"], state["episode"], state["env_steps"]
        # A checkpoint from before runs kept their best nets has no best record: the next
        # evaluation starts one (the nets of earlier evaluations are gone).
        self.wall_time, self.best = state["wall_time"], state.get("best")
        self.solved_at = first_solved(self.history["evals"], self.threshold, before_confirmations="best" not in state)
