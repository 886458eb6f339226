import torch
from torch import nn

from ddpg_helpers import Actor, Critic


def test_blog_actor_layout_and_output_range():
    actor = Actor(2, 1)  # the blog's Policy_net(2, 1, 128)
    shapes = [tuple(p.shape) for p in actor.parameters()]
    assert shapes == [(128, 2), (128,), (128, 128), (128,), (128, 128), (128,), (1, 128), (1,)]
    assert actor.out.weight.abs().max() <= 3e-3
    out = actor(torch.randn(64, 2) * 100)
    assert out.shape == (64, 1) and out.abs().max() <= 1


def test_actor_scales_to_action_bounds():
    actor = Actor(3, 2, hidden=(8,), action_low=[-2.0, 0.0], action_high=[2.0, 1.0])
    with torch.no_grad():
        actor.out.bias.fill_(100.0)  # saturate tanh to +1
        assert torch.allclose(actor(torch.zeros(1, 3)), torch.tensor([[2.0, 1.0]]))
        actor.out.bias.fill_(-100.0)
        assert torch.allclose(actor(torch.zeros(1, 3)), torch.tensor([[-2.0, 0.0]]))


def test_blog_critic_layout_action_joins_second_layer():
    critic = Critic(2, 1)  # the blog's Q_net(2, 1, 64, 128)
    assert critic.state_layer.in_features == 2 and critic.state_layer.out_features == 64
    assert critic.hidden[0].in_features == 64 + 1 and critic.hidden[0].out_features == 128
    assert critic.hidden[1].in_features == 128 and critic.out.in_features == 128
    assert critic.out.weight.abs().max() <= 3e-3
    q = critic(torch.randn(5, 2), torch.rand(5, 1))
    assert q.shape == (5, 1)


def test_critic_depends_on_action():
    torch.manual_seed(0)
    critic = Critic(2, 1)
    torch.nn.init.normal_(critic.out.weight)
    obs = torch.zeros(2, 2)
    q = critic(obs, torch.tensor([[-1.0], [1.0]]))
    assert not torch.isclose(q[0], q[1])


def test_the_critic_has_no_norm_weights_unless_asked():
    assert [tuple(p.shape) for p in Critic(2, 1).parameters()] == [(64, 2), (64,), (128, 65), (128,), (128, 128),
                                                                   (128,), (1, 128), (1,)]
    normed = Critic(2, 1, layer_norm=True)
    assert sum(isinstance(m, nn.LayerNorm) for m in normed.modules()) == 3  # the state layer's and each hidden's


def test_a_layer_norm_critic_does_not_see_the_scale_of_its_layers():
    torch.manual_seed(0)
    obs, action = torch.randn(8, 2), torch.rand(8, 1)
    for layer_norm, unchanged in ((True, True), (False, False)):
        critic = Critic(2, 1, layer_norm=layer_norm)
        torch.nn.init.normal_(critic.out.weight)
        q = critic(obs, action)
        with torch.no_grad():
            critic.state_layer.weight.mul_(10.0)
            critic.state_layer.bias.mul_(10.0)
        assert torch.allclose(critic(obs, action), q, atol=1e-4) == unchanged
