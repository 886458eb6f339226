"""Runs side by side: runs that differ only in their seed form a group, drawn as a mean with a band.

    python -m ddpg_helpers plot "runs/walker-seeds/*" "runs/walker-seeds_tqc/*" --out seeds.png

Each group's curve is its noise-free evaluations against env steps: every run's last evaluation
at or before each point of a common grid, averaged over the group's seeds, with a bootstrap 95%
interval of that mean (scipy.stats.bootstrap, resampling seeds). Its score is the interquartile
mean (IQM) over seeds, the mean of the middle half, which one lucky or unlucky seed moves less
than the mean (Agarwal et al., "Deep RL at the edge of the statistical precipice", 2021), again
with a bootstrap 95% interval. Few seeds give wide intervals: that is what they are worth.
"""

from __future__ import annotations

import glob
import json
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import RESUMABLE, with_defaults
from .errors import DDPGError
from .run import CONFIG, METRICS, SUMMARY, Run

NOT_THE_RECIPE = RESUMABLE | {"seed", "init_from"}
"""Config fields that do not make another recipe: the seed, and how long, where and how fast a run went."""


@dataclass
class SeedRun:
    """One run's evaluations and scores, read from its folder (metrics.csv and summary.json, else its checkpoint)."""

    path: Path
    config: dict
    steps: np.ndarray  # env steps of each evaluation
    means: np.ndarray  # its mean return
    final: float  # the last evaluation
    kept: float  # the kept nets' score: their longer look where they had one, else their evaluation

    @property
    def recipe(self) -> tuple:
        return tuple(sorted((k, json.dumps(v)) for k, v in self.config.items() if k not in NOT_THE_RECIPE))


@dataclass
class Group:
    label: str
    runs: list[SeedRun] = field(default_factory=list)


def read_run(path: str | Path) -> SeedRun:
    run, path = Run(path), Path(path)
    config = run.config()
    if config is None:
        raise DDPGError(f"{path} is not a run folder (no {CONFIG})")
    config = with_defaults(config)
    if (path / METRICS).is_file() and (path / SUMMARY).is_file():
        steps, means = _evals_from_metrics(path / METRICS)
        summary = run.summary()
        # An older summary kept no best nets: its best evaluation stands for them.
        kept = next((summary[k] for k in ("best_keep_mean", "best_eval_mean") if summary.get(k) is not None),
                    float(means.max()) if len(means) else np.nan)
    elif run.checkpoint.is_file():  # a run still going: its checkpoint's history
        evals = run.history()["evals"]
        steps, means = (np.array([e[k] for e in evals], dtype=float) for k in ("env_steps", "mean"))
        kept = max((e.get("keep_mean", e["mean"]) for e in evals), default=np.nan)
    else:
        raise DDPGError(f"{path} holds no metrics.csv and no checkpoint")
    if not len(steps):
        raise DDPGError(f"{path} has no evaluation yet")
    return SeedRun(path, config, steps, means, float(means[-1]), float(kept))


def _evals_from_metrics(file: Path) -> tuple[np.ndarray, np.ndarray]:
    import csv

    with open(file, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("eval_mean")]
    return (np.array([float(r["env_steps"]) for r in rows]), np.array([float(r["eval_mean"]) for r in rows]))


def find_runs(patterns: list[str]) -> list[Path]:
    """Run folders named by paths or glob patterns (a pattern matching nothing is an error)."""
    found = []
    for pattern in patterns:
        matches = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
        matches = [p for p in matches if (p / CONFIG).is_file()]
        if not matches:
            raise DDPGError(f"{pattern} matches no run folder (a folder with {CONFIG})")
        found += [p for p in matches if p not in found]
    return found


def group_runs(runs: list[SeedRun]) -> list[Group]:
    """Runs with the same recipe (all settings but the seed and how long, where and how fast) in one group,
    labelled by what sets the groups apart; all runs must be of one env."""
    envs = sorted({r.config["env_id"] for r in runs})
    if len(envs) > 1:
        raise DDPGError(f"the runs are of different envs ({', '.join(envs)}); plot one env at a time")
    groups: dict[tuple, Group] = {}
    for r in runs:
        groups.setdefault(r.recipe, Group("")).runs.append(r)
    recipes = [dict(key) for key in groups]
    differ = sorted(k for k in set().union(*recipes) if len({d.get(k) for d in recipes}) > 1)
    for key, group in groups.items():
        d = dict(key)
        label = ", ".join(f"{k}={_short(json.loads(d[k])) if k in d else '-'}" for k in differ)
        group.label = label or json.loads(d["algo"])
    return list(groups.values())


def _short(value) -> str:
    """A setting as a label shows it: floats to 3 significant digits (a tuned 0.0070348... reads 0.00703)."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def bootstrap_interval(values, statistic, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """scipy's percentile bootstrap interval of `statistic` over `values` (along the last axis)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.shape[-1] < 2:
        point = statistic(values, axis=-1)
        return point, point
    result = stats.bootstrap((values,), statistic, confidence_level=confidence, method="percentile",
                             n_resamples=2000, rng=np.random.default_rng(seed), axis=-1)
    return result.confidence_interval.low, result.confidence_interval.high


def iqm(values, axis=-1):
    """The interquartile mean: the mean of the middle half (scipy's trimmed mean, 25% cut at each end)."""
    from scipy import stats

    return stats.trim_mean(values, 0.25, axis=axis)


def curve_band(group: Group, points: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The group's mean evaluation on a grid of env steps up to its shortest run, and its 95% band.

    Each run's value at a grid point is its last evaluation at or before it (the grid starts at
    the latest first evaluation, so every run has one)."""
    start = max(r.steps[0] for r in group.runs)
    stop = min(r.steps[-1] for r in group.runs)
    grid = np.linspace(start, stop, points) if stop > start else np.array([stop])
    values = np.stack([r.means[np.searchsorted(r.steps, grid, side="right") - 1] for r in group.runs], axis=-1)
    low, high = bootstrap_interval(values, np.mean)
    return grid, values.mean(axis=-1), np.atleast_1d(low), np.atleast_1d(high)


def scores(group: Group) -> dict:
    """The group's final and kept-nets IQM over seeds, each with its bootstrap 95% interval."""
    out = {"label": group.label, "seeds": sorted(r.config["seed"] for r in group.runs)}
    for name in ("final", "kept"):
        values = np.array([getattr(r, name) for r in group.runs])
        low, high = bootstrap_interval(values, iqm)
        out[name] = (float(iqm(values)), float(low), float(high))
    return out


def plot_groups(groups: list[Group], ax=None, title: str | None = None):
    """Each group's mean evaluation with its band, one colour per group."""
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(8, 4.5)).add_subplot()
    for i, group in enumerate(groups):
        grid, mean, low, high = curve_band(group)
        colour = f"C{i}"
        label = textwrap.fill(f"{group.label} ({len(group.runs)} seeds)", 70)  # a tuned recipe differs in many settings
        ax.plot(grid, mean, color=colour, lw=2, label=label)
        ax.fill_between(grid, low, high, color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("env steps")
    ax.set_ylabel("noise-free evaluation (mean over seeds, 95% band)")
    ax.set_title(title or groups[0].runs[0].config["env_id"])
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8)  # below: long labels hide no curve
    return ax


def load_groups(patterns: list[str]) -> list[Group]:
    """The runs named by `patterns` (folders or globs), read and grouped by recipe."""
    return group_runs([read_run(p) for p in find_runs(patterns)])


def compare(patterns: list[str], out: str | Path | None = None, title: str | None = None) -> list[dict]:
    """Read, group, score and (with `out`) plot the runs named by `patterns`; returns the groups' scores.

    Every check comes before the figure is written: bad input writes nothing."""
    groups = load_groups(patterns)
    result = [scores(g) for g in groups]
    if out is not None:
        out = Path(out)
        if not out.parent.is_dir():
            raise DDPGError(f"cannot write {out}: no folder {out.parent}")
        ax = plot_groups(groups, title=title)
        ax.figure.savefig(out, dpi=110, bbox_inches="tight")
    return result


def scores_table(result: list[dict]) -> str:
    """The groups' scores as a markdown table."""
    lines = ["| recipe | seeds | final evaluation, IQM [95% CI] | kept nets, IQM [95% CI] |", "|---|---|---:|---:|"]
    for s in result:
        cells = [f"{s[k][0]:.1f} [{s[k][1]:.1f}, {s[k][2]:.1f}]" for k in ("final", "kept")]
        lines.append(f"| {s['label']} | {', '.join(map(str, s['seeds']))} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def seed_table(csv_path: str | Path) -> str:
    """A `benchmarks/walker_seeds.py` CSV as a markdown table, one row per seed: the kept nets' mean over 100
    episodes (with how many of them fell) and the env steps at the first evaluation at 300."""
    import csv

    path = Path(csv_path)
    if not path.is_file():
        raise DDPGError(f"no seeds table at {path} (benchmarks/walker_seeds.py writes one)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    lines = ["| seed | kept nets over 100 episodes (falls) | first evaluation at 300 |", "|---:|---:|---:|"]
    for r in rows:
        first = f"{int(r['steps_to_300']):,}" if r["steps_to_300"] else "never"
        lines.append(f"| {r['seed']} | {float(r['eval100_mean']):.1f} ({r['falls_in_eval100']}) | {first} |")
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="runs side by side: seeds of one recipe as a mean with a 95%% band",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="RUN_OR_GLOB", help="run folders, or quoted glob patterns of them")
    p.add_argument("--out", type=Path, help="the figure (PNG); without it, only the scores are printed")
    p.add_argument("--title", help="the figure's title (default: the env)")


def run(args) -> dict:
    """`python -m ddpg_helpers plot`: the scores as a markdown table on stderr, and as JSON."""
    result = compare(args.runs, args.out, args.title)
    print(scores_table(result), file=sys.stderr)
    return {"groups": result, "out": str(args.out) if args.out else None}
