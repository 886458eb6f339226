"""`tune`: an Optuna study whose trials are run folders; interrupted and resumed; two workers on one database."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ddpg_helpers.cli import main
from ddpg_helpers.run import Run
from ddpg_helpers.tune import SEARCH_SPACE, parse_fixed, train_flags

ROOT = Path(__file__).resolve().parent.parent
# Trials that take a few seconds: MountainCar episodes of 100 steps, an evaluation episode after each.
TINY = ["--set", "max_episode_steps=100", "--set", "eval_every=1", "--set", "eval_episodes=1",
        "--set", "confirm_episodes=0", "--set", "record_final=false"]


def tune_command(folder, trials, steps=400, *extra):
    return [sys.executable, "-m", "ddpg_helpers", "tune", "--trials", str(trials), "--steps", str(steps),
            "--out", str(folder), *TINY, *extra]


def trial_states(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("select number, state from trials"))


def has_settings(db: Path, number: int) -> bool:
    """Whether trial `number` has all its sampled settings written (it is RUNNING a moment before the first)."""
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from trial_params join trials using (trial_id) where number = ?",
                           (number,)).fetchone()[0] == len(SEARCH_SPACE)


@pytest.mark.slow
def test_a_study_reports_the_best_trial_as_train_flags_beside_the_defaults(tmp_path, capsys):
    folder = tmp_path / "study"
    assert main(["tune", "--trials", "2", "--steps", "300", "--seeds", "2", "--out", str(folder), *TINY]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trials"] == 2
    # Trial 0 is the blog's defaults; every trial's seeds are ordinary, finished run folders.
    runs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert runs == ["trial-0000-s0", "trial-0000-s1", "trial-0001-s0", "trial-0001-s1"]
    assert all(Run(folder / r).is_finished() for r in runs)
    finals = [Run(folder / f"trial-0000-s{s}").summary()["final_eval_mean"] for s in (0, 1)]
    assert report["defaults_value"] == pytest.approx(sum(finals) / 2)
    assert report["best_value"] >= report["defaults_value"]
    assert report["best_runs"] == [str(folder / f"trial-{report['best_trial']:04d}-s{s}") for s in (0, 1)]


def test_flags_reproduce_settings_of_every_kind():
    assert train_flags({"gamma": 0.98, "record_final": False, "critic_layer_norm": True,
                        "actor_hidden": [64, 64], "noise": "gaussian"}) == \
        "--gamma 0.98 --no-record-final --critic-layer-norm --actor-hidden 64 64 --noise gaussian"
    assert parse_fixed(["eval_every=10", "noise_theta=0.1", "actor_hidden=[64, 64]", "record_final=false"]) == \
        {"eval_every": 10, "noise_theta": 0.1, "actor_hidden": [64, 64], "record_final": False}


@pytest.mark.slow
def test_an_interrupted_study_marks_the_killed_trial_failed_and_goes_on(tmp_path):
    """A worker killed in its second trial: the same command later says so, runs those settings again and
    ends the study with two complete trials."""
    folder, db = tmp_path / "study", tmp_path / "study" / "study.db"
    command = tune_command(folder, 2, 3000, "--heartbeat", "1")
    worker = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until trial 0 is complete and trial 1 running with its settings
        states = trial_states(db) if db.exists() else {}
        if states.get(0) == "COMPLETE" and states.get(1) == "RUNNING" and has_settings(db, 1):
            break
        assert worker.poll() is None, worker.stderr.read().decode()
        time.sleep(0.2)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert trial_states(db) == {0: "COMPLETE", 1: "RUNNING"}  # what a killed worker leaves behind
    time.sleep(2.5)  # past the grace period of two heartbeats
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "trial 1 was left running by a worker that stopped: marked failed" in again.stderr
    states = trial_states(db)
    assert states[0] == "COMPLETE" and states[1] == "FAIL"
    assert sorted(states.values()).count("COMPLETE") == 2
    with sqlite3.connect(db) as con:  # the failed trial's settings were tried again
        params = con.execute("select trial_id, param_name, param_value from trial_params").fetchall()
    by_trial = {}
    for trial, name, value in params:
        by_trial.setdefault(trial, {})[name] = value
    assert list(by_trial.values()).count(by_trial[2]) == 2  # trial ids start at 1: id 2 is trial 1


@pytest.mark.parametrize("problem", ["storage", "env", "set"])
def test_bad_input_to_tune_is_one_line_and_writes_nothing(tmp_path, capsys, problem):
    folder = tmp_path / "study"
    if problem == "env":  # a study made for MountainCar, asked to go on with Pendulum
        assert main(["tune", "--trials", "1", "--steps", "200", "--out", str(folder), *TINY]) == 0
        capsys.readouterr()
        before = sorted(p.name for p in folder.iterdir())
        argv = ["--env", "Pendulum-v1", "--study", "MountainCarContinuous-v0-ddpg"]
    else:
        before = None
        argv = {"storage": ["--storage", "nosuchdb://nowhere/x"], "set": ["--set", "gamma=0.9"]}[problem]
    assert main(["tune", "--trials", "1", "--steps", "200", "--out", str(folder), *TINY, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    if before is None:
        assert not folder.exists()
    else:
        assert sorted(p.name for p in folder.iterdir()) == before


POSTGRES = os.environ.get("DDPG_TEST_POSTGRES_URL")


@pytest.mark.slow
@pytest.mark.skipif(not POSTGRES, reason="needs a PostgreSQL server: DDPG_TEST_POSTGRES_URL (.ci/run starts one)")
def test_two_workers_fill_one_study_on_postgresql(tmp_path):
    """`--workers 2` against one PostgreSQL database, as workers on two machines would: both take trials."""
    study = f"test-{os.getpid()}-{time.time_ns()}"
    done = subprocess.run(tune_command(tmp_path / "study", 4, 300, "--workers", "2", "--storage", POSTGRES,
                                       "--study", study), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    import optuna

    trials = optuna.load_study(study_name=study, storage=POSTGRES).get_trials()
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) >= 4
    assert len({t.user_attrs["worker"] for t in complete}) == 2
