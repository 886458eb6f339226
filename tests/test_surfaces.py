"""The surface helpers: grid shapes, axis order, greedy actions, gradients and one-pass batching.

The axis-order tests use hand-made nets whose answer is known in closed form and whose grid
sides all differ in length, so a transposed or reshaped-the-wrong-way axis cannot pass.
"""

import numpy as np
import pytest
import torch
from torch import nn

from ddpg_helpers import surfaces
from ddpg_helpers.networks import Actor, Critic
from ddpg_helpers.training import make_env

POSITIONS = np.array([-1.2, -0.6, -0.2, 0.1, 0.5], dtype=np.float32)  # 5
SPEEDS = np.array([-0.06, -0.04, -0.02, 0.0, 0.02, 0.04, 0.06], dtype=np.float32)  # 7
ACTIONS = np.linspace(-1, 1, 9).astype(np.float32)  # 9, step 0.25


def target(position):
    """The hand-made critic's best action: a function of the position only."""
    return np.tanh(3 * position)


class BowlCritic(nn.Module):
    """Q(s, a) = -(a - tanh(3 * position))**2 + 100 * speed + 10 * position, with a call counter."""

    def __init__(self):
        super().__init__()
        self.calls, self.rows = 0, []

    def forward(self, obs, action):
        self.calls += 1
        self.rows.append(obs.shape[0])
        position, speed = obs[:, :1], obs[:, 1:2]
        return -(action - torch.tanh(3 * position)) ** 2 + 100 * speed + 10 * position


class SpeedActor(nn.Module):
    """mu(s) = clip(10 * speed, -1, 1): a function of the speed only."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, obs):
        self.calls += 1
        return (10 * obs[:, 1:2]).clamp(-1, 1)


def bowl_q(position, speed, action):
    return -(action - target(position)) ** 2 + 100 * speed + 10 * position


@pytest.fixture
def grid():
    return surfaces.evaluate_grid(BowlCritic(), SpeedActor(), POSITIONS, SPEEDS, ACTIONS)


def test_blog_axis_is_minus_one_to_one_in_tenths():
    axis = surfaces.blog_axis()
    assert axis.shape == (21,)
    assert axis[0] == -1.0 and axis[-1] == 1.0 and axis[10] == 0.0
    np.testing.assert_allclose(np.diff(axis), 0.1, atol=1e-9)


def test_env_axes_read_the_real_bounds():
    env = make_env("MountainCarContinuous-v0")
    positions, speeds, actions = surfaces.env_axes(env, 11, 13, 17)
    env.close()
    assert (positions.shape, speeds.shape, actions.shape) == ((11,), (13,), (17,))
    np.testing.assert_allclose([positions[0], positions[-1]], [-1.2, 0.6], atol=1e-6)
    np.testing.assert_allclose([speeds[0], speeds[-1]], [-0.07, 0.07], atol=1e-6)
    np.testing.assert_allclose([actions[0], actions[-1]], [-1.0, 1.0])


def test_grid_states_are_position_major():
    states = surfaces.grid_states(POSITIONS, SPEEDS)
    assert states.shape == (35, 2)
    i, j = 3, 5
    np.testing.assert_array_equal(states[i * len(SPEEDS) + j], [POSITIONS[i], SPEEDS[j]])


def test_grid_shapes(grid):
    assert grid.q.shape == (5, 7, 9)
    for name in ("mu", "q_mu", "dq_da", "greedy", "disagreement", "q_range_over_actions", "value_gap"):
        assert getattr(grid, name).shape == (5, 7), name


def test_axis_order_q_is_position_speed_action(grid):
    expected = bowl_q(POSITIONS[:, None, None], SPEEDS[None, :, None], ACTIONS[None, None, :])
    np.testing.assert_allclose(grid.q, expected, rtol=1e-5, atol=1e-5)
    # Spot checks that name the axes, in case both sides were built the same wrong way.
    assert grid.q[4, 0, 8] == pytest.approx(bowl_q(0.5, -0.06, 1.0), abs=1e-5)
    assert grid.q[0, 6, 0] == pytest.approx(bowl_q(-1.2, 0.06, -1.0), abs=1e-5)


def test_axis_order_policy_depends_on_speed_along_axis_1(grid):
    # The actor sees only the speed, so mu must be constant down axis 0 (position) and vary along axis 1.
    np.testing.assert_allclose(grid.mu, np.broadcast_to(np.clip(10 * SPEEDS, -1, 1), (5, 7)), atol=1e-6)


def test_greedy_action_is_the_critic_argmax(grid):
    # The critic's best action depends only on the position (axis 0): the nearest grid action to tanh(3p).
    best = ACTIONS[np.abs(ACTIONS[None, :] - target(POSITIONS)[:, None]).argmin(axis=1)]
    np.testing.assert_allclose(grid.greedy, np.broadcast_to(best[:, None], (5, 7)))
    np.testing.assert_allclose(grid.q_max, grid.q.max(axis=-1))


def test_gradient_at_mu_has_the_known_value_and_sign(grid):
    mu = np.clip(10 * SPEEDS, -1, 1)[None, :]
    expected = -2 * (mu - target(POSITIONS)[:, None])
    np.testing.assert_allclose(grid.dq_da, expected, rtol=1e-5, atol=1e-5)
    # Uphill means towards the critic's best action: positive where mu is below it, negative above.
    below = mu < target(POSITIONS)[:, None]
    assert (grid.dq_da[below] > 0).all() and (grid.dq_da[~below] < 0).all()
    np.testing.assert_allclose(grid.q_mu, bowl_q(POSITIONS[:, None], SPEEDS[None, :], mu), rtol=1e-5, atol=1e-5)


def test_each_net_is_called_once_on_the_whole_batch():
    critic, actor = BowlCritic(), SpeedActor()
    surfaces.evaluate_grid(critic, actor, POSITIONS, SPEEDS, ACTIONS)
    assert actor.calls == 1
    # One pass over all states x actions, one forward-backward pass for Q and dQ/da at mu(s).
    assert critic.calls == 2 and critic.rows == [5 * 7 * 9, 5 * 7]


def test_batched_real_nets_match_a_per_point_loop():
    torch.manual_seed(0)
    actor, critic = Actor(2, 1), Critic(2, 1)
    axis = surfaces.blog_axis(0.5)  # 5 points
    grid = surfaces.evaluate_grid(critic, actor, axis, axis[:3], axis[1:])
    with torch.no_grad():
        for i, p in enumerate(axis):
            for j, s in enumerate(axis[:3]):
                obs = torch.tensor([[p, s]], dtype=torch.float32)
                assert grid.mu[i, j] == pytest.approx(actor(obs).item(), abs=1e-6)
                for k, a in enumerate(axis[1:]):
                    q = critic(obs, torch.tensor([[a]], dtype=torch.float32)).item()
                    assert grid.q[i, j, k] == pytest.approx(q, abs=1e-6)


def test_gradient_matches_finite_differences_on_real_nets():
    torch.manual_seed(1)
    actor, critic = Actor(2, 1), Critic(2, 1)
    states = np.array([[-0.5, 0.01], [0.3, -0.05], [-1.0, 0.0]], dtype=np.float32)
    mu = surfaces.policy_actions(actor, states)
    _, grad = surfaces.action_gradient(critic, states, mu)
    h = 1e-2
    q_up = np.array([surfaces.q_values(critic, s[None], [m + h])[0, 0] for s, m in zip(states, mu)])
    q_dn = np.array([surfaces.q_values(critic, s[None], [m - h])[0, 0] for s, m in zip(states, mu)])
    np.testing.assert_allclose(grad, (q_up - q_dn) / (2 * h), rtol=0.05, atol=1e-4)


def test_gradient_works_inside_no_grad():
    with torch.no_grad():
        _, grad = surfaces.action_gradient(BowlCritic(), [[0.0, 0.0]], [0.5])
    assert grad[0] == pytest.approx(-1.0, abs=1e-6)


def test_local_maxima_and_distance():
    actions = np.linspace(-1, 1, 21)
    q = -(np.abs(actions) - 0.5) ** 2  # two peaks, at -0.5 and +0.5; the ends are lower
    s = surfaces.Surfaces(actions, q[None], np.array([0.4]), np.zeros(1), np.zeros(1))
    assert s.n_local_maxima[0] == 2
    assert s.distance_to_local_max[0] == pytest.approx(0.1)
    # The grid's argmax is one peak; mu near the other is still at a local maximum.
    s2 = surfaces.Surfaces(actions, (q + 0.01 * actions)[None], np.array([-0.5]), np.zeros(1), np.zeros(1))
    assert s2.greedy[0] == pytest.approx(0.5)
    assert s2.distance_to_local_max[0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(surfaces.Surfaces(actions, (2 * actions)[None], np.zeros(1), np.zeros(1),
                                                 np.zeros(1)).mean_abs_slope, [2.0])


def test_at_grid_takes_one_position(grid):
    row = grid.at_grid(2)
    assert row.q.shape == (7, 9) and row.mu.shape == (7,)
    np.testing.assert_array_equal(row.q, grid.q[2])
    np.testing.assert_array_equal(row.greedy, grid.greedy[2])


def test_visited_states_from_memory_or_episode(tmp_path):
    data = torch.arange(4 * 7, dtype=torch.float32).reshape(4, 7)  # obs(2) action reward next_obs(2) terminated
    states = surfaces.visited_states({"memory": {"data": data}, "obs_dim": 2})
    np.testing.assert_array_equal(states, data[:, :2].numpy())
    assert len(surfaces.visited_states({"memory": {"data": data}, "obs_dim": 2}, max_states=2)) == 2
    np.savez(tmp_path / "final_episode.npz", observations=np.ones((3, 2)), actions=np.zeros((2, 1)),
             rewards=np.zeros(2))
    assert surfaces.visited_states({"obs_dim": 2}, tmp_path).shape == (3, 2)
    assert surfaces.visited_states({"obs_dim": 2}, tmp_path / "missing") is None


def test_visited_cells_mark_the_right_cell():
    states = np.array([[0.1, -0.04], [0.12, -0.041], [5.0, 0.0]], dtype=np.float32)  # the last lies outside
    mask = surfaces.visited_cells(states, POSITIONS, SPEEDS)
    assert mask.shape == (5, 7) and mask.sum() == 1 and mask[3, 1]
    assert surfaces.inside(states, POSITIONS, SPEEDS).tolist() == [True, True, False]


def test_heatmap_puts_the_first_axis_along_x():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    z = np.arange(5 * 7, dtype=float).reshape(5, 7)  # z[i, j] over (x = POSITIONS[i], y = SPEEDS[j])
    mesh = surfaces.heatmap(ax, POSITIONS, SPEEDS, z, "position", "speed")
    image = np.asarray(mesh.get_array()).reshape(len(SPEEDS), len(POSITIONS))  # rows are y
    assert image[5, 3] == z[3, 5]
    assert ax.get_xlim()[0] < POSITIONS[0] and ax.get_xlim()[1] > POSITIONS[-1]
    assert ax.get_ylim()[0] < SPEEDS[0] and ax.get_ylim()[1] > SPEEDS[-1]


def test_figures_build_without_a_display(grid):
    visited = surfaces.grid_states(POSITIONS, SPEEDS)
    blog = surfaces.blog_figure(grid, position=0.1)
    assert len(blog.axes) == 3 and all(ax.name == "3d" for ax in blog.axes)
    heat = surfaces.heatmap_figure(grid, visited, trajectory=visited[:5], title="t")
    meshes = [ax.collections[0] for ax in heat.axes if ax.get_label() != "<colorbar>"][:3]
    np.testing.assert_allclose(np.asarray(meshes[1].get_array()).reshape(7, 5), grid.mu.T)
    row = surfaces.slice_figure(grid.at_grid(1), visited[:4], title="t")
    assert len(row.axes) >= 2
