"""Helpers of the BipedalWalker notebook: short budget, shipped and latest runs, train or resume, outcomes, curves."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import conftest
import ddpg_helpers as dh
from ddpg_helpers import Config, colab, evaluate, load_agent, make_config, make_env, plotting, run_episode
from ddpg_helpers.errors import DDPGError

# --- budget ----------------------------------------------------------------------------------

def test_short_budget_is_the_config_itself_without_quick_mode(monkeypatch):
    monkeypatch.delenv("DDPG_QUICK", raising=False)
    config = make_config("BipedalWalker-v3", algo="td3")
    assert dh.short_budget(config) is config


def test_short_budget_in_quick_mode_shortens_episodes_and_warmup_only(monkeypatch):
    monkeypatch.setenv("DDPG_QUICK", "1")
    full = make_config("BipedalWalker-v3", algo="td3")
    quick = dh.short_budget(full)
    assert quick.episodes == dh.QUICK_EPISODES and quick.eval_episodes == 1 and quick.checkpoint_every == 0
    assert quick.max_episode_steps == dh.QUICK_MAX_EPISODE_STEPS and quick.warmup_steps == dh.QUICK_WARMUP_STEPS
    assert quick.learning_starts == dh.QUICK_WARMUP_STEPS  # a quick run learns after its short warm-up
    assert quick.keep_episodes == 1  # the kept nets' longer look, as short as its one evaluation episode
    for name in ("algo", "gamma", "tau", "batch_size", "memory_size", "actor_hidden", "critic_hidden", "noise",
                 "sigma_start", "policy_noise", "policy_delay", "seed"):
        assert getattr(quick, name) == getattr(full, name)
    # never longer than the config asked for
    small = dh.short_budget(Config(max_episode_steps=50, warmup_steps=0, episodes=2))
    assert (small.max_episode_steps, small.warmup_steps, small.episodes) == (50, 0, 2)


# --- which runs ------------------------------------------------------------------------------

def fake_run(path: Path, env_id="BipedalWalker-v3", algo="td3", **kw) -> Path:
    return conftest.fake_run(path, env_id, algo, **kw)


def test_find_shipped_finds_the_walker_or_says_none(tmp_path, monkeypatch):
    monkeypatch.setattr(colab, "COLAB_CHECKOUT", tmp_path / "no-colab")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(colab, "repo_root", lambda: tmp_path / "checkout")
    assert dh.find_shipped(dh.SHIPPED_WALKER) is None
    shipped = fake_run(tmp_path / "checkout" / "trained" / "walker-tqc", algo="tqc")
    assert dh.find_shipped(dh.SHIPPED_WALKER) == shipped
    assert dh.is_shipped(shipped, dh.SHIPPED_WALKER)
    assert not dh.is_shipped(tmp_path / "runs" / "walker-tqc", dh.SHIPPED_WALKER)


@pytest.mark.slow
def test_the_real_shipped_walker_is_a_finished_run_when_present():
    found = dh.find_shipped(dh.SHIPPED_WALKER)
    if found is None:
        pytest.skip(f"this checkout has no {dh.SHIPPED_WALKER} yet")
    summary = dh.load_summary(found)
    assert summary["env_id"] == "BipedalWalker-v3" and summary["algo"] == "tqc"
    # Exported with --best: the shipped nets are the run's kept ones, whose evaluation is best_eval_mean.
    assert summary["solved"] and summary["best_eval_mean"] >= 300


@pytest.mark.slow
def test_the_real_shipped_walker_walks_to_the_end_when_present():
    found = dh.find_shipped(dh.SHIPPED_WALKER)
    if found is None:
        pytest.skip(f"this checkout has no {dh.SHIPPED_WALKER} yet")
    agent, _, _ = load_agent(found, env_id="BipedalWalker-v3")
    env = make_env("BipedalWalker-v3")
    episode = run_episode(agent, env, seed=0)  # the first episode of the README's evaluate command
    assert dh.walker_outcome(episode.rewards, env.spec.max_episode_steps) == "reached the end"
    assert episode.total_return >= 300


@pytest.mark.slow
def test_the_real_shipped_walker_is_solved_over_the_readmes_100_episodes_when_present():
    found = dh.find_shipped(dh.SHIPPED_WALKER)
    if found is None:
        pytest.skip(f"this checkout has no {dh.SHIPPED_WALKER} yet")
    agent, _, _ = load_agent(found, env_id="BipedalWalker-v3", device="cpu")
    # as `python -m ddpg_helpers evaluate trained/walker-tqc --episodes 100 --seed 0`
    returns = evaluate(agent, make_env("BipedalWalker-v3"), 100, 0)
    assert np.mean(returns) >= 320  # the shipped walker's mark (the env's "solved" is 300)
    assert min(returns) > 0  # and it never falls (a fall ends the episode with -100)


def test_latest_run_of_an_algorithm_is_the_newest_finished_one(tmp_path):
    assert dh.latest_run(tmp_path / "nothing", "BipedalWalker-v3", "td3") is None
    fake_run(tmp_path / "td3-old", mtime=1_000)
    new = fake_run(tmp_path / "td3-new", mtime=2_000)
    ddpg = fake_run(tmp_path / "ddpg", algo="ddpg", mtime=3_000)
    fake_run(tmp_path / "car", env_id="MountainCarContinuous-v0", algo="ddpg", mtime=4_000)
    fake_run(tmp_path / "td3-unfinished", finished=False)
    assert dh.latest_run(tmp_path, "BipedalWalker-v3", "td3") == new
    assert dh.latest_run(tmp_path, "BipedalWalker-v3", "ddpg") == ddpg
    assert dh.latest_run(tmp_path, "MountainCarContinuous-v0", "td3") is None
    assert dh.latest_run(tmp_path, "MountainCarContinuous-v0", "ddpg") == tmp_path / "car"


# --- train or resume -------------------------------------------------------------------------

def tiny(episodes: int, algo: str = "ddpg") -> Config:
    return Config(algo=algo, episodes=episodes, max_episode_steps=30, batch_size=16, eval_every=0, eval_episodes=1,
                  checkpoint_every=1, record_final=False)


def test_train_or_resume_continues_a_run_and_trains_afresh_otherwise(tmp_path):
    out = tmp_path / "run"
    first = dh.train_or_resume(tiny(2), out, resume=True)  # nothing to resume yet: trains from scratch
    assert first.history["episode"] == [0, 1]
    more = dh.train_or_resume(tiny(3), out, resume=True)
    assert more.history["episode"] == [0, 1, 2]
    assert more.history["return"][:2] == first.history["return"]  # the first two episodes were kept
    assert dh.load_summary(out)["episodes"] == 3
    fresh = dh.train_or_resume(tiny(1), out, resume=False)  # replaces the run
    assert fresh.history["episode"] == [0] and dh.load_summary(out)["episodes"] == 1


def test_train_or_resume_returns_a_finished_run_without_training_it_again(tmp_path):
    out = tmp_path / "run"
    first = dh.train_or_resume(tiny(2), out, resume=True)
    before = (out / "checkpoint.pt").stat().st_mtime_ns
    again = dh.train_or_resume(tiny(2), out, resume=True)  # "Run all" again after it finished
    assert again.history["return"] == first.history["return"] and again.summary == first.summary
    assert (out / "checkpoint.pt").stat().st_mtime_ns == before  # nothing rewritten


def test_train_or_resume_refuses_a_run_with_other_settings(tmp_path):
    out = tmp_path / "run"
    dh.train_or_resume(tiny(1), out)
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(DDPGError, match="holds a run with gamma=0.999, not 0.9"):
        dh.train_or_resume(dataclasses.replace(tiny(2), gamma=0.9), out, resume=True)
    assert (out / "checkpoint.pt").read_bytes() == before


def test_a_run_from_before_a_setting_existed_goes_on_only_at_its_default(tmp_path):
    out = tmp_path / "run"
    dh.train_or_resume(tiny(1), out)
    config = json.loads((out / "config.json").read_text())
    del config["update_every"]  # as written before blocked updates: it updated after every step
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(DDPGError, match="holds a run with update_every=1, not 4"):
        dh.train_or_resume(dataclasses.replace(tiny(2), update_every=4), out, resume=True)
    assert dh.train_or_resume(tiny(2), out, resume=True).history["episode"] == [0, 1]


def test_train_or_resume_refuses_another_algorithms_run(tmp_path):
    out = tmp_path / "run"
    dh.train_or_resume(tiny(1, "ddpg"), out)
    with pytest.raises(DDPGError, match="holds a ddpg run, not td3"):
        dh.train_or_resume(tiny(2, "td3"), out, resume=True)


# --- watching a run -------------------------------------------------------------------------

def test_record_walk_renders_about_max_frames_of_the_noise_free_episode(tmp_path):
    out = tmp_path / "run"
    dh.train_or_resume(dataclasses.replace(tiny(1), max_episode_steps=None, eval_episodes=1), out)
    agent, _, _ = load_agent(out)
    plain = run_episode(agent, make_env("MountainCarContinuous-v0"), seed=3)
    walk = dh.record_walk(out, seed=3, max_frames=50)
    assert walk.episode.total_return == pytest.approx(plain.total_return)  # the same episode, with pictures
    n = len(plain.actions)
    assert walk.stride == -(-n // 50) and len(walk.episode.frames) == 1 + n // walk.stride <= 51
    assert walk.episode.frames[0].shape == (400, 600, 3) and walk.fps == 30
    assert walk.outcome == ("time limit" if n == 999 else "reached the end")
    best_agent, _, _ = load_agent(out, best=True)
    best_plain = run_episode(best_agent, make_env("MountainCarContinuous-v0"), seed=3)
    assert dh.record_walk(out, seed=3, max_frames=10, best=True).episode.total_return == pytest.approx(
        best_plain.total_return)


def test_learning_stages_pair_each_snapshot_with_the_evaluation_of_the_same_nets(tmp_path):
    out = tmp_path / "run"
    dh.train(dataclasses.replace(tiny(4), eval_every=2, snapshot_every=2, eval_episodes=1), out, progress=False)
    stages = dh.learning_stages(out)
    evals = {row["episode"]: row for row in dh.Run(out).history()["evals"]}
    assert [s.episode for s in stages] == [0, 2, 4] and stages[0].label == "untrained"
    for stage in stages[1:]:
        assert stage.evaluation == evals[stage.episode]["mean"]
        assert stage.label == (f"episode {stage.episode}, {evals[stage.episode]['env_steps']:,} env steps: "
                               f"evaluation {stage.evaluation:.1f}")
    # A snapshot holds the nets evaluated there: the strip plays them (MountainCar too: any env renders).
    fig = dh.gait_strip(stages[-1].path, seed=0, steps=40, frames=3)
    assert len(fig.axes) == 3 and fig.axes[0].images and "env seed 0, noise-free" in fig.texts[0].get_text()
    with pytest.raises(DDPGError, match="has no snapshots"):
        dh.learning_stages(conftest.fake_run(tmp_path / "none"))


def test_the_shipped_learning_run_shows_the_walker_at_each_evaluation_up_to_its_solve():
    shipped = dh.find_shipped(dh.SHIPPED_LEARNING)
    if shipped is None:
        pytest.skip(f"this checkout has no {dh.SHIPPED_LEARNING}")
    stages, summary = dh.learning_stages(shipped), dh.load_summary(shipped)
    assert stages[0].label == "untrained" and all(s.evaluation is not None for s in stages[1:])
    assert summary["solved"] and summary["stopped_at_solve"] and stages[-1].episode == summary["solved_episode"]
    assert stages[-1].evaluation >= 300 and summary["confirm_mean"] >= 300


def test_a_notebook_setting_outside_its_choices_is_one_clear_error():
    assert dh.setting("COMPARE", "train", ("shipped", "train")) == "train"
    with pytest.raises(DDPGError, match="COMPARE must be one of 'shipped', 'train', got 'trian'"):
        dh.setting("COMPARE", "trian", ("shipped", "train"))


# --- how an episode ended --------------------------------------------------------------------

def test_walker_outcome_from_rewards():
    assert dh.walker_outcome(np.array([0.1, 0.2, -100.0]), 1600) == "fell"
    assert dh.walker_outcome(np.full(1600, 0.01), 1600) == "time limit"
    assert dh.walker_outcome(np.full(900, 0.3), 1600) == "reached the end"
    assert dh.walker_outcome(np.full(200, -0.1), 200) == "time limit"  # a shorter cap of its own


def test_a_real_fall_ends_with_exactly_minus_100():
    # Both hips forward and both knees back at full speed throws the walker over within a second.
    env = make_env("BipedalWalker-v3")
    env.reset(seed=0)
    rewards = []
    for _ in range(env.spec.max_episode_steps):
        _, reward, terminated, truncated, _ = env.step(np.array([1, 1, -1, -1], dtype=np.float32))
        rewards.append(reward)
        if terminated or truncated:
            break
    env.close()
    assert terminated and len(rewards) < 200
    assert dh.walker_outcome(np.array(rewards), env.spec.max_episode_steps) == "fell"


# --- learning curves of several runs ---------------------------------------------------------

def history(n: int, evals: bool = True) -> dict:
    steps = list(range(100, 100 * (n + 1), 100))
    rows = [{"env_steps": s, "mean": float(i), "std": 1.0} for i, s in enumerate(steps[4::5])]
    return {"episode": list(range(n)), "return": [float(i) for i in range(n)], "env_steps": steps,
            "evals": rows if evals else []}


def test_compare_curves_draws_each_run_and_the_threshold():
    ax = plotting.compare_curves({"DDPG": history(30), "TD3": history(12), "short": history(3, evals=False)},
                                 threshold=300, window=10)
    labels = [line.get_label() for line in ax.lines]
    assert "DDPG: noise-free evaluation" in labels and "TD3: noise-free evaluation" in labels
    assert "short: noise-free evaluation" not in labels
    assert "short: training returns, moving average (3)" in labels  # window shrinks to the run
    assert "solved (300)" in labels
    ddpg = next(line for line in ax.lines if line.get_label() == "DDPG: noise-free evaluation")
    assert np.allclose(ddpg.get_xdata(), [500, 1000, 1500, 2000, 2500, 3000])
    assert len(ax.collections) == 2  # one std band per run with evaluations


# --- what an episode paid for torque ---------------------------------------------------------

def test_walker_torque_cost_clips_each_joint_at_one():
    assert dh.walker_torque_cost(np.zeros((10, 4))) == 0
    assert dh.walker_torque_cost([[2.0, -3.0, 0.5, 0.0]]) == pytest.approx(0.00035 * 80 * 2.5)


def test_walker_torque_cost_is_what_the_env_takes_from_each_reward():
    # The env's reward is the change in its shaping (progress and hull angle) minus the torque
    # cost; the shaping it keeps in `prev_shaping` gives the other part of each step's reward.
    env = make_env("BipedalWalker-v3")
    walker = env.unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(30):
        before = walker.prev_shaping
        action = rng.uniform(-1, 1, 4).astype(np.float32)
        _, reward, terminated, _, _ = env.step(action)
        assert not terminated
        assert reward == pytest.approx(walker.prev_shaping - before - dh.walker_torque_cost(action), abs=1e-4)
    env.close()
