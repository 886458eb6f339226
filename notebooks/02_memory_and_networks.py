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
# # 2. Memory and networks: the parts of DDPG
#
# DDPG learns from *transitions*, one per environment step, kept in a *replay memory*. Two nets
# learn from them: the **actor** mu(s) proposes an action for a state, the **critic** Q(s, a)
# scores a state-action pair. This notebook shows each part from its real source in
# `ddpg_helpers` (the code notebook 3 trains with, not a copy) and runs it on small examples.
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
import numpy as np
import torch

import ddpg_helpers as dh
from ddpg_helpers import (
    Actor,
    Agent,
    Config,
    Critic,
    ReplayMemory,
    load_agent,
    make_env,
    run_episode,
    soft_update,
    td_target,
)

_ = torch.manual_seed(0)  # the examples below draw the same numbers on every run

# %% [markdown]
# ## A transition
#
# One call to `env.step(action)` gives everything a transition needs: the observation before
# (`obs`), the `action`, the `reward`, the observation after (`next_obs`), and two flags where the
# blog's old `gym` had one `done`:
#
# - `terminated`: the task really ended. In MountainCar, the car reached the flag.
# - `truncated`: a time limit stopped the episode (999 steps here). The car is still somewhere on
#   the hill and the future still has a value; the episode was just cut.
#
# The difference matters for learning, as we will see in a moment.

# %%
env = make_env("MountainCarContinuous-v0")
print("observation space:", env.observation_space, "(position, speed)")
print("action space:     ", env.action_space, "(push left .. push right)")

obs, info = env.reset(seed=0)
action = env.action_space.sample()
next_obs, reward, terminated, truncated, info = env.step(action)
print(f"obs={obs}  action={action}  reward={reward:.4f}  next_obs={next_obs}  "
      f"terminated={terminated}  truncated={truncated}")

# %% [markdown]
# Random pushes almost never get the car up the hill, so a random episode ends by the time
# limit: `truncated`, not `terminated`.

# %%
env.action_space.seed(0)
obs, info = env.reset(seed=0)
transitions = []
while True:
    action = env.action_space.sample()
    next_obs, reward, terminated, truncated, info = env.step(action)
    transitions.append((obs, action, reward, next_obs, terminated))
    obs = next_obs
    if terminated or truncated:
        break
print(f"{len(transitions)} steps, terminated={terminated}, truncated={truncated}")
assert truncated and not terminated

# %% [markdown]
# The critic learns to predict `y = r + gamma * Q'(s', a')`: this step's reward plus the
# discounted value of what follows. At a real end there is nothing that follows, so the second
# term is dropped; after a time limit there is, so it stays. The blog's `done` dropped it in both
# cases, teaching the critic that the state at step 999 is worth nothing. Hence the memory keeps
# `terminated` alone:

# %%
dh.show_source(td_target)

# %% [markdown]
# ## The replay memory
#
# Learning from consecutive steps would feed the nets strongly correlated data. The replay
# memory keeps the last `capacity` transitions and hands out random batches of them. The blog
# kept a Python list of small tensors and stacked them for every batch; this one writes each
# transition as one row of a preallocated tensor and gathers a batch by random row numbers.

# %%
dh.show_source(ReplayMemory)

# %% [markdown]
# A memory of 5 rows, filled with 7 transitions: the ring buffer overwrites the two oldest.
# Each row holds obs (2), action (1), reward (1), next_obs (2), terminated (1) and steps (1): 8 numbers.
# `steps` is 1 here: each row is one env step. With n-step returns (`--n-step`, notebook 6) a row
# sums the rewards of the next n steps instead.

# %%
small = ReplayMemory(capacity=5, obs_dim=2, act_dim=1)
for obs, action, reward, next_obs, terminated in transitions[:7]:
    small.push(obs, action, reward, next_obs, terminated)
print("len:", len(small), "| next slot to write:", small.position, "| storage:", tuple(small.data.shape))
assert len(small) == 5 and small.position == 2
print("rows 0 and 1 now hold transitions 5 and 6:")
print(small.data[:2])
assert np.allclose(small.data[0, :2].numpy(), transitions[5][0])

# %% [markdown]
# The whole random episode in a memory of the blog's size (10,000), then a batch of the blog's
# size (128): six named tensors of shape (batch, width).

# %%
memory = ReplayMemory(capacity=10_000, obs_dim=2, act_dim=1)
for t in transitions:
    memory.push(*t)
batch = memory.sample(128)
for name, tensor in batch._asdict().items():
    print(f"{name:>10}: {tuple(tensor.shape)}")
assert batch.obs.shape == (128, 2) and batch.action.shape == (128, 1) and batch.terminated.shape == (128, 1)

# %% [markdown]
# ## The actor: mu(s)
#
# The actor maps a state to an action: three hidden layers of 128 with ReLU, then `tanh` to keep
# the action in [-1, 1]. Its last layer starts with tiny weights, so the first actions are close
# to 0: the untrained actor does not commit to a direction before it has learned one.

# %%
dh.show_source(Actor)

# %%
actor = Actor(obs_dim=2, act_dim=1)
actions = actor(batch.obs)
print("actions:", tuple(actions.shape), "| largest |action|:", f"{actions.abs().max().item():.4f}")
print("parameters:", sum(p.numel() for p in actor.parameters()))
assert actions.shape == (128, 1) and actions.abs().max() < 0.1

# %% [markdown]
# ## The critic: Q(s, a)
#
# The critic scores a state-action pair with one number. The state goes through a first layer
# alone; the action joins it at the second layer (as in the DDPG paper and the blog), then two
# layers of 128, with leaky ReLU throughout.

# %%
dh.show_source(Critic)

# %%
critic = Critic(obs_dim=2, act_dim=1)
q = critic(batch.obs, batch.action)
print("Q values:", tuple(q.shape), "| first five:", q[:5, 0].detach().numpy().round(4))
assert q.shape == (128, 1)

# %% [markdown]
# The actor learns by asking the critic: its loss is `-Q(s, mu(s))`, so a gradient step moves
# the action towards what the critic rates higher. The gradient flows through the critic into
# the actor:

# %%
actor_loss = -critic(batch.obs, actor(batch.obs)).mean()
actor_loss.backward()
print("actor loss:", f"{actor_loss.item():.5f}")
print("the actor's last layer got a gradient:", actor.out.weight.grad is not None)

# %% [markdown]
# ## Target nets start as copies
#
# The target `y` uses slowly-following copies of both nets, `actor_target` and `critic_target`,
# so the critic does not chase a target that moves with every step it takes. They follow by a
# *soft update*: `target <- (1 - tau) * target + tau * online` with `tau = 0.001`.
#
# The blog built the targets with their own random weights. With `tau = 0.001` it takes about
# 1/tau = 1000 updates before they resemble the online nets, and all that time the critic learns
# towards the values of an unrelated net. `Agent` starts them as exact copies:

# %%
agent = Agent(Config(), obs_dim=2, act_dim=1, action_low=[-1.0], action_high=[1.0])
same = all(torch.equal(a, b) for a, b in zip(agent.actor.parameters(), agent.actor_target.parameters()))
print("actor_target == actor at the start:", same)
assert same

# %% [markdown]
# After one update the online actor has moved and the target has followed by only `tau` of the way:

# %%
agent.update(batch)
gap = [(a - b).abs().max().item() for a, b in zip(agent.actor.parameters(), agent.actor_target.parameters())]
print(f"largest gap between actor and actor_target after one update: {max(gap):.2e}")
dh.show_source(soft_update)

# %% [markdown]
# ## The same actor, trained
#
# The project ships an agent trained with notebook 3's hyperparameters (`trained/mcc`), stopped at
# the first noise-free evaluation that averaged 90 or more over 20 episodes. It is the same `Actor`
# class with learned weights. A trained car rocks back and forth to gain speed: mostly it pushes
# the way it is already moving. (At the far left, where the track ends at -1.2, it barely pushes.)

# %%
run = dh.shipped_run()
trained, config, payload = load_agent(run)
print(f"{run}: trained for {payload['episode']} episodes ({payload['env_steps']} env steps)")
states = np.array([[-0.5, -0.02], [-0.5, 0.02], [-1.0, -0.04], [0.2, 0.04]], dtype=np.float32)
for (position, speed), action in zip(states, trained.act(states)):
    print(f"position {position:+.2f}, speed {speed:+.3f} -> action {action[0]:+.2f}")

# %% [markdown]
# One noise-free episode (the env seed of the run's final evaluation). A return of about 90 or
# more means the car reached the flag with little wasted force.

# %%
episode = run_episode(trained, make_env(config.env_id), seed=config.eval_seed)
print(f"return {episode.total_return:.1f} in {len(episode.actions)} steps")
assert episode.total_return >= 90, "the shipped agent should reach the flag"
