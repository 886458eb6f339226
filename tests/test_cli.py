"""The command line: the main job end to end, and a one-line error with exit code 2 for bad input."""

import json
import signal
import subprocess
import sys
import time

import pytest

TINY = ["--episodes", "2", "--max-episode-steps", "100", "--eval-episodes", "1", "--no-progress"]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ddpg_helpers", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "mcc"
    proc = cli("train", "--env", "MountainCarContinuous-v0", "--seed", "0", "--out", out, *TINY)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_train_writes_the_run_and_its_summary(run):
    out, printed = run
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    for key in ("env_id", "seed", "device", "episodes", "env_steps", "wall_seconds", "steps_per_second",
                "final_eval_mean", "final_eval_std", "solved", "steps_to_solve"):
        assert key in summary
    assert summary["episodes"] == 2 and summary["device"] == "cpu"
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("episode,return,length")
    config = json.loads((out / "config.json").read_text())
    assert config["episodes"] == 2 and config["batch_size"] == 128 and config["gamma"] == 0.999
    assert (out / "reward_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_prints_one_json_line(run, tmp_path):
    out, _ = run
    gif = tmp_path / "car.gif"
    proc = cli("evaluate", out, "--episodes", "2", "--seed", "0", "--gif", gif)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["episodes"] == 2 and {"mean", "std"} <= set(result)
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_evaluate_keeps_to_its_thread_count(run, capsys):
    """Like training, evaluate runs on one CPU thread unless told otherwise: at torch's default it
    is many times slower beside a busy core (BENCHMARKS.md, "Thread count on a 2-core CPU")."""
    import torch

    from ddpg_helpers.cli import main

    out, _ = run
    before = torch.get_num_threads()
    try:
        for threads, expected in ((None, 1), ("2", 2), ("0", 2)):  # 0 leaves torch's count as it is
            torch.set_num_threads(2)
            assert main(["evaluate", str(out), "--episodes", "1"] + (["--threads", threads] if threads else [])) == 0
            assert torch.get_num_threads() == expected
            assert json.loads(capsys.readouterr().out)["episodes"] == 1
    finally:
        torch.set_num_threads(before)


def test_every_config_field_has_a_flag():
    from dataclasses import fields

    from ddpg_helpers import Config

    help_text = cli("train", "--help").stdout
    for f in fields(Config):
        flag = "--env" if f.name == "env_id" else "--" + f.name.replace("_", "-")
        assert flag in help_text


def test_refuses_to_overwrite_a_run(run):
    out, _ = run
    before = (out / "checkpoint.pt").read_bytes()
    assert_one_line_error(cli("train", "--out", out, *TINY), "already holds a run", "--overwrite")
    assert (out / "checkpoint.pt").read_bytes() == before


# One bad input of each kind (the env, a setting, the run to start from) in the fast suite; the others,
# each a process that imports torch (seconds), run with the slow tests.
BAD_TRAINING_INPUT = [
    (["--env", "NoSuchEnv-v0"], "unknown environment id"),
    (["--episodes", "0"], "episodes must be positive"),
    (["--init-from", "no/such/run"], "no checkpoint at"),
]
MORE_BAD_TRAINING_INPUT = [
    (["--env", "CartPole-v1"], "Discrete action space"),
    (["--episodes", "-3"], "episodes must be positive"),
    (["--algo", "sac"], "unknown algo"),
    (["--env", "no_such_module:Env-v0"], "cannot make environment"),
    (["--env", "CarRacing-v3"], "flat vector"),
    (["--sigma-decay", "0"], "sigma_decay must be positive"),
    (["--actor-lr", "0"], "actor_lr must be positive"),
    (["--noise-clip", "-0.5"], "noise_clip must not be negative"),
    (["--max-episode-steps", "0"], "max_episode_steps must be positive"),
    (["--memory-size", "64", "--batch-size", "128"], "must hold at least one batch"),
    (["--actor-preact-l2", "-1"], "actor_preact_l2 must not be negative"),
    (["--eval-seed", "5"], "eval_seed must be at least 100"),  # 0-99: the seeds results are reported on
    (["--eval-episodes", "1001"], "eval_episodes must be at most 1000"),  # into the confirmation's seeds
    (["--confirm-episodes", "1001"], "confirm_episodes must be at most 1000"),  # into the longer look's
    (["--seed", "-1"], "seed must not be negative"),
    (["--sigma-start", "-1"], "sigma_start must not be negative"),
    (["--target-return", "nan"], "target_return must be a finite number"),
    (["--target-return=-inf"], "target_return must be a finite number"),  # inf is allowed: no target
    (["--critic-hidden", "128", "0"], "critic_hidden must be positive layer sizes"),
    # The walker preset's 10,000 random warm-up steps: a cap at or below them would learn nothing.
    (["--env", "BipedalWalker-v3", "--total-steps", "10000"], "ends the run before its first update"),
    (["--env", "Pendulum-v1", "--stop-when-solved"], "has no reward threshold to stop at"),
]


@pytest.mark.parametrize("args, needle", BAD_TRAINING_INPUT + [pytest.param(*case, marks=pytest.mark.slow)
                                                             for case in MORE_BAD_TRAINING_INPUT])
def test_bad_training_input(tmp_path, args, needle):
    out = tmp_path / "never"
    assert_one_line_error(cli("train", *TINY, *args, "--out", out), needle)
    assert not out.exists()  # nothing half-written


def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept")
    assert_one_line_error(cli("train", *TINY, "--out", a_file / "run"), "cannot make the run folder")
    assert a_file.read_text() == "kept"


def test_bad_checkpoints(run, tmp_path):
    out, _ = run
    assert_one_line_error(cli("evaluate", tmp_path / "missing"), "no checkpoint")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((out / "checkpoint.pt").read_bytes()[:5000])
    assert_one_line_error(cli("evaluate", truncated), "truncated or corrupt")
    assert_one_line_error(cli("evaluate", out, "--env", "BipedalWalker-v3"), "trained on MountainCarContinuous-v0")
    assert_one_line_error(cli("evaluate", out, "--episodes", "0"), "--episodes must be positive")
    assert_one_line_error(cli("evaluate", out, "--gif", tmp_path / "x.gif", "--gif-stride", "0"),
                          "--gif-stride must be positive")
    assert_one_line_error(cli("evaluate", out, "--threads", "-1"), "--threads must not be negative")
    assert_one_line_error(cli("evaluate", out, "--seed", "-1"), "--seed must not be negative")
    assert_one_line_error(cli("evaluate", out, "--gif", tmp_path), "it is a folder")  # before any episode
    assert_one_line_error(cli("evaluate", tmp_path / "missing", "--best"), "no checkpoint at")
    assert_one_line_error(cli("evaluate", tmp_path / "missing", "--gif", tmp_path / "new" / "x.gif"),
                          "no checkpoint at")
    assert not (tmp_path / "new").exists()  # the GIF's folder is made only for a run that loads
    assert_one_line_error(cli("export", tmp_path / "missing", tmp_path / "copy"), "is not a run folder")
    assert not (tmp_path / "copy").exists()
    foreign = tmp_path / "foreign.pt"
    import torch

    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    payload["config"]["a_field_from_elsewhere"] = 1
    torch.save(payload, foreign)
    assert_one_line_error(cli("evaluate", foreign), "config this version cannot read")


def test_resume_refuses_a_finished_run_and_says_how_to_go_on(run):
    out, _ = run
    before = (out / "checkpoint.pt").read_bytes()
    assert_one_line_error(cli("train", "--resume", out, "--no-progress"), "has run its 2 episodes", "--episodes")
    assert_one_line_error(cli("train", "--resume", out, "--out", out), "takes no --out")
    assert (out / "checkpoint.pt").read_bytes() == before


@pytest.mark.slow
def test_resume_takes_machine_and_schedule_flags_but_not_learning_settings(tmp_path):
    out = tmp_path / "mcc"
    assert cli("train", "--env", "MountainCarContinuous-v0", "--seed", "0", "--out", out, *TINY).returncode == 0
    before = (out / "checkpoint.pt").read_bytes()
    assert_one_line_error(cli("train", "--resume", out, "--episodes", "3", "--batch-size", "64"),
                          "--resume only takes", "--threads")
    assert (out / "checkpoint.pt").read_bytes() == before
    proc = cli("train", "--resume", out, "--episodes", "3", "--threads", "1", "--snapshot-every", "3", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["episodes"] == 3
    config = json.loads((out / "config.json").read_text())
    assert config["threads"] == 1 and config["snapshot_every"] == 3 and config["batch_size"] == 128
    assert sorted(p.name for p in (out / "snapshots").glob("*.pt")) == ["episode_0003.pt"]


@pytest.mark.slow
def test_export_refuses_its_own_run_and_a_file(run, tmp_path):
    out, _ = run
    assert_one_line_error(cli("export", out, out, "--overwrite"), "other than the run itself")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_one_line_error(cli("export", out, a_file), "not a folder")
    dest = tmp_path / "exported"
    assert cli("export", out, dest).returncode == 0
    stale = dest / "snapshots" / "episode_0999.pt"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    assert cli("export", out, dest, "--overwrite").returncode == 0
    assert not stale.exists() and (dest / "checkpoint.pt").is_file()


def test_export_refuses_a_run_without_its_summary(run, tmp_path):
    out, _ = run
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes())  # killed before its summary
    assert_one_line_error(cli("export", unfinished, tmp_path / "dest"), "not a finished run", "--resume")
    assert not (tmp_path / "dest").exists()


@pytest.mark.slow
def test_export_leaves_snapshots_out_on_request(tmp_path):
    out = tmp_path / "mcc"
    proc = cli("train", "--env", "MountainCarContinuous-v0", "--out", out, "--snapshot-every", "1", *TINY)
    assert proc.returncode == 0, proc.stderr
    snapshots = {"episode_0000.pt", "episode_0001.pt", "episode_0002.pt"}  # the untrained nets, then each episode
    assert {p.name for p in (out / "snapshots").glob("*.pt")} == snapshots
    assert cli("export", out, tmp_path / "all").returncode == 0
    assert {p.name for p in (tmp_path / "all" / "snapshots").glob("*.pt")} == snapshots
    assert cli("export", out, tmp_path / "slim", "--no-snapshots").returncode == 0
    assert not (tmp_path / "slim" / "snapshots").exists() and (tmp_path / "slim" / "summary.json").is_file()


@pytest.mark.slow
def test_warm_start_refuses_a_run_with_other_nets(run, tmp_path):
    out, _ = run
    never = tmp_path / "never"
    assert_one_line_error(cli("train", *TINY, "--init-from", out, "--actor-hidden", "32", "32", "--out", never),
                          "cannot start from", "actor_hidden")
    assert_one_line_error(cli("train", *TINY, "--init-from", out, "--algo", "td3", "--out", never),
                          "cannot start from", "algo")
    assert not never.exists()


@pytest.mark.slow
@pytest.mark.parametrize("flag, expected", [([], 1e-3), (["--actor-preact-l2", "0"], 0.0)])
def test_the_walker_preset_applies_and_a_zero_flag_still_overrides_it(tmp_path, flag, expected):
    out = tmp_path / "walker"
    proc = cli("train", "--env", "BipedalWalker-v3", "--algo", "td3", "--episodes", "1", "--max-episode-steps", "20",
               "--warmup-steps", "10", "--learning-starts", "10", "--eval-episodes", "1", "--no-record-final",
               "--no-progress", "--out", out, *flag)
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["actor_preact_l2"] == expected
    assert config["memory_size"] == 200_000 and config["gamma"] == 0.98 and config["tau"] == 0.02  # the rest
    assert config["keep_episodes"] == 100


@pytest.mark.slow
def test_train_ends_with_a_plain_summary(tmp_path):
    out = tmp_path / "run"
    proc = cli("train", "--out", out, *TINY)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any(line.startswith("solved: no (threshold 90.0)") for line in lines)
    assert any(line.startswith("final evaluation: ") and "best" in line for line in lines)
    assert lines[-1].startswith(f"files: {out}/")


def test_the_plain_summary_says_which_update_path_trained():
    from ddpg_helpers.commands import plain_summary

    base = {"algo": "td3", "env_id": "BipedalWalker-v3", "episodes": 3, "env_steps": 300, "wall_seconds": 2.0,
            "device": "cuda", "solved": False, "solve_threshold": 300, "final_eval_mean": 1.0, "final_eval_std": 0.0,
            "eval_episodes": 1, "best_eval_mean": 1.0, "best_episode": 3}
    checked = plain_summary({**base, "update_path": "graph", "graph_check_max_diff": 0.0, "graph_fallback": None}, "o")
    assert "cuda, graph update" in checked and "update path: graph, checked against the eager update" in checked
    why = "could not be captured (RuntimeError: out of memory)"
    fell_back = plain_summary({**base, "update_path": "eager", "graph_check_max_diff": None,
                               "graph_fallback": why}, "o")
    assert f"update path: eager, because the graph path {why}" in fell_back and "issue tracker" in fell_back
    assert "update path" not in plain_summary(base, "o")  # a summary from before the check


@pytest.mark.slow
def test_pendulum_has_nothing_to_solve(tmp_path):
    proc = cli("train", "--env", "Pendulum-v1", "--out", tmp_path / "p", "--episodes", "1", "--max-episode-steps", "20",
               "--eval-episodes", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["solved"] is None and summary["solve_threshold"] is None
    assert "nothing to solve" in proc.stderr


def test_evaluate_says_a_file_that_is_no_checkpoint_is_not_one(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# not a checkpoint\n")
    assert_one_line_error(cli("evaluate", readme), "is not a checkpoint")


@pytest.mark.parametrize("sig, code, needle", [(signal.SIGTERM, 143, "its checkpoint is saved"),
                                               (signal.SIGINT, 130, "interrupted")])
def test_a_signal_says_how_to_resume(tmp_path, sig, code, needle):
    out = tmp_path / "run"
    # SIGINT as a terminal delivers it, even where the tests themselves run as a background job
    # (whose shell hands its children SIGINT ignored, and Python then installs no handler for it).
    proc = subprocess.Popen([sys.executable, "-m", "ddpg_helpers", "train", "--out", str(out), "--episodes", "500",
                             "--max-episode-steps", "50", "--eval-every", "0", "--checkpoint-every", "1",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert needle in err and f"python -m ddpg_helpers train --resume {out}" in err
    assert "Traceback" not in err
    resumed = cli("train", "--resume", out, "--episodes", "3", "--no-progress")
    assert resumed.returncode == 0 or "is finished" in resumed.stderr, resumed.stderr
