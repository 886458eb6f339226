"""BipedalWalker's episodes read closely (notebook 6): recording a walk, its torque cost, how it ended."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .errors import DDPGError

WALKER_ID = "BipedalWalker-v3"
"""The walker's gymnasium id."""


class Walk(NamedTuple):
    episode: object  # training.Episode, with its frames
    stride: int  # every stride-th step was rendered
    fps: int  # the env's frames per second
    outcome: str  # walker_outcome: 'fell', 'reached the end' or 'time limit'


def record_walk(run: str | Path, seed: int = 0, max_frames: int = 200, best: bool = False) -> Walk:
    """A noise-free episode of a run's agent (its best evaluated nets with `best`) on env seed
    `seed`, with about `max_frames` frames.

    The episode is played once without pictures to learn its length, then again rendering only
    every `stride`-th frame: a 1,600-step walker episode at full size is over a gigabyte of
    pixels.
    """
    from .animation import frame_stride_for
    from .envs import make_env
    from .rollouts import run_episode
    from .training import load_agent

    agent, config, _ = load_agent(run, best=best)
    env = make_env(config.env_id, render_mode="rgb_array")
    probe = run_episode(agent, env, seed, max_steps=config.max_episode_steps)
    stride = frame_stride_for(len(probe.actions), max_frames)
    episode = run_episode(agent, env, seed, record=True, frame_stride=stride, max_steps=config.max_episode_steps)
    env.close()
    if abs(episode.total_return - probe.total_return) > 1e-3:
        raise DDPGError(f"{config.env_id} did not replay the same episode on seed {seed}")
    limit = config.max_episode_steps or env.spec.max_episode_steps
    return Walk(episode, stride, env.metadata["render_fps"], walker_outcome(episode.rewards, limit))


def walker_torque_cost(actions) -> float:
    """What a BipedalWalker episode paid for torque, out of its return.

    The env takes 0.00035 * MOTORS_TORQUE * |a| per joint per step from the reward, with |a|
    clipped to 1. The return plus this cost is what the walk earned: about 364 for reaching the far end.
    """
    import numpy as np
    from gymnasium.envs.box2d.bipedal_walker import MOTORS_TORQUE

    return float(0.00035 * MOTORS_TORQUE * np.clip(np.abs(np.asarray(actions, np.float64)), 0, 1).sum())


def walker_outcome(rewards, time_limit: int) -> str:
    """How a BipedalWalker episode ended, from its per-step rewards: 'fell', 'reached the end' or 'time limit'.

    The env gives exactly -100 on the step the hull touches the ground (or the walker backs off
    the left edge) and ends the episode; it also ends it, without the penalty, at the far end of
    the course. An episode that lasts `time_limit` steps was cut by the clock.
    """
    if len(rewards) and rewards[-1] == -100:
        return "fell"
    return "time limit" if len(rewards) >= time_limit else "reached the end"


class Stage(NamedTuple):
    """One point of a run's learning: a snapshot of its nets and the evaluation made of them."""
    label: str  # for a slider: 'episode 75, 48,120 env steps: evaluation 156.4'
    path: Path  # the snapshot file
    episode: int
    evaluation: float | None  # the noise-free evaluation's mean at that episode (None: none was made)


def learning_stages(run: str | Path) -> list[Stage]:
    """A run's snapshots (`snapshot_every`), oldest first, each with the evaluation of the same nets: the
    walker at each point of its learning. Snapshots taken at the evaluations' episodes have one."""
    from .run import Run

    run = Run(run)
    snapshots = run.snapshots()
    if not snapshots:
        raise DDPGError(f"{run.path} has no snapshots (train with snapshot_every > 0 to watch it learn)")
    evals = {row["episode"]: row for row in run.history()["evals"]} if run.holds_run() else {}
    stages = []
    for path in snapshots:
        episode = int(path.stem.split("_")[-1])
        row = evals.get(episode)
        steps = f", {row['env_steps']:,} env steps: evaluation {row['mean']:.1f}" if row else ""
        stages.append(Stage("untrained" if episode == 0 else f"episode {episode}{steps}", path, episode,
                            row["mean"] if row else None))
    return stages


def gait_strip(path: str | Path, seed: int = 0, steps: int = 480, frames: int = 6):
    """A matplotlib Figure: `frames` pictures, evenly spaced, of the first `steps` steps of a noise-free
    episode of the nets in `path` (a run or a snapshot file) on env seed `seed`, and how that episode went."""
    import matplotlib.pyplot as plt

    from .envs import make_env
    from .rollouts import run_episode
    from .training import load_agent

    agent, config, _ = load_agent(path, device="cpu")
    env = make_env(config.env_id, render_mode="rgb_array")
    episode = run_episode(agent, env, seed, record=True, frame_stride=max(1, steps // (frames - 1)), max_steps=steps)
    env.close()
    pictures = episode.frames[:frames]
    fig, axes = plt.subplots(1, frames, figsize=(1.8 * frames, 1.0), squeeze=False)
    for ax, picture in zip(axes[0], [*pictures, *[None] * (frames - len(pictures))]):
        ax.set_axis_off()
        if picture is not None:
            ax.imshow(picture[170:320, :360])  # the camera follows the hull: the walker is in this corner
    fell = walker_outcome(episode.rewards, steps) == "fell"
    end = f"fell at step {len(episode.rewards)}" if fell else f"{len(episode.rewards)} steps"
    fig.suptitle(f"env seed {seed}, noise-free: {end}, return {episode.total_return:.1f} so far", fontsize=9)
    plt.close(fig)  # shown by the widget that holds it, not by the inline backend as well
    return fig
