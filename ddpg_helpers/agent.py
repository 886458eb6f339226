"""The DDPG agent (TD3 changes three things in it, TQC one more): nets, optimisers, the update."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.nn import functional as F

from .checkpoint import GROUPS
from .config import Config
from .graphed import GraphCheck, GraphedUpdate
from .memory import Batch, ReplayMemory
from .networks import Actor, Critic

MODES = {"graph": "graph", "compile": "compile", "eager": "eager", "on": "compile", "off": "eager"}
"""`Config.compile` values and the update path each names ('on' and 'off' are the older names)."""


def update_mode(compile: str, device: torch.device) -> str:
    """'graph', 'compile' or 'eager': the path `compile` asks for; 'auto' is the fastest measured.

    On a GPU that is the CUDA graph (on an H200 this update, captured by hand, replayed in 0.43 ms,
    against 4.3 ms eager and 2.9 ms compiled); on a 2-core CPU, eager (compiled was slower there).
    """
    if compile == "auto":
        return "graph" if torch.device(device).type == "cuda" else "eager"
    if compile not in MODES:
        raise ValueError(f"unknown compile {compile!r} (choose 'auto', {', '.join(map(repr, MODES))})")
    return MODES[compile]


OPTIMIZER_SWITCHES = ("foreach", "fused", "capturable", "differentiable")


@torch.no_grad()
def load_optimizer_state(opt: torch.optim.Optimizer, state: dict) -> None:
    """`opt.load_state_dict(state)`, keeping what belongs to this optimiser rather than the saved one.

    - Its implementation switches: a checkpoint saved by another path (fused on the CPU,
      capturable under a CUDA graph, foreach under torch.compile) loads into any of them.
    - Adam's `step` where this implementation keeps it: on the parameters' device when fused or
      capturable, a CPU tensor otherwise.
    - Its state tensors, overwritten in place: a captured CUDA graph reads and writes those.
    """
    switches = [{k: g[k] for k in OPTIMIZER_SWITCHES if k in g} for g in opt.param_groups]
    old = {p: s for p, s in opt.state.items()}
    opt.load_state_dict(state)
    for group, own in zip(opt.param_groups, switches):
        group.update(own)
        on_device = own.get("fused") or own.get("capturable")
        for p in group["params"]:
            new = opt.state.get(p)
            if new and torch.is_tensor(new.get("step")):
                new["step"] = new["step"].to(device=p.device if on_device else "cpu", dtype=torch.float32)
            if p not in old:
                continue
            for k, v in old[p].items():  # keep the tensors, take the values
                if not torch.is_tensor(v):
                    continue
                if new and k in new:
                    v.copy_(new[k])
                else:  # the saved optimiser had not stepped yet: Adam's initial state
                    v.zero_()
            opt.state[p] = old[p]


def td_target(reward, terminated, q_next, gamma):
    """y = r + gamma * Q'(s', a') * (1 - terminated).

    Only a real end (`terminated`: the car reached the flag, the walker fell) stops the
    bootstrap. A time-limit `truncated` is not an end of the task: the state after it still has
    a value, so those transitions keep bootstrapping (the blog's `done` mixed both).
    """
    return reward + gamma * (1.0 - terminated) * q_next


def quantile_huber_loss(quantiles: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """TQC's critic loss: each of the N predicted quantiles (batch, N) against every target atom (batch, M).

    Quantile i sits at the probability tau_i = (i + 1/2) / N. Its error to an atom counts with weight
    tau_i where the atom lies above it and 1 - tau_i where below, so quantile i settles where a
    fraction tau_i of the atoms lie under it. Huber (quadratic within 1, linear beyond) keeps large
    errors from dominating, as in QR-DQN.
    """
    n = quantiles.shape[-1]
    tau = (torch.arange(n, device=quantiles.device, dtype=quantiles.dtype) + 0.5) / n
    pred, atoms = torch.broadcast_tensors(quantiles.unsqueeze(-1), target.unsqueeze(-2))  # (batch, N, M)
    huber = F.huber_loss(pred, atoms, reduction="none")
    return ((tau.unsqueeze(-1) - (atoms < pred).to(pred.dtype)).abs() * huber).mean()


@torch.no_grad()
def soft_update(target, online, tau: float) -> None:
    """target <- (1 - tau) * target + tau * online, for all parameters in one fused call.

    Takes two modules, or two lists of parameters (cheaper in the hot loop).
    """
    if isinstance(target, torch.nn.Module):
        target, online = list(target.parameters()), list(online.parameters())
    torch._foreach_lerp_(target, online, tau)


class Agent:
    """Actor, critic(s), their targets and optimisers; `update` is one step of the algorithm."""

    def __init__(self, config: Config, obs_dim: int, act_dim: int, action_low, action_high, device="cpu"):
        self.config = c = config
        self.device = torch.device(device)
        self.td3 = c.algo in ("td3", "tqc")  # TD3's three changes (TQC keeps them)
        self.tqc = c.algo == "tqc"
        low = torch.as_tensor(np.asarray(action_low, dtype=np.float32))
        high = torch.as_tensor(np.asarray(action_high, dtype=np.float32))
        self.action_low, self.action_high = low.to(self.device), high.to(self.device)
        self.action_scale = (self.action_high - self.action_low) / 2

        def critic():
            return Critic(obs_dim, act_dim, c.critic_state_hidden, c.critic_hidden, c.critic_layer_norm,
                          c.n_quantiles if self.tqc else 1).to(self.device)

        self.actor = Actor(obs_dim, act_dim, c.actor_hidden, low, high).to(self.device)
        self.critic = critic()
        self.critic2 = critic() if self.td3 else None
        # The targets start as exact copies: the blog gave them their own random weights, so
        # for the first ~1/tau updates the critic learned towards the values of an unrelated net.
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.critic2_target = copy.deepcopy(self.critic2).requires_grad_(False) if self.td3 else None

        self.mode = update_mode(c.compile, self.device)
        # Eager: Adam's fused kernel, on the GPU and on the CPU (a third of the time of its
        # default per-parameter loop for these small nets). Compiled: foreach, which the compiler
        # fuses itself. Graph: fused and capturable, its step count on the device, so a replay
        # advances it without the host.
        kind = {"compile": {"foreach": True}, "eager": {"fused": True},
                "graph": {"fused": True, "capturable": self.device.type == "cuda"}}[self.mode]
        critic_params = list(self.critic.parameters()) + (list(self.critic2.parameters()) if self.td3 else [])
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr, **kind)
        self.critic_opt = torch.optim.Adam(critic_params, lr=c.critic_lr, weight_decay=c.critic_weight_decay, **kind)
        self.updates = 0  # gradient updates done so far (TD3's delay counts them)
        pairs = [(self.actor_target, self.actor), (self.critic_target, self.critic)]
        if self.td3:
            pairs.append((self.critic2_target, self.critic2))
        self._target_params = [p for t, _ in pairs for p in t.parameters()]
        self._online_params = [p for _, o in pairs for p in o.parameters()]
        self._actor_params = list(self.actor.parameters())
        self._step = self._update_step
        self._graphed = None
        self.graph_check: GraphCheck | None = None  # graph mode: what its check at capture found
        if self.mode == "compile":
            # On a GPU, "reduce-overhead" records the compiled update's kernels in CUDA graphs
            # and replays them, instead of launching ~50 small kernels from Python one by one.
            mode = "reduce-overhead" if self.device.type == "cuda" else None
            self._step = torch.compile(self._update_step, mode=mode)
        elif self.mode == "graph":
            # This same update, captured in a CUDA graph and replayed (graphed.py), checked against
            # the eager update at capture: where the check fails, the agent goes on with that one.
            self._graphed = GraphedUpdate(self)
            self._step = self._graphed.step_on_batch
            self.graph_check = self._graphed.check

    # ALGO LOGIC: acting
    @torch.inference_mode()
    def act(self, obs) -> np.ndarray:
        """The actor's action for an observation (or a batch of them), as a numpy array.

        Eager and compiled: the actor on the training device, one round trip per call. Graph mode:
        a host copy of the actor one update behind the learner, so acting does not wait for the
        update in flight (graphed.py says what that lag changes: the exploration's age, by one update).
        """
        if self._graphed is not None:
            return self._graphed.host.policy()(torch.as_tensor(obs, dtype=torch.float32)).numpy()
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        return self.actor(obs).cpu().numpy()

    def sync_actor(self) -> None:
        """Graph mode: wait for the GPU and act with the learner's actor as it is now (no lag)."""
        if self._graphed is not None:
            self._graphed.host.refresh()

    # ALGO LOGIC: the update
    def target(self, batch: Batch) -> torch.Tensor:
        c = self.config
        with torch.no_grad():
            next_action = self.actor_target(batch.next_obs)
            if self.td3:  # TD3 change 1: smooth the target policy with clipped noise
                noise = (torch.randn_like(next_action) * c.policy_noise).clamp(-c.noise_clip, c.noise_clip)
                next_action = torch.max(torch.min(next_action + noise * self.action_scale, self.action_high),
                                        self.action_low)
            q_next = self.critic_target(batch.next_obs, next_action)
            if self.tqc:  # TQC: pool both critics' quantiles, drop the largest (overestimated) ones
                pooled = torch.cat((q_next, self.critic2_target(batch.next_obs, next_action)), dim=-1)
                q_next = pooled.sort(dim=-1).values[:, :pooled.shape[-1] - 2 * c.top_quantiles_to_drop]
            elif self.td3:  # TD3 change 2: twin critics, bootstrap from the smaller estimate
                q_next = torch.min(q_next, self.critic2_target(batch.next_obs, next_action))
            # n-step returns: `reward` sums the next n rewards, so the bootstrap is discounted by gamma^n.
            gamma = c.gamma if c.n_step == 1 else c.gamma ** batch.steps
            return td_target(batch.reward, batch.terminated, q_next, gamma)

    def _update_step(self, batch: Batch, update_actor: bool):
        y = self.target(batch)  # TQC: (batch, atoms) kept after the truncation; else (batch, 1)
        loss = quantile_huber_loss if self.tqc else F.mse_loss
        critic_loss = loss(self.critic(batch.obs, batch.action), y)
        if self.td3:
            critic_loss = critic_loss + loss(self.critic2(batch.obs, batch.action), y)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        if not update_actor:
            return critic_loss.detach(), torch.zeros_like(critic_loss)
        z = self.actor.preactivation(batch.obs)
        # TQC: the mean over the quantiles is the critic's estimate of Q.
        actor_loss = -self.critic(batch.obs, self.actor.squash(z)).mean()
        if self.config.actor_preact_l2:
            # Keeps tanh out of saturation, where dQ/da no longer reaches the actor's weights.
            actor_loss = actor_loss + self.config.actor_preact_l2 * z.square().mean()
        self.actor_opt.zero_grad(set_to_none=True)
        # Gradients for the actor only: the critic's parameters take no part in this step.
        actor_loss.backward(inputs=self._actor_params)
        self.actor_opt.step()

        soft_update(self._target_params, self._online_params, self.config.tau)  # all targets at once
        return critic_loss.detach(), actor_loss.detach()

    def _actor_moves(self) -> bool:
        """Whether the next update moves the actor and the targets.

        TD3 change 3: only every `policy_delay` critic updates (DDPG: every update)."""
        return not self.td3 or self.updates % self.config.policy_delay == 0

    def update(self, batch: Batch):
        """One gradient step; returns (critic_loss, actor_loss) as device tensors (no host sync),
        with actor_loss None where the actor did not move."""
        update_actor = self._actor_moves()
        self.updates += 1
        critic_loss, actor_loss = self._step(batch, update_actor)
        return critic_loss, actor_loss if update_actor else None

    def learn(self, memory: ReplayMemory):
        """One update on a batch drawn from `memory`; returns what `update` returns.

        Eager and compiled: `update(memory.sample(batch_size))`. Graph mode: the same schedule and
        the same step, replayed from a CUDA graph that draws its batch itself; its losses are the
        graph's outputs, which the next update overwrites (add or copy them before). The first
        update from a memory captures the graph and checks it, or falls back to the eager update.
        """
        if self._graphed is not None:
            self._graphed.prepare(memory)
        if self._graphed is None:
            return self.update(memory.sample(self.config.batch_size))
        update_actor = self._actor_moves()
        critic_loss, actor_loss = self._graphed.step(memory, update_actor)
        self.updates += 1
        return critic_loss, actor_loss if update_actor else None

    def update_path(self) -> dict:
        """For a run's summary: the update path in use, and on the graph path what its check at
        capture found (the largest difference, None before the first update) or why it fell back."""
        check = self.graph_check or GraphCheck()
        diff = check.max_diff if check.max_diff is None else float(f"{check.max_diff:.3g}")
        return {"update_path": self.mode, "graph_check_max_diff": diff, "graph_fallback": check.fallback}

    # Checkpointing: the entry names are checkpoint.GROUPS'
    def nets(self) -> dict:
        """The online nets by checkpoint name (critic2: TD3 only)."""
        return {n: getattr(self, n) for n in GROUPS["nets"] if getattr(self, n) is not None}

    def targets(self) -> dict:
        """The target nets by checkpoint name, in the order of `nets()`."""
        return {t: getattr(self, t) for n, t in zip(GROUPS["nets"], GROUPS["targets"]) if getattr(self, n) is not None}

    def optimisers(self) -> dict:
        return {n: getattr(self, n) for n in GROUPS["optimisers"]}

    def modules(self) -> dict:
        return {**self.nets(), **self.targets(), **self.optimisers()}

    def state_dict(self) -> dict:
        return {"updates": self.updates, **{n: m.state_dict() for n, m in self.modules().items()}}

    def load_nets(self, state: dict) -> None:
        """The nets from another run's checkpoint, with its targets (or copies of the nets, for a
        snapshot, which keeps none); the optimisers start afresh."""
        for (name, net), (target_name, target) in zip(self.nets().items(), self.targets().items()):
            net.load_state_dict(state[name])
            target.load_state_dict(state.get(target_name, state[name]))

    def load_state_dict(self, state: dict, actor_only: bool = False) -> None:
        """Load a state from any update path or device; nets and optimiser state are copied into
        the existing tensors, which a captured CUDA graph keeps using."""
        self.updates = int(state.get("updates", 0))
        optimisers = self.optimisers()
        for name, module in self.modules().items():
            if name not in state:
                if not actor_only:
                    raise KeyError(name)
            elif name in optimisers:
                load_optimizer_state(module, state[name])
            else:
                module.load_state_dict(state[name])
        if actor_only and "actor_target" not in state:
            self.actor_target.load_state_dict(self.actor.state_dict())
