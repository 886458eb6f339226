"""The update on a GPU, captured once in a CUDA graph and replayed; acting from a host copy of the actor.

Why: an update of these small nets is about 50 kernels of a few microseconds each. Launched one by
one from Python, the GPU waits on the launches (4.3 ms per update on an H200, where a 2-core CPU
trains faster); recorded once in a `torch.cuda.CUDAGraph` and replayed, the same update took
0.43 ms there when captured by hand.

What is captured is `Agent._update_step` itself, the readable reference, run once under capture
with the batch drawn inside the graph (`ReplayMemory.draw`) and Adam built with `capturable=True`,
so that its step count stays on the device. A replay then reruns every kernel on the same memory:
  - the batch comes from the memory's preallocated `data`, indexed with random numbers drawn in
    the graph modulo `filled`, the memory's size kept on the device (no recapture as it fills);
  - parameters, targets and Adam's moments are updated in place, so the graph always sees the
    live weights; loading a checkpoint must copy into them (`Agent.load_state_dict` does);
  - the losses are left on the device in the graph's output tensors, which the next replay
    overwrites: read or add them before the next update (the trainer adds them at once).
TD3 moves its actor every `policy_delay` updates only: one graph per phase (critic only; critic,
actor and targets), so every update is one replay.

Acting does not wait for the GPU either (`HostActor`): after each update that moved the actor,
its weights are copied to pinned host memory without blocking, and the next action is computed
on the CPU with the copy from one update before, whose copy has long landed. The behaviour policy
is therefore one update older than the learner's actor. DDPG and TD3 learn off-policy from a
replay memory that mostly holds transitions of much older policies, so this changes nothing in
the algorithm beyond a one-update staleness of the exploration. An act that follows another act
with no update between them (an evaluation) waits for the newest copy and acts with the actor as
it is; `Agent.sync_actor()` does so for the next act too.
"""

from __future__ import annotations

import copy
import time
import warnings

import torch

from .networks import Actor

WARMUP_UPDATES = 3
"""Updates run (then undone) before capture, per phase: they create Adam's state and the
libraries' workspaces outside the graph, as the PyTorch notes on CUDA graphs advise."""


class HostActor:
    """Copies of the actor on the host for acting, refreshed after each update without waiting.

    Two pinned buffers take turns: copy n lands in buffer n % 2 while the actor of copy n - 1 acts
    from the other. The learner's actor parameters are gathered into one flat device tensor (in
    the captured graph) so that each copy is one transfer.
    """

    def __init__(self, actor: Actor):
        self.params = list(actor.parameters())
        device = self.params[0].device
        self.cuda = device.type == "cuda"
        n = sum(p.numel() for p in self.params)
        self.flat = torch.zeros(n, device=device)
        self.buffers = [torch.zeros(n, pin_memory=self.cuda) for _ in range(2)]
        self.events = [torch.cuda.Event() for _ in range(2)] if self.cuda else None
        self.actors = []
        for buffer in self.buffers:
            host = copy.deepcopy(actor).to("cpu").requires_grad_(False)
            offset = 0
            for p in host.parameters():  # the host actor's weights are views of its buffer
                p.data = buffer[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
            self.actors.append(host)
        self.copies = 0  # copies started so far; the newest is in buffers[(copies - 1) % 2]
        self.lagging = False  # a copy was started since the last act: act with the one before
        self.versions = None
        self.refresh()

    @torch.no_grad()
    def gather(self) -> None:
        """The learner's actor into `flat` (one kernel; inside the captured graph)."""
        torch.cat([p.reshape(-1) for p in self.params], out=self.flat)

    def start_copy(self) -> None:
        """Start copying `flat` to the host; return at once."""
        k = self.copies % 2
        self.buffers[k].copy_(self.flat, non_blocking=self.cuda)
        if self.cuda:
            self.events[k].record()
        self.copies += 1
        self.lagging = True
        self.versions = self._versions()

    def refresh(self) -> None:
        """Copy the learner's actor as it is now and act with it (waits for the GPU)."""
        self.gather()
        self.start_copy()
        self.lagging = False
        self._wait(self.copies - 1)

    def policy(self) -> Actor:
        """The host actor to act with: the newest copy, or the one before it if the newest was
        started since the last act (the learner's actor one update ago)."""
        if self._versions() != self.versions:
            # Weights changed outside an update (a loaded checkpoint, a notebook's experiment):
            # parameters count their in-place changes; a graph replay does not touch the count.
            self.refresh()
        # One update old at most: the copy started by the update just launched would make this act
        # wait for that update. The critic learns off-policy, so only the exploration is that old.
        n = self.copies - (2 if self.lagging and self.copies >= 2 else 1)
        self.lagging = False
        self._wait(n)
        return self.actors[n % 2]

    def _wait(self, n: int) -> None:
        if self.cuda:
            self.events[n % 2].synchronize()  # copy n landed (it was started one update ago)

    def _versions(self) -> tuple:
        return tuple(p._version for p in self.params)


class _Snapshot:
    """The values of everything an update writes (nets, targets, Adam's state), to undo the
    warm-up updates in place: capture must not cost the run any update."""

    def __init__(self, agent):
        self.nets = [p for m in (*agent.nets().values(), *agent.targets().values()) for p in m.parameters()]
        self.values = [p.detach().clone() for p in self.nets]
        self.opts = [(opt, {p: {k: v.clone() for k, v in state.items() if torch.is_tensor(v)}
                            for p, state in opt.state.items()})
                     for opt in (agent.actor_opt, agent.critic_opt)]

    @torch.no_grad()
    def restore(self) -> None:
        for p, v in zip(self.nets, self.values):
            p.copy_(v)
        for opt, saved in self.opts:
            for p, state in opt.state.items():
                for k, v in state.items():
                    if not torch.is_tensor(v):
                        continue
                    if p in saved:
                        v.copy_(saved[p][k])
                    else:  # state the warm-up created starts from zero, as Adam's own does
                        v.zero_()


class GraphedUpdate:
    """`Agent.learn` in 'graph' mode: the update as one CUDA graph replay per call.

    On the CPU there is nothing to capture: the same function runs uncaptured, which is what the
    CPU tests check against `Agent.update`.
    """

    def __init__(self, agent):
        self.agent = agent
        self.device = agent.device
        self.host = HostActor(agent.actor)
        self.memory = None  # the memory the graphs draw from
        self.graphs: dict[bool, tuple] = {}  # update_actor -> (graph, its output losses)
        self.capture_seconds: float | None = None

    # ALGO LOGIC: what one replay runs
    def _run(self, memory, update_actor: bool):
        batch = memory.draw(self.agent.config.batch_size)
        losses = self.agent._update_step(batch, update_actor)
        if update_actor:
            self.host.gather()
        return losses

    def step(self, memory, update_actor: bool):
        """One update from `memory`: a replay (captured on the first call), then the host copy."""
        if len(memory) == 0:
            raise ValueError("cannot sample from an empty replay memory")
        if self.device.type != "cuda":
            losses = self._run(memory, update_actor)
        else:
            if memory is not self.memory:
                self.capture(memory)
            graph, losses = self.graphs[update_actor]
            graph.replay()
        if update_actor:
            self.host.start_copy()
        return losses

    def step_on_batch(self, batch, update_actor: bool):
        """`Agent.update(batch)` in 'graph' mode: the eager step on a given batch, then the host copy."""
        with _capturable_outside_capture():
            losses = self.agent._update_step(batch, update_actor)
        if update_actor:
            self.host.gather()
            self.host.start_copy()
        return losses

    def capture(self, memory) -> None:
        """Warm up on a side stream, undo the warm-up, then record one graph per phase."""
        start = time.perf_counter()
        agent = self.agent
        phases = [True, False] if agent.td3 and agent.config.policy_delay > 1 else [True]
        saved, rng = _Snapshot(agent), torch.cuda.get_rng_state(self.device)
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream), _capturable_outside_capture():
            for update_actor in phases:
                for _ in range(WARMUP_UPDATES):
                    self._run(memory, update_actor)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        saved.restore()
        torch.cuda.set_rng_state(rng, self.device)
        self.graphs = {}
        for update_actor in phases:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream):  # the warm-up's stream (its library handles)
                losses = self._run(memory, update_actor)
            self.graphs[update_actor] = (graph, losses)
        self.memory = memory
        self.capture_seconds = time.perf_counter() - start


class _capturable_outside_capture(warnings.catch_warnings):
    """Silence Adam's one-time warning that a capturable instance runs uncaptured: the warm-up
    (and `update` on a given batch) do so on purpose."""

    def __enter__(self):
        super().__enter__()
        warnings.filterwarnings("ignore", message="This instance was constructed with capturable=True")
