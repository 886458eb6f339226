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
# # 4. Watching the agent
#
# This notebook loads a trained agent from its run folder, replays its noise-free episode as an
# animation, and plots what the blog recorded at each step: the car's position, its speed, and
# the action. It uses nothing from notebook 3's variables, so it works after a kernel restart,
# or before you have trained anything (it then shows the agent the project ships).
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
from IPython.display import HTML

import ddpg_helpers as dh
from ddpg_helpers import animation, episode_plots, load_agent, make_env, run_episode

# %% [markdown]
# ## Which run
#
# By default: the most recently finished run in the runs folder, or the trained agent the project
# ships (`trained/mcc`) if there is none yet. Set `RUN` to a run folder to watch another one.
#
# On Colab each notebook gets its own runtime, so a run that notebook 3 saved on its runtime's
# disk is not visible here. If you trained with `SAVE_TO_DRIVE = True`, set `USE_DRIVE = True`
# to look in Google Drive.

# %%
RUN = None
USE_DRIVE = False

run = dh.choose_run(RUN, dh.runs_dir(use_drive=USE_DRIVE))
shipped = dh.is_shipped(run)
summary = dh.load_summary(run)
print(f"run: {run}" + (" (the trained agent the project ships)" if shipped else ""))
final = summary.get("final_episode_return")  # absent with record_final=False and in an export of the best nets
print(f"{summary['episodes']} training episodes; final noise-free episode: "
      + (f"{final:.1f}" if final is not None else "not recorded"))

# %% [markdown]
# ## Replay the noise-free episode
#
# The run folder keeps the final episode's observations and actions but no
# pictures: 999 frames of 600x400 are about 720 MB in memory. The agent is deterministic without
# noise and the env is seeded, so playing the same seed again reproduces that episode, and this
# time the frames are rendered. Only every few frames are rendered, about 200 in all: as many as
# the animation will keep.

# %%
agent, config, _ = load_agent(run)
recorded = dh.Run(run).final_episode()  # None where the folder kept no final episode (see above)
env = make_env(config.env_id, render_mode="rgb_array")
stride = dh.frame_stride_for(len(recorded.actions) if recorded else env.spec.max_episode_steps, max_frames=200)

episode = run_episode(agent, env, seed=config.eval_seed, record=True, frame_stride=stride)
env.close()
print(f"replayed: return {episode.total_return:.1f} in {len(episode.actions)} steps, {len(episode.frames)} frames")
if recorded is not None:
    print(f"recorded: return {recorded.total_return:.1f} in {len(recorded.actions)} steps")
    assert abs(episode.total_return - recorded.total_return) < 1.0
if shipped:
    assert episode.total_return >= 90, "the shipped agent should reach the flag"

# %% [markdown]
# ## The animation, and matplotlib's embed limit
#
# As in the blog, each frame becomes an `imshow` artist of a matplotlib `ArtistAnimation`, and
# `to_jshtml` turns it into HTML with every frame embedded as a PNG. That HTML has a cap,
# `animation.embed_limit` (20 MB by default): past it matplotlib **drops the remaining frames**
# and only logs a warning, so the animation stops early without saying why. All 999 frames of an
# episode that runs to the time limit, drawn in a default-size figure as the blog did, come to
# about 20 MB and get cut.
#
# `animation.jshtml` keeps about 200 evenly spaced frames at half size (about 1 MB for a whole
# episode), raises the limit to 40 MB as a deliberate margin, and counts the frames that made it
# into the HTML: if any were dropped it raises instead of showing a cut animation.

# %%
html = animation.jshtml(episode.frames, interval_ms=1000 / 50 * stride)  # real time at 50 steps/s
print(f"{animation.embedded_frames(html)} frames, {len(html) / 2**20:.2f} MB of HTML")
assert len(html) < 20 * 2**20  # below even matplotlib's default limit
HTML(html)

# %% [markdown]
# The same frames as a GIF file, to keep or share. It goes into the runs folder, next to the run
# folders (never into `trained/`, which belongs to the project).

# %%
gif = dh.runs_dir() / f"{run.name}.gif"
animation.save_gif(episode.frames, gif, fps=round(50 / stride))
print(f"{gif} ({gif.stat().st_size / 1024:.0f} KiB)")
assert gif.stat().st_size > 0

# %% [markdown]
# ## Position, speed and action at each step
#
# The blog recorded the observation and the action at every step of the final episode; these
# are those records from the run folder (or the replay, where the run kept none), with the blog's
# 50 steps per second as the time axis.
# A car that has learned the task pushes the way it is already moving: back up the left slope
# first, then forward with the speed it gained, over the flag at position 0.45.

# %%
fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True)
shown = recorded or episode
episode_plots(shown.observations, shown.actions, fps=50, axes=axes,
              title=f"noise-free episode: return {shown.total_return:.1f}")
plt.tight_layout()
plt.show()
