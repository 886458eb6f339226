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
# # 1. Setup: a GPU, the packages, and no display
#
# This series teaches DDPG (Deep Deterministic Policy Gradient) on gymnasium's
# `MountainCarContinuous-v0`, following a 2019 blog post that ran it on Google Colab. Each
# notebook holds one idea; the code they share lives in the `ddpg_helpers` package.
#
# 1. **Setup** (this notebook): a GPU, the packages, and why no virtual display is needed.
# 2. **Memory and networks**: transitions, the replay memory, the actor and the critic.
# 3. **Training**: the blog's hyperparameters, a live reward plot, a saved run.
# 4. **Watching the agent**: an animation of the car and the per-step plots.
# 5. **Inside the nets**: the critic's Q and the actor's policy as surfaces and heat maps.
# 6. **BipedalWalker**: the blog's DDPG and then TD3 on a walker, with resumable checkpoints.
#
# The blog needed three steps before any code ran: switch the runtime to a GPU, install a stack
# of packages (with `apt-get` for a virtual X display), then restart the runtime. Here the
# first two remain and the restart is gone.

# %% [markdown]
# ## A GPU, if there is one
#
# On Colab, choose **Runtime > Change runtime type**, set **Hardware accelerator** to a GPU
# (T4 is the free one), press **Save**, then run this notebook again from the top: changing the
# runtime starts a new machine, so do it before installing anything. The nets here are small,
# so a CPU trains MountainCar too, only more slowly; nothing below requires a GPU.

# %%
import torch

if torch.cuda.is_available():
    print("GPU:", torch.cuda.get_device_name(0))
else:
    print("No GPU: training will run on the CPU. On Colab: Runtime > Change runtime type > GPU > Save.")

# %% [markdown]
# ## Install what is missing
#
# Every notebook of the series starts with this cell. It does something only where the project
# is missing:
#
# - **In a checkout** (a laptop with `pip install -r requirements.txt` done, or CI) it finds
#   `ddpg_helpers` and does nothing; if the package was not pip-installed it puts the checkout,
#   one folder up, on the import path.
# - **On a fresh Colab runtime** it clones the project and runs `setup_colab.sh`, which
#   pip-installs `requirements.txt` (gymnasium with its Box2D and pygame renderers, the
#   progress-bar widgets). Colab's own torch already satisfies the requirement's range, so it is
#   not reinstalled.
#
# No restart is needed: a runtime has to restart only when a package it has *already imported*
# is replaced underneath it. Nothing installed here has been imported yet, and the cell puts
# the clone on `sys.path` of the running interpreter, so the next `import` finds it.

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

# %% [markdown]
# Everything the notebooks import is now present; the check below names what to install if not.

# %%
import ddpg_helpers as dh

missing = dh.missing_requirements()
assert not missing, f"missing: pip install {' '.join(missing)}"
print("all requirements present; in Colab:", dh.in_colab())

# %% [markdown]
# ## A display? Not for `rgb_array`
#
# The blog started a virtual X display (Xvfb through `pyvirtualdisplay`) before making the
# environment, because the old `gym` drew its pictures with OpenGL, which needs a display even to
# produce an image in memory. gymnasium draws with pygame on an off-screen surface: with
# `render_mode="rgb_array"`, `env.render()` returns the picture as a numpy array and no display is
# involved, on Colab as on a headless server.
#
# `ddpg_helpers.display.ensure_display` starts Xvfb only where a renderer needs it: for
# `render_mode="human"` (a window) on a machine without a display. For `rgb_array` it starts
# nothing. (`bash setup_colab.sh --xvfb` installs Xvfb and `pyvirtualdisplay` if you ever want a
# window on Colab.)

# %%
from ddpg_helpers import display

print(display.explain("rgb_array"))
virtual_display = display.ensure_display("rgb_array")
assert virtual_display is None

# %% [markdown]
# The proof: a picture of the task, rendered without any display.

# %%
import matplotlib.pyplot as plt

from ddpg_helpers import make_env

env = make_env("MountainCarContinuous-v0", render_mode="rgb_array")
obs, info = env.reset(seed=0)
frame = env.render()
env.close()
print("frame:", frame.shape, frame.dtype, "| observation (position, speed):", obs)
assert frame.shape == (400, 600, 3)

plt.imshow(frame)
plt.axis("off")
plt.title("MountainCarContinuous-v0: reach the flag")
plt.show()

# %% [markdown]
# ## One switch for a short run
#
# Notebook 3 trains with the blog's full settings (200 episodes). The notebooks are also run
# top to bottom as the project's tests; there the environment variable `DDPG_QUICK=1` cuts
# training to a few episodes, so each notebook takes well under a minute. Leave it unset to get
# the real thing.

# %%
print(f"{dh.QUICK_VAR} is {'set: training cells use a tiny budget' if dh.quick_mode() else 'unset: full settings'}")
