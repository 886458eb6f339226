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
# # 6. BipedalWalker: the blog's DDPG, TD3, then TQC
#
# The blog's DDPG post warms up on MountainCarContinuous and leaves the walker for later. Here: why
# the walker is harder, the settings that make it learn (each with its measurement), the blog's DDPG,
# TD3 (Fujimoto et al. 2018) and TQC (Kuznetsov et al. 2020), their learning curves, and the walker.
# **How long this takes.** A full run is 300,000 env steps, each followed by one gradient update: on
# one core of a 2-core CPU, beside another run, the preset's TQC trained its 300,000 env steps in 42
# to 48 minutes (docs/walker.md), so the three runs here take a few hours on a CPU. On Colab choose
# **Runtime > Change runtime type > GPU** and save the runs to Google Drive (below); `TRAIN = False`
# shows runs trained before and the shipped walker. `DDPG_QUICK=1` (as in the tests) trains a few short
# episodes, checking the code, not the learning. The first cell installs what is missing, as in notebook 1.

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
from ddpg_helpers import PRESETS, Agent, Config, Critic, NStepReturns, animation, make_config, make_env, seeds

WALKER = dh.WALKER_ID  # "BipedalWalker-v3"
QUICK = dh.quick_mode()

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
#
# The three runs below differ only in `algo`: their curves differ by TD3's changes, then TQC's.

# %%
blog = Config()
print(f"{'field':22s} {'the blog (MountainCar)':>24s} {'BipedalWalker preset':>24s}")
for name, value in PRESETS[WALKER].items():
    print(f"{name:22s} {str(getattr(blog, name)):>24s} {str(value):>24s}")

STEPS = 300_000  # env steps per run: the runs in BENCHMARKS.md had their walkers at 300 by then
configs = {algo.upper(): dh.short_budget(make_config(WALKER, algo=algo, seed=0, total_steps=STEPS))
           for algo in ("ddpg", "td3", "tqc")}
c = configs["TQC"]
print(f"\neach run: {c.total_steps:,} env steps (or {c.episodes} episodes), {c.warmup_steps} random warm-up steps"
      + (f", {c.max_episode_steps} steps per episode (DDPG_QUICK=1: checks the code, not learning)" if QUICK else ""))

# %% [markdown]
# ## Where the runs are saved, and how to resume
#
# Each run writes its folder as notebook 3's did (`BipedalWalker-v3-tqc-s0`, ...), with a checkpoint
# every 10 episodes to resume from exactly, and its best nets, confirmed on 100 more episodes
# (`load_agent(run, best=True)`, `evaluate RUN --best`). `SAVE_TO_DRIVE = True` keeps them on Google
# Drive (Colab deletes a runtime's disk). `RESUME = True` continues them: after a disconnect, run the
# notebook again from the top (a finished run is shown, not trained again; raise `STEPS` to go on).
# `RESUME = False` starts over and **replaces** them.

# %%
SAVE_TO_DRIVE = False
TRAIN = True
RESUME = not QUICK  # True; a quick check (DDPG_QUICK=1) always trains afresh

runs = dh.runs_dir(use_drive=SAVE_TO_DRIVE)
outs = {label: runs / dh.run_name(config) for label, config in configs.items()}
for label, out in outs.items():
    print(f"{label} run folder: {out}\n  resume from a terminal: python -m ddpg_helpers train --resume {out}")
print(dh.device_report() if torch.cuda.is_available() else "No GPU: about an hour per run on a CPU core. On Colab: "
      "Runtime > Change runtime type > GPU > Save, then run the notebook again from the top.")

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
# The real source of the agent both runs use (`ddpg_helpers/agent.py`): `target` computes the
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
# ## Training the three
#
# The progress bar counts env steps up to `STEPS`; each plot is redrawn every 10 episodes, with a
# noise-free evaluation of 10 episodes every 25 (on a GPU the same seed trains another run).

# %%
results = {}
for label, config in configs.items():
    if not TRAIN:
        print("TRAIN is False: nothing trained")
        break
    plot = dh.LiveRewardPlot(every=10, title=f"{label} on {WALKER}")
    results[label] = s = dh.train_or_resume(config, outs[label], resume=RESUME, callback=plot).summary
    print(f"{label}: {s['episodes']} episodes, {s['env_steps']} env steps, {s['wall_seconds']:.0f} s on {s['device']}")

# %% [markdown]
# ## The learning curves, and what each walker does
#
# From here on the cells read run folders, so they work after a kernel restart or without training:
# the latest finished run of each algorithm, and the shipped walker (`trained/walker-tqc`; set `RUN`
# to show another). Thick lines: the noise-free evaluations (band: one standard deviation); thin: the
# training returns' moving average. Then five noise-free episodes of each, on env seeds 0 to 4 (the
# project's measure is 100: `python -m ddpg_helpers evaluate RUN --episodes 100 --seed 0`).

# %%
RUN = None

latest = {label: dh.latest_run(runs, WALKER, label.lower()) for label in configs}
shipped = dh.find_shipped(dh.SHIPPED_WALKER)
shown = {label: run for label, run in {**latest, "TQC (shipped)": shipped}.items() if run is not None}
print("\n".join(f"{label:14s} {run}" for label, run in shown.items()))
if not shown:
    raise dh.DDPGError(f"no finished walker run in {runs} and no shipped walker ({dh.SHIPPED_WALKER}) in this "
                       "checkout: set TRAIN = True above")

# %%
histories = {label: dh.load_history(run) for label, run in shown.items()}
fig, ax = plt.subplots(figsize=(9, 4.5))
dh.compare_curves(histories, ax, threshold=rows[1][4], title=f"DDPG, TD3 and TQC on {WALKER}")
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
# ## Five seeds: a mean and its band
#
# One run is one draw: seed 0's TD3 stood still for 190,000 steps where seed 4's walked by 97,000. The
# five-seed tables' curves (`benchmarks/results/runs/`), as `python -m ddpg_helpers plot` draws them:
# each recipe's mean over seeds with a bootstrap 95% band, scored by the interquartile mean over seeds,
# which one lucky or unlucky seed moves less than the mean (Agarwal et al. 2021). Then the preset seed by
# seed. For scale (BENCHMARKS.md): the Zoo reports TQC at 330 +- 45 after 500k env steps and TD3 at
# 306 +- 57 after 1M, one run each; TD3-FORK's first evaluation at 300 came after 280k.

# %%
root = dh.colab.repo_root() or Path("..")
tables = sorted(root.glob("benchmarks/results/runs/walker-seeds*"))
if tables:
    groups = [g for g in seeds.load_groups([f"{t}/*" for t in tables]) if len(g.runs) >= 5]  # screens: fewer
    fig, ax = plt.subplots(figsize=(9, 4.5))
    seeds.plot_groups(groups, ax, title=f"{WALKER}: the five-seed tables")
    plt.show()
    print(seeds.scores_table([seeds.scores(g) for g in groups]))
    print(f"\nthe preset (walker-seeds.csv):\n{seeds.seed_table(root / 'benchmarks/results/walker-seeds.csv')}")
else:
    print("this checkout has no five-seed curves (benchmarks/results/runs/)")

# %%
TENSORBOARD = False  # True: TensorBoard here, every run in `runs` as it trains (returns, evaluations, losses)
if TENSORBOARD:
    get_ipython().run_line_magic("load_ext", "tensorboard")
    get_ipython().run_line_magic("tensorboard", f"--logdir {runs}")

# %%
EPISODES = 5

agents, played = {}, {}
for label, run in shown.items():
    agent, config, _ = dh.load_agent(run)
    env = make_env(config.env_id)
    limit = config.max_episode_steps or env.spec.max_episode_steps
    episodes = [dh.run_episode(agent, env, seed, max_steps=config.max_episode_steps) for seed in range(EPISODES)]
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
# The TQC walker (the latest trained, else the shipped one; or `RUN`), noise-free, on env seed 0, in
# about 200 frames: a 1,600-step episode at full size would be over a gigabyte of pixels (notebook 4
# explains the embed limit). The next cell saves them as a GIF in the runs folder (never `trained/`).

# %%
show_run = Path(RUN) if RUN is not None else latest["TQC"] or latest["TD3"] or shipped or latest["DDPG"]
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
# - Train longer: raise `STEPS`, or `python -m ddpg_helpers train --resume RUN --total-steps 500000`.
# - Stop at "solved": `train --env BipedalWalker-v3 --target-return 300` stops at the first evaluation
#   at 300 that 100 fresh episodes (`--confirm-episodes`) confirm.
# - Five seeds compare more fairly than one: `python benchmarks/walker_seeds.py --jobs 2` (`--algo td3`: TD3).
