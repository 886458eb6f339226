"""Notebook 5's questions to a trained run's nets, answered in numbers.

The notebook asks where the greedy action argmax_a Q(s, a) and the policy mu(s) disagree, how flat Q
is along the action, whether mu(s) rests on a local maximum of Q, and how all that changed over
training. Each answer is a small record computed here from `surfaces.Surfaces`, so the notebook's
cells show the question and print the answer, and the closing note quotes the very same records:
a number in the prose cannot drift from the number printed above it.

Names as in the notebook: **greedy** is argmax_a Q(s, a) on a grid of actions, **policy** is mu(s),
and they "disagree" at a state where they differ by more than a tolerance `tol` in action units.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import surfaces
from .surfaces import Surfaces

FINAL = "final"
"""The key of a run's own (final) checkpoint among its snapshots."""


# --- timing ---------------------------------------------------------------------------------------

def timed(f: Callable):
    """(f(), seconds it took): for a call too slow to repeat, such as one critic call per grid point."""
    start = time.perf_counter()
    result = f()
    return result, time.perf_counter() - start


def fastest_seconds(f: Callable, repeat: int = 3) -> float:
    """The fastest of `repeat` runs of f(): the least disturbed by whatever else the machine is doing."""
    return min(timed(f)[1] for _ in range(repeat))


# --- a run's nets over training --------------------------------------------------------------------

class RunNets:
    """A run's nets at each snapshot saved during training and at its end, each loaded and evaluated once.

    Keys are strings (a snapshot's path, or FINAL for the run's own checkpoint) so that a slider can
    offer them as values. `load(path)` is the project's loader, returning (agent, config, payload);
    it is passed in so that the notebook shows which loader reads its run. `axes` are the
    (positions, speeds, actions) of the box every snapshot is evaluated on.
    """

    def __init__(self, run, snapshots, load: Callable, axes):
        self.run, self.load, self.axes = Path(run), load, axes
        self._nets: dict[str, tuple] = {}
        self._boxes: dict[str, Surfaces] = {}
        self.options = [(f"episode {self.nets(str(p))[2]}", str(p)) for p in snapshots]
        final_episode = self.nets(FINAL)[2]
        # A run whose last snapshot holds its final nets would otherwise offer the same nets twice.
        if not self.options or self.nets(self.options[-1][1])[2] != final_episode:
            self.options.append((f"final (episode {final_episode})", FINAL))

    @property
    def keys(self) -> list[str]:
        """Every snapshot, oldest first, then the final nets (unless the last snapshot holds them)."""
        return [key for _, key in self.options]

    @property
    def latest(self) -> str:
        return self.keys[-1]

    def nets(self, key: str):
        """(critic, actor, episode) of a snapshot, or of the run's final checkpoint for FINAL."""
        if key not in self._nets:
            agent, _, payload = self.load(self.run if key == FINAL else key)
            self._nets[key] = (agent.critic, agent.actor, payload["episode"])
        return self._nets[key]

    def box(self, key: str) -> Surfaces:
        """Both nets of a snapshot evaluated on the box `axes`."""
        if key not in self._boxes:
            critic, actor, _ = self.nets(key)
            self._boxes[key] = surfaces.evaluate_grid(critic, actor, *self.axes)
        return self._boxes[key]

    def spread(self, at_most: int | None = None) -> list[str]:
        """All keys, or `at_most` of them evenly spaced, the first and the last always among them."""
        keys = self.keys
        if at_most is None or len(keys) <= at_most:
            return keys
        return [keys[i] for i in np.linspace(0, len(keys) - 1, at_most).round().astype(int)]


def explore(nets: RunNets, key: str, position: float, visited, trajectory, tol: float) -> list:
    """The explorer's view of one snapshot at one position: [slice figure, heat-map figure, summary line].

    The slice is evaluated afresh at exactly `position` (it need not be on the box's grid); the heat
    maps come from the snapshot's box. `visited` states within half a grid cell of `position` are
    ticked on the slice.
    """
    critic, actor, episode = nets.nets(key)
    positions, speeds, actions = nets.axes
    row = surfaces.evaluate_grid(critic, actor, [position], speeds, actions).at_grid(0)
    half_cell = (positions[1] - positions[0]) / 2
    near = visited[np.abs(visited[:, 0] - position) <= half_cell]
    return [
        surfaces.slice_figure(row, near, title=f"position {position:+.2f}, episode {episode}"),
        surfaces.heatmap_figure(nets.box(key), visited, trajectory, title=f"episode {episode}", position=position),
        f"at this position: greedy and policy disagree (by > {tol}) at {np.mean(row.disagreement > tol):.0%} of "
        f"speeds; median Q range over the action {np.median(row.q_range_over_actions):.3g}",
    ]


# --- 1. where they disagree -----------------------------------------------------------------------

def disagreement_shares(blog: Surfaces, box: Surfaces, visited: Surfaces, cells, tol: float) -> dict[str, float]:
    """The share of states where |greedy - policy| > tol, in four sets of states.

    `blog` is the blog's grid, `box` the env's real bounds, `cells` the mask [position, speed] of the
    box's cells that hold a visited state, and `visited` the visited states themselves.
    """
    cells = np.asarray(cells, bool)
    return {
        "blog grid": float(np.mean(blog.disagreement > tol)),
        "real box, unvisited cells": float(np.mean(box.disagreement[~cells] > tol)),
        "real box, visited cells": float(np.mean(box.disagreement[cells] > tol)),
        "visited states": float(np.mean(visited.disagreement > tol)),
    }


# --- 2. how flat Q is along the action --------------------------------------------------------------

@dataclass
class Flatness:
    """How much the choice of action moves Q, next to how much the choice of state does."""

    range_over_actions: float
    """median over the states of max_a Q(s, a) - min_a Q(s, a)"""
    range_over_states: float
    """max - min of Q(s, mu(s)) over the states"""
    gap_median: float
    """median of Q(s, greedy) - Q(s, mu(s)): what the critic says the policy gives up"""
    gap_p90: float
    """its 90th percentile"""

    @property
    def ratio(self) -> float:
        return self.range_over_actions / max(self.range_over_states, 1e-12)

    @classmethod
    def of(cls, states: Surfaces) -> Flatness:
        gap = states.value_gap
        return cls(float(np.median(states.q_range_over_actions)), float(np.ptp(states.q_mu)),
                   float(np.median(gap)), float(np.quantile(gap, 0.9)))


# --- 3. whether mu(s) rests on a local maximum ---------------------------------------------------------

@dataclass
class Peaks:
    """Shares of states where Q(s, .) has several peaks and where mu(s) sits on one (of all states), and
    what holds where greedy and policy disagree (None when they never do)."""

    n_states: int
    several_peaks: float
    """Q(s, .) has more than one local maximum on the action grid"""
    at_peak: float
    """mu(s) lies within one action-grid step of a local maximum"""
    n_off: int
    """states where greedy and policy disagree"""
    off_at_peak: float | None
    """of those, the share where mu(s) sits at a (lower) peak"""
    off_towards_greedy: float | None
    """of those, the share where dQ/da at mu(s) points towards the greedy action"""
    off_saturated: float | None
    """of those, the share where mu(s) is at the end of its range (tanh saturated)"""
    slope_ratio: float
    """median of |dQ/da at mu(s)| / mean |dQ/da| along the action"""

    @classmethod
    def of(cls, states: Surfaces, action_step: float, tol: float, action_high: float = 1.0) -> Peaks:
        # The critic is piecewise linear in the action, so its maxima sit on kinks where dQ/da is not
        # zero: "at a peak" is measured as a distance on the action grid, not as a small gradient.
        off = states.disagreement > tol
        at_peak = states.distance_to_local_max <= action_step
        towards = np.sign(states.dq_da) == np.sign(states.greedy - states.mu)
        saturated = np.abs(states.mu) > 0.99 * action_high
        slope_ratio = np.abs(states.dq_da) / np.maximum(states.mean_abs_slope, 1e-12)
        share_off = (lambda mask: float(mask[off].mean())) if off.any() else (lambda mask: None)
        return cls(int(off.size), float(np.mean(states.n_local_maxima > 1)), float(at_peak.mean()), int(off.sum()),
                   share_off(at_peak), share_off(towards), share_off(saturated), float(np.median(slope_ratio)))

    def report(self) -> str:
        lines = [f"visited states where Q(s, .) has more than one peak:          {self.several_peaks:.1%}",
                 f"visited states with mu(s) at a peak of Q(s, .):               {self.at_peak:.1%}",
                 f"visited states where greedy and policy disagree:              {self.n_off} of {self.n_states}"]
        if self.n_off:
            lines += [f"  of those, mu(s) sits at another (lower) peak:               {self.off_at_peak:.1%}",
                      f"  of those, dQ/da at mu(s) points towards the greedy action:  {self.off_towards_greedy:.1%}",
                      f"  of those, mu(s) is at the end of its range (tanh saturated): {self.off_saturated:.1%}"]
        lines.append(f"median |dQ/da at mu(s)| / mean |dQ/da| along the action:      {self.slope_ratio:.2f}")
        return "\n".join(lines)


# --- 4. over training -----------------------------------------------------------------------------------

@dataclass
class SnapshotRow:
    """Parts 1 to 3 for one snapshot's nets, on the same visited states as the final nets."""

    episode: int
    blog_grid: float
    """share of the blog's grid where greedy and policy disagree"""
    real_box: float
    """the same on the env's real bounds"""
    visited: float
    """the same on the visited states"""
    several_peaks: float
    """share of the visited states where Q(s, .) has several peaks"""
    at_peak: float
    """share of the visited states where mu(s) is at a peak"""
    flatness: float
    """part 2's ratio on the visited states"""


HEADERS = {"episode": "episode", "blog_grid": "blog grid", "real_box": "real box", "visited": "visited",
           "several_peaks": "several peaks", "at_peak": "at a peak", "flatness": "flatness"}


def snapshot_row(nets: RunNets, key: str, blog_axis, visited, tol: float) -> SnapshotRow:
    """One row of the table over training: the snapshot's nets on the blog's grid, the box and `visited`."""
    critic, actor, episode = nets.nets(key)
    actions = nets.axes[2]
    on_blog = surfaces.evaluate_grid(critic, actor, blog_axis, blog_axis, blog_axis)
    on_visited = surfaces.evaluate_states(critic, actor, visited, actions)
    peaks = Peaks.of(on_visited, float(actions[1] - actions[0]), tol)
    return SnapshotRow(int(episode), float(np.mean(on_blog.disagreement > tol)),
                       float(np.mean(nets.box(key).disagreement > tol)), float(np.mean(on_visited.disagreement > tol)),
                       peaks.several_peaks, peaks.at_peak, Flatness.of(on_visited).ratio)


def format_table(rows: list[SnapshotRow]) -> str:
    """The rows as a fixed-width table, one line a snapshot."""
    names = [f.name for f in fields(SnapshotRow)]
    lines = ["  ".join(f"{HEADERS[n]:>13s}" for n in names)]
    for row in rows:
        lines.append("  ".join(f"{row.episode:13d}" if n == "episode" else f"{getattr(row, n):13.3f}"
                               for n in names))
    return "\n".join(lines)


def training_figure(rows: list[SnapshotRow], tol: float) -> Figure:
    """The disagreement on three sets of states, and the share with several peaks, against the snapshot's episode."""
    fig = Figure(figsize=(8, 3.8))
    ax = fig.add_subplot()
    episodes = [r.episode for r in rows]
    for name, style, label in [("blog_grid", "o-", "blog grid"), ("real_box", "s-", "real box"),
                               ("visited", "^-", "visited"),
                               ("several_peaks", "x--", "visited states with several peaks of Q")]:
        ax.plot(episodes, [getattr(r, name) for r in rows], style, label=label)
    ax.set_xlabel("training episode of the snapshot")
    ax.set_ylabel(f"share with |greedy - policy| > {tol}")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@dataclass
class Trend:
    """The table's story: the first row, the trained row with the least disagreement, the last row, and
    how the visited states' disagreement and their share with several peaks move together."""

    first: SnapshotRow
    lowest: SnapshotRow
    last: SnapshotRow
    n_trained: int
    """rows after episode 0 (all rows if there are none)"""
    r_peaks: float | None
    """correlation over those rows, None with fewer than 3 or where either share never changes"""

    @classmethod
    def of(cls, rows: list[SnapshotRow]) -> Trend:
        trained = [r for r in rows if r.episode > 0] or rows  # episode 0 holds the untrained nets
        shares = np.array([[r.visited, r.several_peaks] for r in trained])
        # ptp, not std: the std of equal floats can come out a hair above 0 and give a meaningless r.
        r_peaks = (float(np.corrcoef(shares.T)[0, 1])
                   if len(trained) >= 3 and np.ptp(shares, axis=0).min() > 0 else None)
        return cls(rows[0], min(trained, key=lambda r: r.visited), rows[-1], len(trained), r_peaks)


# --- the closing note ----------------------------------------------------------------------------------

@dataclass
class Findings:
    """Everything the closing note quotes, each computed by one of the notebook's cells."""

    run_name: str
    episode: int
    tol: float
    shares: dict[str, float]
    """part 1, from `disagreement_shares`"""
    blog_possible: int
    """points of the blog's grid that are possible states"""
    blog_points: int
    flat: Flatness
    peaks: Peaks
    rows: list[SnapshotRow]
    actor_returns: list[float]
    greedy_returns: list[float]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def closing_note(f: Findings) -> str:
    """The closing note as Markdown: the numbers of `f`, then a verdict whose every branch is decided by them."""
    shares, flat, peaks, trend = f.shares, f.flat, f.peaks, Trend.of(f.rows)
    blog, outside, visited = shares["blog grid"], shares["real box, unvisited cells"], shares["visited states"]
    first, lowest, last = trend.first, trend.lowest, trend.last
    n_episodes = len(f.greedy_returns)
    note = [
        f"**Closing note for `{f.run_name}` (episode {f.episode}).**",
        "",
        f"- *Where.* Greedy and policy differ by more than {f.tol} on {blog:.0%} of the blog's grid, of which only "
        f"{f.blog_possible} of {f.blog_points} points are possible states; on {outside:.0%} of the unvisited "
        f"cells of the real box; and on {visited:.0%} of the visited states.",
        f"- *How flat.* Along the action, Q varies by a median {flat.range_over_actions:.3g} per visited state; "
        f"across the visited states Q(s, mu(s)) spans {flat.range_over_states:.3g}, so the choice of action moves "
        f"Q by {flat.ratio:.2%} of what the choice of state does. By the critic's own numbers the policy gives up "
        f"a median {flat.gap_median:.3g} (90th percentile {flat.gap_p90:.3g}) by not taking the greedy action.",
        f"- *Local maximum.* Q(s, .) has more than one peak at {peaks.several_peaks:.0%} of the visited states."
        + (f" Where greedy and policy disagree there ({peaks.n_off} states), mu(s) sits at another, lower peak in "
           f"{peaks.off_at_peak:.0%} of them, and the actor's gradient points towards the greedy action in "
           f"{peaks.off_towards_greedy:.0%}." if peaks.n_off else " They never disagree at the visited states.")
        + f" The size of dQ/da at mu(s) is a median {peaks.slope_ratio:.2f} of the mean slope along the action"
        + (": not near zero, as expected of a critic that is piecewise linear in the action."
           if peaks.slope_ratio > 0.1 else "."),
        f"- *Over training.* On the visited states, the share where greedy and policy disagree is "
        f"{first.visited:.0%} for the nets of episode {first.episode}, at its lowest {lowest.visited:.0%} at "
        f"episode {lowest.episode}, and {last.visited:.0%} at episode {last.episode} (blog grid: "
        f"{first.blog_grid:.0%}, {lowest.blog_grid:.0%}, {last.blog_grid:.0%}). The share of visited states "
        f"where Q has several peaks is {first.several_peaks:.0%}, {lowest.several_peaks:.0%} and "
        f"{last.several_peaks:.0%} at the same snapshots."
        + (f" Across the {trend.n_trained} snapshots after episode 0 the two shares correlate with "
           f"r = {trend.r_peaks:.2f}." if trend.r_peaks is not None else ""),
        f"- *Does it matter?* Driving with the greedy action returned {np.mean(f.greedy_returns):.1f} on average, "
        f"the actor {np.mean(f.actor_returns):.1f} (over {_plural(n_episodes, 'episode')}).",
        "",
        " ".join(verdict(f, trend)),
    ]
    return "\n".join(note)


def verdict(f: Findings, trend: Trend) -> list[str]:
    """The closing paragraph, one sentence per finding; each sentence is chosen by comparing the numbers."""
    shares, flat, peaks = f.shares, f.flat, f.peaks
    blog, outside, visited = shares["blog grid"], shares["real box, unvisited cells"], shares["visited states"]
    lowest, last = trend.lowest, trend.last
    said = []
    if blog > 2 * visited:
        said.append(f"Most of the drift the blog saw lies in states the car never reaches: greedy and policy "
                    f"disagree on {blog:.0%} of its grid against {visited:.0%} of the visited states.")
    elif blog < visited / 2:
        said.append(f"In this run the blog's grid disagrees less often than the visited states do ({blog:.0%} "
                    f"against {visited:.0%}): where the blog looked does not explain the drift here.")
    else:
        said.append("In this run the blog's grid and the visited states disagree about equally often.")
    if visited < outside / 1.5:
        said.append("Within the real bounds, disagreement is also rarer in the visited states than in the cells "
                    "the car never entered.")
    elif visited <= outside * 1.5:
        said.append("Within the real bounds, visited states and unvisited cells disagree about equally often.")
    else:
        said.append("Within the real bounds, the visited states disagree more often than the unvisited cells.")
    said.append(f"Where the car does go, Q is nearly flat along the action ({flat.ratio:.2%} of its range over "
                "states), so the greedy action is decided by small differences in Q." if flat.ratio < 0.05 else
                f"Q is not flat along the action in this run ({flat.ratio:.2%} of its range over states).")
    if peaks.n_off:
        if peaks.off_at_peak >= 0.5:
            said.append("Most of the disagreement in visited states is the actor resting on a lower peak of a "
                        "critic with several peaks: a local maximum, which is all that following the gradient "
                        "promises.")
        elif peaks.off_towards_greedy >= 0.5:
            said.append("In fewer than half of the disagreeing visited states is the actor at a lower peak; in "
                        "most of them mu(s) lies on a slope that rises towards the greedy action, and dQ/da "
                        "points that way. These nets do not show whether further updates would close that gap.")
        else:
            said.append("The disagreeing visited states are neither mostly at a lower peak nor mostly on a slope "
                        "towards the greedy action.")
    if last.visited > 2 * lowest.visited and last.visited > f.tol / 2:
        said.append(f"As the blog saw, greedy and policy drifted apart late in training: on the visited states, "
                    f"from {lowest.visited:.0%} at episode {lowest.episode} to {last.visited:.0%} at "
                    f"episode {last.episode}.")
        if trend.r_peaks is not None and trend.r_peaks > 0.5:
            said.append("That drift went together with a critic growing several peaks along the action "
                        f"(r = {trend.r_peaks:.2f} over the snapshots): a co-occurrence in one run, not a proof of "
                        "cause.")
    n_episodes = len(f.greedy_returns)
    said.append(f"The returns above come from {_plural(n_episodes, 'episode')} each, enough to see a large "
                "difference in driving, not to rank two close ones.")
    return said
