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

REPO_URL = "https://github.com/ddpg-notebooks/ddpg-notebooks"  # must equal ddpg_helpers.REPO_URL
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
import ipywidgets
import numpy as np
import torch
from IPython.display import Markdown, display

import ddpg_helpers as dh
from ddpg_helpers import evaluate, inside, load_agent, make_env, surfaces

QUICK = dh.quick_mode()  # DDPG_QUICK=1: fewer snapshots and episodes below (nothing here trains)

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

run = dh.choose_run(RUN, dh.runs_dir(use_drive=USE_DRIVE))
agent, config, payload = load_agent(run, device="cpu")
env = make_env(config.env_id)
snapshots = dh.Run(run).snapshots()
print(f"run: {run}" + (" (the trained agent the project ships)" if dh.is_shipped(run) else ""))
print(f"trained for {payload['episode']} episodes, {payload['env_steps']} env steps; "
      f"{len(snapshots)} snapshots saved during training")

# %% [markdown]
# ## One batch instead of 9,261 calls
#
# The blog fills its 21 x 21 x 21 grid by calling the critic once per point. The package builds
# every (state, action) pair as one row of a single batch and calls the critic once. This is the
# real source:

# %%
display(dh.show_source(surfaces.q_values), dh.show_source(surfaces.action_gradient))

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


one_by_one, one_by_one_seconds = inside.timed(blog_way)  # slow enough to run once
batched = surfaces.q_values(agent.critic, blog_states, blog_axis)
batched_seconds = inside.fastest_seconds(lambda: surfaces.q_values(agent.critic, blog_states, blog_axis))
largest, q_size = np.abs(one_by_one - batched).max(), np.abs(batched).max()
print(f"largest difference, one call per point vs one batch: {largest:.2e} (Q itself reaches {q_size:.3g})")
print(f"{one_by_one.size} calls: {one_by_one_seconds * 1e3:.0f} ms; one batch of {batched.size} rows: "
      f"{batched_seconds * 1e3:.1f} ms")
assert largest <= 1e-4 * max(1.0, q_size), "the batch must give the per-point values"

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
final_episode = dh.Run(run).final_episode()
trajectory = final_episode.observations if final_episode is not None else None
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
#
# Each snapshot's nets are loaded once and evaluated on the box once, then kept. The sliders redraw
# images in place rather than through `ipywidgets.interact`, whose captured output can stall a
# notebook run without a browser (nbconvert, papermill): `ddpg_helpers/widgets.py` says why.

# %%
nets = inside.RunNets(run, snapshots, lambda path: load_agent(path, device="cpu"), (positions, speeds, actions))
print(f"snapshots: {', '.join(label for label, _ in nets.options)}")


def view(position: float, snapshot: str) -> list:
    """[Q at this position, greedy and policy over all states, a one-line summary]"""
    return inside.explore(nets, snapshot, position, visited, trajectory, TOL)


position_slider = ipywidgets.FloatSlider(value=-0.5, min=float(positions[0]), max=float(positions[-1]),
                                         step=float(positions[1] - positions[0]), readout_format=".2f",
                                         description="position", continuous_update=False)
snapshot_slider = ipywidgets.SelectionSlider(options=nets.options, value=nets.latest, description="snapshot",
                                             continuous_update=False)
display(dh.slider_view(view, position=position_slider, snapshot=snapshot_slider))

# %% [markdown]
# The same view drawn once without widgets, for copies of this notebook where widgets do not
# render (a static HTML page, GitHub):

# %%
slice_at, heat_maps, summary = view(position=-0.5, snapshot=nets.latest)
display(slice_at, heat_maps)
print(summary)

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
disagree = inside.disagreement_shares(blog, box, visited_here, cells, TOL)
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
flat = inside.Flatness.of(visited_here)
print(f"median range of Q over the action, per visited state:   {flat.range_over_actions:.4g}")
print(f"range of Q(s, mu(s)) over the visited states:           {flat.range_over_states:.4g}")
print(f"ratio:                                                  {flat.ratio:.2%}")
print(f"Q(s, greedy) - Q(s, mu(s)) over visited states: median {flat.gap_median:.3g}, "
      f"90th percentile {flat.gap_p90:.3g}")

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
#
# The measurements, as the package makes them, then their values for this run:

# %%
display(dh.show_source(inside.Peaks.of))
peaks = inside.Peaks.of(visited_here, action_step, TOL, action_high=float(env.action_space.high[0]))
print(peaks.report())

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
chosen = nets.spread(at_most=5 if QUICK else None)  # every snapshot, and the final nets
rows = [inside.snapshot_row(nets, key, blog_axis, visited, TOL) for key in chosen]
print("share of states where greedy and policy disagree; then, over the visited states, the share where")
print("Q(s, .) has several peaks, the share where mu(s) is at a peak, and the flatness ratio of part 2")
print(inside.format_table(rows))
display(inside.training_figure(rows, TOL))

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
# The closing note below is worded by `inside.closing_note` from the numbers computed above for the
# run this notebook loaded, so it stays true when you point it at another run. What holds for any run, because it
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
findings = inside.Findings(run.name, payload["episode"], TOL, disagree, int(blog_real.sum()), len(blog_states),
                           flat, peaks, rows, actor_returns, greedy_returns)
display(Markdown(inside.closing_note(findings)))
