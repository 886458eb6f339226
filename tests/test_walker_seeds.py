"""benchmarks/walker_seeds.py: its table from two tiny MountainCar runs, a second call that trains
nothing, runs continued instead of retrained, the recipes it refuses to mix, and its two counts."""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import walker_seeds, walker_solve
from ddpg_helpers import Run  # noqa: E402
from ddpg_helpers.cli import main  # noqa: E402

# Short episodes, an evaluation after each: MountainCar with these trains 100 env steps per episode
# and records an evaluation per episode, so a run of 200 steps has two.
EXTRA = "--max-episode-steps 100 --eval-every 1 --eval-episodes 1"


def call(tmp: Path, *flags: str, seeds=("0", "1"), steps=200) -> int:
    # TD3, not the walker preset's TQC that the script trains by default: the runs below are TD3's.
    return walker_seeds.main(["--env", "MountainCarContinuous-v0", "--algo", "td3", "--seeds", *seeds,
                              "--total-steps", str(steps),
                              "--jobs", "2", "--extra", EXTRA, "--eval100-episodes", "3",
                              "--runs", str(tmp / "runs"), "--csv", str(tmp / "seeds.csv"),
                              "--curves", str(tmp / "curves"), *flags])


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def config_of(seed: int, steps: int):
    """The Config the command trains this seed with, as `call` gives it."""
    args = argparse.Namespace(env="MountainCarContinuous-v0", algo="td3", total_steps=steps, device="auto",
                              extra=EXTRA.split())
    return walker_seeds.config_for(walker_seeds.train_flags(args, seed))


def run_of(tmp: Path, seed: int) -> Run:
    return Run(tmp / "runs" / f"MountainCarContinuous-v0-td3-s{seed}")


def test_steps_to_300_is_the_first_evaluation_that_reached_it():
    evals = [{"episode": 25, "env_steps": 9_000, "mean": -110.0}, {"episode": 50, "env_steps": 40_000, "mean": 299.9},
             {"episode": 75, "env_steps": 80_000, "mean": 300.0}, {"episode": 100, "env_steps": 120_000, "mean": 310.0}]
    assert walker_seeds.steps_to(evals) == 80_000
    assert walker_seeds.steps_to(evals[:2]) is None
    assert walker_seeds.steps_to([]) is None


def test_a_fall_is_minus_100_on_the_last_step():
    fell = np.array([0.1, 0.2, -100.0], np.float32)
    fell_early = np.array([-100.0], np.float32)
    reached_end = np.array([0.3] * 5, np.float32)
    timed_out = np.array([0.1] * 10, np.float32)
    penalty_before_the_end = np.array([-100.0, 0.5], np.float32)  # not how the env ends an episode, but not a fall
    nearly = np.array([0.1, -99.9], np.float32)
    episodes = [fell, fell_early, reached_end, timed_out, penalty_before_the_end, nearly, np.array([], np.float32)]
    assert walker_seeds.count_falls(episodes, time_limit=10) == 2


def test_the_verdict_counts_never_as_never():
    row = lambda mean, steps: {"eval100_mean": mean, "steps_to_300": steps}
    assert walker_seeds.verdict([row(305.0, 100_000), row(250.0, 200_000), row(10.0, None)], 100) == \
        "1 of 3 seeds reach 300 over 100 episodes; median steps_to_300: 200,000"
    assert "median steps_to_300: never" in walker_seeds.verdict([row(305.0, 100_000), row(10.0, None)], 100)


def test_other_recipes_get_other_file_names():
    assert walker_seeds.recipe_tag("BipedalWalker-v3", "tqc", []) == ""  # the preset's algorithm
    assert walker_seeds.recipe_tag("BipedalWalker-v3", "tqc", ["--actor-preact-l2", "0"]) == "_actor-preact-l2-0"
    assert walker_seeds.recipe_tag("BipedalWalker-v3", "ddpg", []) == "_ddpg"
    assert walker_seeds.recipe_tag("BipedalWalker-v3", "td3", ["--updates-per-step", "2"]) == "_td3_updates-per-step-2"


@pytest.mark.slow
def test_seeds_table_trains_once_and_resumes(tmp_path, capsys):
    # Two seeds trained in parallel: one row each, with the exact columns.
    assert call(tmp_path) == 0
    report = capsys.readouterr().out
    columns, rows = read_csv(tmp_path / "seeds.csv")
    assert columns == walker_seeds.COLUMNS
    assert [r["seed"] for r in rows] == ["0", "1"]
    for r in rows:
        assert r["algo"] == "td3" and r["device"] == "cpu"
        assert 0 < int(r["env_steps_at_best"]) <= 200
        assert float(r["eval100_std"]) >= 0 and r["eval100_mean"] != ""
        assert r["steps_to_300"] == ""  # MountainCar never returns 300
        assert r["falls_in_eval100"] == "0"
        assert r["best_keep_mean"] == ""  # these runs judge their nets on their evaluations alone
        assert float(r["wall_seconds"]) > 0
    summary = run_of(tmp_path, 0).summary()
    assert float(rows[0]["best_eval_mean"]) == round(summary["best_eval_mean"], 2)
    assert len(json.loads((run_of(tmp_path, 0).path / walker_seeds.EVAL100).read_text())["returns"]) == 3
    assert "| seed | algo | env_steps_at_best |" in report
    assert "# command: python benchmarks/walker_seeds.py --env MountainCarContinuous-v0" in report
    assert "0 of 2 seeds reach 300 over 3 episodes" in report
    # The kept nets' IQM over seeds (of two seeds: their mean), and the curves kept to be drawn without the runs.
    values = [float(r["eval100_mean"]) for r in rows]
    assert f"interquartile mean over 2 seeds: {sum(values) / 2:.1f} [" in report
    curves = sorted((tmp_path / "curves").iterdir())
    assert [c.name for c in curves] == [run_of(tmp_path, s).path.name for s in (0, 1)]
    assert (curves[0] / "metrics.csv").read_text() == (run_of(tmp_path, 0).path / "metrics.csv").read_text()
    assert main(["plot", str(tmp_path / "curves" / "*")]) == 0

    # Given again: nothing trains, the same rows.
    mtimes = {s: run_of(tmp_path, s).checkpoint.stat().st_mtime_ns for s in (0, 1)}
    assert call(tmp_path) == 0
    assert {s: run_of(tmp_path, s).checkpoint.stat().st_mtime_ns for s in (0, 1)} == mtimes
    assert read_csv(tmp_path / "seeds.csv")[1] == rows

    # Another recipe in the same folder, or a smaller cap than the runs', is refused before anything runs.
    assert walker_seeds.main(["--env", "MountainCarContinuous-v0", "--algo", "td3", "--seeds", "0",
                              "--total-steps", "200", "--extra", "--max-episode-steps 50 --eval-every 1",
                              "--runs", str(tmp_path / "runs"), "--csv", str(tmp_path / "other.csv"),
                              "--curves", str(tmp_path / "other-curves")]) == 2
    assert "max_episode_steps=100" in capsys.readouterr().err
    assert call(tmp_path, steps=100) == 2
    assert not (tmp_path / "other.csv").exists() and not (tmp_path / "other-curves").exists()

    # Seed 1 as if killed after its last checkpoint (no summary): continued, not started again.
    (run_of(tmp_path, 1).path / "summary.json").unlink()
    killed = run_of(tmp_path, 1)
    assert walker_seeds.train_command(killed, config_of(1, 200), [])[:2] == ["--resume", str(killed.path)]

    # A larger cap: seed 0 (finished at 200) and seed 1 (killed) both go on from their checkpoints.
    assert call(tmp_path, steps=300) == 0
    for s in (0, 1):
        run = run_of(tmp_path, s)
        assert run.is_finished() and run.summary()["env_steps"] == 300
        evals = run.history()["evals"]
        assert [e["env_steps"] for e in evals] == [100, 200, 300]  # one history, not a second run from scratch
        assert (run.path / walker_seeds.LOG).read_text().count("--resume") == 1
    assert len(read_csv(tmp_path / "seeds.csv")[1]) == 2

    # A summary older than its checkpoint (killed between the two at the end of a continued run) is
    # set aside, since `train --resume` would take the run for finished.
    run = run_of(tmp_path, 0)
    stale = {**run.summary(), "env_steps": 200}
    (run.path / "summary.json").write_text(json.dumps(stale))
    assert walker_seeds.train_command(run, config_of(0, 300), [])[0] == "--resume"
    assert not (run.path / "summary.json").exists()


@pytest.mark.slow
def test_a_sigterm_stops_the_trainings_at_a_checkpoint_they_can_resume_from(tmp_path):
    """The signal only marks the request; the loop then stops every training it started, each at a
    checkpoint, and raises (the command exits 143)."""
    run = Run(tmp_path / "run")
    command = ["--env", "MountainCarContinuous-v0", "--episodes", "100000", "--total-steps", "1000000",
               "--max-episode-steps", "20", "--eval-every", "0", "--checkpoint-every", "1", "--threads", "1",
               "--out", str(run.path)]

    def kill_once_it_trains():
        deadline = time.monotonic() + 120
        while not run.checkpoint.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=kill_once_it_trains, daemon=True).start()
    try:
        walker_seeds.train_all({0: command}, {0: run}, jobs=1)
    except walker_seeds.Stopped:
        pass
    else:
        raise AssertionError("train_all returned without being stopped")
    assert "train --resume" in (run.path / walker_seeds.LOG).read_text()  # the training said how to go on
    assert walker_seeds.train_command(run, walker_seeds.config_for(command[:-2]), [])[:2] == ["--resume",
                                                                                             str(run.path)]


@pytest.mark.slow
def test_the_solve_table_times_each_seed_to_its_confirmed_solve(tmp_path, capsys):
    # A target any return beats: each run is confirmed at its first evaluation and stops there.
    flags = ["--env", "MountainCarContinuous-v0", "--algo", "td3", "--seeds", "1", "0", "--solve",
             "--total-steps", "400", "--jobs", "2", "--runs", str(tmp_path / "runs"), "--csv", str(tmp_path / "s.csv"),
             "--curves", str(tmp_path / "curves"), "--extra", f"{EXTRA} --target-return -1000 --confirm-episodes 3"]
    assert walker_seeds.main(flags) == 0
    columns, rows = read_csv(tmp_path / "s.csv")
    assert columns == walker_solve.COLUMNS and [r["seed"] for r in rows] == ["0", "1"]
    for row in rows:
        assert row["solved"] == "True" and row["env_steps_to_solve"] == row["env_steps"] == "100"
        assert row["confirm_falls"] == "0" and row["failed_confirmations"] == "0"
        parts = sum(float(row[f"{kind}_seconds"]) for kind in ("train", "eval", "confirm", "keep"))
        assert parts == pytest.approx(float(row["wall_seconds_to_solve"]), abs=0.02)
    summary = json.loads((run_of(tmp_path, 0).path / "summary.json").read_text())
    assert summary["stopped_at_solve"] and summary["env_steps"] == 100
    report = capsys.readouterr().out
    assert "2 of 2 seeds confirmed at -1000" in report and "trained until confirmed solved" in report
    # Given again, it trains nothing; nets that do not replay their confirmation are refused.
    (run_of(tmp_path, 0).path / "confirm.json").unlink()
    summary["confirm_mean"] = 50.0
    (run_of(tmp_path, 0).path / "summary.json").write_text(json.dumps(summary))
    assert walker_seeds.main(flags) == 1
    assert "do not replay its confirmation" in capsys.readouterr().err


def test_the_solve_verdict_holds_the_times_against_the_aim():
    rows = [{"solved": True, "wall_seconds_to_solve": t, "env_steps_to_solve": 90_000} for t in (500, 590, 880)]
    assert walker_solve.verdict(rows, 300).endswith("aim (median 600 s, every seed within 900 s, all confirmed): met")
    slow = rows[:2] + [{"solved": True, "wall_seconds_to_solve": 901, "env_steps_to_solve": 99_000}]
    assert walker_solve.verdict(slow, 300).endswith("not met")
    unsolved = rows[:2] + [{"solved": False}]
    assert "2 of 3 seeds confirmed" in walker_solve.verdict(unsolved, 300)
    assert "slowest inf s" in walker_solve.verdict(unsolved, 300)
