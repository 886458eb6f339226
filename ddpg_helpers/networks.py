"""The blog's actor and critic, with sizes as parameters so larger tasks can reuse them."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Actor(nn.Module):
    """mu(s): Linear layers with ReLU, tanh out, scaled to the action bounds.

    The blog's Policy_net is Actor(n_obs, n_act, hidden=(128, 128, 128)).
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden=(128, 128, 128), action_low=-1.0, action_high=1.0):
        super().__init__()
        sizes = [obs_dim, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], act_dim)
        # A near-zero last layer makes the first actions near 0 (tanh's linear part), as in the paper.
        nn.init.uniform_(self.out.weight, -3e-3, 3e-3)
        low = torch.as_tensor(action_low, dtype=torch.float32).expand(act_dim)
        high = torch.as_tensor(action_high, dtype=torch.float32).expand(act_dim)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def preactivation(self, obs: torch.Tensor) -> torch.Tensor:
        """The output layer before tanh."""
        x = obs
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)

    def squash(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z) * self.action_scale + self.action_bias

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.squash(self.preactivation(obs))


class Critic(nn.Module):
    """Q(s, a): the state alone goes through the first layer; the action joins at the second.

    Leaky ReLU throughout. The blog's Q_net is Critic(n_obs, n_act, state_hidden=64, hidden=(128, 128)).
    With `layer_norm`, each hidden layer is normalised before its activation (LayerNorm, as in DroQ's
    critic), which keeps a critic steady when it takes several updates per env step. With `outputs`
    N > 1 it predicts N quantiles of the return instead of its mean (TQC's distributional critic).
    """

    def __init__(self, obs_dim: int, act_dim: int, state_hidden: int = 64, hidden=(128, 128),
                 layer_norm: bool = False, outputs: int = 1):
        super().__init__()
        self.state_layer = nn.Linear(obs_dim, state_hidden)
        sizes = [state_hidden + act_dim, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], outputs)  # TQC: one output per quantile of the return
        nn.init.uniform_(self.out.weight, -3e-3, 3e-3)
        norm = nn.LayerNorm if layer_norm else (lambda _: nn.Identity())  # Identity: no weights, as before
        self.state_norm = norm(state_hidden)
        self.norms = nn.ModuleList(norm(o) for o in sizes[1:])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.state_norm(self.state_layer(obs)))
        x = torch.cat((x, action), dim=-1)
        for layer, norm in zip(self.hidden, self.norms):
            x = F.leaky_relu(norm(layer(x)))
        return self.out(x)
