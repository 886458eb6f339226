"""The blog's training step, written the blog's way, as the speed baseline (not used by the package).

Per env step: five new tensors on the device, a list-based replay memory, `random.sample`, a
`torch.stack` of 128 tensors per field, and a soft update as a Python loop over parameters.
The nets are the package's (same sizes as the blog's), so only the plumbing differs.
"""

from __future__ import annotations

import random
from collections import namedtuple

import numpy as np
import torch
from torch.nn import functional as F

from ddpg_helpers.networks import Actor, Critic

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward", "done"))


class ListMemory:
    def __init__(self, capacity):
        self.capacity, self.memory, self.index = capacity, [], 0

    def push(self, *args):
        if len(self.memory) < self.capacity:
            self.memory.append(None)
        self.memory[self.index] = Transition(*args)
        self.index = (self.index + 1) % self.capacity

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class NaiveDDPG:
    """One env step and one update per call of `step`, as in the blog's loop."""

    def __init__(self, env, config, device="cpu"):
        c = self.config = config
        self.env, self.device = env, torch.device(device)
        n_obs, n_act = env.observation_space.shape[0], env.action_space.shape[0]
        self.actor = Actor(n_obs, n_act, c.actor_hidden).to(self.device)
        self.actor_target = Actor(n_obs, n_act, c.actor_hidden).to(self.device)
        self.critic = Critic(n_obs, n_act, c.critic_state_hidden, c.critic_hidden).to(self.device)
        self.critic_target = Critic(n_obs, n_act, c.critic_state_hidden, c.critic_hidden).to(self.device)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.critic_lr, weight_decay=c.critic_weight_decay)
        self.memory = ListMemory(c.memory_size)
        self.obs, _ = env.reset(seed=c.seed)
        self.noise = np.zeros(n_act)

    def optimize_model(self):
        c = self.config
        if len(self.memory) < c.batch_size:
            return
        batch = Transition(*zip(*self.memory.sample(c.batch_size)))
        state = torch.stack(batch.state, dim=0)
        action = torch.stack(batch.action, dim=0)
        reward = torch.stack(batch.reward, dim=0)
        next_state = torch.stack(batch.next_state, dim=0)
        done = torch.stack(batch.done, dim=0)
        next_q = self.critic_target(next_state, self.actor_target(next_state))
        expected = next_q * c.gamma * (1.0 - done) + reward
        q_loss = F.mse_loss(self.critic(state, action), expected)
        self.critic_opt.zero_grad()
        q_loss.backward()
        self.critic_opt.step()
        p_loss = -self.critic(state, self.actor(state)).mean()
        self.actor_opt.zero_grad()
        p_loss.backward()
        self.actor_opt.step()
        for target, online in ((self.actor_target, self.actor), (self.critic_target, self.critic)):
            for t, o in zip(target.parameters(), online.parameters()):
                t.data.copy_(c.tau * o.data + (1.0 - c.tau) * t.data)

    def step(self):
        with torch.no_grad():
            action = self.actor(torch.from_numpy(self.obs).float().to(self.device)).cpu().data.numpy()
        self.noise = self.noise - 0.08 * self.noise + 0.3 * np.random.uniform(-1, 1, len(self.noise))
        action = np.clip(action + self.noise, -1, 1)
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        d = self.device
        self.memory.push(torch.tensor(self.obs, device=d, dtype=torch.float),
                         torch.tensor(action, device=d, dtype=torch.float),
                         torch.tensor(next_obs, device=d, dtype=torch.float),
                         torch.tensor([reward], device=d, dtype=torch.float),
                         torch.tensor([terminated], device=d, dtype=torch.float))
        self.obs = next_obs
        if terminated or truncated:
            self.obs, _ = self.env.reset()
        self.optimize_model()
