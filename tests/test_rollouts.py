"""Evaluations played side by side: the same returns as one by one, whatever ran beside an episode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ddpg_helpers import Config
from ddpg_helpers.agent import Agent
from ddpg_helpers.envs import make_env
from ddpg_helpers.errors import DDPGError
from ddpg_helpers.rollouts import Interrupted, evaluate
from ddpg_helpers.trainer import Trainer


def untrained_agent(env_id: str, seed: int = 0) -> Agent:
    import torch

    torch.manual_seed(seed)
    env = make_env(env_id)
    space = env.action_space
    return Agent(Config(env_id=env_id), env.observation_space.shape[0], space.shape[0], space.low, space.high)


@pytest.mark.parametrize("env_id, steps", [("MountainCarContinuous-v0", 300), ("BipedalWalker-v3", 150)])
def test_an_episode_side_by_side_returns_the_same_whatever_plays_beside_it(env_id, steps):
    agent = untrained_agent(env_id)
    envs = [make_env(env_id) for _ in range(3)]
    six = evaluate(agent, envs, 6, 100, max_steps=steps)  # env 0 plays seeds 100 then 103, ...
    three = evaluate(agent, envs, 3, 100, max_steps=steps)  # the same rows, then idle beside the others
    four = evaluate(agent, envs, 4, 100, max_steps=steps)  # seed 103 beside two idle rows, not beside 104 and 105
    assert six[:3] == three and six[:4] == four and evaluate(agent, envs, 6, 100, max_steps=steps) == six
    one_by_one = evaluate(agent, make_env(env_id), 6, 100, max_steps=steps)
    # One observation per call takes a matrix-vector routine: the last bits of an action may differ.
    np.testing.assert_allclose(six, one_by_one, rtol=1e-4, atol=1e-3)
    assert len(set(six)) == 6  # six different episodes, not one six times


def test_a_stop_cuts_an_evaluation_side_by_side_short_before_the_next_episode_starts():
    agent = untrained_agent("MountainCarContinuous-v0")
    envs = [make_env("MountainCarContinuous-v0") for _ in range(2)]
    asked = []

    def should_stop():
        asked.append(True)
        return len(asked) > 3  # the first three episodes start, the fourth does not

    with pytest.raises(Interrupted):
        evaluate(agent, envs, 6, 100, max_steps=20, should_stop=should_stop)
    assert len(asked) == 4


def test_the_trainer_evaluates_with_as_many_envs_as_the_config_asks(tiny_config):
    trainer = Trainer(dataclasses.replace(tiny_config, eval_envs=4))
    assert len(trainer.eval_envs) == 4 and trainer.eval_env is trainer.eval_envs[0]
    with pytest.raises(DDPGError, match="eval_envs must be positive"):
        dataclasses.replace(tiny_config, eval_envs=0)
