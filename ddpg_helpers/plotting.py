"""Figures: the reward curve (more in later modules). Built on Figure, so no display is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def eval_arrays(history: dict):
    """The noise-free evaluations of a history as arrays: env steps, mean return, std."""
    evals = history["evals"]
    return tuple(np.array([e[k] for e in evals]) for k in ("env_steps", "mean", "std"))


def _label_returns(ax, title):
    ax.set_xlabel("env steps")
    ax.set_ylabel("return")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return ax


def reward_curve(history: dict, ax=None, title: str | None = None, window: int = 10):
    """Episode returns (with noise), their moving average, and the noise-free evaluations."""
    if ax is None:
        ax = Figure(figsize=(7, 4)).add_subplot()
    steps = np.asarray(history["env_steps"])
    returns = np.asarray(history["return"])
    ax.plot(steps, returns, color="tab:blue", alpha=0.3, lw=1, label="training episode (with noise)")
    if len(returns) >= window:
        avg = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], avg, color="tab:blue", lw=2, label=f"moving average ({window})")
    if history["evals"]:
        e_steps, mean, std = eval_arrays(history)
        ax.errorbar(e_steps, mean, yerr=std, color="tab:orange", marker="o", ms=4, capsize=3, lw=1.5,
                    label="noise-free evaluation (mean ± std)")
    return _label_returns(ax, title)


def save_reward_curve(history: dict, path: str | Path, title: str | None = None) -> None:
    from .checkpoint import atomic_write

    ax = reward_curve(history, title=title)
    ax.figure.tight_layout()
    atomic_write(path, lambda tmp: ax.figure.savefig(tmp, dpi=100, format="png"))


def episode_plots(observations, actions, fps: float = 50, axes=None, labels=("position", "speed"),
                  goal: float | None = 0.45, title: str | None = None):
    """Position, speed and action at every step of a recorded episode, against time (the blog's plots).

    `observations` has one row more than `actions` (the state before the first action); time is
    `step / fps`, with the blog's 50 steps per second. `goal` draws the flag's position (0.45 for
    MountainCar). Returns the three axes.
    """
    observations = np.asarray(observations, dtype=float)
    actions = np.asarray(actions, dtype=float).reshape(len(actions), -1)
    if axes is None:
        axes = Figure(figsize=(7, 6)).subplots(3, 1, sharex=True)
    ax_pos, ax_speed, ax_action = axes
    t = np.arange(len(observations)) / fps
    ax_pos.plot(t, observations[:, 0], color="tab:blue")
    if goal is not None:
        ax_pos.axhline(goal, color="tab:green", ls="--", lw=1, label=f"flag ({goal:g})")
        ax_pos.legend(loc="best", fontsize=8)
    ax_pos.set_ylabel(labels[0])
    ax_speed.plot(t, observations[:, 1], color="tab:purple")
    ax_speed.axhline(0, color="gray", lw=0.5)
    ax_speed.set_ylabel(labels[1])
    # The action chosen at step i acts from t_i to t_{i+1}: a step plot shows exactly that.
    ax_action.step(t[:-1], actions, where="post", color="tab:red", lw=1)
    ax_action.set_ylim(-1.1, 1.1)
    ax_action.set_ylabel("action")
    ax_action.set_xlabel(f"time [s] ({fps:g} steps per second)")
    for ax in axes:
        ax.grid(alpha=0.3)
    if title:
        ax_pos.set_title(title)
    return axes


def compare_curves(histories: dict, ax=None, threshold: float | None = None, window: int = 20,
                   title: str | None = None):
    """Several runs in one plot against env steps: each run's noise-free evaluations (mean ± std
    as a band) over the moving average of its training returns (thin). `histories` maps a label
    to a run's history; `threshold` draws the env's "solved" line.
    """
    if ax is None:
        ax = Figure(figsize=(8, 4)).add_subplot()
    for i, (label, history) in enumerate(histories.items()):
        color = f"C{i}"
        steps = np.asarray(history["env_steps"])
        returns = np.asarray(history["return"])
        w = min(window, len(returns))
        if w:
            avg = np.convolve(returns, np.ones(w) / w, mode="valid")
            ax.plot(steps[w - 1:], avg, color=color, lw=1, alpha=0.4,
                    label=f"{label}: training returns, moving average ({w})")
        if history["evals"]:
            e_steps, mean, std = eval_arrays(history)
            ax.plot(e_steps, mean, color=color, lw=2, marker="o", ms=3, label=f"{label}: noise-free evaluation")
            ax.fill_between(e_steps, mean - std, mean + std, color=color, alpha=0.15)
    if threshold is not None:
        ax.axhline(threshold, color="gray", ls="--", lw=1, label=f"solved ({threshold:g})")
    return _label_returns(ax, title)
