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
# # 3. Training: DDPG on MountainCarContinuous with the blog's settings
#
# The loop is the blog's: each episode the actor drives with exploration noise added, every step
# is pushed into the replay memory, and after every step one batch updates the critic, the
# actor and their targets. Every few episodes a noise-free evaluation measures what the actor
# really does. At the end, one more noise-free episode is recorded, and everything is written to
# a run folder that notebook 4 (or this one, after a restart) reads back.
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
import matplotlib.pyplot as plt
import numpy as np

import ddpg_helpers as dh
from ddpg_helpers import Config, evaluate, load_agent, make_env, reward_curve, sigma_schedule, train

# %% [markdown]
# ## The blog's hyperparameters, in one cell
#
# These are the blog's values, which are also `Config`'s defaults (each field is documented in
# `ddpg_helpers/config.py`). Change any of them here. With `DDPG_QUICK=1` set (as in the
# project's notebook tests), `dh.budget` keeps everything but cuts the run to a few episodes.

# %%
config = Config(
    env_id="MountainCarContinuous-v0",
    episodes=200,  # training episodes; gymnasium ends each one after at most 999 steps
    batch_size=128,  # transitions per update, one update after every env step
    gamma=0.999,  # discount: the flag's +100 is far in the future, so the future must count
    tau=0.001,  # soft-update rate of the target nets
    actor_lr=1e-3,
    critic_lr=3e-3,
    critic_weight_decay=1e-4,
    memory_size=10_000,  # replay memory capacity (transitions)
    sigma_start=1.0,  # exploration noise scale in the first episode ...
    sigma_end=0.3,  # ... decaying towards this ...
    sigma_decay=30,  # ... by a factor e every 30 episodes
    target_return=None,  # 90: stop once an evaluation reaches the flag and fresh episodes confirm it (see below)
    seed=0,
)
config = dh.budget(config)
print(f"{config.episodes} episodes" + (" (DDPG_QUICK=1: a tiny run that checks the code, not the learning)"
                                      if dh.quick_mode() else ""))

# %% [markdown]
# ## The exploration noise, and the blog's correction
#
# Before it has learned anything the actor pushes with about 0, and MountainCar only pays off
# once the car reaches the flag. Exploration comes from the noise added to the action: it is
# correlated in time (it drifts rather than jitters), so it pushes the same way for many steps
# and rocks the car. Its scale `sigma` shrinks over the episodes as the actor takes over.
#
# The blog's first version advanced sigma's counter on every *step*, so sigma had fallen to its
# floor inside the first episode and the car hardly explored; its correction counts episodes.

# %%
episodes = np.arange(200)
plt.figure(figsize=(7, 3))
plt.plot(episodes, [sigma_schedule(e, 1.0, 0.3, 30) for e in episodes], label="per episode, decay 30 (corrected)")
plt.plot(episodes, [sigma_schedule(e * 999, 1.0, 0.3, 150) for e in episodes],
         label="per step, decay 150 (first version; 999-step episodes)")
plt.xlabel("episode")
plt.ylabel("sigma")
plt.legend()
plt.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Where the run is saved
#
# The run folder (`dh.Run`, which alone knows its file names) gets the checkpoint (enough to resume
# or to watch the agent), the best nets of the evaluations so far, a summary, the per-episode metrics,
# the reward curve and the final episode. It is named after the
# env, the algorithm and the seed, as the command line names it (`python -m ddpg_helpers train`);
# running the training cell again replaces it.
#
# A Colab runtime is deleted when it disconnects. Set `SAVE_TO_DRIVE = True` to keep runs in your
# Google Drive (folder `ddpg-runs`): Colab then asks once for permission to mount it. Nothing is
# mounted unless you ask.

# %%
SAVE_TO_DRIVE = False

runs = dh.runs_dir(use_drive=SAVE_TO_DRIVE)
run = runs / dh.run_name(config)
print("run folder:", run)
print(dh.device_report())
print(dh.training_report(config))

# %% [markdown]
# ## Train
#
# The progress bar shows the last episode's return (with noise), sigma, and the latest
# noise-free evaluation; the plot under it is redrawn each time an episode ends. A return of
# about 90 means the car reached the flag (+100) with a little force spent on the way; a return
# near 0 means the actor has learned to save force and stay at the bottom, the local optimum
# MountainCar is known for. On a small 2-core CPU the full run took three to seven minutes.
#
# On a GPU (Colab's GPU runtime) `compile="auto"` trains on the graph path: the update captured
# once in a CUDA graph and replayed. Its speed on a GPU is not measured yet (no GPU was at hand;
# `bash benchmarks/gpu_check.sh` measures it on one), so the CPU's minutes above are the only
# timing there is. Before the first update trains on the graph, it is checked against the eager
# update on the same state and batch; if the capture fails or the two differ, training goes on
# with the eager update and one line asks you to report it. The summary says which path trained.

# %%
live_plot = dh.LiveRewardPlot(title="DDPG on MountainCarContinuous-v0")
result = train(config, out=run, overwrite=True, callback=live_plot)
assert live_plot.draws >= config.episodes

# %% [markdown]
# ## The noise-free final episode
#
# The training returns include noise. The last episode runs the actor alone: that score is the
# agent's real ability. The cells from here on read the run folder, so they also work after a
# kernel restart (run the cells above except the training cell).

# %%
summary = dh.load_summary(run)
print(f"final noise-free episode: {summary['final_episode_return']:.1f}")
print(f"evaluation over {summary['eval_episodes']} episodes: {summary['final_eval_mean']:.1f} "
      f"+- {summary['final_eval_std']:.1f}")
print(f"solved (an evaluation reached {summary['solve_threshold']}, and {summary['confirm_episodes']} fresh "
      f"episodes confirmed it): {summary['solved']}")
print(f"best evaluation: {summary['best_eval_mean']:.1f} at episode {summary['best_episode']} "
      "(the run keeps those nets)")
print(f"{summary['episodes']} episodes, {summary['env_steps']} env steps, {summary['wall_seconds']:.0f} s "
      f"on {summary['device']}, {summary.get('update_path', 'an unrecorded')} update path"
      + (f" (the graph path {summary['graph_fallback']})" if summary.get("graph_fallback") else ""))
assert 0 < summary["episodes"] <= config.episodes and dh.Run(run).checkpoint.is_file()

# %% [markdown]
# ## The reward curve
#
# Light blue: each training episode's return, with noise. From the first episodes on, the
# blog's drifting noise alone rocks the car to the flag in most episodes, so these returns say
# little about the actor; they fill the memory with transitions that reach the flag, from which
# the critic learns that the flag pays. Orange: the noise-free evaluations every 5 episodes, the
# actor alone.
#
# Do not expect the orange curve to climb once and stay up. With these settings the
# evaluations typically reach the flag, fall back to about 0 and come back, more than once (the
# shipped agent's curve in the README shows it). The final agent is whatever phase episode 200
# happens to fall in; another seed, a GPU or another torch version moves the swings around.
#
# DDPG can lose a policy it has found: the critic keeps changing, and the actor follows the
# critic's gradient wherever it points. In MountainCar every push costs a little reward now
# while the flag pays only at the end, so a critic that turns a little pessimistic sends the
# actor back to doing nothing.
#
# Setting `target_return=90` keeps the first agent that reaches the flag. The project's trained
# agent (`trained/mcc`) was made that way, with 20 evaluation episodes instead of 5 so that one
# lucky evaluation cannot stop the run (its summary says where it stopped). Notebook 4 can
# show either.

# %%
history = dh.load_history(run)
fig, ax = plt.subplots(figsize=(8, 4))
reward_curve(history, ax, title="DDPG on MountainCarContinuous-v0")
plt.show()

# %% [markdown]
# The run also wrote TensorBoard event files (`RUN/tensorboard`: returns, evaluations, losses, sigma
# against env steps), so every run in the runs folder can be compared side by side, and a resumed run
# continues its curves. `tensorboard --logdir runs` in a terminal, or here:

# %%
TENSORBOARD = False  # True: open TensorBoard in this notebook
if TENSORBOARD:
    get_ipython().run_line_magic("load_ext", "tensorboard")
    get_ipython().run_line_magic("tensorboard", f"--logdir {runs}")

# %% [markdown]
# ## The checkpoint
#
# Everything is in the run folder. Loading the checkpoint gives back the agent: replaying the
# final episode's seed gives the same score.

# %%
for f in sorted(run.iterdir()):
    if f.is_file():
        print(f"{f.name:20} {f.stat().st_size / 1024:8.1f} KiB")

agent, loaded_config, _ = load_agent(run)
replayed = evaluate(agent, make_env(loaded_config.env_id), episodes=1, seed=loaded_config.eval_seed)[0]
print(f"replayed from the checkpoint: {replayed:.1f}")
assert abs(replayed - summary["final_episode_return"]) < 1.0

# %% [markdown]
# To train longer, continue the same run from its checkpoint (the replay memory is saved with it):
#
# ```
# python -m ddpg_helpers train --resume runs/MountainCarContinuous-v0-ddpg-s0 --episodes 300
# ```
#
# Notebook 4 loads this run, replays the noise-free episode and animates it.
