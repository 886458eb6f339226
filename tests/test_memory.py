import numpy as np
import pytest
import torch

from ddpg_helpers import Config, ReplayMemory
from ddpg_helpers.memory import OLD_COLUMNS, NStepReturns
from ddpg_helpers.trainer import Trainer


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
    assert memory.data.data_ptr() == storage and memory.data.shape == (50, 3 + 2 + 1 + 3 + 1 + 1)
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


def test_one_step_returns_store_each_transition_as_it_comes():
    n_step = NStepReturns(1, gamma=0.9)
    assert n_step.add("s0", "a0", 1.0, "s1", False, False) == [("s0", "a0", 1.0, "s1", False, 1)]
    assert n_step.add("s1", "a1", 2.0, "s2", True, True) == [("s1", "a1", 2.0, "s2", True, 1)]
    assert not n_step.pending


def test_n_step_returns_sum_n_discounted_rewards_and_bootstrap_from_n_steps_on():
    n_step = NStepReturns(3, gamma=0.5)
    assert n_step.add("s0", "a0", 1.0, "s1", False, False) == []
    assert n_step.add("s1", "a1", 2.0, "s2", False, False) == []
    assert n_step.add("s2", "a2", 4.0, "s3", False, False) == [("s0", "a0", 1 + 0.5 * 2 + 0.25 * 4, "s3", False, 3)]
    assert n_step.add("s3", "a3", 8.0, "s4", False, False) == [("s1", "a1", 2 + 0.5 * 4 + 0.25 * 8, "s4", False, 3)]


@pytest.mark.parametrize("terminated", [True, False])
def test_the_episode_end_stores_the_last_steps_with_what_is_left(terminated):
    """A fall (terminated) stops the bootstrap of every step that sees it; a time limit (truncated)
    leaves k < n rewards, then gamma^k from the last state."""
    n_step = NStepReturns(3, gamma=0.5)
    n_step.add("s0", "a0", 1.0, "s1", False, False)
    n_step.add("s1", "a1", 2.0, "s2", False, False)
    n_step.add("s2", "a2", 4.0, "s3", False, False)
    assert n_step.add("s3", "a3", 8.0, "s4", terminated, True) == [
        ("s1", "a1", 2 + 0.5 * 4 + 0.25 * 8, "s4", terminated, 3),
        ("s2", "a2", 4 + 0.5 * 8, "s4", terminated, 2),
        ("s3", "a3", 8.0, "s4", terminated, 1)]
    assert not n_step.pending


def test_an_episode_shorter_than_n_is_stored_whole():
    n_step = NStepReturns(5, gamma=0.5)
    n_step.add("s0", "a0", 1.0, "s1", False, False)
    assert n_step.add("s1", "a1", 2.0, "s2", True, True) == [("s0", "a0", 2.0, "s2", True, 2),
                                                             ("s1", "a1", 2.0, "s2", True, 1)]


def test_training_with_n_step_returns_stores_every_step_with_its_discounted_rewards():
    trainer = Trainer(Config(episodes=1, max_episode_steps=50, n_step=3, gamma=0.9, eval_every=0))
    trainer.train_episode()
    rows = trainer.memory.split(trainer.memory.data[: len(trainer.memory)])
    assert len(trainer.memory) == trainer.env_steps == 50  # the end of the episode stored its last steps
    assert rows.steps.flatten().tolist() == [3.0] * 48 + [2.0, 1.0]
    np.testing.assert_array_equal(rows.next_obs[:47].numpy(), rows.obs[3:].numpy())  # s_t+3 follows s_t
    assert torch.equal(rows.next_obs[47:], rows.next_obs[49:].expand(3, -1))  # the tail bootstraps from the end
    # MountainCar pays 0.1 a^2 per step (the flag is far off in 50 steps): the reward column holds
    # r_t + 0.9 r_t+1 + 0.81 r_t+2, cut at the episode's end.
    r = np.append(-0.1 * rows.action.numpy()[:, 0].astype(np.float64) ** 2, [0.0, 0.0])
    np.testing.assert_allclose(rows.reward[:, 0].numpy(), r[:-2] + 0.9 * r[1:-1] + 0.81 * r[2:], rtol=1e-5)
    assert trainer.history["return"][0] == pytest.approx(r.sum(), rel=1e-5)


def test_a_memory_saved_before_n_step_returns_loads_as_one_step_transitions():
    memory = ReplayMemory(20, obs_dim=2, act_dim=1)
    push_n(memory, 6)
    state = memory.state_dict()
    old = {"data": state["data"][:, :-1], "position": state["position"], "size": state["size"]}
    assert ReplayMemory.saved_column(old, "obs", 2).equal(ReplayMemory.saved_column(state, "obs", 2))
    assert ReplayMemory.saved_column(old, "terminated", 2).equal(ReplayMemory.saved_column(state, "terminated", 2))
    assert tuple(state["columns"][:5]) == OLD_COLUMNS
    loaded = ReplayMemory(20, obs_dim=2, act_dim=1)
    loaded.load_state_dict(old)
    assert torch.equal(loaded.data, memory.data) and loaded.data[:6, -1].eq(1).all()
