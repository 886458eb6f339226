import numpy as np
import pytest
import torch

from ddpg_helpers import ReplayMemory


def push_n(memory, n, start=0):
    for i in range(start, start + n):
        memory.push(np.array([i, -i]), np.array([i / 10]), float(i), np.array([i + 1, -i - 1]), i % 2 == 0)


def test_push_and_sample_shapes_and_fields():
    memory = ReplayMemory(100, obs_dim=2, act_dim=1)
    push_n(memory, 10)
    batch = memory.sample(32)
    assert batch.obs.shape == (32, 2) and batch.next_obs.shape == (32, 2)
    assert batch.action.shape == (32, 1) and batch.reward.shape == (32, 1) and batch.terminated.shape == (32, 1)
    assert all(t.dtype == torch.float32 for t in batch)
    # Each sampled row is a whole transition: the fields of one row belong together.
    i = batch.reward[:, 0]
    torch.testing.assert_close(batch.obs[:, 0], i)
    torch.testing.assert_close(batch.obs[:, 1], -i)
    torch.testing.assert_close(batch.action[:, 0], i / 10)
    torch.testing.assert_close(batch.next_obs[:, 0], i + 1)
    torch.testing.assert_close(batch.terminated[:, 0], (i % 2 == 0).float())


def test_samples_only_filled_slots():
    memory = ReplayMemory(1000, 2, 1)
    push_n(memory, 5, start=1)  # rewards 1..5; the empty slots hold reward 0
    rewards = memory.sample(2000).reward
    assert set(rewards.flatten().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_draw_reads_the_filled_size_on_the_device():
    """`draw`, the sample a CUDA graph captures, takes the size from `filled`, kept in step with `size`."""
    memory = ReplayMemory(8, 2, 1)
    push_n(memory, 5, start=1)  # rewards 1..5; the empty slots hold reward 0
    assert memory.filled.item() == len(memory) == 5
    assert set(memory.draw(2000).reward.flatten().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    push_n(memory, 6, start=6)  # 11 pushes into 8 slots: rewards 4..11 survive
    assert memory.filled.item() == len(memory) == 8
    assert set(memory.draw(2000).reward.flatten().tolist()) == set(map(float, range(4, 12)))
    other = ReplayMemory(8, 2, 1)
    other.load_state_dict(memory.state_dict())
    assert other.filled.item() == 8
    memory.reset()
    assert memory.filled.item() == 0


def test_draw_fields_belong_to_one_transition():
    memory = ReplayMemory(100, 2, 1)
    push_n(memory, 10)
    batch = memory.draw(64)
    assert all(t.shape[0] == 64 and t.dtype == torch.float32 for t in batch)
    torch.testing.assert_close(batch.obs[:, 0], batch.reward[:, 0])
    torch.testing.assert_close(batch.next_obs[:, 0], batch.reward[:, 0] + 1)


def test_len_and_wrap_around_overwrites_oldest():
    memory = ReplayMemory(4, 2, 1)
    push_n(memory, 3)
    assert len(memory) == 3
    push_n(memory, 4, start=3)  # 7 pushes into 4 slots: 3, 4, 5, 6 survive
    assert len(memory) == 4
    assert memory.position == 3
    assert sorted(memory.data[:, 3].tolist()) == [3.0, 4.0, 5.0, 6.0]  # reward column
    assert set(memory.sample(500).reward.flatten().tolist()) == {3.0, 4.0, 5.0, 6.0}


def test_reset_empties():
    memory = ReplayMemory(4, 2, 1)
    push_n(memory, 3)
    memory.reset()
    assert len(memory) == 0
    with pytest.raises(ValueError):
        memory.sample(1)


def test_storage_is_one_preallocated_tensor_on_the_device():
    memory = ReplayMemory(50, 3, 2, device="cpu")
    storage = memory.data.data_ptr()
    push_n_obs = [(np.ones(3) * k, np.ones(2), 1.0, np.zeros(3), False) for k in range(60)]
    for t in push_n_obs:
        memory.push(*t)
    assert memory.data.data_ptr() == storage and memory.data.shape == (50, 3 + 2 + 1 + 3 + 1)
    assert memory.sample(8).obs.device == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_memory_on_cuda():
    memory = ReplayMemory(10, 2, 1, device="cuda")
    push_n(memory, 5)
    assert memory.sample(4).obs.is_cuda and memory.draw(4).obs.is_cuda


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_pushes_on_cuda_cycle_through_the_staging_rows_without_losing_one():
    """More pushes than staging rows, none waited for: every transition lands intact."""
    n = 3 * ReplayMemory.STAGING_ROWS + 5
    memory = ReplayMemory(1000, 2, 1, device="cuda")
    push_n(memory, n)
    rows = memory.data[:n].cpu()
    i = torch.arange(n, dtype=torch.float32)
    torch.testing.assert_close(rows[:, 0], i)  # obs[0]
    torch.testing.assert_close(rows[:, 3], i)  # reward
    torch.testing.assert_close(rows[:, 4], i + 1)  # next_obs[0]


def test_state_dict_round_trip():
    memory = ReplayMemory(8, 2, 1)
    push_n(memory, 11)
    other = ReplayMemory(8, 2, 1)
    other.load_state_dict(memory.state_dict())
    assert (len(other), other.position) == (len(memory), memory.position)
    torch.testing.assert_close(other.data, memory.data)
