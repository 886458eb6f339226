import math

import numpy as np
import pytest

from ddpg_helpers import BlogNoise, GaussianNoise, sigma_schedule


def test_sigma_decays_per_episode_with_the_corrected_constant():
    assert sigma_schedule(0) == pytest.approx(1.0)
    # After SIGMA_DECAY = 30 episodes the excess over the end value falls by a factor e.
    assert sigma_schedule(30) == pytest.approx(0.3 + 0.7 / math.e)
    assert sigma_schedule(1) == pytest.approx(0.3 + 0.7 * math.exp(-1 / 30))
    assert sigma_schedule(1000) == pytest.approx(0.3, abs=1e-9)
    values = [sigma_schedule(e) for e in range(200)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_blog_noise_follows_its_recurrence():
    rng = np.random.default_rng(0)
    noise = BlogNoise(2, theta=0.08, init=0.5, rng=rng)
    noise.reset(sigma=0.7)
    start = noise.state.copy()
    assert np.all(np.abs(start) <= 0.5)
    replay = np.random.default_rng(0)
    replay.uniform(-0.5, 0.5, 2)  # the constructor's reset
    replay.uniform(-0.5, 0.5, 2)  # the episode's reset
    expected = start - 0.08 * start + 0.7 * replay.uniform(-1, 1, 2)
    np.testing.assert_allclose(noise(), expected)


def test_blog_noise_is_correlated_in_time():
    noise = BlogNoise(1, rng=np.random.default_rng(1))
    noise.reset(sigma=0.3)
    xs = np.array([noise()[0] for _ in range(5000)])
    lag1 = np.corrcoef(xs[:-1], xs[1:])[0, 1]
    assert lag1 > 0.8  # it keeps pushing the same way, unlike white noise


def test_gaussian_noise_std():
    noise = GaussianNoise(3, rng=np.random.default_rng(0))
    noise.reset(sigma=0.2)
    xs = np.array([noise() for _ in range(20000)])
    assert xs.shape == (20000, 3)
    np.testing.assert_allclose(xs.std(axis=0), 0.2, rtol=0.05)
    assert abs(np.corrcoef(xs[:-1, 0], xs[1:, 0])[0, 1]) < 0.05
