"""Figures: the reward curve (more in later modules). Built on Figure, so no display is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


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
        e_steps = np.array([e["env_steps"] for e in history["evals"]])
        mean = np.array([e["mean"] for e in history["evals"]])
        std = np.array([e["std"] for e in history["evals"]])
        ax.errorbar(e_steps, mean, yerr=std, color="tab:orange", marker="o", ms=4, capsize=3, lw=1.5,
                    label="noise-free evaluation (mean ± std)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("return")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return ax


def save_reward_curve(history: dict, path: str | Path, title: str | None = None) -> None:
    from .checkpoint import atomic_write

    ax = reward_curve(history, title=title)
    ax.figure.tight_layout()
    atomic_write(path, lambda tmp: ax.figure.savefig(tmp, dpi=100, format="png"))
