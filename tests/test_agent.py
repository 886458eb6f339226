import copy
import shutil

import numpy as np
import pytest
import torch

from ddpg_helpers import Agent, Config, ReplayMemory, soft_update, td_target
from ddpg_helpers.agent import quantile_huber_loss
from ddpg_helpers.errors import DDPGError
from ddpg_helpers.memory import Batch


def make_agent(**kw):
    torch.manual_seed(0)
    return Agent(Config(compile="eager", **kw), obs_dim=2, act_dim=1, action_low=[-1.0], action_high=[1.0])


def random_batch(n=128, seed=0, obs_dim=2):
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(n, obs_dim, generator=g), torch.rand(n, 1, generator=g) * 2 - 1,
                 torch.randn(n, 1, generator=g), torch.randn(n, obs_dim, generator=g),
                 (torch.rand(n, 1, generator=g) < 0.2).float())


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_td_target_bootstraps_unless_terminated():
    reward = torch.tensor([[1.0], [1.0]])
    q_next = torch.tensor([[10.0], [10.0]])
    terminated = torch.tensor([[0.0], [1.0]])
    y = td_target(reward, terminated, q_next, gamma=0.9)
    assert y.tolist() == [[10.0], [1.0]]


def test_an_n_step_target_discounts_the_bootstrap_by_gamma_to_the_steps_it_spans():
    agent = make_agent(n_step=3, gamma=0.9)
    batch = random_batch()._replace(steps=torch.tensor([[3.0], [2.0], [1.0]]).repeat(43, 1)[:128])
    with torch.no_grad():
        q_next = agent.critic_target(batch.next_obs, agent.actor_target(batch.next_obs))
    expected = batch.reward + 0.9 ** batch.steps * (1 - batch.terminated) * q_next
    torch.testing.assert_close(agent.target(batch), expected)
    one_step = make_agent(gamma=0.9)  # n_step 1 keeps DDPG's target, whatever the batch says
    torch.testing.assert_close(one_step.target(batch),
                               batch.reward + 0.9 * (1 - batch.terminated) * q_next)


def test_targets_start_as_copies_of_the_online_nets():
    agent = make_agent()
    for online, target in ((agent.actor, agent.actor_target), (agent.critic, agent.critic_target)):
        for p, q in zip(online.parameters(), target.parameters()):
            assert torch.equal(p, q) and p.data_ptr() != q.data_ptr()
            assert not q.requires_grad


def test_soft_update_moves_tau_of_the_way():
    torch.manual_seed(0)
    online, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = params(target)
    soft_update(target, online, tau=0.25)
    for t0, t1, o in zip(before, target.parameters(), online.parameters()):
        torch.testing.assert_close(t1, 0.75 * t0 + 0.25 * o)


def test_update_matches_a_hand_written_ddpg_step():
    agent = make_agent()
    ref = copy.deepcopy(agent)  # the same nets, stepped by hand below
    batch = random_batch()
    agent.update(batch)

    with torch.no_grad():
        y = batch.reward + 0.999 * (1 - batch.terminated) * ref.critic_target(batch.next_obs,
                                                                              ref.actor_target(batch.next_obs))
    ref.critic_opt.zero_grad()
    torch.nn.functional.mse_loss(ref.critic(batch.obs, batch.action), y).backward()
    ref.critic_opt.step()
    ref.actor_opt.zero_grad()
    (-ref.critic(batch.obs, ref.actor(batch.obs)).mean()).backward()
    ref.actor_opt.step()
    with torch.no_grad():
        for tgt, src in ((ref.actor_target, ref.actor), (ref.critic_target, ref.critic)):
            for t, s in zip(tgt.parameters(), src.parameters()):
                t.copy_(0.001 * s + 0.999 * t)

    for mine, theirs in ((agent.actor, ref.actor), (agent.critic, ref.critic),
                         (agent.actor_target, ref.actor_target), (agent.critic_target, ref.critic_target)):
        for p, q in zip(mine.parameters(), theirs.parameters()):
            torch.testing.assert_close(p, q)


def test_learn_is_update_on_a_batch_sampled_from_the_memory():
    learner, reference = make_agent(), make_agent()
    memory = ReplayMemory(1000, 2, 1)
    rng = np.random.default_rng(0)
    for _ in range(300):
        memory.push(rng.normal(size=2), rng.uniform(-1, 1, 1), rng.normal(), rng.normal(size=2), rng.random() < 0.1)
    for seed in range(3):
        torch.manual_seed(seed)
        critic_loss, actor_loss = learner.learn(memory)
        torch.manual_seed(seed)
        expected = reference.update(memory.sample(128))
        torch.testing.assert_close(critic_loss, expected[0], rtol=0, atol=0)
        torch.testing.assert_close(actor_loss, expected[1], rtol=0, atol=0)
    for p, q in zip(learner.actor.parameters(), reference.actor.parameters()):
        assert torch.equal(p, q)


def test_critic_learns_a_fixed_batch():
    agent = make_agent()
    batch = random_batch()
    first = agent.update(batch)[0].item()
    for _ in range(200):
        last = agent.update(batch)[0].item()
    assert last < 0.5 * first


def test_td3_delays_the_actor_and_targets():
    agent = make_agent(algo="td3", policy_delay=2)
    batch = random_batch()
    agent.update(batch)  # update 0: critic, actor, targets
    actor, target = params(agent.actor), params(agent.critic_target)
    critic = params(agent.critic)
    agent.update(batch)  # update 1: critics only
    assert all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(target, agent.critic_target.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(critic, agent.critic.parameters()))
    agent.update(batch)  # update 2: the actor moves again
    assert not all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters()))


def test_td3_target_takes_the_smaller_critic_and_smooths_within_bounds():
    agent = make_agent(algo="td3", policy_noise=0.0, noise_clip=0.5, gamma=0.5)
    with torch.no_grad():
        agent.critic_target.out.bias.fill_(5.0)
        agent.critic2_target.out.bias.fill_(-5.0)
    batch = random_batch(n=64)
    y = agent.target(batch)
    with torch.no_grad():
        a = agent.actor_target(batch.next_obs)
        q2 = agent.critic2_target(batch.next_obs, a)
    torch.testing.assert_close(y, batch.reward + 0.5 * (1 - batch.terminated) * q2)
    # With large smoothing noise the target action is still clipped to the action bounds.
    agent.config.policy_noise, agent.config.noise_clip = 10.0, 10.0
    seen = []
    original = agent.critic_target.forward
    agent.critic_target.forward = lambda obs, action: (seen.append(action), original(obs, action))[1]
    agent.target(batch)
    assert seen[0].abs().max() <= 1.0 and seen[0].abs().max() > 0.99



def test_the_quantile_loss_moves_each_quantile_to_its_fraction_of_the_atoms():
    """Quantile i of N settles where a fraction (i + 1/2) / N of the target atoms lie below it (the atoms
    are spread far beyond Huber's quadratic zone, where the loss is the pure quantile loss)."""
    g = torch.Generator().manual_seed(0)
    atoms = torch.randn(1, 4000, generator=g) * 100
    quantiles = torch.zeros(1, 5, requires_grad=True)
    opt = torch.optim.Adam([quantiles], lr=2.0)
    for _ in range(1500):
        opt.zero_grad()
        quantile_huber_loss(quantiles, atoms).backward()
        opt.step()
    below = (atoms.unsqueeze(-1) < quantiles.detach()).float().mean(dim=1)
    torch.testing.assert_close(below, torch.tensor([[0.1, 0.3, 0.5, 0.7, 0.9]]), atol=0.02, rtol=0)


def test_tqc_target_pools_both_critics_and_drops_the_largest_quantiles():
    agent = make_agent(algo="tqc", n_quantiles=4, top_quantiles_to_drop=1, policy_noise=0.0, gamma=0.5)
    assert agent.critic.out.out_features == agent.critic2.out.out_features == 4
    with torch.no_grad():  # constant quantiles: critic 1 says (0, 1, 2, 3), critic 2 (10, 11, 12, 13)
        for net, base in ((agent.critic_target, 0.0), (agent.critic2_target, 10.0)):
            net.out.weight.zero_()
            net.out.bias.copy_(torch.arange(4.0) + base)
    batch = random_batch(n=16)
    y = agent.target(batch)
    kept = torch.tensor([0.0, 1.0, 2.0, 3.0, 10.0, 11.0])  # 8 pooled, the 2 largest (1 per critic) dropped
    torch.testing.assert_close(y, batch.reward + 0.5 * (1 - batch.terminated) * kept)


def test_tqc_keeps_td3s_delay_and_learns_a_fixed_batch():
    agent = make_agent(algo="tqc", policy_delay=2)
    batch = random_batch()
    losses = [agent.update(batch) for _ in range(200)]
    assert [a is None for _, a in losses[:4]] == [False, True, False, True]  # the actor moves every 2nd update
    assert losses[-1][0] < 0.2 * losses[0][0]


def test_tqc_needs_quantiles_left_after_the_truncation():
    with pytest.raises(DDPGError, match="top_quantiles_to_drop"):
        Config(algo="tqc", n_quantiles=2, top_quantiles_to_drop=2)

def test_act_returns_numpy_in_bounds():
    agent = make_agent()
    action = agent.act(np.array([-0.5, 0.01], dtype=np.float32))
    assert isinstance(action, np.ndarray) and action.shape == (1,) and abs(action[0]) <= 1


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="torch.compile on the CPU needs a C++ compiler")
def test_compiled_update_matches_eager():
    """torch.compile (with CUDA graphs on a GPU) learns exactly what the eager path learns."""
    eager, fast = make_agent(), make_agent()
    fast_cfg = copy.copy(fast.config)
    fast_cfg.compile = "compile"
    torch.manual_seed(0)
    fast = Agent(fast_cfg, 2, 1, [-1.0], [1.0])
    for p, q in zip(eager.actor.parameters(), fast.actor.parameters()):
        assert torch.equal(p, q)
    memory = ReplayMemory(1000, 2, 1)
    rng = np.random.default_rng(0)
    for _ in range(300):
        memory.push(rng.normal(size=2), rng.uniform(-1, 1, 1), rng.normal(), rng.normal(size=2), rng.random() < 0.1)
    batches = [memory.sample(128) for _ in range(4)]
    for b in batches:
        eager.update(b)
        fast.update(b)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for p, q in zip(getattr(eager, name).parameters(), getattr(fast, name).parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_compiled_update_matches_eager_on_gpu():
    torch.manual_seed(0)
    eager = Agent(Config(compile="eager"), 2, 1, [-1.0], [1.0], device="cuda")
    torch.manual_seed(0)
    fast = Agent(Config(compile="compile"), 2, 1, [-1.0], [1.0], device="cuda")
    batch = Batch(*(t.cuda() for t in random_batch()))
    for _ in range(5):
        eager.update(batch)
        fast.update(batch)
    for p, q in zip(eager.actor.parameters(), fast.actor.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_the_preactivation_penalty_adds_its_term_to_the_actor_loss():
    batch = random_batch()
    plain, penalised = make_agent(), make_agent(actor_preact_l2=0.01)
    with torch.no_grad():
        z = penalised.actor.preactivation(batch.obs)
    _, loss_plain = plain.update(batch)
    _, loss_penalised = penalised.update(batch)
    torch.testing.assert_close(loss_penalised - loss_plain, 0.01 * z.square().mean())


def test_a_saturated_actor_learns_only_with_the_preactivation_penalty():
    """Past |z| = 9.1, tanh(z) is exactly 1 in float32: dQ/da no longer reaches the actor, which never moves."""
    batch = random_batch()
    for weight, moves in ((0.0, False), (1e-3, True)):
        agent = make_agent(actor_preact_l2=weight)
        with torch.no_grad():
            agent.actor.out.bias.fill_(40.0)  # every action pinned at the bound
        before = params(agent.actor)
        for _ in range(5):
            agent.update(batch)
        after = params(agent.actor)
        assert any(not torch.equal(a, b) for a, b in zip(before, after)) == moves
        if moves:
            assert agent.actor.out.bias.item() < 40.0  # pulled back towards tanh's live range
