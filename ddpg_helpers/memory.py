"""Replay memory: the blog's interface, stored in preallocated tensors on the training device."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """A sampled batch; every field is a (batch, n) float tensor on the memory's device."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor


class ReplayMemory:
    """A ring buffer of transitions (obs, action, reward, next_obs, terminated).

    All transitions live in one preallocated (capacity, width) tensor: a push writes one row
    (one host-to-device copy), a sample gathers rows by random index (one kernel), so there is no
    list of small tensors and no `torch.stack` per update as in the blog.
    """

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, device: str | torch.device = "cpu"):
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self._slices = {}
        start = 0
        for name, width in (("obs", obs_dim), ("action", act_dim), ("reward", 1),
                            ("next_obs", obs_dim), ("terminated", 1)):
            self._slices[name] = slice(start, start + width)
            start += width
        self.data = torch.zeros((self.capacity, start), dtype=torch.float32, device=self.device)
        # Staging row on the host (pinned on a GPU, for a direct copy). The copy is synchronous:
        # during random warm-up steps nothing else would stop the next push from overwriting the
        # row while an asynchronous copy of it was still pending.
        self._row_t = torch.zeros(start, dtype=torch.float32, pin_memory=self.device.type == "cuda")
        self._row = self._row_t.numpy()
        self.position = 0  # next slot to write
        self.size = 0  # filled slots

    def push(self, obs, action, reward, next_obs, terminated) -> None:
        """Store one transition, overwriting the oldest one when full."""
        row, s = self._row, self._slices
        row[s["obs"]] = obs
        row[s["action"]] = action
        row[s["reward"]] = reward
        row[s["next_obs"]] = next_obs
        row[s["terminated"]] = float(terminated)
        self.data[self.position].copy_(self._row_t)
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """A batch drawn uniformly (with replacement) from the filled slots only."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay memory")
        idx = torch.randint(0, self.size, (batch_size,), device=self.device)
        return self.split(self.data[idx])

    def split(self, rows: torch.Tensor) -> Batch:
        """Name the columns of a block of rows (views, no copy)."""
        return Batch(*(rows[:, s] for s in self._slices.values()))

    def __len__(self) -> int:
        return self.size

    def reset(self) -> None:
        """Forget everything (the storage is kept and reused)."""
        self.position = 0
        self.size = 0

    def state_dict(self) -> dict:
        """The filled part of the memory, for resuming a run."""
        # clone: on the CPU a slice is a view, and saving it would write the whole buffer.
        return {"data": self.data[: self.size].clone().cpu(), "position": self.position, "size": self.size}

    def load_state_dict(self, state: dict) -> None:
        size = int(state["size"])
        if size > self.capacity or state["data"].shape[1] != self.data.shape[1]:
            raise ValueError("saved replay memory does not fit this memory's shape")
        self.data[:size].copy_(state["data"])
        self.size, self.position = size, int(state["position"]) % self.capacity
