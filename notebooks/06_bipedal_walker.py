# ---
# jupyter:
#   accelerator: GPU
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: accelerator
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
# # 6. BipedalWalker: the blog's DDPG, then TD3
#
# The blog series is called "BipedalWalker on Colaboratory", but its DDPG post only warms up on
# MountainCarContinuous and leaves the walker for later. This notebook takes it on: why the
# walker is harder than the car, the blog's DDPG trained on it, then TD3 (Fujimoto et al. 2018),
# which changes three things in DDPG; the learning curves of both, and an animation of the
# trained walker.
#
# **How long this takes.** A full run of either algorithm here is 300,000 env steps (where the
# TD3 runs measured below reached 300), each followed by two gradient updates of nets with two
# layers of 256 units. On one core of a 2-core CPU, beside another run, TD3 took 44 to 49 minutes
# on one machine and two to two and a half hours on another (BENCHMARKS.md). On Colab choose
# **Runtime > Change runtime type > GPU** before you start, save the runs to Google Drive, and
# resume after a disconnect (both explained below). Or set `TRAIN = False` below and look at runs
# you trained before, or at the walker the project ships (`trained/walker-td3`; the README says
# how it was trained).
# With `DDPG_QUICK=1` set (as in the project's notebook tests) each algorithm trains for a few
# short episodes only, which checks the code, not the learning.
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
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML, display

import ddpg_helpers as dh
from ddpg_helpers import (
    PRESETS,
    Agent,
    Config,
    Critic,
    DDPGError,
    NStepReturns,
    animation,
    compare_curves,
    load_agent,
    make_config,
    make_env,
    run_episode,
)

WALKER = dh.WALKER_ID  # "BipedalWalker-v3"
QUICK = dh.quick_mode()

# %% [markdown]
# ## Why the walker is harder than the car
#
# - **Bigger inputs and outputs.** The car's state is two numbers (position, speed) and its
#   action one force. The walker sees 24 numbers (hull angle and angular speed, horizontal and
#   vertical speed, the angle and speed of four joints, two ground contacts, ten lidar distances)
#   and sets four motor speeds, both hips and both knees, which must work together: a critic over
#   28 inputs has far more room to be wrong than one over 3.
# - **Falling.** If the hull touches the ground the episode ends with -100. Exploration is
#   dangerous: noisy actions that try something new mostly end in a fall.
# - **A long task with a tempting shortcut.** The reward pays for every bit of forward progress
#   (about 364 in all for reaching the far end of the course), minus a little for each unit of
#   motor torque and for tilting the hull. Standing still with locked legs costs little and never
#   falls, so "do nothing" is a local optimum, as it was in MountainCar; a shuffling, kneeling
#   gait is another.
# - **Solved** means a mean of 300 over 100 consecutive episodes, within 1,600 steps each.
#
# The numbers, read from the two environments:

# %%
rows = []
for env_id in ("MountainCarContinuous-v0", WALKER):
    env = make_env(env_id)
    rows.append((env_id, env.observation_space.shape[0], env.action_space.shape[0], env.spec.max_episode_steps,
                 env.spec.reward_threshold))
    env.close()
print(f"{'':26s} {'state':>6s} {'action':>7s} {'time limit':>11s} {'solved at':>10s}")
for env_id, n_obs, n_act, limit, solved in rows:
    print(f"{env_id:26s} {n_obs:6d} {n_act:7d} {limit:11d} {solved:10g}")

env = make_env(WALKER, render_mode="rgb_array")
obs, _ = env.reset(seed=0)
frame = env.render()
env.close()
plt.figure(figsize=(6, 4))
plt.imshow(frame)
plt.axis("off")
plt.title(f"{WALKER}: walk to the far end without falling")
plt.show()

# %% [markdown]
# What exploration alone does: a few episodes of uniformly random actions, the same kind of
# actions the preset below takes for its first 10,000 steps to fill the replay memory.

# %%
env = make_env(WALKER)
time_limit = env.spec.max_episode_steps
for seed in range(5):
    env.reset(seed=seed)
    env.action_space.seed(seed)
    rewards = []
    while True:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(reward)
        if terminated or truncated:
            break
    outcome = dh.walker_outcome(np.array(rewards), time_limit)
    print(f"random actions, seed {seed}: return {sum(rewards):8.1f} after {len(rewards):4d} steps ({outcome})")
env.close()

# %% [markdown]
# ## The settings: one tuned preset for both algorithms
#
# The blog's values (a 10,000-transition memory, gamma 0.999, tau 0.001, a noise that starts
# large and decays over 30 episodes) were chosen for a two-number state and one reward at the
# flag. For the walker the package has a preset, `PRESETS["BipedalWalker-v3"]`, taken from the
# tuned TD3 settings of the RL Baselines3 Zoo: a 200,000-transition memory, gamma 0.98, 10,000
# random warm-up steps, a small constant Gaussian noise. Its nets (two layers of 256 units) and
# batch (128) are smaller than the Zoo's (400 and 300 units, 256): on a CPU the loop runs about
# 2.2 times the env steps/s (BENCHMARKS.md), and on a CPU the updates are nearly all of the training time.
# Four settings are not the Zoo's: `actor_preact_l2`, a small penalty on the actor explained below,
# without which the walkers trained here stopped improving short of 300; `n_step` 3, the
# 3-step returns explained below, with which they walked as well in about half the env steps; and
# `updates_per_step` 2 with `critic_layer_norm`, also below, with which two seeds that the 3-step
# preset left short of 300 (one of them never walked) kept walkers at 300.
#
# "The blog's DDPG" here means the blog's algorithm with these settings. Both runs below start
# from `make_config(WALKER, ...)` and differ only in `algo`, so any difference between their
# curves comes from TD3's three changes. For scale, the RL Baselines3 Zoo reports, for its own
# tuned runs after 1M steps, 197 +- 142 for DDPG (with many falls) and 306 +- 57 for TD3.

# %%
blog = Config()
print(f"{'field':22s} {'the blog (MountainCar)':>24s} {'BipedalWalker preset':>24s}")
for name, value in PRESETS[WALKER].items():
    print(f"{name:22s} {str(getattr(blog, name)):>24s} {str(value):>24s}")

STEPS = 300_000  # env steps per run: the TD3 runs in BENCHMARKS.md had their walkers at 300 by then
ddpg_config = dh.short_budget(make_config(WALKER, algo="ddpg", seed=0, total_steps=STEPS))
td3_config = dh.short_budget(make_config(WALKER, algo="td3", seed=0, total_steps=STEPS))
print(f"\neach run: {td3_config.total_steps:,} env steps (or {td3_config.episodes} episodes, if sooner), "
      f"{td3_config.warmup_steps} random warm-up steps, "
      f"at most {td3_config.max_episode_steps or time_limit} steps per episode"
      + (" (DDPG_QUICK=1: a tiny run that checks the code, not the learning)" if QUICK else ""))

# %% [markdown]
# ## Where the runs are saved, and how to resume
#
# Each run writes its folder as notebook 3's did (checkpoint, best nets, summary, metrics, reward
# curve, ...), named like the command line's: `BipedalWalker-v3-ddpg-s0`
# and `BipedalWalker-v3-td3-s0`. The checkpoint is rewritten every 10 episodes, atomically (a new
# file is written, then renamed over the old one), with the nets, the optimisers, the replay
# memory, the history and the random states: a resumed run continues exactly where the checkpoint
# left it, and a disconnect costs at most the episodes since the last one.
#
# A walker's evaluations go up and down (one fall in ten episodes costs 30 points of the mean),
# so the run also keeps the nets of its best evaluation so far, next to the checkpoint: they are
# chosen on the evaluation seeds (10000 and up), and `load_agent(run, best=True)`,
# `dh.record_walk(run, best=True)` or `python -m ddpg_helpers evaluate RUN --best` play them.
# Ten episodes can flatter nets that fall one time in twenty, so the preset's `keep_episodes=100`
# plays nets that beat the kept ones 100 more episodes (env seeds 12000 and up; for the shipped
# walker 16-23 s on an idle CPU core, BENCHMARKS.md), and keeps them only if they win there
# too. In one run (BENCHMARKS.md) nets at 303.0 on their 10 episodes scored 272.6 on the 100 and
# were not kept; on env seeds 0-99 they fell 14 times, the nets kept instead not once.
#
# A Colab runtime and its disk are deleted when it disconnects, so for a long run set
# `SAVE_TO_DRIVE = True`: the runs then go to your Google Drive (folder `ddpg-runs`; Colab asks
# once for permission). Nothing is mounted unless you ask.
#
# - `TRAIN = False` skips the two training cells; the rest of the notebook then shows the latest
#   finished runs in the runs folder, and the shipped walker where the checkout has one.
# - `RESUME = True` (the default) continues the checkpoints in the run folders: after a
#   disconnect, run the notebook again from the top (with `SAVE_TO_DRIVE` as before). A run that
#   already finished is shown as it is, not trained again; raising `STEPS` above trains it
#   further. A run folder trained with other settings is refused, not mixed in.
# - `RESUME = False` starts both runs over and **replaces** what their folders hold.
#
# The same from a terminal (or a Colab cell starting with `!`) is the command line's `--resume`,
# printed below for these run folders.

# %%
SAVE_TO_DRIVE = False
TRAIN = True
RESUME = not QUICK  # True; a quick check (DDPG_QUICK=1) always trains afresh

runs = dh.runs_dir(use_drive=SAVE_TO_DRIVE)
ddpg_out = runs / dh.run_name(ddpg_config)
td3_out = runs / dh.run_name(td3_config)
print("DDPG run folder:", ddpg_out)
print("TD3 run folder: ", td3_out)
for out in (ddpg_out, td3_out):
    print(f"  resume from a terminal: python -m ddpg_helpers train --resume {out}")
if torch.cuda.is_available():
    print(dh.device_report())
else:
    print("No GPU: a full run takes from under an hour to 2.5 hours per algorithm on a CPU core. "
          "On Colab: Runtime > Change runtime type > GPU > Save, then run the notebook again from the top.")

# %% [markdown]
# ## DDPG on the walker
#
# The progress bar counts env steps up to `STEPS` and shows the episode, the last training
# episode's return (with noise) and the latest noise-free evaluation (every 25 episodes, 10
# episodes each); the plot under it is redrawn every 10 episodes. Early returns near -100 are
# falls. Do not expect a steady climb: DDPG's critic overestimates the value of the actions its
# actor picks, the actor exploits those errors, and the walker can lose a gait it had found.
#
# Measured with these settings on a CPU (seed 0, BENCHMARKS.md): over 300,000 env steps DDPG's
# evaluations went from 249 up to 261, down to 19 and back to 266, and ended at 57; none reached
# 300. The nets it kept walked past 300 in 80 of 100 episodes and fell in the other 20. Seeds 1
# to 4 reached no 300 either, and their kept nets fell in 14, 44, 31 and 21 of 100.

# %%
if TRAIN:
    ddpg_plot = dh.LiveRewardPlot(every=10, title=f"DDPG on {WALKER}")
    ddpg_result = dh.train_or_resume(ddpg_config, ddpg_out, resume=RESUME, callback=ddpg_plot)
    print(f"DDPG: {ddpg_result.summary['episodes']} episodes, {ddpg_result.summary['env_steps']} env steps, "
          f"{ddpg_result.summary['wall_seconds']:.0f} s on {ddpg_result.summary['device']}")
else:
    print("TRAIN is False: no DDPG training")

# %% [markdown]
# ## What TD3 changes: three things, in one screen
#
# This is the real source of the agent both runs use (`ddpg_helpers/agent.py`): `target` computes
# the critic's learning target y, `_actor_moves` says whether this step moves the actor, and `update`
# does one gradient step. The comments `TD3 change 1` to `3` mark the lines that use `self.td3`;
# without them it is the blog's DDPG.

# %%
display(dh.show_source(Agent.target), dh.show_source(Agent._actor_moves), dh.show_source(Agent.update))
print("and in the critic's step (Agent._update_step), the second critic learns the same target:")
print("\n".join(line for line in inspect.getsource(Agent._update_step).splitlines() if "critic2" in line))

# %% [markdown]
# 1. **Target policy smoothing.** The target action mu'(s') gets a little clipped noise, so y is an
#    average over nearby actions. A critic with a narrow, wrong peak cannot then pull the target
#    up: the actor cannot exploit an error that holds at one action only.
# 2. **Twin critics, the smaller estimate.** Two critics learn the same target, and y bootstraps
#    from the minimum of their two target copies. DDPG's actor climbs to wherever its critic is
#    too optimistic, and the TD target then copies that optimism back into the critic; the
#    minimum of two independently wrong critics cuts it down.
# 3. **Delayed actor and targets.** The actor and all target nets move once per `policy_delay`
#    (2) critic updates, so the actor follows a critic that has had time to settle.
#
# Everything else (memory, nets, noise, the training loop, checkpoints) is shared with DDPG.

# %% [markdown]
# ## One change more, for the walker: n-step returns
#
# The target above takes one reward and then trusts the critic: y = r_t + gamma Q'(s_t+1, a').
# The walker earns its reward in small pieces, a little for each bit of forward motion of the
# hull, and what a leg does now pays off over the next steps of the stride. With one-step
# targets that payoff reaches the state that began the stride only through the critic, one
# bootstrap at a time, each from a critic that is still wrong. An n-step target takes the next
# n rewards as they were earned and bootstraps only after them:
#
# y = r_t + gamma r_t+1 + ... + gamma^(n-1) r_t+n-1 + gamma^n Q'(s_t+n, a')
#
# The memory stores each step once its n rewards are known (`NStepReturns`, below; `steps` is
# the n of each stored row, and `Agent.target` above discounts the bootstrap by gamma^steps). At
# the episode's end the last steps keep what is left, and a fall still stops the bootstrap. The
# price: the memory's rewards were earned by older, noisier versions of the actor, so for the
# actor of today the sum is slightly off; a small n with the preset's small noise keeps that
# bias small (Rainbow uses n = 3, D4PG n = 5). `--n-step 1` is the one-step target of DDPG and TD3.

# %%
display(dh.show_source(NStepReturns))
n_step = NStepReturns(3, gamma=0.98)
for t, reward in enumerate([1.0, 2.0, 3.0, 4.0]):  # a 4-step episode, its last step a fall
    for obs, _, ret, next_obs, terminated, steps in n_step.add(f"s{t}", "a", reward, f"s{t + 1}", t == 3, t == 3):
        print(f"{obs}: reward {ret:6.3f} over {steps} step(s), then {'no bootstrap' if terminated else next_obs}")

# %% [markdown]
# What it changed on the walker, seed by seed: the noise-free evaluations (10 episodes each) of
# the preset with one-step targets (the runs in `docs/walker.md`) and with `n_step` 3, both
# with one update per env step, before the next section's changes joined the preset
# (`python benchmarks/walker_seeds.py --seeds 0 1 2 --extra "--n-step 3 --updates-per-step 1
# --no-critic-layer-norm"` trains the 3-step runs' recipe today, BENCHMARKS.md):
#
# | seed | one-step (`--n-step 1`) | 3-step (`--n-step 3`) |
# |---:|---|---|
# | 0 | 174.6 at 284k, 244.4 at 343k, 263.5 at 428k | 237.4 at 118k, 263.0 at 175k, 270.5 at 300k |
# | 1 | 221.7 at 216k, 290.8 at 354k, 300.5 at 678k | 228.2 at 115k, 278.0 at 183k, 300.8 at 318k (past 300k) |
# | 2 | 226.3 at 315k, 270.3 at 386k | 217.9 at 106k, 274.8 at 184k, 284.8 at 268k |
#
# The same levels in about half the env steps, on all three seeds. Not every problem goes: seed 0
# settled near 270, the nets seeds 1 and 2 kept fell in 3 of 100 episodes, and seed 4 never learned
# to walk in 300k env steps (its best evaluation: -10.3). More is not better:
# with n = 5, seeds 0 and 2 were still below 0 at 126k-129k env steps, where the 3-step runs
# were past 200.

# %% [markdown]
# ## Two changes more: two updates per env step, and a critic that stays steady under them
#
# Each env step adds one transition to a memory of 200,000, and the preset so far learns from it
# with one update. Two updates per step (`updates_per_step=2`) learn twice as much from the same
# experience, but a critic trained harder on the same data drifts: its values grow on states it
# has seen often, and the actor climbs after the error (REDQ and DroQ, 2021, measured this on
# MuJoCo tasks). DroQ's remedy is to normalise each hidden layer of the critic (LayerNorm: each
# layer's outputs scaled to mean 0 and spread 1 over its units, then a learned scale and shift),
# so no layer's features can grow without bound. These are the critic's lines that use it
# (`critic_layer_norm=True`; switched off, the norms are `Identity` and the critic is the blog's):

# %%
for method in (Critic.__init__, Critic.forward):
    print("\n".join(line for line in inspect.getsource(method).splitlines() if "norm" in line))
print(Critic(24, 4, 256, (256,), layer_norm=True).norms)

# %% [markdown]
# With both (the preset now), against the preset before them, seed by seed: the kept nets over 100
# noise-free episodes on env seeds 0-99, which no run evaluates on (`benchmarks/walker_seeds.py`,
# BENCHMARKS.md; 300k env steps each):
#
# | seed | 3-step preset | + LayerNorm critic, 2 updates per step |
# |---:|---|---|
# | 0 | 270.5, no falls; no evaluation at 300 | 301.7, no falls; first evaluation at 300 after 294,665 steps |
# | 1 | 290.0, 3 falls; no evaluation at 300 | 317.0, no falls; first evaluation at 300 after 174,003 steps |
# | 2 | 277.8, 3 falls; no evaluation at 300 | 298.5, no falls; first evaluation at 300 after 300,000 steps |
# | 3 | 288.7, no falls; no evaluation at 300 | 303.5, no falls; first evaluation at 300 after 202,685 steps |
# | 4 | -6.5: it never learned to walk | 300.3, no falls; first evaluation at 300 after 235,737 steps |
#
# Four seeds of five reach the env's mark of 300, none falls, and the median seed's first
# evaluation at 300 comes after 235,737 env steps (Fujimoto's TD3, quoted in BENCHMARKS.md,
# first reached 300 after 800k on one seed). Seed 2 stops at 298.5: its run kept the nets of
# 220,585 steps, whose longer look beat that of its last nets, which fall now and then.
#
# Those runs trained before each reset made a new Box2D world (docs/walker.md). Trained again
# since, on a CPU: seeds 1 to 4 at 313.5, 314.6, 302.7 (4 falls) and 322.8 (the walker the project
# ships now), the median first
# evaluation at 300 after 148,467 env steps, and seed 0, the seed this notebook trains, at 268.7:
# it stood still until about 190,000 env steps before it began to walk. Trained on to 500,000 env
# steps, the same seed first reached 300 at 485,211, and its kept nets score 303.6 with one fall
# in 100 (BENCHMARKS.md). On a GPU the same seed
# draws other random numbers, so it trains another run.
#
# An env step now costs two updates, so on a CPU a 300k-step run takes about twice as long. Per
# second of training the two recipes were level on seed 0 until the 3-step one stopped improving
# (268.0 after 2,852 s against 267.9 after 2,575 s); it then stayed near 270, and the new one went
# on to 302.5. `--updates-per-step 1 --no-critic-layer-norm` trains as before.

# %%
if TRAIN:
    td3_plot = dh.LiveRewardPlot(every=10, title=f"TD3 on {WALKER}")
    td3_result = dh.train_or_resume(td3_config, td3_out, resume=RESUME, callback=td3_plot)
    print(f"TD3: {td3_result.summary['episodes']} episodes, {td3_result.summary['env_steps']} env steps, "
          f"{td3_result.summary['wall_seconds']:.0f} s on {td3_result.summary['device']}")
else:
    print("TRAIN is False: no TD3 training")

# %% [markdown]
# ## Which runs the rest shows
#
# From here on the cells read run folders, so they also work after a kernel restart or without
# training: for each algorithm the latest finished run in the runs folder (the ones just trained,
# if `TRAIN` was on), and the walker the project ships (`trained/walker-td3`) where the checkout
# has it. Set `RUN` to a run folder to animate that one instead.

# %%
RUN = None

ddpg_run = dh.latest_run(runs, WALKER, "ddpg")
td3_run = dh.latest_run(runs, WALKER, "td3")
shipped = dh.find_shipped(dh.SHIPPED_WALKER)
shown = {"DDPG": ddpg_run, "TD3": td3_run, "TD3 (shipped)": shipped}
shown = {label: run for label, run in shown.items() if run is not None}
for label, run in shown.items():
    print(f"{label:14s} {run}")
if not shown:
    raise DDPGError(f"no finished walker run in {runs} and no shipped walker ({dh.SHIPPED_WALKER}) in this "
                    "checkout: set TRAIN = True above")

# %% [markdown]
# ## The learning curves
#
# Thick lines: the noise-free evaluations (mean, with a band of one standard deviation). Thin
# lines: the moving average of the training episodes' returns, with exploration noise. The
# dashed line is the env's "solved" threshold. The table gives each run's last evaluation, as its
# summary records it.

# %%
histories = {label: dh.load_history(run) for label, run in shown.items()}
fig, ax = plt.subplots(figsize=(9, 4.5))
compare_curves(histories, ax, threshold=rows[1][4], title=f"DDPG and TD3 on {WALKER}")
plt.show()

print(f"{'':14s} {'episodes':>8s} {'env steps':>10s} {'hours':>6s} {'device':>7s} {'last evaluation':>22s} "
      f"{'kept nets':>10s} solved")
for label, run in shown.items():
    s = dh.load_summary(run)
    evaluation = f"{s['final_eval_mean']:.1f} +- {s['final_eval_std']:.1f} ({s['eval_episodes']} ep)"
    kept = f"{s['best_eval_mean']:.1f}" if s.get("best_eval_mean") is not None else "-"  # older runs kept none
    print(f"{label:14s} {s['episodes']:8d} {s['env_steps']:10d} {s['wall_seconds'] / 3600:6.2f} {s['device']:>7s} "
          f"{evaluation:>22s} {kept:>10s} {s['solved']}")

# %% [markdown]
# ## What each walker does
#
# Five noise-free episodes of each run, on env seeds 0 to 4, and how each ended. The project's
# own measure of a walker is 100 such episodes:
# `python -m ddpg_helpers evaluate RUN --episodes 100 --seed 0`.

# %%
EPISODES = 5

agents, played = {}, {}
for label, run in shown.items():
    agent, config, _ = load_agent(run)
    env = make_env(config.env_id)
    limit = config.max_episode_steps or env.spec.max_episode_steps
    episodes = [run_episode(agent, env, seed, max_steps=config.max_episode_steps) for seed in range(EPISODES)]
    env.close()
    agents[label], played[label] = (agent, config), episodes
    returns = [e.total_return for e in episodes]
    outcomes = [dh.walker_outcome(e.rewards, limit) for e in episodes]
    print(f"{label}: mean {np.mean(returns):.1f} +- {np.std(returns):.1f}; "
          + ", ".join(f"{o} {outcomes.count(o)}" for o in ("reached the end", "time limit", "fell") if o in outcomes))
    for seed, (e, o) in enumerate(zip(episodes, outcomes)):
        print(f"    seed {seed}: {e.total_return:7.1f} in {len(e.actions):4d} steps ({o}), "
              f"{dh.walker_torque_cost(e.actions):5.1f} of it paid for torque")

# %% [markdown]
# ## Why a walker stops getting better: a saturated actor
#
# Without `actor_preact_l2`, a TD3 walker that reaches the far end can stay a little under 300
# for hundreds of thousands of steps (`docs/walker.md` has such a run: 278 after 1M steps). The reason
# is in the actor's last line, `tanh(z)`. The walker pays for torque, 0.00035 * 80 * |a| per
# joint per step (`dh.walker_torque_cost`, printed above for each episode): a walk to the far end
# earns about 364, and its score is what the torque leaves of that, so less torque, or fewer
# steps, means a higher return. But the actor learns only through the slope of tanh, and where
# |z| is large that slope is zero: in float32, `tanh(z)` is exactly 1 past |z| = 9.1. There the
# critic's gradient dQ/da never reaches the actor's weights, and the actor is frozen at full
# torque. The cell measures z on the five episodes above.

# %%
for label, (agent, config) in agents.items():
    obs = torch.as_tensor(np.concatenate([e.observations for e in played[label]]), dtype=torch.float32)
    actions = np.concatenate([e.actions for e in played[label]])
    with torch.no_grad():
        z = agent.actor.preactivation(obs.to(agent.device)).abs().cpu().numpy()
    print(f"{label}: median |z| {np.median(z):.1f}, {np.mean(z > 9.1):.0%} of its outputs where tanh is flat, "
          f"mean |action| {np.abs(actions).mean():.2f}  (actor_preact_l2 = {config.actor_preact_l2})")

# %% [markdown]
# `actor_preact_l2` (`--actor-preact-l2`) adds `actor_preact_l2 * mean(z**2)` to the actor's loss:
# a pull towards the range where tanh still has a slope, weak enough that the critic's gradient
# still wins where it asks for a large action. With 1e-3, the size of the critic's measured
# dQ/da on a walking policy (about 0.05) balances it near |z| = 2.5, or |a| = 0.99.
# `--init-from RUN` starts a new run from another run's nets (fresh optimisers and memory), so a
# saturated walker can be trained on with the penalty instead of from scratch. The preset has
# 1e-3, as the shipped walker had; to see a saturated actor in the cell above, train a run with
# `actor_preact_l2=0` in `make_config` (or `--actor-preact-l2 0`).

# %% [markdown]
# ## Watching the walker
#
# The TD3 walker (the latest trained one, else the shipped one; or `RUN`), noise-free, on env
# seed 0. `dh.record_walk` plays the episode once without pictures to learn its length, then
# again rendering only every few frames, about 200 in all: a 1,600-step episode at full size
# would be over a gigabyte of pixels and far past matplotlib's embed limit. `animation.jshtml`
# shrinks the frames and raises if any would be cut (notebook 4 explains the limit).

# %%
show_run = Path(RUN) if RUN is not None else td3_run or shipped or ddpg_run
walk = dh.record_walk(show_run, seed=0, max_frames=200)
episode, stride, fps = walk.episode, walk.stride, walk.fps
print(f"{show_run}" + (" (the walker the project ships)" if dh.is_shipped(show_run, dh.SHIPPED_WALKER) else ""))
print(f"return {episode.total_return:.1f} in {len(episode.actions)} steps ({walk.outcome}); "
      f"{len(episode.frames)} frames")

html = animation.jshtml(episode.frames, interval_ms=1000 / fps * stride)  # real time
print(f"{animation.embedded_frames(html)} frames, {len(html) / 2**20:.2f} MB of HTML")
assert len(html) < 20 * 2**20  # below matplotlib's default limit
HTML(html)

# %% [markdown]
# The same frames as a GIF file, to keep or share. It goes into the runs folder, next to the run
# folders (never into `trained/`, which belongs to the project).

# %%
gif = runs / f"{show_run.name}.gif"
animation.save_gif(episode.frames, gif, fps=max(1, round(fps / stride)))
print(f"{gif} ({gif.stat().st_size / 1024:.0f} KiB)")
assert gif.stat().st_size > 0

# %% [markdown]
# ## And the blog's DDPG on the walker
#
# The latest DDPG run, on the same env seed: set its gait (or its fall) beside TD3's. There is
# none to show until one is trained above; a shipped walker is a TD3 one.

# %%
if ddpg_run is not None and ddpg_run != show_run:
    ddpg_walk = dh.record_walk(ddpg_run, seed=0, max_frames=200)
    print(f"{ddpg_run}: return {ddpg_walk.episode.total_return:.1f} in {len(ddpg_walk.episode.actions)} steps "
          f"({ddpg_walk.outcome})")
    display(HTML(animation.jshtml(ddpg_walk.episode.frames, interval_ms=1000 / ddpg_walk.fps * ddpg_walk.stride)))
else:
    print("no DDPG walker to show: train one above (TRAIN = True)")

# %% [markdown]
# ## Going further
#
# - Train longer: raise `STEPS` and run the notebook again (the runs go on from their
#   checkpoints), or `python -m ddpg_helpers train --resume RUN --total-steps 500000`. The
#   preset's seed 0 first reached 300 at 485,211 env steps (BENCHMARKS.md).
# - Stop at "solved": `python -m ddpg_helpers train --env BipedalWalker-v3 --algo td3
#   --target-return 300` stops at the first noise-free evaluation whose mean reaches 300 once 100
#   fresh episodes (`--confirm-episodes`) confirm it, so one lucky evaluation cannot stop the run.
# - Other seeds: RL results vary a lot from seed to seed; `--seed 1`, `--seed 2`, ... give a
#   fairer comparison of DDPG and TD3 than one run each.
