# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Inside the nets: the Q and policy surfaces
#
# The blog's last step opens up the two nets of a trained agent. On a grid from -1 to 1 in steps
# of 0.1 for position, speed and action it draws three 3-D surfaces: the critic's Q(position = 0,
# speed, a), the action with the highest Q at each (position, speed), and the actor's action
# mu(position, speed). Then it stops on a question: early in training the argmax-Q surface and the
# policy agree, later they drift apart, and the author could not say why.
#
# This notebook draws the same surfaces, then draws them where the car actually goes, and answers
# the question with numbers computed below. It trains nothing: it reads a saved run.
#
# Names used throughout: **greedy** is argmax_a Q(s, a) over a grid of actions (the blog's "calc
# from Qmap"); **policy** is mu(s), the actor's output.
#
# The first cell is notebook 1's install cell: it does nothing where the project is installed.

# %%
import importlib.util
import sys
from pathlib import Path

from IPython import get_ipython

REPO_URL = "https://github.com/ddpg-notebooks/ddpg-notebooks"  # must equal ddpg_helpers.notebook.REPO_URL
CHECKOUT = Path("/content/ddpg-notebooks")

if importlib.util.find_spec("ddpg_helpers") is None and Path("../ddpg_helpers").is_dir():
    sys.path.insert(0, str(Path("..").resolve()))  # a checkout whose package was not pip-installed
if importlib.util.find_spec("ddpg_helpers") is None:  # a fresh Colab runtime
    get_ipython().system(f"test -d {CHECKOUT} || git clone -q --depth 1 {REPO_URL} {CHECKOUT}")
    get_ipython().system(f"bash {CHECKOUT}/setup_colab.sh")
    sys.path.insert(0, str(CHECKOUT))

import ddpg_helpers  # (fails here if the install above did not work: its output is above)

print("ddpg_helpers from", Path(ddpg_helpers.__file__).parent)

# %%
# %matplotlib inline
import functools
import time

import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from ddpg_helpers import notebook as nb
from ddpg_helpers import surfaces
from ddpg_helpers.training import evaluate, list_snapshots, load_agent, make_env

QUICK = nb.quick_mode()  # DDPG_QUICK=1: fewer snapshots and episodes below (nothing here trains)

# %% [markdown]
# ## Which run
#
# By default: the most recently finished run in the runs folder, or the trained agent the project
# ships (`trained/mcc`) if there is none yet. Set `RUN` to a run folder to look inside another one.
# A run trained with snapshots (`--snapshot-every 10`, as the shipped one was) also shows how the
# nets changed during training; one exported with `--keep-memory` keeps the states it visited.

# %%
RUN = None
USE_DRIVE = False

run = nb.choose_run(RUN, nb.runs_dir(use_drive=USE_DRIVE))
agent, config, payload = load_agent(run, device="cpu")
env = make_env(config.env_id)
snapshots = list_snapshots(run)
print(f"run: {run}" + (" (the trained agent the project ships)" if nb.is_shipped(run) else ""))
print(f"trained for {payload['episode']} episodes, {payload['env_steps']} env steps; "
      f"{len(snapshots)} snapshots saved during training")

# %% [markdown]
# ## One batch instead of 9,261 calls
#
# The blog fills its 21 x 21 x 21 grid by calling the critic once per point. The package builds
# every (state, action) pair as one row of a single batch and calls the critic once. This is the
# real source:

# %%
display(nb.show_source(surfaces.q_values), nb.show_source(surfaces.action_gradient))

# %% [markdown]
# Every array the package returns over a grid is indexed **[position, speed, action]**, so
# `q[i, j, k]` is Q at `(positions[i], speeds[j])` and `actions[k]`. Check the batch against the
# blog's way, one call per point over its whole grid, and time both:

# %%
blog_axis = surfaces.blog_axis()  # -1, -0.9, ..., 1
blog_states = surfaces.grid_states(blog_axis, blog_axis)  # every (position, speed) as a row, position-major


def blog_way():
    """One critic call per grid point, as the blog does."""
    with torch.no_grad():
        return np.array([[agent.critic(torch.tensor(s[None]), torch.tensor([[a]], dtype=torch.float32)).item()
                          for a in blog_axis]
                         for s in blog_states], dtype=np.float32)


def seconds(f, repeat=3):
    """The fastest of a few runs of f()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


one_by_one = blog_way()
batched = surfaces.q_values(agent.critic, blog_states, blog_axis)
print(f"largest difference, one call per point vs one batch: {np.abs(one_by_one - batched).max():.2e} "
      f"(Q itself reaches {np.abs(batched).max():.3g})")
print(f"{one_by_one.size} calls: {seconds(blog_way, 1) * 1e3:.0f} ms; one batch of {batched.size} rows: "
      f"{seconds(lambda: surfaces.q_values(agent.critic, blog_states, blog_axis)) * 1e3:.1f} ms")

# %% [markdown]
# ## First, the blog's view
#
# The same three surfaces on the same grid: -1..1 in steps of 0.1 on every axis.

# %%
blog = surfaces.evaluate_grid(agent.critic, agent.actor, blog_axis, blog_axis, blog_axis)
display(surfaces.blog_figure(blog, position=0.0))

# %% [markdown]
# One thing in this picture is a fact about the environment rather than about the nets. The
# env's observation space says where the car can be, and it is a small corner of the blog's grid:

# %%
obs_low, obs_high = env.observation_space.low, env.observation_space.high
print(f"position bounds {obs_low[0]:.2f}..{obs_high[0]:.2f}, speed bounds {obs_low[1]:.3f}..{obs_high[1]:.3f}")
blog_real = surfaces.inside(blog_states, [obs_low[0], obs_high[0]], [obs_low[1], obs_high[1]])
print(f"blog grid points that are possible states: {blog_real.sum()} of {len(blog_states)}")

# %% [markdown]
# Neither net was trained anywhere near most of that grid. The critic learns only from the
# transitions in the replay memory; the actor's loss, -Q(s, mu(s)), is averaged over states drawn
# from the same memory. Outside those states both nets simply extrapolate, each in its own way:
# they may happen to agree there, but nothing in training makes them.
#
# ## Then, the right view
#
# The same surfaces over the env's real bounds, read from `env.observation_space`, with the states
# the agent actually visited drawn on top: the replay memory's states (green dots; the memory keeps
# only the most recent transitions, so these are the states of the last part of training) and the
# noise-free episode recorded at the end of the run (black line). The 3-D Q surface is sliced at
# position -0.5, near the bottom of the valley where episodes start.

# %%
TOL = 0.2  # greedy and policy "disagree" where they differ by more than this (10% of the action range)
MAX_VISITED = 1000 if QUICK else 2000  # visited states kept, evenly spaced in time

positions, speeds, actions = surfaces.env_axes(env, n_position=41, n_speed=41, n_action=41)
action_step = float(actions[1] - actions[0])
visited = surfaces.visited_states(payload, run, max_states=MAX_VISITED)
assert visited is not None, f"{run} keeps neither its replay memory nor its final episode"
trajectory = None
if (run / "final_episode.npz").exists():
    with np.load(run / "final_episode.npz") as episode_file:
        trajectory = episode_file["observations"]
print(f"{len(visited)} visited states; grid {len(positions)} positions x {len(speeds)} speeds x "
      f"{len(actions)} actions (action step {action_step:.2f})")

box = surfaces.evaluate_grid(agent.critic, agent.actor, positions, speeds, actions)
display(surfaces.blog_figure(box, position=-0.5))
display(surfaces.heatmap_figure(box, visited, trajectory, title=f"episode {payload['episode']}"))

# %% [markdown]
# ## Explore: one position, one snapshot
#
# Left: Q(position, speed, a) as a heat map over speed and action, with the policy mu(s) (black)
# and the greedy action (dashed white) drawn on it, and ticks at the speeds the agent visited near
# this position. Middle: the same map rescaled to 0..1 at each speed, so that the ridge along the
# action shows. Right: Q along the action for a few speeds, shifted so that Q(s, mu(s)) = 0 and
# divided by its range over the action; the dot is mu(s), the star the greedy action. Below:
# greedy, policy and their disagreement over all states for the chosen snapshot (the dotted line is
# the position). Move the sliders to redraw.

# %%
FINAL = "final"


@functools.cache
def nets_at(snapshot: str):
    """(critic, actor, episode) of a snapshot file, or of the run's final checkpoint."""
    snap_agent, _, snap_payload = load_agent(run if snapshot == FINAL else snapshot, device="cpu")
    return snap_agent.critic, snap_agent.actor, snap_payload["episode"]


@functools.cache
def box_at(snapshot: str) -> surfaces.Surfaces:
    critic, actor, _ = nets_at(snapshot)
    return surfaces.evaluate_grid(critic, actor, positions, speeds, actions)


def redraw(position: float, snapshot: str) -> None:
    critic, actor, episode = nets_at(snapshot)
    row = surfaces.evaluate_grid(critic, actor, [position], speeds, actions).at_grid(0)
    cell = (positions[1] - positions[0]) / 2
    near = visited[np.abs(visited[:, 0] - position) <= cell]
    display(surfaces.slice_figure(row, near, title=f"position {position:+.2f}, episode {episode}"))
    grid = box_at(snapshot)
    display(surfaces.heatmap_figure(grid, visited, trajectory, title=f"episode {episode}", position=position))
    print(f"at this position: greedy and policy disagree (by > {TOL}) at "
          f"{np.mean(row.disagreement > TOL):.0%} of speeds; median Q range over the action "
          f"{np.median(row.q_range_over_actions):.3g}")


snapshot_options = [(f"episode {nets_at(str(p))[2]}", str(p)) for p in snapshots]
if not snapshot_options or nets_at(snapshot_options[-1][1])[2] != payload["episode"]:
    snapshot_options.append((f"final (episode {payload['episode']})", FINAL))
LATEST = snapshot_options[-1][1]
position_slider = widgets.FloatSlider(value=-0.5, min=float(positions[0]), max=float(positions[-1]),
                                      step=float(positions[1] - positions[0]), readout_format=".2f",
                                      description="position", continuous_update=False)
snapshot_slider = widgets.SelectionSlider(options=snapshot_options, value=LATEST, description="snapshot",
                                          continuous_update=False)
controls = widgets.interact(redraw, position=position_slider, snapshot=snapshot_slider)

# %% [markdown]
# The same view drawn once without widgets, for copies of this notebook where widgets do not
# render (a static HTML page, GitHub):

# %%
redraw(position=-0.5, snapshot=LATEST)

# %% [markdown]
# ## The answer
#
# The question has four parts. Each cell below computes one part from the nets; the closing note
# at the end quotes the numbers.
#
# ### 1. Where do greedy and policy disagree: in the states the agent visits, or outside them?
#
# Compare four sets of states: the blog's grid; the cells of the real box that hold no visited
# state; the cells that hold at least one; and the visited states themselves.

# %%
visited_here = surfaces.evaluate_states(agent.critic, agent.actor, visited, actions)
cells = surfaces.visited_cells(visited, positions, speeds)
disagree = {
    "blog grid": np.mean(blog.disagreement > TOL),
    "real box, unvisited cells": np.mean(box.disagreement[~cells] > TOL),
    "real box, visited cells": np.mean(box.disagreement[cells] > TOL),
    "visited states": np.mean(visited_here.disagreement > TOL),
}
print(f"share of states where |greedy - policy| > {TOL}:")
for name, share in disagree.items():
    print(f"  {name:28s} {share:6.1%}")
print(f"(visited cells: {cells.sum()} of {cells.size} cells of the real box)")

# %% [markdown]
# ### 2. How flat is Q in the action?
#
# For each visited state, the range of Q over all actions, against the range of Q(s, mu(s)) over
# all visited states. The blog's gamma is 0.999: a return sums about 1/(1 - gamma) = 1000 steps,
# so one expects what a single action changes to be small next to where the car is. The last line
# is what the critic itself says the policy gives up by not taking the greedy action.

# %%
range_over_actions = np.median(visited_here.q_range_over_actions)
range_over_states = np.ptp(visited_here.q_mu)
value_gap = visited_here.value_gap
print(f"median range of Q over the action, per visited state:   {range_over_actions:.4g}")
print(f"range of Q(s, mu(s)) over the visited states:           {range_over_states:.4g}")
print(f"ratio:                                                  {range_over_actions / range_over_states:.2%}")
print(f"Q(s, greedy) - Q(s, mu(s)) over visited states: median {np.median(value_gap):.3g}, "
      f"90th percentile {np.quantile(value_gap, 0.9):.3g}")

# %% [markdown]
# ### 3. Does the actor sit at a local maximum of Q even where the grid's argmax differs?
#
# The actor is trained by gradient ascent on Q along the action (DDPG's actor gradient is
# dQ/da at mu(s), pushed back through the actor). It climbs the slope it stands on and stops at the
# first peak it reaches; the grid's argmax is the highest peak. They can only differ for a
# settled actor where Q(s, .) has more than one peak.
#
# One property of this critic matters here: it is made of linear layers and leaky ReLUs, so for a
# fixed state Q is *piecewise linear* in the action (the straight segments in the right-hand plot
# above). Its maxima sit on kinks or at the ends of the action range, and there dQ/da is not zero:
# it is the slope of whichever segment mu(s) lies on. So "dQ/da near zero" is the wrong test for
# this net. The test used here is whether mu(s) lies within one action-grid step of a local maximum
# of Q(s, .); dQ/da is reported beside it, measured against the mean |slope| of Q along the action
# at the same state. The last line checks the other explanation, that the actor simply lags behind
# a moving critic: where they disagree, does dQ/da at mu(s) point towards the greedy action?

# %%
off = visited_here.disagreement > TOL
at_peak = visited_here.distance_to_local_max <= action_step
several_peaks = visited_here.n_local_maxima > 1
slope_ratio = np.abs(visited_here.dq_da) / np.maximum(visited_here.mean_abs_slope, 1e-12)
towards_greedy = np.sign(visited_here.dq_da) == np.sign(visited_here.greedy - visited_here.mu)
saturated = np.abs(visited_here.mu) > 0.99 * float(env.action_space.high[0])
print(f"visited states where Q(s, .) has more than one peak:          {several_peaks.mean():.1%}")
print(f"visited states with mu(s) at a peak of Q(s, .):               {at_peak.mean():.1%}")
print(f"visited states where greedy and policy disagree:              {off.sum()} of {len(off)}")
if off.any():
    print(f"  of those, mu(s) sits at another (lower) peak:               {at_peak[off].mean():.1%}")
    print(f"  of those, dQ/da at mu(s) points towards the greedy action:  {towards_greedy[off].mean():.1%}")
    print(f"  of those, mu(s) is at the end of its range (tanh saturated): {saturated[off].mean():.1%}")
print(f"median |dQ/da at mu(s)| / mean |dQ/da| along the action:      {np.median(slope_ratio):.2f}")

# %% [markdown]
# A saturated tanh matters for the last number but one: at mu(s) = +-1 the actor's own gradient
# vanishes, so an actor pinned there stays put whatever the critic's slope says.
#
# ### 4. How does the disagreement change during training?
#
# The same measurements for every snapshot saved during training (a few, evenly spaced, under
# `DDPG_QUICK=1`). The visited states are the final ones throughout, so each row asks the same
# question about the same states.
#
# The first snapshot, at episode 0, holds the untrained nets. Their last layers start with tiny
# weights, so the actor outputs almost 0 everywhere while Q is nearly a straight line along the
# action, so its maximum usually sits at one end of the range: the table's first row shows how
# much they disagree before any training.

# %%
chosen = [value for _, value in snapshot_options]  # every snapshot, and the final nets
if QUICK and len(chosen) > 5:
    chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, 5).round().astype(int)]

rows = []
for snap in chosen:
    critic, actor, episode = nets_at(snap)
    on_blog = surfaces.evaluate_grid(critic, actor, blog_axis, blog_axis, blog_axis)
    on_box = box_at(snap)
    on_visited = surfaces.evaluate_states(critic, actor, visited, actions)
    snap_off = on_visited.disagreement > TOL
    rows.append({
        "episode": episode,
        "blog grid": np.mean(on_blog.disagreement > TOL),
        "real box": np.mean(on_box.disagreement > TOL),
        "visited": np.mean(snap_off),
        "several peaks": np.mean(on_visited.n_local_maxima > 1),
        "at a peak": np.mean(on_visited.distance_to_local_max <= action_step),
        "flatness": np.median(on_visited.q_range_over_actions) / max(np.ptp(on_visited.q_mu), 1e-12),
    })
columns = list(rows[0])
print("share of states where greedy and policy disagree; then, over the visited states, the share where")
print("Q(s, .) has several peaks, the share where mu(s) is at a peak, and the flatness ratio of part 2")
print("  ".join(f"{c:>13s}" for c in columns))
for r in rows:
    print("  ".join(f"{r['episode']:13d}" if c == "episode" else f"{r[c]:13.3f}" for c in columns))

# %%
episodes_axis = [r["episode"] for r in rows]
fig = Figure(figsize=(8, 3.8))
ax = fig.add_subplot()
for name, style in [("blog grid", "o-"), ("real box", "s-"), ("visited", "^-"), ("several peaks", "x--")]:
    ax.plot(episodes_axis, [r[name] for r in rows], style, label=name if name != "several peaks"
            else "visited states with several peaks of Q")
ax.set_xlabel("training episode of the snapshot")
ax.set_ylabel(f"share with |greedy - policy| > {TOL}")
ax.set_ylim(-0.02, 1.02)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
display(fig)

# %% [markdown]
# ### Does the disagreement matter for the car?
#
# The most direct test: drive the car with the greedy action (argmax over the same action grid,
# one critic call per step) and with the actor, on the same env seeds.

# %%
n_episodes = 1 if QUICK else 3


def greedy_return(seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total = 0.0
    while True:
        action = actions[surfaces.q_values(agent.critic, obs[None], actions)[0].argmax()]
        obs, reward, terminated, truncated, _ = env.step(np.array([action], dtype=np.float32))
        total += float(reward)
        if terminated or truncated:
            return total


actor_returns = evaluate(agent, env, n_episodes, config.eval_seed)
greedy_returns = [greedy_return(config.eval_seed + i) for i in range(n_episodes)]
print(f"actor  mu(s):        mean return {np.mean(actor_returns):7.2f}  {np.round(actor_returns, 1)}")
print(f"greedy argmax_a Q:   mean return {np.mean(greedy_returns):7.2f}  {np.round(greedy_returns, 1)}")

# %% [markdown]
# ## What the evidence supports
#
# The closing note below is written from the numbers computed above for the run this notebook
# loaded, so it stays true when you point it at another run. What holds for any run, because it
# follows from the env and the nets rather than from training:
#
# - The blog's grid reaches speeds far beyond the env's bounds, so almost all of it is states that
#   cannot occur; no transition in the replay memory, and so no training signal, comes from there.
# - The critic is piecewise linear in the action, so the maxima of Q(s, .) sit on kinks or at the
#   ends of the action range, and an actor that climbs the local slope can settle on a peak that
#   is not the highest.
#
# What these measurements do not show: why the critic grows several peaks, or whether another seed
# or a longer run behaves the same way. The peaks and the maxima are located on a grid of actions
# (the step is printed above), and the visited states are only the replay memory's most recent ones.

# %%
first, last = rows[0], rows[-1]
trained_rows = [r for r in rows if r["episode"] > 0] or rows  # episode 0 holds the untrained nets
lowest = min(trained_rows, key=lambda r: r["visited"])
shares = np.array([[r["visited"], r["several peaks"]] for r in trained_rows])
r_peaks = (float(np.corrcoef(shares.T)[0, 1])
           if len(trained_rows) >= 3 and shares.std(axis=0).min() > 0 else None)
outside = disagree["real box, unvisited cells"]
inside_visited = disagree["visited states"]
note = [
    f"**Closing note for `{run.name}` (episode {payload['episode']}).**",
    "",
    f"- *Where.* Greedy and policy differ by more than {TOL} on {disagree['blog grid']:.0%} of the blog's grid, "
    f"of which only {blog_real.sum()} of {len(blog_states)} points are possible states; on {outside:.0%} of the "
    f"unvisited cells of the real box; and on {inside_visited:.0%} of the visited states.",
    f"- *How flat.* Along the action, Q varies by a median {range_over_actions:.3g} per visited state; across the "
    f"visited states Q(s, mu(s)) spans {range_over_states:.3g}, so the choice of action moves Q by "
    f"{range_over_actions / range_over_states:.2%} of what the choice of state does. By the critic's own "
    f"numbers the policy gives up a median {np.median(value_gap):.3g} (90th percentile "
    f"{np.quantile(value_gap, 0.9):.3g}) by not taking the greedy action.",
    f"- *Local maximum.* Q(s, .) has more than one peak at {several_peaks.mean():.0%} of the visited states."
    + (f" Where greedy and policy disagree there ({off.sum()} states), mu(s) sits at another, lower peak in "
       f"{at_peak[off].mean():.0%} of them, and the actor's gradient points towards the greedy action in "
       f"{towards_greedy[off].mean():.0%}." if off.any() else " They never disagree at the visited states.")
    + f" The size of dQ/da at mu(s) is a median {np.median(slope_ratio):.2f} of the mean slope along the action"
    + (": not near zero, as expected of a critic that is piecewise linear in the action."
       if np.median(slope_ratio) > 0.1 else "."),
    f"- *Over training.* On the visited states, the share where greedy and policy disagree is {first['visited']:.0%} "
    f"for the nets of episode {first['episode']}, at its lowest {lowest['visited']:.0%} at episode "
    f"{lowest['episode']}, and {last['visited']:.0%} at episode {last['episode']} (blog grid: "
    f"{first['blog grid']:.0%}, {lowest['blog grid']:.0%}, {last['blog grid']:.0%}). The share of visited states "
    f"where Q has several peaks is {first['several peaks']:.0%}, {lowest['several peaks']:.0%} and "
    f"{last['several peaks']:.0%} at the same snapshots."
    + (f" Across the {len(trained_rows)} snapshots after episode 0 the two shares correlate with r = {r_peaks:.2f}."
       if r_peaks is not None else ""),
    f"- *Does it matter?* Driving with the greedy action returned {np.mean(greedy_returns):.1f} on average, "
    f"the actor {np.mean(actor_returns):.1f} (over {n_episodes} episode{'s' if n_episodes > 1 else ''}).",
    "",
]
blog_share = disagree["blog grid"]
verdict = []
if blog_share > 2 * inside_visited:
    verdict.append(f"Most of the drift the blog saw lies in states the car never reaches: greedy and policy "
                   f"disagree on {blog_share:.0%} of its grid against {inside_visited:.0%} of the visited states.")
elif blog_share < inside_visited / 2:
    verdict.append(f"In this run the blog's grid disagrees less often than the visited states do ({blog_share:.0%} "
                   f"against {inside_visited:.0%}): where the blog looked does not explain the drift here.")
else:
    verdict.append("In this run the blog's grid and the visited states disagree about equally often.")
if inside_visited < outside / 1.5:
    verdict.append("Within the real bounds, disagreement is also rarer in the visited states than in the cells "
                   "the car never entered.")
elif inside_visited <= outside * 1.5:
    verdict.append("Within the real bounds, visited states and unvisited cells disagree about equally often.")
else:
    verdict.append("Within the real bounds, the visited states disagree more often than the unvisited cells.")
flatness = range_over_actions / range_over_states
verdict.append(f"Where the car does go, Q is nearly flat along the action ({flatness:.2%} of its range over "
               "states), so the greedy action is decided by small differences in Q." if flatness < 0.05 else
               f"Q is not flat along the action in this run ({flatness:.2%} of its range over states).")
if off.any():
    if at_peak[off].mean() >= 0.5:
        verdict.append("Most of the disagreement in visited states is the actor resting on a lower peak of a "
                       "critic with several peaks: a local maximum, which is all that following the gradient "
                       "promises.")
    elif towards_greedy[off].mean() >= 0.5:
        verdict.append("In fewer than half of the disagreeing visited states is the actor at a lower peak; in "
                       "most of them mu(s) lies on a slope that rises towards the greedy action, and dQ/da "
                       "points that way. These nets do not show whether further updates would close that gap.")
    else:
        verdict.append("The disagreeing visited states are neither mostly at a lower peak nor mostly on a slope "
                       "towards the greedy action.")
if last["visited"] > 2 * lowest["visited"] and last["visited"] > TOL / 2:
    verdict.append(f"As the blog saw, greedy and policy drifted apart late in training: on the visited states, "
                   f"from {lowest['visited']:.0%} at episode {lowest['episode']} to {last['visited']:.0%} at "
                   f"episode {last['episode']}.")
    if r_peaks is not None and r_peaks > 0.5:
        verdict.append("That drift went together with a critic growing several peaks along the action "
                       f"(r = {r_peaks:.2f} over the snapshots): a co-occurrence in one run, not a proof of cause.")
verdict.append(f"The returns above come from {n_episodes} episode{'s' if n_episodes > 1 else ''} each, "
               "enough to see a large difference in driving, not to rank two close ones.")
note.append(" ".join(verdict))
display(Markdown("\n".join(note)))
