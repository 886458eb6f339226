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
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. BipedalWalker: your own walker, then what DDPG, TD3 and TQC change
#
# The blog's DDPG post warms up on MountainCarContinuous and leaves the walker for later. Here you
# train a walker of your own until it is **solved** (a noise-free evaluation at 300, confirmed on 100
# fresh episodes, as gymnasium defines solved) and watch it learn; then why the walker is harder,
# the settings that make it learn (each with its measurement), and what TD3 (Fujimoto et al. 2018)
# and TQC (Kuznetsov et al. 2020) change in the blog's DDPG.
#
# **How long this takes.** Top to bottom at full settings on one core of a 2-core CPU, beside another
# run: 22.0 minutes, 21.4 of them in the training cell (seed 0, solved after 84,871 env steps). Another
# seed may take longer: the preset's five took a median of 26.3 minutes to a confirmed solve, at most
# 47.9 (`benchmarks/results/walker-solve.csv`, BENCHMARKS.md). Timed with `python benchmarks/notebook_time.py
# notebooks/06_bipedal_walker.ipynb --out executed.ipynb` (DDPG_QUICK unset).
# On Colab, **Runtime > Change runtime type > GPU** (GPU speed not yet measured); save the run to Google
# Drive (below) to keep it. `DDPG_QUICK=1` (as in the tests) trains a few short episodes, checking the
# code, not the learning. The first cell installs what is missing, as in notebook 1.

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

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML, display

import ddpg_helpers as dh
from ddpg_helpers import PRESETS, Agent, Config, Critic, NStepReturns, animation, make_config, make_env, seeds

WALKER = dh.WALKER_ID  # "BipedalWalker-v3"
QUICK = dh.quick_mode()

# %% [markdown]
# ## Your walker, trained until solved
#
# `make_config(WALKER)` is the project's walker preset (TQC; its settings and their measurements
# below). It stops at its solve, or at its cap of 300,000 env steps. Each evaluation plays 10
# noise-free episodes every 25 training episodes; one at 300 or more is confirmed on 100 fresh ones.
# Nets that beat the kept ones are judged on 100 more before they are kept, and a snapshot of the nets is
# saved at each evaluation, for the slider below. From a terminal, the same run: `python -m ddpg_helpers
# train --env BipedalWalker-v3 --seed 0 --snapshot-every 25`. `SAVE_TO_DRIVE = True` keeps the run on
# Google Drive (Colab deletes a runtime's disk); `RESUME = True` goes on from its checkpoint after a
# disconnect (run the notebook again from the top; a finished run is shown, not trained again).

# %%
SEED = 0
SAVE_TO_DRIVE = False
RESUME = not QUICK  # a quick check (DDPG_QUICK=1) always trains afresh

config = dh.short_budget(make_config(WALKER, seed=SEED, snapshot_every=25))
if QUICK:  # no evaluations in a quick check: a snapshot after each episode instead
    config = dh.Config(**{**config.to_dict(), "snapshot_every": 1})
runs = dh.runs_dir(use_drive=SAVE_TO_DRIVE)
mine = runs / dh.run_name(config)
print(f"your walker: {mine}; cap {config.total_steps:,} env steps; stops when solved: {config.stop_when_solved}")
print(dh.device_report() if torch.cuda.is_available() else "no GPU: trained on one CPU core")

# %%
plot = dh.LiveRewardPlot(every=10, title=f"your TQC walker on {WALKER}")
s = dh.train_or_resume(config, mine, resume=RESUME, callback=plot).summary
if s["solved"]:
    print(f"solved after {s['steps_to_solve']:,} env steps and {s['seconds_to_solve'] / 60:.1f} minutes "
          f"(confirmed at {s['confirm_mean']:.1f} over {s['confirm_episodes']} fresh episodes)")
else:
    print(f"not solved in {s['env_steps']:,} env steps ({s['wall_seconds'] / 60:.1f} minutes): train on with "
          f"python -m ddpg_helpers train --resume {mine} --total-steps 500000")

# %% [markdown]
# ## Watch it learn
#
# Your walker at each evaluation: the first 480 steps of a noise-free episode (env seed 0), in six
# pictures, from the snapshot of its nets, and that evaluation's score. Before it has a run with
# snapshots, the slider shows the walker this cell's training gave on seed 0 (`trained/walker-notebook`).

# %%
watched = mine if dh.Run(mine).snapshots() else dh.find_shipped(dh.SHIPPED_LEARNING)
stages = dh.learning_stages(watched or mine)  # neither with snapshots: says so
strips = {}


def view(snapshot: dh.Stage) -> list:
    if snapshot.path not in strips:  # each snapshot played once, then kept
        strips[snapshot.path] = dh.gait_strip(snapshot.path, seed=0)
    return [strips[snapshot.path], f"{watched.name}, {snapshot.label}"]


slider = ipywidgets.SelectionSlider(options=[(f"episode {s.episode}", s) for s in stages], value=stages[-1],
                                    description="snapshot")
display(dh.slider_view(view, snapshot=slider))

# %% [markdown]
# ## Why the walker is harder than the car
#
# - **Bigger inputs and outputs.** The car sees two numbers and sets one force. The walker sees 24 (hull
#   angle and speeds, four joints' angles and speeds, two ground contacts, ten lidar distances) and sets
#   four motor speeds that must work together: a critic over 28 inputs can be wrong in far more ways.
# - **Falling.** A hull on the ground ends the episode with -100: noisy actions mostly end in a fall.
# - **A tempting shortcut.** Reaching the far end pays about 364, less a little for motor torque and
#   for tilting the hull. Standing still costs little and never falls: a local optimum.
# - **Solved** means a mean of 300 over 100 consecutive episodes, within 1,600 steps each.
#
# The numbers, read from the two environments; then a few episodes of uniformly random actions, as
# the preset takes for its first 10,000 steps to fill the replay memory:

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
env.reset(seed=0)
plt.figure(figsize=(6, 4)).gca().set_axis_off()
plt.imshow(env.render())
plt.title(f"{WALKER}: walk to the far end without falling")
plt.show()
env.close()

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
# ## The preset, and the measurement behind each change
#
# The blog's values (a 10,000-transition memory, gamma 0.999, tau 0.001, a noise that decays over 30
# episodes) suit a two-number state and one reward at the flag. `PRESETS[WALKER]` starts from the RL
# Baselines3 Zoo's tuned TD3 (a 200,000-transition memory, gamma 0.98, 10,000 random warm-up steps, a
# small constant Gaussian noise; the Zoo reports 306 +- 57 after 1M steps, and 197 +- 142 for its
# DDPG) and changes these, each for one measurement on a 2-core CPU (their story: `docs/walker.md`):
#
# | setting (instead of) | the measurement |
# |---|---|
# | [256, 256] nets, batch 128 (the Zoo's [400, 300], 256) | 2.21x the env steps/s (BENCHMARKS.md) |
# | `actor_preact_l2` 1e-3 (no penalty) | without it, a run froze at 278 after 1M env steps (below) |
# | `critic_layer_norm` (none) | TD3, 2 updates per step, seeds 0-4: 4 of 5 at 300, against 0 of 5 |
# | `keep_episodes` 100 (the best of 10) | nets at 303.0 on 10 episodes scored 272.6 on 100, 14 falls |
# | `algo` tqc, one update per step (TD3, two) | seeds 0-4, 3-step: 5 of 5 at 322.8 or more (TD3: 4 of 5 at 300) |
# | `tau` 0.02, one-step targets (0.005, 3-step) | TQC, seeds 0-4: the median seed at 300 by 93,389 steps (120,766) |
# | `stop_when_solved`, a 300k cap (a fixed 300k) | seeds 0-4: all confirmed solved, a median 26.3 minutes, 109,352 env steps |

# %%
blog = Config()
print(f"{'field':22s} {'the blog (MountainCar)':>24s} {'BipedalWalker preset':>24s}")
for name, value in PRESETS[WALKER].items():
    print(f"{name:22s} {str(getattr(blog, name)):>24s} {str(value):>24s}")

# %% [markdown]
# ## DDPG, TD3 and TQC: five seeds each
#
# One run is one draw: seed 0's TD3 stood still for 190,000 steps where seed 4's walked by 97,000. So the
# project compares recipes over seeds 0-4, 300k env steps each (`python benchmarks/walker_seeds.py`):
# each recipe's mean over seeds with a bootstrap 95% band, scored by the interquartile mean, which one
# lucky or unlucky seed moves less than the mean (Agarwal et al. 2021). The curves the project ships
# (`benchmarks/results/runs/`) are its TQC recipes'. For TD3 and the blog's DDPG with the same preset
# (two updates per env step), their tables (BENCHMARKS.md): TD3 4 of 5 seeds at 300, the median seed
# there by 148,467 env steps; DDPG 0 of 5, its kept nets falling in 14 to 44 of 100 episodes. For
# scale: the Zoo reports TQC at 330 +- 45 after 500k env steps and TD3 at 306 +- 57 after 1M, one run
# each; TD3-FORK's five seeds first averaged 300 after about 470k. `COMPARE = "train"` trains DDPG,
# TD3 and TQC on seed `SEED` here too, 300,000 env steps each (about 45 minutes each on a CPU core).

# %%
COMPARE = "shipped"  # or "train"
dh.setting("COMPARE", COMPARE, ("shipped", "train"))
root = dh.colab.repo_root() or Path("..")
patterns = [f"{t}/*" for t in sorted(root.glob("benchmarks/results/runs/walker-seeds*"))]
if COMPARE == "train":
    for algo in ("ddpg", "td3", "tqc"):
        c = dh.short_budget(make_config(WALKER, algo=algo, seed=SEED, stop_when_solved=False))
        out = runs / "compare" / dh.run_name(c)
        dh.train_or_resume(c, out, resume=RESUME, callback=dh.LiveRewardPlot(every=10, title=f"{algo} on {WALKER}"))
        patterns.append(str(out))
groups = [g for g in seeds.load_groups(patterns) if len(g.runs) >= 5 or COMPARE == "train"]  # screens: fewer
fig, ax = plt.subplots(figsize=(9, 4.5))
seeds.plot_groups(groups, ax, title=f"{WALKER}: each recipe over its seeds")
plt.show()
print(seeds.scores_table([seeds.scores(g) for g in groups]))
print(f"\nthe preset (walker-seeds.csv):\n{seeds.seed_table(root / 'benchmarks/results/walker-seeds.csv')}")

# %% [markdown]
# ## DDPG on the walker
#
# DDPG's critic overestimates the actions its actor picks, the actor exploits those errors, and the
# walker can lose a gait it had found: with TD3's preset then and two updates per step (seed 0,
# BENCHMARKS.md), its evaluations went from 249 up to 261, down to 19, back to 266, and ended at 57.
# The nets it kept fell in 20 of 100 episodes; those of seeds 1 to 4 in 14, 44, 31 and 21.

# %% [markdown]
# ## What TD3 changes: three things, in one screen
#
# The real source of the agent the three recipes use (`ddpg_helpers/agent.py`): `target` computes the
# critic's target y, `_actor_moves` says whether a step moves the actor, `update` does one gradient
# step; the comments `TD3 change 1` to `3` mark the lines that use `self.td3`:
#
# 1. **Target policy smoothing.** The target action mu'(s') gets a little clipped noise, so y
#    averages nearby actions: the actor cannot exploit a critic's error that holds at one action only.
# 2. **Twin critics, the smaller estimate.** Two critics learn the same target, and y bootstraps from
#    the minimum of their target copies: the minimum of two independently wrong critics cuts down the
#    optimism DDPG's actor climbs to.
# 3. **Delayed actor and targets.** The actor and the target nets move once per `policy_delay` (2)
#    critic updates, so the actor follows a critic that has had time to settle.

# %%
display(dh.show_source(Agent.target), dh.show_source(Agent._actor_moves), dh.show_source(Agent.update))
print("and in the critic's step (Agent._update_step), the second critic learns the same target:")
print("\n".join(line for line in inspect.getsource(Agent._update_step).splitlines() if "critic2" in line))

# %% [markdown]
# ## n-step returns: what they gave TD3, and why the preset dropped them
#
# The target above takes one reward, then trusts the critic. But what a leg does now pays off over the
# stride's next steps. An n-step target takes the next n rewards as earned and bootstraps only after
# them: y = r_t + gamma r_t+1 + ... + gamma^n Q'(s_t+n, a') (`NStepReturns`, below; a fall still stops
# the bootstrap). Older actors earned those rewards, so n stays small (Rainbow's 3, D4PG's 5). With TD3,
# 3-step runs reached the one-step runs' levels in about half the env steps (seeds 0-2, `docs/walker.md`).
# With TQC, one-step targets and tau 0.02 together (the Zoo's TQC; each alone: not measured) brought the
# median seed to 300 by 93,389 env steps, against 120,766 with 3 steps and 0.005, at the same cost.

# %%
display(dh.show_source(NStepReturns))
n_step = NStepReturns(3, gamma=0.98)
for t, reward in enumerate([1.0, 2.0, 3.0, 4.0]):  # a 4-step episode, its last step a fall
    for obs, _, ret, next_obs, terminated, steps in n_step.add(f"s{t}", "a", reward, f"s{t + 1}", t == 3, t == 3):
        print(f"{obs}: reward {ret:6.3f} over {steps} step(s), then {'no bootstrap' if terminated else next_obs}")

# %% [markdown]
# ## A critic that stays steady: LayerNorm
#
# A critic trained hard on the same data drifts, and the actor climbs after its errors (REDQ and
# DroQ, 2021, on MuJoCo tasks). DroQ's remedy is a LayerNorm in each hidden layer of the critic
# (outputs scaled to mean 0 and spread 1 over the layer's units, then a learned scale and shift).
# The critic's lines that use it (`critic_layer_norm=True`; off, the norms are `Identity`):

# %%
for method in (Critic.__init__, Critic.forward):
    print("\n".join(line for line in inspect.getsource(method).splitlines() if "norm" in line))
print(Critic(24, 4, 256, (256,), layer_norm=True).norms)

# %% [markdown]
# Measured with TD3 and two updates per env step over seeds 0 to 4, 300k env steps each, the kept nets
# over 100 noise-free episodes: without LayerNorm none reached 300; with it 4 of 5 did and none fell
# (`docs/walker.md`). Seed 0 with that recipe (here it trains with today's) stood still until 190,000 env steps and
# ended at 268.7 (303.6 at 500,000): TD3's best was not enough for every seed.
#
# ## What TQC changes: a distribution of returns, with its top cut off
#
# TD3 fights the critic's optimism with a blunt tool, the smaller of two numbers. TQC's two critics
# each predict 25 quantiles of the return (`n_quantiles`: values below which 2%, 6%, ..., 98% of the
# returns fall). The target pools both critics' 50 quantiles at s', sorts them and drops the largest 4
# (`top_quantiles_to_drop`, 2 per critic): the top is where the errors the actor exploits pile up, and
# the cut is a dial, not all or nothing. Each critic learns its quantiles against the 46 atoms left
# (the quantile Huber loss, below); the actor maximises the mean of the first critic's quantiles; TD3's
# smoothing and delay stay. The preset, seeds 0-4 (BENCHMARKS.md): kept walkers at 326.3 to 333.6 over
# 100 episodes, at most one fall each, the median seed at 300 by 93,389 env steps (TD3 with two updates
# per step: 4 of 5 at 300, by 148,467), at 1.3x TD3's env steps/s.

# %%
display(dh.show_source(dh.agent.quantile_huber_loss))
print("\n".join(line for line in inspect.getsource(Agent.target).splitlines() if "tqc" in line or "pooled" in line))

# %% [markdown]
# ## Your walker and the shipped one, five episodes each
#
# The shipped walker (`trained/walker-tqc`: seed 4 trained its 300,000 env steps, 330.6 over 100
# episodes) beside yours, noise-free, on env seeds 0 to 4 (the project's measure is 100:
# `python -m ddpg_helpers evaluate RUN --episodes 100 --seed 0`).

# %%
shown = {"yours": mine, "shipped": dh.find_shipped(dh.SHIPPED_WALKER)}
shown = {label: run for label, run in shown.items() if run is not None and dh.Run(run).is_finished()}
agents, played = {}, {}
for label, run in shown.items():
    agent, c, _ = dh.load_agent(run)
    env = make_env(c.env_id)
    limit = c.max_episode_steps or env.spec.max_episode_steps
    episodes = [dh.run_episode(agent, env, seed, max_steps=c.max_episode_steps) for seed in range(5)]
    env.close()
    agents[label], played[label] = (agent, c), episodes
    outcomes = [dh.walker_outcome(e.rewards, limit) for e in episodes]
    print(f"{label} ({run}): mean {np.mean([e.total_return for e in episodes]):.1f}; "
          + ", ".join(f"{o} {outcomes.count(o)}" for o in ("reached the end", "time limit", "fell") if o in outcomes))
    for seed, (e, o) in enumerate(zip(episodes, outcomes)):
        print(f"    seed {seed}: {e.total_return:7.1f} in {len(e.actions):4d} steps ({o}), "
              f"{dh.walker_torque_cost(e.actions):5.1f} of it paid for torque")

# %% [markdown]
# ## Why a walker stops getting better: a saturated actor
#
# Without `actor_preact_l2`, a TD3 walker stayed at 278 for 1M steps (`docs/walker.md`). Pushing less
# torque scores more (`dh.walker_torque_cost`, above), but the actor learns only through the slope of
# `tanh(z)`, and in float32 `tanh(z)` is exactly 1 past |z| = 9.1: there dQ/da never reaches the
# actor's weights, frozen at full torque. The penalty `actor_preact_l2 * mean(z**2)` pulls z back to
# where tanh has a slope (with 1e-3, near |z| = 2.5). The cell measures z on the episodes above.

# %%
for label, (agent, config) in agents.items():
    obs = torch.as_tensor(np.concatenate([e.observations for e in played[label]]), dtype=torch.float32)
    actions = np.concatenate([e.actions for e in played[label]])
    with torch.no_grad():
        z = agent.actor.preactivation(obs.to(agent.device)).abs().cpu().numpy()
    print(f"{label}: median |z| {np.median(z):.1f}, {np.mean(z > 9.1):.0%} of its outputs where tanh is flat, "
          f"mean |action| {np.abs(actions).mean():.2f}  (actor_preact_l2 = {config.actor_preact_l2})")

# %% [markdown]
# ## Watching the walker
#
# Your walker (else the shipped one), noise-free, on env seed 0, in
# about 200 frames: a 1,600-step episode at full size would be over a gigabyte of pixels (notebook 4
# explains the embed limit). The next cell saves them as a GIF in the runs folder (never `trained/`).

# %%
show_run = mine if "yours" in shown else shown["shipped"]
walk = dh.record_walk(show_run, seed=0, max_frames=200)
episode, stride, fps = walk.episode, walk.stride, walk.fps
print(f"{show_run}" + (" (the walker the project ships)" if dh.is_shipped(show_run, dh.SHIPPED_WALKER) else ""))
print(f"return {episode.total_return:.1f} in {len(episode.actions)} steps ({walk.outcome}); "
      f"{len(episode.frames)} frames")

html = animation.jshtml(episode.frames, interval_ms=1000 / fps * stride)  # real time
print(f"{animation.embedded_frames(html)} frames, {len(html) / 2**20:.2f} MB of HTML")
assert len(html) < 20 * 2**20  # below matplotlib's default limit
HTML(html)

# %%
gif = runs / f"{show_run.name}.gif"
animation.save_gif(episode.frames, gif, fps=max(1, round(fps / stride)))
print(f"{gif} ({gif.stat().st_size / 1024:.0f} KiB)")
assert gif.stat().st_size > 0

# %% [markdown]
# ## Going further
#
# - Train on past the solve, towards a better walker: `python -m ddpg_helpers train --resume RUN
#   --no-stop-when-solved` goes on to the cap (300,000 env steps); add `--total-steps 500000` for more.
# - Every run writes TensorBoard files: `%load_ext tensorboard` then `%tensorboard --logdir RUNS`.
# - Five seeds compare more fairly than one: `python benchmarks/walker_seeds.py --jobs 2`, or the time to a
#   confirmed solve on each: `python benchmarks/walker_seeds.py --solve --jobs 2`.
