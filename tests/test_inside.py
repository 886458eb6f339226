"""Notebook 5's measures (ddpg_helpers.inside) on hand-made Q curves and nets whose answers are known,
and on the shipped run's snapshots, whose first and last nets the notebook's story rests on.
"""

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from ddpg_helpers import Run, inside, load_agent, surfaces
from ddpg_helpers.inside import FINAL, Findings, Flatness, Peaks, RunNets, SnapshotRow, Trend

SHIPPED = Path(__file__).resolve().parents[1] / "trained" / "mcc"
ACTIONS = np.linspace(-1, 1, 21)  # step 0.1
TOL = 0.2


def states(q_rows, mu, dq_da=None) -> surfaces.Surfaces:
    """A list of states given Q along ACTIONS for each, and mu(s) (and dQ/da at mu(s))."""
    q = np.array(q_rows, dtype=float)
    mu = np.asarray(mu, dtype=float)
    q_mu = np.array([np.interp(m, ACTIONS, row) for m, row in zip(mu, q)])
    dq_da = np.zeros(len(mu)) if dq_da is None else np.asarray(dq_da, dtype=float)
    return surfaces.Surfaces(ACTIONS, q, mu, q_mu, dq_da)


def peak_at(where):
    """Q along the action with a single peak at `where`."""
    return -np.abs(ACTIONS - where)


# --- timing ---------------------------------------------------------------------------------------

def test_timed_returns_the_result_and_the_time_taken():
    result, seconds = inside.timed(lambda: time.sleep(0.02) or 42)
    assert result == 42
    assert 0.02 <= seconds < 1.0


def test_fastest_seconds_is_the_fastest_run():
    sleeps = iter([0.06, 0.01, 0.04])
    fastest = inside.fastest_seconds(lambda: time.sleep(next(sleeps)), repeat=3)
    assert 0.01 <= fastest < 0.04


# --- 1. where ---------------------------------------------------------------------------------------

def test_disagreement_shares_count_each_set_of_states():
    agree, differ = peak_at(0.5), peak_at(-0.5)  # greedy +0.5 or -0.5; mu is +0.5 below
    blog = states([differ, differ, differ, agree], [0.5] * 4)
    # A 2 x 2 box: cells (0, 0) and (1, 1) hold visited states.
    box_q = np.array([[differ, agree], [differ, differ]])
    box = surfaces.Surfaces(ACTIONS, box_q, np.full((2, 2), 0.5), np.zeros((2, 2)), np.zeros((2, 2)))
    cells = np.array([[True, False], [False, True]])
    visited = states([agree, agree, agree, agree, differ], [0.5] * 5)
    shares = inside.disagreement_shares(blog, box, visited, cells, TOL)
    assert shares == {"blog grid": 0.75, "real box, unvisited cells": 0.5, "real box, visited cells": 1.0,
                      "visited states": 0.2}


# --- 2. flatness ------------------------------------------------------------------------------------

def test_flatness_compares_the_range_over_actions_with_the_range_over_states():
    a = ACTIONS
    # Ranges along the action: 2 and 3 (median 2.5); Q(s, mu(s)) at mu = 0: 0 and 10 (spread 10).
    s = states([a, 10 + 1.5 * a], [0.0, 0.0])
    flat = Flatness.of(s)
    assert flat.range_over_actions == pytest.approx(2.5)
    assert flat.range_over_states == pytest.approx(10.0)
    assert flat.ratio == pytest.approx(0.25)
    # What mu = 0 gives up against the best action (at a = 1): 1 and 1.5.
    assert flat.gap_median == pytest.approx(1.25)
    assert flat.gap_p90 == pytest.approx(1.45)


# --- 3. peaks -----------------------------------------------------------------------------------------

def two_peaks():
    """Peaks at -0.5 and +0.5, the one at +0.5 higher."""
    return -(np.abs(ACTIONS) - 0.5) ** 2 + 0.01 * ACTIONS


def test_peaks_tell_a_lower_peak_from_a_slope_towards_the_greedy_action():
    s = states(
        [two_peaks(),        # mu on the lower peak, gradient pointing away from the greedy action
         peak_at(0.5),       # mu on the slope below the only peak, gradient pointing up it
         ACTIONS,            # mu at the top end, which is the greedy action: they agree
         ACTIONS],           # mu pinned at the bottom end (saturated), gradient pointing up
        mu=[-0.5, 0.0, 1.0, -1.0], dq_da=[-1.0, 1.0, 1.0, 1.0])
    peaks = Peaks.of(s, action_step=0.1, tol=TOL, action_high=1.0)
    assert peaks.n_states == 4 and peaks.n_off == 3
    assert peaks.several_peaks == 0.25
    assert peaks.at_peak == 0.5  # the lower peak and the top end
    assert peaks.off_at_peak == pytest.approx(1 / 3)
    assert peaks.off_towards_greedy == pytest.approx(2 / 3)
    assert peaks.off_saturated == pytest.approx(1 / 3)
    assert peaks.slope_ratio == pytest.approx(1.0)  # three of the four have |dQ/da| equal to their mean slope
    report = peaks.report()
    assert "3 of 4" in report and "33.3%" in report and "66.7%" in report


def test_peaks_without_disagreement_leave_the_shares_of_disagreeing_states_out():
    peaks = Peaks.of(states([peak_at(0.5), peak_at(-0.2)], mu=[0.5, -0.2]), action_step=0.1, tol=TOL)
    assert peaks.n_off == 0 and peaks.at_peak == 1.0
    assert peaks.off_at_peak is None and peaks.off_towards_greedy is None and peaks.off_saturated is None
    assert "of those" not in peaks.report()


# --- nets over training -------------------------------------------------------------------------------

class PeakCritic(nn.Module):
    """Q(s, a) = -(a - 0.5)**2: the greedy action is 0.5 everywhere."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, obs, action):
        return -self.scale * (action - 0.5) ** 2


class SignActor(nn.Module):
    """mu(s) = 0.5 where position > 0, else -0.5: it agrees with PeakCritic on the right half only."""

    def forward(self, obs):
        return torch.where(obs[:, :1] > 0, 0.5, -0.5)


class FakeLoader:
    """The project's loader's shape, (agent, config, payload), over a dict of episodes; counts its loads."""

    def __init__(self, episodes: dict):
        self.episodes, self.loads = episodes, []

    def __call__(self, path):
        self.loads.append(str(path))
        agent = SimpleNamespace(critic=PeakCritic(), actor=SignActor())
        return agent, None, {"episode": self.episodes[str(path)]}


BOX = (np.array([-0.6, -0.2, 0.2, 0.6]), np.array([-0.05, 0.0, 0.05]), np.linspace(-1, 1, 41))


def test_run_nets_offer_every_snapshot_then_the_final_nets_each_loaded_once(tmp_path):
    loader = FakeLoader({"s0": 0, "s10": 10, str(tmp_path): 15})
    nets = RunNets(tmp_path, ["s0", "s10"], loader, BOX)
    assert nets.options == [("episode 0", "s0"), ("episode 10", "s10"), ("final (episode 15)", FINAL)]
    assert nets.keys == ["s0", "s10", FINAL] and nets.latest == FINAL
    assert nets.nets(FINAL)[2] == 15 and nets.nets("s0")[2] == 0
    first_box = nets.box("s10")
    assert nets.box("s10") is first_box and first_box.q.shape == (4, 3, 41)
    assert sorted(loader.loads) == sorted(["s0", "s10", str(tmp_path)])  # once each, however often asked


def test_run_nets_do_not_offer_the_final_nets_twice(tmp_path):
    nets = RunNets(tmp_path, ["s0", "s15"], FakeLoader({"s0": 0, "s15": 15, str(tmp_path): 15}), BOX)
    assert nets.keys == ["s0", "s15"]
    assert RunNets(tmp_path, [], FakeLoader({str(tmp_path): 7}), BOX).options == [("final (episode 7)", FINAL)]


def test_spread_keeps_the_first_and_the_last(tmp_path):
    names = {f"s{i}": i for i in range(10)} | {str(tmp_path): 99}
    nets = RunNets(tmp_path, [f"s{i}" for i in range(10)], FakeLoader(names), BOX)
    assert nets.spread() == nets.keys and len(nets.keys) == 11
    picked = nets.spread(at_most=5)
    assert len(picked) == 5 and picked[0] == "s0" and picked[-1] == FINAL
    assert picked == sorted(set(picked), key=nets.keys.index)  # in order, no repeats


def test_snapshot_row_on_nets_with_a_known_answer(tmp_path):
    nets = RunNets(tmp_path, [], FakeLoader({str(tmp_path): 5}), BOX)
    visited = np.array([[0.3, 0.0], [0.4, 0.01], [-0.3, 0.0]], dtype=np.float32)
    row = inside.snapshot_row(nets, FINAL, surfaces.blog_axis(), visited, TOL)
    assert row.episode == 5
    assert row.blog_grid == pytest.approx(11 / 21)  # positions -1.0 .. 0.0 of the blog's axis disagree
    assert row.real_box == pytest.approx(0.5)  # the two negative positions of the box
    assert row.visited == pytest.approx(1 / 3)
    assert row.several_peaks == 0.0
    assert row.at_peak == pytest.approx(2 / 3)  # mu = 0.5 is the peak; mu = -0.5 is a whole unit from it
    # Q spans 2.25 along the action at every state, Q(s, mu(s)) spans 1 (0 or -1): flatness 2.25.
    assert row.flatness == pytest.approx(2.25, rel=1e-5)


def test_explore_draws_one_position_of_one_snapshot(tmp_path):
    nets = RunNets(tmp_path, [], FakeLoader({str(tmp_path): 5}), BOX)
    visited = np.array([[-0.6, 0.0], [0.6, 0.0]], dtype=np.float32)
    slice_fig, heat_fig, summary = inside.explore(nets, FINAL, -0.6, visited, None, TOL)
    assert isinstance(slice_fig, Figure) and isinstance(heat_fig, Figure)
    assert "at 100% of speeds" in summary  # at position -0.6 mu is -0.5 and the greedy action 0.5
    slice_fig, _, summary = inside.explore(nets, FINAL, 0.6, visited, None, TOL)
    assert "at 0% of speeds" in summary
    assert "episode 5" in slice_fig._suptitle.get_text()


# --- the table and its story ---------------------------------------------------------------------------

def rows_of(visited, several=None):
    several = several or [0.0] * len(visited)
    return [SnapshotRow(10 * i, 0.9, 0.5, v, p, 0.5, 0.01) for i, (v, p) in enumerate(zip(visited, several))]


def test_format_table_one_line_a_snapshot():
    table = inside.format_table(rows_of([1.0, 0.25]))
    lines = table.splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["episode", "blog", "grid", "real", "box", "visited", "several", "peaks", "at", "a",
                                "peak", "flatness"]
    assert [float(x) for x in lines[2].split()] == [10, 0.9, 0.5, 0.25, 0.0, 0.5, 0.01]


def test_training_figure_plots_the_rows():
    rows = rows_of([1.0, 0.1, 0.3], several=[0.0, 0.2, 0.4])
    ax = inside.training_figure(rows, TOL).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["visited"].get_xdata(), [0, 10, 20])
    np.testing.assert_allclose(lines["visited"].get_ydata(), [1.0, 0.1, 0.3])
    np.testing.assert_allclose(lines["visited states with several peaks of Q"].get_ydata(), [0.0, 0.2, 0.4])


def test_trend_leaves_the_untrained_nets_out_of_the_lowest_and_the_correlation():
    rows = rows_of([0.0, 0.3, 0.1, 0.5], several=[0.9, 0.2, 0.1, 0.4])
    trend = Trend.of(rows)
    assert trend.first.episode == 0 and trend.last.episode == 30
    assert trend.lowest.episode == 20  # not episode 0, whose 0.0 is the untrained nets'
    assert trend.n_trained == 3
    assert trend.r_peaks == pytest.approx(np.corrcoef([0.3, 0.1, 0.5], [0.2, 0.1, 0.4])[0, 1])
    assert Trend.of(rows[:3]).r_peaks is None  # two trained rows say nothing about a correlation
    assert Trend.of(rows_of([0.0, 0.3, 0.1, 0.5], several=[0.0, 0.2, 0.2, 0.2])).r_peaks is None


# --- the closing note ----------------------------------------------------------------------------------

def findings(**changes) -> Findings:
    base = dict(
        run_name="mcc", episode=115, tol=TOL,
        shares={"blog grid": 0.8, "real box, unvisited cells": 0.5, "real box, visited cells": 0.25,
                "visited states": 0.2},
        blog_possible=17, blog_points=441,
        flat=Flatness(range_over_actions=0.06, range_over_states=110.0, gap_median=0.0005, gap_p90=0.006),
        peaks=Peaks(n_states=1000, several_peaks=0.09, at_peak=0.62, n_off=188, off_at_peak=0.07,
                    off_towards_greedy=0.93, off_saturated=0.33, slope_ratio=0.54),
        rows=rows_of([1.0, 0.01, 0.19], several=[0.0, 0.04, 0.09]),
        actor_returns=[94.6], greedy_returns=[95.0])
    return Findings(**(base | changes))


def test_closing_note_quotes_the_numbers_it_is_given():
    note = inside.closing_note(findings())
    for quoted in ["`mcc` (episode 115)", "on 80% of the blog's grid", "only 17 of 441 points",
                   "on 50% of the unvisited cells", "on 20% of the visited states", "a median 0.06 per visited state",
                   "spans 110", "by 0.05% of what", "(188 states)", "lower peak in 7%", "greedy action in 93%",
                   "100% for the nets of episode 0", "at its lowest 1% at episode 10", "19% at episode 20",
                   "returned 95.0 on average, the actor 94.6 (over 1 episode)"]:
        assert quoted in note, quoted


def test_closing_note_verdict_follows_the_numbers():
    note = inside.closing_note(findings())
    assert "Most of the drift the blog saw lies in states the car never reaches" in note
    assert "nearly flat along the action" in note
    assert "in most of them mu(s) lies on a slope" in note  # 7% at a lower peak, 93% towards the greedy action
    assert "drifted apart late in training" in note  # 1% at episode 10, 19% at the end
    assert "1 episode each" in note

    other = inside.closing_note(findings(
        shares={"blog grid": 0.1, "real box, unvisited cells": 0.1, "real box, visited cells": 0.4,
                "visited states": 0.5},
        flat=Flatness(1.0, 2.0, 0.1, 0.2),
        peaks=Peaks(10, 0.5, 0.5, 0, None, None, None, 0.05),
        rows=rows_of([1.0, 0.3, 0.3]), greedy_returns=[1.0, 2.0, 3.0], actor_returns=[1.0, 2.0, 3.0]))
    assert "does not explain the drift here" in other
    assert "the visited states disagree more often than the unvisited cells" in other
    assert "Q is not flat along the action in this run (50.00%" in other
    assert "They never disagree at the visited states." in other and "lower peak" not in other
    assert "drifted apart" not in other
    assert "(over 3 episodes)" in other and "3 episodes each" in other


# --- the shipped run -----------------------------------------------------------------------------------

SNAPSHOTS = Run(SHIPPED).snapshots()


@pytest.fixture(scope="module")
def shipped():
    if not SNAPSHOTS:
        pytest.skip("this checkout has no shipped run with snapshots")
    _, _, payload = load_agent(SHIPPED, device="cpu")
    # MountainCarContinuous's bounds, coarser than the notebook's grid
    axes = (np.linspace(-1.2, 0.6, 21), np.linspace(-0.07, 0.07, 21), np.linspace(-1, 1, 41))
    nets = RunNets(SHIPPED, SNAPSHOTS, lambda p: load_agent(p, device="cpu"), axes)
    return nets, payload, surfaces.visited_states(payload, SHIPPED, max_states=500)


@pytest.mark.slow
def test_shipped_run_offers_its_snapshots_and_its_final_nets(shipped):
    nets, payload, _ = shipped
    episodes = [nets.nets(key)[2] for key in nets.keys]
    assert episodes == sorted(episodes) and episodes[0] == 0
    assert episodes[-1] == payload["episode"] and nets.latest == FINAL
    assert len(nets.keys) == len(SNAPSHOTS) + 1


@pytest.mark.slow
def test_shipped_run_untrained_nets_disagree_and_trained_ones_less_where_the_car_goes(shipped):
    nets, _, visited = shipped
    untrained = inside.snapshot_row(nets, nets.keys[0], surfaces.blog_axis(), visited, TOL)
    final = inside.snapshot_row(nets, FINAL, surfaces.blog_axis(), visited, TOL)
    assert untrained.episode == 0 and untrained.visited > 0.9  # tiny last layers: mu near 0, Q's max at an end
    assert final.visited < 0.5 < final.blog_grid  # the notebook's answer: the blog looked where the car never goes
    assert final.flatness < 0.05  # Q nearly flat along the action next to its range over states
