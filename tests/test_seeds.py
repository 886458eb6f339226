"""Runs side by side (`plot`): grouping by recipe, the mean curve with its bootstrap band, the IQM scores."""

import csv
import json

import numpy as np
import pytest

from ddpg_helpers import Config
from ddpg_helpers.cli import main
from ddpg_helpers.errors import DDPGError
from ddpg_helpers.seeds import compare, curve_band, group_runs, iqm, read_run, seed_table


def fake_seed_run(path, seed, evals, env_id="Pendulum-v1", kept=None, **settings):
    """A finished run folder: config.json, metrics.csv (an evaluation at each (env_steps, mean)), summary.json."""
    path.mkdir(parents=True)
    config = Config(env_id=env_id, seed=seed, **settings).to_dict()
    (path / "config.json").write_text(json.dumps(config))
    with open(path / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["episode", "return", "env_steps", "eval_mean", "eval_std"])
        for i, (steps, mean) in enumerate(evals):
            w.writerow([i, 0.0, steps, mean, 0.0])
            w.writerow([i, 0.0, steps + 1, "", ""])  # an episode without an evaluation
    summary = {"env_id": env_id, "algo": config["algo"], "seed": seed, "best_eval_mean": max(m for _, m in evals),
               "best_keep_mean": kept}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_runs_that_differ_only_in_seed_form_one_group(tmp_path):
    for seed in range(3):
        fake_seed_run(tmp_path / f"a{seed}", seed, [(100, 1.0), (200, 2.0)], threads=seed + 1)  # threads: not a recipe
        fake_seed_run(tmp_path / f"b{seed}", seed, [(100, 1.0), (200, 2.0)], tau=0.01)
    groups = group_runs([read_run(p) for p in sorted(tmp_path.iterdir())])
    assert sorted(len(g.runs) for g in groups) == [3, 3]
    assert sorted(g.label for g in groups) == ["tau=0.001", "tau=0.01"]  # named by what sets them apart


def test_a_run_written_before_a_setting_existed_groups_with_runs_at_its_default(tmp_path):
    for seed in range(2):
        fake_seed_run(tmp_path / f"new{seed}", seed, [(100, 1.0)], n_step=3)
    old = fake_seed_run(tmp_path / "old", 2, [(100, 1.0)], n_step=3)
    config = json.loads((old / "config.json").read_text())
    del config["update_every"]  # a config.json from before blocked updates
    config["frame_stride"] = 4  # and one with a setting that no longer exists
    (old / "config.json").write_text(json.dumps(config))
    fake_seed_run(tmp_path / "other", 0, [(100, 1.0)], n_step=3, update_every=4)
    groups = group_runs([read_run(p) for p in sorted(tmp_path.iterdir())])
    assert sorted((g.label, len(g.runs)) for g in groups) == [("update_every=1", 3), ("update_every=4", 1)]


def test_the_curve_is_the_mean_over_seeds_with_a_band_that_holds_it(tmp_path):
    # Seeds evaluate at different env steps: each is read at its last evaluation before a grid point.
    runs = [fake_seed_run(tmp_path / "s0", 0, [(100, 0.0), (300, 10.0), (500, 20.0)]),
            fake_seed_run(tmp_path / "s1", 1, [(150, 2.0), (350, 12.0), (450, 22.0)]),
            fake_seed_run(tmp_path / "s2", 2, [(120, 4.0), (320, 14.0), (520, 24.0)])]
    (group,) = group_runs([read_run(p) for p in runs])
    grid, mean, low, high = curve_band(group, points=5)
    assert grid[0] == 150 and grid[-1] == 450  # from the latest first evaluation to the shortest run's end
    np.testing.assert_allclose(mean[0], (0 + 2 + 4) / 3)
    np.testing.assert_allclose(mean[-1], (10 + 22 + 14) / 3)
    assert np.all(low <= mean) and np.all(mean <= high)
    assert np.all(high - low > 0)  # three different seeds: an interval, not a point


def test_scores_are_interquartile_means_with_their_interval(tmp_path):
    finals = [100.0, 250.0, 260.0, 270.0, 300.0]
    paths = [fake_seed_run(tmp_path / f"s{i}", i, [(100, 0.0), (200, f)], kept=f + 5) for i, f in enumerate(finals)]
    (score,) = compare([str(p) for p in paths])
    assert score["seeds"] == [0, 1, 2, 3, 4]
    iqm_final, low, high = score["final"]
    assert iqm_final == pytest.approx(260.0)  # the middle half of five: 250, 260, 270
    assert iqm_final == pytest.approx(float(iqm(np.array(finals))))
    assert low < iqm_final < high and low >= 100 and high <= 300
    assert score["kept"][0] == pytest.approx(265.0)  # the kept nets' longer look


def test_plot_draws_a_figure_and_prints_each_groups_scores(tmp_path, capsys):
    for seed in range(2):
        fake_seed_run(tmp_path / "runs" / f"ddpg-s{seed}", seed, [(100, -900.0), (200, -300.0 - seed)])
        fake_seed_run(tmp_path / "runs" / f"td3-s{seed}", seed, [(100, -800.0), (200, -200.0 - seed)], algo="td3")
    out = tmp_path / "seeds.png"
    assert main(["plot", str(tmp_path / "runs" / "ddpg-*"), str(tmp_path / "runs" / "td3-*"), "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    printed = capsys.readouterr()
    assert "| algo=ddpg | 0, 1 |" in printed.err and "| algo=td3 | 0, 1 |" in printed.err
    result = json.loads(printed.out)
    assert {g["label"]: round(g["final"][0], 1) for g in result["groups"]} == {"algo=ddpg": -300.5, "algo=td3": -200.5}


@pytest.mark.parametrize("problem", ["no match", "two envs", "no folder for the figure"])
def test_bad_input_to_plot_is_one_line_and_writes_nothing(tmp_path, capsys, problem):
    fake_seed_run(tmp_path / "pendulum", 0, [(100, 1.0)])
    fake_seed_run(tmp_path / "car", 0, [(100, 1.0)], env_id="MountainCarContinuous-v0")
    out = tmp_path / "fig.png"
    argv = {"no match": [str(tmp_path / "nothing-*")], "two envs": [str(tmp_path / "pendulum"), str(tmp_path / "car")],
            "no folder for the figure": [str(tmp_path / "pendulum")]}[problem]
    if problem == "no folder for the figure":
        out = tmp_path / "missing" / "fig.png"
    assert main(["plot", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not out.exists()


def test_a_run_without_evaluations_is_refused(tmp_path):
    path = fake_seed_run(tmp_path / "r", 0, [(100, 1.0)])
    (path / "metrics.csv").write_text("episode,return,env_steps,eval_mean,eval_std\n0,1.0,100,,\n")
    with pytest.raises(DDPGError, match="no evaluation"):
        read_run(path)


def test_seed_table_gives_each_seeds_kept_nets_falls_and_first_300(tmp_path):
    table = tmp_path / "walker-seeds.csv"
    table.write_text("seed,algo,eval100_mean,steps_to_300,falls_in_eval100\n"
                     "0,tqc,327.72,84871,1\n1,tqc,268.7,,0\n")
    lines = seed_table(table).splitlines()
    assert lines[2:] == ["| 0 | 327.7 (1) | 84,871 |", "| 1 | 268.7 (0) | never |"]
    with pytest.raises(DDPGError, match="no seeds table"):
        seed_table(tmp_path / "missing.csv")
