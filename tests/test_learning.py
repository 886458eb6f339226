"""Learning tests: the agent really reaches its return (minutes on a 2-core CPU)."""

import numpy as np
import pytest

from ddpg_helpers import Config, evaluate, make_env, train


@pytest.mark.slow
def test_blog_ddpg_solves_mountain_car():
    """The blog's settings, seed 0: the noise-free evaluation reaches the env's solved threshold of 90."""
    result = train(Config(seed=0, target_return=90.0), progress=False)
    summary = result.summary
    assert summary["solved"], result.history["evals"]
    assert summary["final_eval_mean"] >= 90.0
    assert summary["steps_to_solve"] == summary["env_steps"]  # it stopped where it solved
    # The returned agent is the one that was evaluated: replaying the same seeds gives the same score.
    config = result.config
    returns = evaluate(result.agent, make_env(config.env_id), config.eval_episodes, config.eval_seed)
    assert np.mean(returns) >= 90.0
    assert result.final_episode.total_return >= 90.0  # the recorded noise-free episode reaches the flag
    assert result.final_episode.observations[-1][0] >= 0.45  # the flag's position
    assert summary["confirm_mean"] >= 90.0  # and 100 fresh episodes confirmed it


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["td3", "tqc"])
def test_td3_and_tqc_learn_pendulum(algo):
    """TD3, and TQC on top of it, swing the pendulum up and hold it: mean return above -250 (a random policy
    scores about -1200)."""
    config = Config(env_id="Pendulum-v1", algo=algo, seed=0, episodes=60, gamma=0.99, tau=0.005, batch_size=128,
                    memory_size=100_000, critic_lr=1e-3, critic_weight_decay=0.0, warmup_steps=1000,
                    noise="gaussian", sigma_start=0.1, sigma_end=0.1, eval_every=5, eval_episodes=5,
                    target_return=-250.0, record_final=False)
    summary = train(config, progress=False).summary
    assert summary["solved"] and summary["final_eval_mean"] >= -250.0, summary
