"""make_env: an episode depends on its seed and actions, not on what the env ran before."""

import numpy as np

from ddpg_helpers import make_env


def scripted_episode(env, seed: int) -> np.ndarray:
    """Every observation of an episode whose actions come from a fixed generator and the observation."""
    obs, _ = env.reset(seed=seed)
    rng, trajectory = np.random.default_rng(0), [obs]
    for _ in range(300):
        action = np.tanh(rng.normal(size=4) + 0.5 * obs[4:8]).astype(np.float32)
        obs, _, terminated, truncated, _ = env.step(action)
        trajectory.append(obs)
        if terminated or truncated:
            break
    return np.array(trajectory)


def test_a_walker_episode_is_the_same_in_a_new_env_and_in_one_that_ran_other_episodes():
    # Box2D's world, kept across resets, made every one of these four seeds' observations differ
    # (before make_env gave each reset a new world).
    used = make_env("BipedalWalker-v3")
    for seed in range(1, 6):
        scripted_episode(used, seed)
    for seed in (10000, 10001, 10002, 10003):
        new = scripted_episode(make_env("BipedalWalker-v3"), seed)
        again = scripted_episode(used, seed)
        assert new.shape == again.shape and np.array_equal(new, again), f"env seed {seed}"
