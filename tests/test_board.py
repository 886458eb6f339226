"""TensorBoard event files: written as the run goes, against env steps, continued by a resume without
restarting at 0 or writing a point twice."""

import pytest

from ddpg_helpers import Config, resume, train
from ddpg_helpers.board import read_scalars
from ddpg_helpers.cli import main
from ddpg_helpers.run import Run

SETTINGS = dict(episodes=6, max_episode_steps=100, eval_every=2, eval_episodes=1, confirm_episodes=0,
                record_final=False, checkpoint_every=2)


def curves(run_dir) -> dict:
    return read_scalars(Run(run_dir).board_dir)


def test_a_run_logs_its_history_against_env_steps(tmp_path):
    result = train(Config(**SETTINGS), tmp_path / "run", progress=False)
    scalars, h = curves(tmp_path / "run"), result.history
    assert scalars["train/return"] == [(s, pytest.approx(r)) for s, r in zip(h["env_steps"], h["return"])]
    assert scalars["eval/mean"] == [(e["env_steps"], pytest.approx(e["mean"])) for e in h["evals"]]
    assert [s for s, _ in scalars["loss/critic"]] == h["env_steps"][1:]  # no update in the first episode
    assert {"train/sigma", "loss/actor", "perf/env_steps_per_second", "eval/std"} <= set(scalars)


def test_a_resumed_run_continues_the_same_curves(tmp_path):
    """Killed after episode 3 (its last checkpoint at episode 2) and resumed: the curves are those of the
    uninterrupted run, the redone episode 3 written once."""
    whole = curves(train(Config(**SETTINGS), tmp_path / "whole", progress=False).out)

    def kill_after_episode_3(trainer):
        if trainer.episode == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(Config(**SETTINGS), tmp_path / "killed", progress=False, callback=kill_after_episode_3)
    before = curves(tmp_path / "killed")
    assert len(before["train/return"]) == 3  # episode 3 reached the event files, not the checkpoint
    resume(tmp_path / "killed", progress=False)
    after = curves(tmp_path / "killed")
    assert after.keys() == whole.keys()
    for tag in whole:
        steps = [s for s, _ in after[tag]]
        assert steps == sorted(set(steps)), tag  # no restart at 0, no point twice
        if tag == "perf/env_steps_per_second":  # a measured rate: the same points, other values
            assert steps == [s for s, _ in whole[tag]]
        else:
            assert after[tag] == [(s, pytest.approx(v, rel=1e-6)) for s, v in whole[tag]], tag


def test_a_run_that_never_logged_gets_its_whole_history_at_a_resume(tmp_path):
    train(Config(**{**SETTINGS, "episodes": 2}, tensorboard=False), tmp_path / "run", progress=False)
    assert not Run(tmp_path / "run").board_dir.exists()  # --no-tensorboard writes none
    result = resume(tmp_path / "run", progress=False, episodes=4, tensorboard=True)
    steps = [s for s, _ in curves(tmp_path / "run")["train/return"]]
    assert steps == result.history["env_steps"] and len(steps) == 4


def test_no_tensorboard_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--episodes", "1", "--max-episode-steps", "50", "--eval-episodes", "1",
                 "--confirm-episodes", "0", "--no-record-final", "--no-tensorboard", "--no-progress",
                 "--out", str(out)]) == 0
    assert Run(out).is_finished() and not Run(out).board_dir.exists()


def test_an_overwritten_run_starts_new_curves(tmp_path):
    train(Config(**{**SETTINGS, "episodes": 4}), tmp_path / "run", progress=False)
    train(Config(**{**SETTINGS, "episodes": 2}), tmp_path / "run", overwrite=True, progress=False)
    assert len(curves(tmp_path / "run")["train/return"]) == 2
