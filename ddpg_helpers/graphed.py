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

A check at capture, so that a broken graph cannot quietly change what a run learns: before the
first update is trained on the graphs, they are replayed twice through the phases and compared with
the eager update (this same step run uncaptured) from the same state and the same random numbers,
hence the same batches and target noise. Nets, targets, Adam's state, the host copy and the losses
must agree within `CHECK_TOLERANCE`; then the state and the generator are put back as they were.
A capture that raises or a check that fails hands the run to the eager update, with one line on
stderr asking for a report; `Agent.update_path()` puts the path and the largest difference in the
run's summary. On the CPU the graph's stand-in is the uncaptured step, so the check and the
fall-back run there too; the tests replace `_replay` or `_capture` to force each branch.

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

import contextlib
import copy
import math
import sys
import time
import warnings
from dataclasses import dataclass

import torch

from .networks import Actor

WARMUP_UPDATES = 3
"""Updates run before capture, per phase (undone after the check): they create Adam's state and the
libraries' workspaces outside the graph, as the PyTorch notes on CUDA graphs advise."""

CHECK_ROUNDS = 2
"""Times the check goes through the phases: a number recorded as a constant at capture (a step
count, a size) shows only from the second replay on, once the state has moved past the capture's."""

CHECK_TOLERANCE = 1e-2
"""The most a replay may differ from the eager update in any tensor it writes, as a share of what the
eager update changed in that tensor (the norm of the difference over the norm of the change). A sound
graph runs the eager update's kernels on the same inputs: the share is 0 (on the CPU's stand-in,
exactly). Rounding, should a library pick another algorithm under capture, stays far below: another
summation order (2 CPU threads instead of 1) gave at most 7.5e-6 on the walker preset's TD3 and TQC
updates, and even one float32 step added to every critic weight at every replay at most 1.6e-4. What
the check is for moves a tensor by a whole update: a replay that lost the soft update of the targets
or Adam's step count, or that drew the same random numbers each time, gave 1, 1 and 0.95 to 7.9.
1e-2 lies about 60x above the one and 100x below the other."""


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
    warm-up's and the check's updates in place: capture must not cost the run any update."""

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


@dataclass
class GraphCheck:
    """What the check at capture found, for the run's summary."""

    max_diff: float | None = None
    """the largest difference of a replay from the eager update, as a share of that update's own change
    (None: not checked yet, no update has run)"""
    fallback: str | None = None
    """why the run left the graph path for the eager update (None: it did not)"""


class GraphedUpdate:
    """`Agent.learn` in 'graph' mode: the update as one CUDA graph replay per call.

    On the CPU there is nothing to capture: the graph's stand-in is the same function run
    uncaptured, which is what the CPU tests check against `Agent.update`; the warm-up, the check
    and the fall-back run there as on a GPU.
    """

    def __init__(self, agent):
        self.agent = agent
        self.device = agent.device
        self.cuda = self.device.type == "cuda"
        self.host = HostActor(agent.actor)
        # TD3 moves its actor every policy_delay updates: one graph per phase (with the actor, without).
        self.phases = [True, False] if agent.td3 and agent.config.policy_delay > 1 else [True]
        self.memory = None  # the memory the graphs draw from
        self.graphs: dict[bool, tuple] = {}  # update_actor -> (graph, its output losses)
        self.stream = None  # the side stream of the warm-up and the capture (a GPU only)
        self.capture_seconds: float | None = None  # the capture and its check, on the first update
        self.check = GraphCheck()
        # Named now, for the report line: after a failed capture the device may not answer.
        self.where = f"{torch.cuda.get_device_name(self.device)}, " if self.cuda else ""

    # ALGO LOGIC: what one replay runs
    def _run(self, memory, update_actor: bool):
        batch = memory.draw(self.agent.config.batch_size)
        losses = self.agent._update_step(batch, update_actor)
        if update_actor:
            self.host.gather()
        return losses

    def _replay(self, memory, update_actor: bool):
        """One update by the graph path: a replay of the captured graph; on the CPU, its stand-in,
        the uncaptured step. (The tests replace it to make a replay differ.)"""
        if not self.cuda:
            return self._run(memory, update_actor)
        graph, losses = self.graphs[update_actor]
        graph.replay()
        return losses

    def step(self, memory, update_actor: bool):
        """One update from `memory` (which `prepare` has captured): a replay, then the host copy."""
        if len(memory) == 0:
            raise ValueError("cannot sample from an empty replay memory")
        losses = self._replay(memory, update_actor)
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

    def prepare(self, memory) -> None:
        """Before the first update from `memory`: capture, check a replay against the eager update,
        and undo both; where the capture raises or the check fails, hand the agent to the eager update."""
        if memory is self.memory:
            return
        if len(memory) == 0:
            raise ValueError("cannot sample from an empty replay memory")
        start = time.perf_counter()
        # The warm-up and the check must cost the run no update and no random number: all is put back below.
        saved, rng = _Snapshot(self.agent), _rng_state(self.device)
        try:
            self._capture(memory)
            self.check.max_diff, where = self._compare(memory)
            failure = None if self.check.max_diff <= CHECK_TOLERANCE else (
                f"failed its check: a replay differs from the eager update in {where} by "
                f"{self.check.max_diff:.2g} of that update's change (limit {CHECK_TOLERANCE:g})")
        except Exception as e:  # whatever broke the capture, the eager update still trains
            message = str(e).strip().splitlines()
            failure = f"could not be captured ({type(e).__name__}: {message[0] if message else 'no message'})"
        finally:
            saved.restore()
            _set_rng_state(rng, self.device)
        self.memory = memory
        self.capture_seconds = time.perf_counter() - start
        if failure is not None:
            self._fall_back(failure)

    def _capture(self, memory) -> None:
        """Warm up, then record one graph per phase (a GPU only: the CPU's stand-in needs no graph).

        The warm-up creates Adam's state and the libraries' workspaces outside the graph, on a side
        stream, as the PyTorch notes on CUDA graphs advise; the graph records addresses, not values,
        so the warm-up's updates stay in place for the check and are undone after it."""
        context = contextlib.nullcontext()
        if self.cuda:
            self.stream = torch.cuda.Stream(self.device)
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            context = torch.cuda.stream(self.stream)
        with context, _capturable_outside_capture():
            for update_actor in self.phases:
                for _ in range(WARMUP_UPDATES):
                    self._run(memory, update_actor)
        if not self.cuda:
            return
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        self.graphs = {}
        for update_actor in self.phases:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self.stream):  # the warm-up's stream (its library handles)
                losses = self._run(memory, update_actor)
            self.graphs[update_actor] = (graph, losses)

    def _compare(self, memory) -> tuple[float, str]:
        """Replays against the eager update from the same state and random numbers (so the same
        batches and target noise), `CHECK_ROUNDS` times through the phases; the largest difference,
        as a share of the eager update's change, and the tensor where it is. Leaves the state as it found it."""
        sequence = self.phases * CHECK_ROUNDS
        saved, rng, before = _Snapshot(self.agent), _rng_state(self.device), self._written()
        replayed = [self._written(self._replay(memory, update_actor)) for update_actor in sequence]
        saved.restore()
        _set_rng_state(rng, self.device)
        reference = [self._written(self._eager(memory, update_actor)) for update_actor in sequence]
        saved.restore()
        _set_rng_state(rng, self.device)
        shares = {}
        for mine, theirs in zip(replayed, reference):
            for name, value in theirs.items():
                diff = (mine[name] - value).norm()
                change = (value - before[name]).norm() if name in before else value.norm()
                share = torch.where(diff == 0, 0.0, diff / change)  # unchanged by both: 0, not 0/0
                shares[name] = torch.maximum(shares[name], share) if name in shares else share
        values = torch.stack(list(shares.values())).tolist()  # the check's one wait for the device
        ranked = [math.inf if math.isnan(v) else v for v in values]  # nan: a difference, the worst kind
        worst = ranked.index(max(ranked))
        return values[worst], list(shares)[worst]

    def _eager(self, memory, update_actor: bool):
        """The eager reference: the same step uncaptured, on the capture's stream (its library handles)."""
        if not self.cuda:
            return self._run(memory, update_actor)
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream), _capturable_outside_capture():
            losses = self._run(memory, update_actor)
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        return losses

    def _written(self, losses=()) -> dict[str, torch.Tensor]:
        """Copies of everything an update writes, by name: nets, targets, Adam's state, the host
        actor's gather, and `losses` (the step's outputs)."""
        agent = self.agent
        names = {}
        written = {}
        for net, module in {**agent.nets(), **agent.targets()}.items():
            for name, p in module.named_parameters():
                names[p] = f"{net}.{name}"
                written[names[p]] = p.detach().clone()
        for opt in agent.optimisers().values():
            for p, state in opt.state.items():
                written.update({f"{names[p]} (Adam {k})": v.clone() for k, v in state.items() if torch.is_tensor(v)})
        written["the host actor's copy"] = self.host.flat.clone()
        written.update({name: loss.detach().clone() for name, loss in zip(("critic_loss", "actor_loss"), losses)})
        return written

    def _fall_back(self, why: str) -> None:
        """The eager update for the rest of the run, said in one line."""
        agent = self.agent
        for opt in agent.optimisers().values():
            for group in opt.param_groups:
                group["capturable"] = False  # the eager path's fused Adam (its step count stays on the device)
        agent.mode, agent._step, agent._graphed = "eager", agent._update_step, None
        self.graphs = {}
        self.check.fallback = why
        print(f"ddpg_helpers: the graph update path {why}; training goes on with the eager update (the same "
              f"algorithm, slower on a GPU). Please report it with this line at the project's issue tracker "
              f"({self.where}torch {torch.__version__}).", file=sys.stderr, flush=True)


def _rng_state(device: torch.device) -> torch.Tensor:
    """The state of the generator the update draws from (its batches, TD3's target noise)."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def _set_rng_state(state: torch.Tensor, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


class _capturable_outside_capture(warnings.catch_warnings):
    """Silence Adam's one-time warning that a capturable instance runs uncaptured: the warm-up
    (and `update` on a given batch) do so on purpose."""

    def __enter__(self):
        super().__enter__()
        warnings.filterwarnings("ignore", message="This instance was constructed with capturable=True")
