"""benchmarks/kept_nets.py: which nets each rule picks from a run, and the runs it refuses."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ddpg_helpers.trainer as trainer_module  # noqa: E402
from benchmarks import kept_nets  # noqa: E402
from ddpg_helpers import Run, load_agent, make_env, train  # noqa: E402
from ddpg_helpers.errors import DDPGError  # noqa: E402
from ddpg_helpers.rollouts import evaluate  # noqa: E402
from ddpg_helpers.trainer import KEEP_SEED_OFFSET  # noqa: E402


@pytest.fixture
def scripted_run(tmp_path, tiny_config, monkeypatch):
    """A 3-episode run whose evaluations score 1, 5, 3 and whose longer looks score 1, 0 (episode 2), 2."""
    config = dataclasses.replace(tiny_config, episodes=3, eval_every=1, snapshot_every=1, keep_episodes=2)
    scripted = {config.eval_seed: [1.0, 5.0, 3.0], config.eval_seed + KEEP_SEED_OFFSET: [1.0, 0.0, 2.0]}
    monkeypatch.setattr(trainer_module, "evaluate", lambda agent, env, n, seed, *a: [scripted[seed].pop(0)] * n)
    train(config, tmp_path / "run", progress=False)
    return Run(tmp_path / "run")


def test_each_rule_plays_its_own_nets_and_nets_picked_twice_play_once(scripted_run, monkeypatch):
    played = []

    def fake_play(path, episodes, seed=0, best=False):
        played.append((Path(path), best))
        return {"returns": [float(len(played))] * episodes, "falls": 0}

    monkeypatch.setattr(kept_nets, "play", fake_play)
    rows = kept_nets.rows_for(scripted_run, episodes=4)
    assert [(r["rule"], r["episode"], r["eval_mean"], r["keep_mean"]) for r in rows] == [
        ("best of 10", 2, 5.0, 0.0), ("kept", 3, 3.0, 2.0), ("last", 3, 3.0, 2.0)]
    assert played == [(scripted_run.snapshot_dir / "episode_0002.pt", False), (scripted_run.path, True)]
    assert [r["mean"] for r in rows] == [1.0, 2.0, 2.0]  # the last nets are the kept ones: played once


def test_the_nets_really_play_from_their_files(scripted_run):
    rows = kept_nets.rows_for(scripted_run, episodes=2)
    assert {r["episodes"] for r in rows} == {2} and all(r["falls"] == 0 for r in rows)
    for row, (path, best) in zip(rows, [(scripted_run.snapshot_dir / "episode_0002.pt", False),
                                        (scripted_run.path, True)]):
        agent, config, _ = load_agent(path, best=best, device="cpu")
        returns = evaluate(agent, make_env(config.env_id), 2, 0, config.max_episode_steps)
        assert row["mean"] == round(float(np.mean(returns)), 1)


def test_a_run_without_the_snapshot_of_its_best_evaluation_is_refused(scripted_run, capsys):
    (scripted_run.snapshot_dir / "episode_0002.pt").unlink()
    with pytest.raises(DDPGError, match="snapshot-every"):
        kept_nets.picks(scripted_run)
    assert kept_nets.main([str(scripted_run.path)]) == 2
    assert capsys.readouterr().err.startswith("error:")
