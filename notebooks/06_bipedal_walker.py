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
# The blog's DDPG post warms up on MountainCarContinuous and leaves the walker for later. Here: why
# the walker is harder, the settings that make it learn (each with its measurement), the blog's DDPG,
# then TD3 (Fujimoto et al. 2018), their learning curves, and the trained walker.
#
# **How long this takes.** A full run is 300,000 env steps, each followed by two gradient updates: on
# one core of a 2-core CPU, beside another run, TD3 took 44 to 49 minutes on one machine and two to two
# and a half hours on another (BENCHMARKS.md). On Colab choose **Runtime > Change runtime type > GPU**
# and save the runs to Google Drive (below); `TRAIN = False` shows runs trained before and the shipped
# walker. `DDPG_QUICK=1` (as in the project's tests) trains a few short episodes, checking the code,
# not the learning. The first cell, notebook 1's install cell, does nothing where the project is installed.

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
from ddpg_helpers import PRESETS, Agent, Config, Critic, NStepReturns, animation, make_config, make_env

WALKER = dh.WALKER_ID  # "BipedalWalker-v3"
QUICK = dh.quick_mode()

# %% [markdown]
# ## Why the walker is harder than the car
#
# - **Bigger inputs and outputs.** The car sees two numbers and sets one force. The walker sees 24
#   (hull angle and angular speed, horizontal and vertical speed, four joints' angles and speeds, two
#   ground contacts, ten lidar distances) and sets four motor speeds that must work together: a
#   critic over 28 inputs has far more room to be wrong than one over 3.
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
obs, _ = env.reset(seed=0)
frame = env.render()
env.close()
plt.figure(figsize=(6, 4))
plt.imshow(frame)
plt.axis("off")
plt.title(f"{WALKER}: walk to the far end without falling")
plt.show()

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
# | `n_step` 3 (one-step targets) | seeds 0-2: the one-step runs' levels in about half the env steps |
# | `updates_per_step` 2, `critic_layer_norm` | seeds 0-4: 4 of 5 at 300 or more, against 0 of 5 without |
# | `keep_episodes` 100 (the best of 10) | nets at 303.0 on 10 episodes scored 272.6 on 100, with 14 falls in 100 |
#
# Both runs below start from `make_config(WALKER, ...)` and differ only in `algo` ("the blog's DDPG"
# is its algorithm with these settings), so their curves differ by TD3's three changes.

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
# Each run writes its folder as notebook 3's did (`BipedalWalker-v3-td3-s0`, ...). Its checkpoint
# (nets, optimisers, replay memory, history, random states) is rewritten atomically every 10 episodes:
# a resumed run continues exactly. One fall in ten evaluation episodes costs 30 points of the mean, so
# the run also keeps its best nets, chosen on evaluation seeds (10000 and up) and confirmed on 100 more
# (16-23 s for the shipped walker): `load_agent(run, best=True)`, `python -m ddpg_helpers evaluate RUN --best`.
#
# - `SAVE_TO_DRIVE = True` keeps the runs on Google Drive (`ddpg-runs`): Colab deletes a runtime's disk.
# - `RESUME = True` (the default) continues the checkpoints: after a disconnect, run the notebook again
#   from the top; a finished run is shown, not trained again (raise `STEPS` to go on), and a folder
#   trained with other settings is refused. `RESUME = False` starts over and **replaces** them.

# %%
SAVE_TO_DRIVE = False
TRAIN = True
RESUME = not QUICK  # True; a quick check (DDPG_QUICK=1) always trains afresh

runs = dh.runs_dir(use_drive=SAVE_TO_DRIVE)
ddpg_out = runs / dh.run_name(ddpg_config)
td3_out = runs / dh.run_name(td3_config)
for label, out in (("DDPG", ddpg_out), ("TD3", td3_out)):
    print(f"{label} run folder: {out}\n  resume from a terminal: python -m ddpg_helpers train --resume {out}")
print(dh.device_report() if torch.cuda.is_available() else
      "No GPU: a full run takes from under an hour to 2.5 hours per algorithm on a CPU core. "
      "On Colab: Runtime > Change runtime type > GPU > Save, then run the notebook again from the top.")

# %% [markdown]
# ## DDPG on the walker
#
# The progress bar counts env steps up to `STEPS`; the plot is redrawn every 10 episodes, with a
# noise-free evaluation of 10 episodes every 25. Returns near -100 are falls. DDPG's critic
# overestimates the actions its actor picks, the actor exploits those errors, and the walker can lose
# a gait it had found: measured with these settings (seed 0, BENCHMARKS.md), its evaluations went from
# 249 up to 261, down to 19, back to 266, and ended at 57, none at 300. The nets it kept walked past
# 300 in 80 of 100 episodes and fell in 20; those of seeds 1 to 4 fell in 14, 44, 31 and 21 of 100.

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
# ## The preset's own changes: n-step returns
#
# The target above takes one reward, then trusts the critic: y = r_t + gamma Q'(s_t+1, a'). But what
# a leg does now pays off over the stride's next steps. An n-step target takes the next n rewards as
# earned and bootstraps only after them: y = r_t + gamma r_t+1 + ... + gamma^(n-1) r_t+n-1 + gamma^n
# Q'(s_t+n, a'). The memory stores each step once its n rewards are known (`NStepReturns`, below;
# `Agent.target` discounts the bootstrap by gamma^steps); a fall still stops the bootstrap. Older,
# noisier actors earned those rewards, so n stays small (Rainbow uses n = 3, D4PG n = 5). Measured
# (`docs/walker.md`): on seeds 0 to 2 the 3-step runs reached the one-step runs' levels in about half
# the env steps (seed 0: 263.0 at 175k, against 263.5 at 428k); with n = 5, seeds 0 and 2 were still
# below 0 at 126k-129k env steps, where the 3-step runs were past 200. `--n-step 1` turns it off.

# %%
display(dh.show_source(NStepReturns))
n_step = NStepReturns(3, gamma=0.98)
for t, reward in enumerate([1.0, 2.0, 3.0, 4.0]):  # a 4-step episode, its last step a fall
    for obs, _, ret, next_obs, terminated, steps in n_step.add(f"s{t}", "a", reward, f"s{t + 1}", t == 3, t == 3):
        print(f"{obs}: reward {ret:6.3f} over {steps} step(s), then {'no bootstrap' if terminated else next_obs}")

# %% [markdown]
# ## Two updates per env step, and a critic that stays steady under them
#
# Two updates per step (`updates_per_step=2`) learn twice as much from the same experience, but a
# critic trained harder on the same data drifts, and the actor climbs after its errors (REDQ and
# DroQ, 2021, on MuJoCo tasks). DroQ's remedy is a LayerNorm in each hidden layer of the critic
# (outputs scaled to mean 0 and spread 1 over the layer's units, then a learned scale and shift).
# The critic's lines that use it (`critic_layer_norm=True`; off, the norms are `Identity`):

# %%
for method in (Critic.__init__, Critic.forward):
    print("\n".join(line for line in inspect.getsource(method).splitlines() if "norm" in line))
print(Critic(24, 4, 256, (256,), layer_norm=True).norms)

# %% [markdown]
# Measured over seeds 0 to 4, 300k env steps each, the kept nets over 100 noise-free episodes: the
# 3-step preset alone left none at 300; with both changes 4 of 5 reached 300 and none fell
# (`docs/walker.md`). An env step costs two updates, so a run takes about twice as long on a CPU.
#
# ## TD3 on the walker
#
# The preset on seeds 0 to 4 (BENCHMARKS.md): 4 of 5 at 300 or more, the median seed's first
# evaluation at 300 after 148,467 env steps. Seed 0, the one trained here, stood still until about
# 190,000 env steps and ended at 268.7 (303.6 at 500,000). On a GPU the same seed trains another run.

# %%
if TRAIN:
    td3_plot = dh.LiveRewardPlot(every=10, title=f"TD3 on {WALKER}")
    td3_result = dh.train_or_resume(td3_config, td3_out, resume=RESUME, callback=td3_plot)
    print(f"TD3: {td3_result.summary['episodes']} episodes, {td3_result.summary['env_steps']} env steps, "
          f"{td3_result.summary['wall_seconds']:.0f} s on {td3_result.summary['device']}")
else:
    print("TRAIN is False: no TD3 training")

# %% [markdown]
# ## The learning curves, and what each walker does
#
# From here on the cells read run folders, so they work after a kernel restart or without training:
# the latest finished run of each algorithm, and the shipped walker (`trained/walker-td3`) where the
# checkout has it (set `RUN` to a run folder to show that one). In the plot, thick lines are the
# noise-free evaluations (with a band of one standard deviation), thin lines the moving average of
# the training returns, with noise; dashed, the env's "solved" threshold. Then five noise-free
# episodes of each run, on env seeds 0 to 4 (the project's own measure of a walker is 100:
# `python -m ddpg_helpers evaluate RUN --episodes 100 --seed 0`).

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
    raise dh.DDPGError(f"no finished walker run in {runs} and no shipped walker ({dh.SHIPPED_WALKER}) in this "
                       "checkout: set TRAIN = True above")

# %%
histories = {label: dh.load_history(run) for label, run in shown.items()}
fig, ax = plt.subplots(figsize=(9, 4.5))
dh.compare_curves(histories, ax, threshold=rows[1][4], title=f"DDPG and TD3 on {WALKER}")
plt.show()

print(f"{'':14s} {'episodes':>8s} {'env steps':>10s} {'hours':>6s} {'device':>7s} {'last evaluation':>22s} "
      f"{'kept nets':>10s} solved")
for label, run in shown.items():
    s = dh.load_summary(run)
    evaluation = f"{s['final_eval_mean']:.1f} +- {s['final_eval_std']:.1f} ({s['eval_episodes']} ep)"
    kept = f"{s['best_eval_mean']:.1f}" if s.get("best_eval_mean") is not None else "-"  # older runs kept none
    print(f"{label:14s} {s['episodes']:8d} {s['env_steps']:10d} {s['wall_seconds'] / 3600:6.2f} {s['device']:>7s} "
          f"{evaluation:>22s} {kept:>10s} {s['solved']}")

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
# Without `actor_preact_l2`, a TD3 walker can stay a little under 300 for hundreds of thousands of
# steps (`docs/walker.md`: 278 after 1M). A walk to the far end earns about 364, less 0.00035 * 80 *
# |a| per joint per step for torque (`dh.walker_torque_cost`, above), so pushing less scores more. But
# the actor learns only through the slope of its last line, `tanh(z)`, and in float32 `tanh(z)` is
# exactly 1 past |z| = 9.1: there the critic's gradient dQ/da never reaches the actor's weights, and
# the actor is frozen at full torque. The penalty `actor_preact_l2 * mean(z**2)` pulls z back to where
# tanh has a slope: with 1e-3 and the critic's measured dQ/da on a walking policy (about 0.05), the two
# balance near |z| = 2.5, or |a| = 0.99. The cell measures z on the episodes above (`--actor-preact-l2 0`
# trains a saturated actor; `--init-from RUN` trains a saturated walker on, with the penalty).

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
# The TD3 walker (the latest trained, else the shipped one; or `RUN`), noise-free, on env seed 0, in
# about 200 frames: a 1,600-step episode at full size would be over a gigabyte of pixels (notebook 4
# explains the embed limit). The next cell saves them as a GIF in the runs folder (never `trained/`).

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

# %%
gif = runs / f"{show_run.name}.gif"
animation.save_gif(episode.frames, gif, fps=max(1, round(fps / stride)))
print(f"{gif} ({gif.stat().st_size / 1024:.0f} KiB)")
assert gif.stat().st_size > 0

# %% [markdown]
# The blog's DDPG on the same env seed, its gait (or its fall) beside TD3's; none until one is trained.

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
# - Train longer: raise `STEPS`, or `python -m ddpg_helpers train --resume RUN --total-steps 500000`
#   (the preset's seed 0 first reached 300 at 485,211 env steps, BENCHMARKS.md).
# - Stop at "solved": `python -m ddpg_helpers train --env BipedalWalker-v3 --algo td3 --target-return 300`
#   stops at the first evaluation at 300 that 100 fresh episodes (`--confirm-episodes`) confirm.
# - Other seeds (`--seed 1`, `--seed 2`, ...) compare DDPG and TD3 more fairly than one run each.
