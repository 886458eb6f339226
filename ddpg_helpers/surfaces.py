"""Inside the nets: the critic Q(s, a) and the actor mu(s) evaluated over a grid of states and actions.

Axis order, everywhere in this module: an array over the grid is indexed
``[position, speed]`` or ``[position, speed, action]`` (numpy's ``indexing="ij"``), so

    q[i, j, k] == Q(s=(positions[i], speeds[j]), a=actions[k])
    mu[i, j]   == mu(s=(positions[i], speeds[j]))

Matplotlib's image functions want the opposite order (rows are y), so the heat-map helpers below
transpose for you; pass them arrays in this module's order and never transpose by hand.

Each net is called once per evaluation on the whole batch of grid points (the blog called it once
per point: 21**3 = 9,261 calls for its grid). The module is written for MountainCarContinuous:
a 2-D state (position, speed) and a 1-D action.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.figure import Figure

BLOG_STEP = 0.1


# --- grids ------------------------------------------------------------------------------------

def blog_axis(step: float = BLOG_STEP) -> np.ndarray:
    """The blog's axis, -1..1 in steps of `step` (21 points for 0.1), used for position, speed and action."""
    n = int(round(2 / step)) + 1
    return np.round(np.linspace(-1.0, 1.0, n), 10)


def env_axes(env, n_position: int = 41, n_speed: int = 41, n_action: int = 41):
    """(positions, speeds, actions) spanning the env's real bounds, read from its spaces.

    For MountainCarContinuous that is position -1.2..0.6, speed -0.07..0.07, action -1..1.
    """
    low, high = env.observation_space.low, env.observation_space.high
    a_low, a_high = float(env.action_space.low[0]), float(env.action_space.high[0])
    return (np.linspace(low[0], high[0], n_position), np.linspace(low[1], high[1], n_speed),
            np.linspace(a_low, a_high, n_action))


def grid_states(positions, speeds) -> np.ndarray:
    """All (position, speed) pairs as rows, position-major: row i * len(speeds) + j is (positions[i], speeds[j])."""
    p, s = np.meshgrid(np.asarray(positions, np.float32), np.asarray(speeds, np.float32), indexing="ij")
    return np.stack([p.ravel(), s.ravel()], axis=1)


# --- the nets on a batch of states --------------------------------------------------------------

def _device(net: torch.nn.Module) -> torch.device:
    return next(net.parameters(), torch.empty(0)).device


def q_values(critic, obs, actions) -> np.ndarray:
    """Q(obs[n], actions[k]) for every state and every action: shape (n_states, n_actions).

    One forward pass over n_states * n_actions rows, state-major (the action varies fastest).
    """
    device = _device(critic)
    obs = torch.as_tensor(np.asarray(obs, np.float32), device=device)
    actions = torch.as_tensor(np.asarray(actions, np.float32).ravel(), device=device)
    n, k = obs.shape[0], actions.shape[0]
    with torch.no_grad():
        q = critic(obs.repeat_interleave(k, dim=0), actions.repeat(n).unsqueeze(1))
    return q.reshape(n, k).cpu().numpy()


def policy_actions(actor, obs) -> np.ndarray:
    """mu(obs[n]) for every state, one forward pass: shape (n_states,)."""
    obs = torch.as_tensor(np.asarray(obs, np.float32), device=_device(actor))
    with torch.no_grad():
        return actor(obs)[:, 0].cpu().numpy()


def action_gradient(critic, obs, action) -> tuple[np.ndarray, np.ndarray]:
    """(Q(s, a), dQ/da at a) for each state and its own action `action[n]`: two arrays of shape (n_states,).

    One forward and one backward pass: each row's Q depends only on that row's action, so the
    gradient of the sum over rows is every row's own dQ/da. This is the direction the actor's update
    pushes mu(s) in (the DDPG actor gradient is dQ/da at mu(s) times dmu/dtheta).
    """
    device = _device(critic)
    obs = torch.as_tensor(np.asarray(obs, np.float32), device=device)
    a = torch.as_tensor(np.asarray(action, np.float32).reshape(-1, 1), device=device).clone().requires_grad_(True)
    with torch.enable_grad():
        q = critic(obs, a)
        (grad,) = torch.autograd.grad(q.sum(), a)
    return q.detach()[:, 0].cpu().numpy(), grad[:, 0].cpu().numpy()


# --- what the two nets say, side by side ---------------------------------------------------------

def _local_maxima(q: np.ndarray) -> np.ndarray:
    """Boolean mask over the action axis (last) of the grid's local maxima, the two ends included."""
    left = np.concatenate([np.full(q.shape[:-1] + (1,), -np.inf), q[..., :-1]], axis=-1)
    right = np.concatenate([q[..., 1:], np.full(q.shape[:-1] + (1,), -np.inf)], axis=-1)
    return (q >= left) & (q >= right)


@dataclass
class Surfaces:
    """The critic and the actor evaluated at a set of states (a grid, or a list of visited states).

    `shape` is the states' shape: (n_positions, n_speeds) for a grid, (n_states,) for a list.
    Arrays over states have that shape; `q` has one more axis, the action, last.
    """

    actions: np.ndarray
    """the action axis (1-D) over which Q was evaluated"""
    q: np.ndarray
    """Q(s, a) for every state and every action in `actions`: shape + (n_actions,)"""
    mu: np.ndarray
    """the actor's action mu(s)"""
    q_mu: np.ndarray
    """Q(s, mu(s))"""
    dq_da: np.ndarray
    """dQ/da at a = mu(s), by autograd"""
    positions: np.ndarray | None = None
    """the position axis of a grid (None for a list of states)"""
    speeds: np.ndarray | None = None
    """the speed axis of a grid (None for a list of states)"""
    states: np.ndarray | None = None
    """the states of a list, shape (n_states, 2) (None for a grid)"""

    @property
    def greedy(self) -> np.ndarray:
        """argmax_a Q(s, a) over the action axis: the blog's 'calc from Qmap'."""
        return self.actions[self.q.argmax(axis=-1)]

    @property
    def q_max(self) -> np.ndarray:
        return self.q.max(axis=-1)

    @property
    def disagreement(self) -> np.ndarray:
        """|argmax_a Q(s, a) - mu(s)|, in action units."""
        return np.abs(self.greedy - self.mu)

    @property
    def q_range_over_actions(self) -> np.ndarray:
        """max_a Q(s, a) - min_a Q(s, a) for each state: how much the choice of action matters to the critic."""
        return self.q.max(axis=-1) - self.q.min(axis=-1)

    @property
    def value_gap(self) -> np.ndarray:
        """max_a Q(s, a) - Q(s, mu(s)): what the critic thinks the actor leaves on the table (can dip below 0
        where mu falls between the grid's actions)."""
        return self.q_max - self.q_mu

    @property
    def n_local_maxima(self) -> np.ndarray:
        """How many local maxima Q(s, .) has on the action grid (ends included)."""
        return _local_maxima(self.q).sum(axis=-1)

    @property
    def distance_to_local_max(self) -> np.ndarray:
        """|mu(s) - the nearest local maximum of Q(s, .) on the action grid|."""
        mask = _local_maxima(self.q)
        dist = np.abs(self.actions - self.mu[..., None])
        return np.where(mask, dist, np.inf).min(axis=-1)

    @property
    def mean_abs_slope(self) -> np.ndarray:
        """The mean |dQ/da| over the action grid (finite differences): the yardstick for 'dQ/da is near zero'."""
        return np.abs(np.diff(self.q, axis=-1) / np.diff(self.actions)).mean(axis=-1)

    def at_grid(self, i: int) -> Surfaces:
        """The slice of a grid at position index `i`: arrays indexed [speed(, action)]."""
        return Surfaces(self.actions, self.q[i], self.mu[i], self.q_mu[i], self.dq_da[i],
                        self.positions[i:i + 1], self.speeds)


def evaluate_states(critic, actor, states, actions) -> Surfaces:
    """Both nets at every state of `states` (n_states, 2): one actor pass, one critic pass over
    states x actions, and one forward-backward critic pass for Q and dQ/da at mu(s)."""
    states = np.asarray(states, np.float32)
    actions = np.asarray(actions, np.float32).ravel()
    q = q_values(critic, states, actions)
    mu = policy_actions(actor, states)
    q_mu, dq_da = action_gradient(critic, states, mu)
    return Surfaces(actions, q, mu, q_mu, dq_da, states=states)


def evaluate_grid(critic, actor, positions, speeds, actions) -> Surfaces:
    """Both nets on the grid positions x speeds (x actions); arrays indexed [position, speed(, action)]."""
    positions = np.asarray(positions, np.float32).ravel()
    speeds = np.asarray(speeds, np.float32).ravel()
    flat = evaluate_states(critic, actor, grid_states(positions, speeds), actions)
    shape = (len(positions), len(speeds))
    return Surfaces(flat.actions, flat.q.reshape(shape + (-1,)), flat.mu.reshape(shape), flat.q_mu.reshape(shape),
                    flat.dq_da.reshape(shape), positions, speeds)


# --- the states the agent visited ----------------------------------------------------------------

def visited_states(payload: dict, run: str | Path | None = None, max_states: int | None = None) -> np.ndarray | None:
    """The states an agent saw: its replay memory's `obs` columns if the checkpoint kept them,
    else the observations of the run's recorded final episode, else None.

    The memory holds only the most recent transitions (10,000 by default), so these are the states of
    the last part of training. `max_states` keeps that many, evenly spaced in time.
    """
    from .memory import ReplayMemory
    from .run import Run

    states, memory = None, payload.get("memory")
    episode = Run(run).final_episode() if run is not None else None
    if memory is not None and len(memory["data"]):
        states = ReplayMemory.saved_column(memory, "obs", payload["obs_dim"]).numpy()
    elif episode is not None:
        states = episode.observations
    if states is None:
        return None
    if max_states is not None and len(states) > max_states:
        states = states[np.linspace(0, len(states) - 1, max_states).round().astype(int)]
    return np.asarray(states, np.float32)


def visited_cells(states, positions, speeds) -> np.ndarray:
    """Mask [position, speed] of the grid cells (centred on the axis values) that hold at least one of `states`."""
    positions, speeds, states = np.asarray(positions), np.asarray(speeds), np.asarray(states)
    i = np.searchsorted((positions[1:] + positions[:-1]) / 2, states[:, 0])
    j = np.searchsorted((speeds[1:] + speeds[:-1]) / 2, states[:, 1])
    keep = inside(states, positions, speeds)
    mask = np.zeros((len(positions), len(speeds)), dtype=bool)
    mask[i[keep], j[keep]] = True
    return mask


def inside(states, positions, speeds) -> np.ndarray:
    """Mask of the states that lie within the box spanned by the position and speed axes."""
    states = np.asarray(states)
    return ((states[:, 0] >= np.min(positions)) & (states[:, 0] <= np.max(positions))
            & (states[:, 1] >= np.min(speeds)) & (states[:, 1] <= np.max(speeds)))


# --- plots ------------------------------------------------------------------------------------------

def surface3d(ax, x, y, z, xlabel: str, ylabel: str, zlabel: str = "", title: str | None = None, cmap="viridis"):
    """A 3-D surface of z indexed [x, y] (this module's order) on a 3-D axes."""
    xx, yy = np.meshgrid(x, y, indexing="ij")
    ax.plot_surface(xx, yy, z, cmap=cmap, linewidth=0, antialiased=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_zlabel(zlabel)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def heatmap(ax, x, y, z, xlabel: str, ylabel: str, title: str | None = None, cmap="viridis", colorbar=True, **kw):
    """A heat map of z indexed [x, y]: x runs along the horizontal axis, y up the vertical one.

    pcolormesh wants rows = y, so it gets z.T; the cells are centred on the axis values.
    """
    mesh = ax.pcolormesh(np.asarray(x), np.asarray(y), np.asarray(z).T, shading="nearest", cmap=cmap, **kw)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax)
    return mesh


def draw_visited(ax, states, trajectory=None, label: str = "visited (replay memory)"):
    """The visited states as small dots over a (position, speed) map, and one episode as a line."""
    if states is not None and len(states):
        ax.scatter(states[:, 0], states[:, 1], s=1, c="lime", alpha=0.5, edgecolors="none", label=label)
    if trajectory is not None:
        ax.plot(trajectory[:, 0], trajectory[:, 1], color="black", lw=1, label="final noise-free episode",
                path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])


def blog_figure(grid: Surfaces, position: float = 0.0) -> Figure:
    """The blog's three 3-D surfaces: Q over (speed, action) at one position, argmax_a Q and mu over
    (position, speed)."""
    i = int(np.abs(grid.positions - position).argmin())
    fig = Figure(figsize=(15, 4.5))
    axes = [fig.add_subplot(1, 3, n, projection="3d") for n in (1, 2, 3)]
    surface3d(axes[0], grid.speeds, grid.actions, grid.q[i], "speed", "action", "Q",
              f"Q(position={grid.positions[i]:.2f}, speed, a)")
    surface3d(axes[1], grid.positions, grid.speeds, grid.greedy, "position", "speed", "action",
              "argmax_a Q (calc from Qmap)", cmap="coolwarm")
    surface3d(axes[2], grid.positions, grid.speeds, grid.mu, "position", "speed", "action", "policy mu(s)",
              cmap="coolwarm")
    fig.tight_layout()
    return fig


def heatmap_figure(grid: Surfaces, visited=None, trajectory=None, title: str | None = None,
                   position: float | None = None) -> Figure:
    """argmax_a Q, mu and their disagreement over (position, speed), visited states drawn over each
    (and a dotted line at `position`, if given)."""
    fig = Figure(figsize=(16, 4.2))
    axes = fig.subplots(1, 3)
    action_kw = dict(cmap="coolwarm", vmin=float(grid.actions.min()), vmax=float(grid.actions.max()))
    panels = [(grid.greedy, "argmax_a Q(s, a)", action_kw),
              (grid.mu, "policy mu(s)", action_kw),
              (grid.disagreement, "|argmax_a Q - mu|", dict(cmap="magma", vmin=0.0))]
    for ax, (z, name, kw) in zip(axes, panels):
        heatmap(ax, grid.positions, grid.speeds, z, "position", "speed", name, **kw)
        draw_visited(ax, visited, trajectory)
        if position is not None:
            ax.axvline(position, color="grey", ls=":", lw=1.5)
        ax.set_xlim(grid.positions.min(), grid.positions.max())
        ax.set_ylim(grid.speeds.min(), grid.speeds.max())
    axes[0].legend(loc="upper left", fontsize=7, markerscale=6)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def slice_figure(row: Surfaces, visited=None, n_curves: int = 5, title: str | None = None) -> Figure:
    """Three views of Q at one position (a `Surfaces.at_grid` row), mu(s) and argmax_a Q drawn on the maps.

    Left: Q over (speed, action). Middle: the same rescaled to 0..1 at each speed, which shows where along
    the action Q peaks (the raw map is dominated by how Q changes with speed). Right: Q along the action
    for a few speeds, as (Q(s, a) - Q(s, mu(s))) / (range of Q over a), so that curves of very different
    sizes share one axis; the dot is mu(s), the star the argmax. `visited`, if given, are the visited
    states near this position; their speeds are ticked along the bottom of the maps.
    """
    fig = Figure(figsize=(18, 4.5))
    ax_map, ax_scaled, ax_curves = fig.subplots(1, 3)
    q_range = np.maximum(row.q_range_over_actions, 1e-12)[:, None]
    scaled = (row.q - row.q.min(axis=-1, keepdims=True)) / q_range
    for ax, z, name in [(ax_map, row.q, "Q(s, a)"), (ax_scaled, scaled, "Q(s, a) rescaled to 0..1 at each speed")]:
        heatmap(ax, row.speeds, row.actions, z, "speed", "action", name)
        ax.plot(row.speeds, row.mu, color="black", lw=2, label="mu(s)")
        ax.plot(row.speeds, row.greedy, color="white", lw=1.5, ls="--", label="argmax_a Q(s, a)")
        if visited is not None and len(visited):
            ax.plot(visited[:, 1], np.full(len(visited), row.actions.min()), "|", color="red", ms=12,
                    label="speeds visited here")
        ax.set_ylim(row.actions.min(), row.actions.max())
    ax_map.legend(loc="upper left", fontsize=7)

    picks = np.linspace(0, len(row.speeds) - 1, n_curves).round().astype(int)
    for n, j in enumerate(picks):
        color, size = f"C{n}", q_range[j, 0]
        ax_curves.plot(row.actions, (row.q[j] - row.q_mu[j]) / size, color=color,
                       label=f"speed {row.speeds[j]:+.3f} (range {size:.3g})")
        ax_curves.plot(row.mu[j], 0.0, "o", color=color)
        k = row.q[j].argmax()
        ax_curves.plot(row.actions[k], (row.q[j, k] - row.q_mu[j]) / size, "*", color=color, ms=10)
    ax_curves.axhline(0, color="grey", lw=0.5)
    ax_curves.set_xlabel("action")
    ax_curves.set_ylabel("(Q(s, a) - Q(s, mu(s))) / range over a")
    ax_curves.set_title("Q along the action (o: mu(s), *: argmax)", fontsize=10)
    ax_curves.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
