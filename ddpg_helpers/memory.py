"""Replay memory: the blog's interface, stored in preallocated tensors on the training device."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """A sampled batch; every field is a (batch, n) float tensor on the memory's device."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    steps: torch.Tensor | None = None
    """env steps whose rewards `reward` sums, `next_obs` coming after the last (1 for one-step transitions)"""


def columns(obs_dim: int, act_dim: int, names=Batch._fields) -> dict[str, slice]:
    """Where each field of a transition lies in a row of the memory (`names`: an older layout)."""
    widths = {"obs": obs_dim, "action": act_dim, "next_obs": obs_dim}
    slices, start = {}, 0
    for name in names:
        slices[name] = slice(start, start + widths.get(name, 1))
        start += widths.get(name, 1)
    return slices


OLD_COLUMNS = ("obs", "action", "reward", "next_obs", "terminated")
"""The layout of memories saved before n-step returns: every transition one step long."""


class NStepReturns:
    """Turns the episode's one-step transitions into n-step ones, as they come.

    Step t is stored once the n rewards after it are known, as (s_t, a_t,
    r_t + gamma r_t+1 + ... + gamma^(n-1) r_t+n-1, s_t+n, terminated, n): the TD target then
    bootstraps from s_t+n with gamma^n. At the episode's end the last steps are stored with what is
    left (k < n rewards, s_end, gamma^k). With n = 1 every transition is stored as it comes.
    """

    def __init__(self, n: int, gamma: float):
        self.n = n
        self.discounts = [gamma**i for i in range(n)]  # 1, gamma, ..., gamma^(n-1)
        self.pending = deque()  # (obs, action, reward) of the steps not yet stored

    def add(self, obs, action, reward, next_obs, terminated: bool, ended: bool) -> list[tuple]:
        """The transitions ready to store after this step (`ended`: the episode ends here)."""
        self.pending.append((obs, action, float(reward)))
        ready = []
        while self.pending and (ended or len(self.pending) == self.n):
            ret = sum(d * r for d, (_, _, r) in zip(self.discounts, self.pending))
            first_obs, first_action, _ = self.pending.popleft()
            ready.append((first_obs, first_action, ret, next_obs, terminated, len(self.pending) + 1))
        return ready


class ReplayMemory:
    """A ring buffer of transitions (obs, action, reward, next_obs, terminated, steps).

    All transitions live in one preallocated (capacity, width) tensor: a push writes one row
    (one host-to-device copy), a sample gathers rows by random index (one kernel), so there is no
    list of small tensors and no `torch.stack` per update as in the blog.

    `size` counts the filled slots on the host; `filled` holds the same number on the memory's
    device, for `draw`, the sample a CUDA graph can capture once and replay as the memory fills.
    """

    STAGING_ROWS = 64
    """Pinned host rows a push on a GPU cycles through, so that it need not wait for its copy."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, device: str | torch.device = "cpu"):
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self._slices = columns(obs_dim, act_dim)
        start = self._slices["steps"].stop  # the row's width
        self.data = torch.zeros((self.capacity, start), dtype=torch.float32, device=self.device)
        self.filled = torch.zeros((), dtype=torch.int64, device=self.device)  # `size`, on the device
        # Staging rows on the host. On the CPU one row, copied at once. On a GPU a ring of pinned
        # rows, each copied without waiting (non_blocking): a row is written again only after the
        # event recorded behind its last copy has passed, so a pending copy never reads a half-new
        # row (during random warm-up steps nothing else would hold the pushes back).
        cuda = self.device.type == "cuda"
        rows = torch.zeros((self.STAGING_ROWS if cuda else 1, start), dtype=torch.float32, pin_memory=cuda)
        self._staging = [(row, row.numpy()) for row in rows]  # each row as a tensor and as numpy (one memory)
        self._copied = [torch.cuda.Event() for _ in self._staging] if cuda else None
        self._next_row = 0
        # On the CPU `filled` is set through a numpy view of it, ten times cheaper than a torch call.
        self._filled_host = None if cuda else self.filled.numpy()
        self.position = 0  # next slot to write
        self.size = 0  # filled slots

    def push(self, obs, action, reward, next_obs, terminated, steps: int = 1) -> None:
        """Store one transition, overwriting the oldest one when full."""
        k, s = self._next_row, self._slices
        row_t, row = self._staging[k]
        if self._copied is not None:
            self._copied[k].synchronize()  # this row's previous copy (STAGING_ROWS pushes ago) has landed
            self._next_row = (k + 1) % len(self._staging)
        row[s["obs"]] = obs
        row[s["action"]] = action
        row[s["reward"]] = reward
        row[s["next_obs"]] = next_obs
        row[s["terminated"]] = float(terminated)
        row[s["steps"]] = steps
        self.data[self.position].copy_(row_t, non_blocking=self._copied is not None)
        if self._copied is not None:
            self._copied[k].record()
        self.position = (self.position + 1) % self.capacity
        if self.size < self.capacity:
            self.size += 1
            self._set_filled()

    def _set_filled(self) -> None:
        if self._filled_host is not None:
            self._filled_host[()] = self.size
        else:
            self.filled.fill_(self.size)  # a kernel with the number as its argument: no copy, no wait

    def sample(self, batch_size: int) -> Batch:
        """A batch drawn uniformly (with replacement) from the filled slots only."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay memory")
        idx = torch.randint(0, self.size, (batch_size,), device=self.device)
        return self.split(self.data[idx])

    def draw(self, batch_size: int) -> Batch:
        """Like `sample`, with the number of filled slots read on the device (`filled`), not the host.

        A CUDA graph records the host's numbers as constants; this draw reads `filled` and `data`
        at fixed addresses, so one captured draw stays right as the memory fills. A 62-bit random
        integer modulo `filled` is uniform over the filled slots up to a bias below 2**-40.
        """
        idx = torch.randint(0, 2**62, (batch_size,), device=self.device) % self.filled
        return self.split(self.data.index_select(0, idx))

    def split(self, rows: torch.Tensor) -> Batch:
        """Name the columns of a block of rows (views, no copy)."""
        return Batch(*(rows[:, s] for s in self._slices.values()))

    def __len__(self) -> int:
        return self.size

    def reset(self) -> None:
        """Forget everything (the storage is kept and reused)."""
        self.position = 0
        self.size = 0
        self._set_filled()

    def state_dict(self) -> dict:
        """The filled part of the memory, for resuming a run."""
        # clone: on the CPU a slice is a view, and saving it would write the whole buffer.
        return {"data": self.data[: self.size].clone().cpu(), "position": self.position, "size": self.size,
                "columns": list(self._slices)}

    @staticmethod
    def saved_column(state: dict, name: str, obs_dim: int) -> torch.Tensor:
        """One named column ('obs', 'action', ...) of a memory saved by `state_dict`, without building a memory."""
        names = state.get("columns", OLD_COLUMNS)
        act_dim = state["data"].shape[1] - 2 * obs_dim - (len(names) - 3)  # the columns besides obs, action, next_obs
        return state["data"][:, columns(obs_dim, act_dim, names)[name]]

    def load_state_dict(self, state: dict) -> None:
        size, data = int(state["size"]), state["data"]
        if "steps" not in state.get("columns", OLD_COLUMNS):  # saved before n-step returns: all one-step
            data = torch.cat((data, torch.ones((len(data), 1), dtype=data.dtype)), dim=1)
        if size > self.capacity or data.shape[1] != self.data.shape[1]:
            raise ValueError("saved replay memory does not fit this memory's shape")
        self.data[:size].copy_(data)  # in place: a captured draw keeps reading `data`
        self.size, self.position = size, int(state["position"]) % self.capacity
        self._set_filled()
