"""benchmarks/bench.py's helpers (loops.py, step_parts.py): the ops an update dispatches, and another
revision's loop run beside today's (`--against`); at_revision.py's command at a revision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import at_revision, bench, loops, step_parts  # noqa: E402
from ddpg_helpers import make_config  # noqa: E402


def test_views_and_allocations_count_no_op_and_each_computation_counts_one():
    x = torch.ones(4, 3)
    with step_parts.CountOps() as ops:
        x.view(-1)
        x.t()
        x[1:]
        torch.empty(5)
    assert ops.count == 0
    with step_parts.CountOps() as ops:
        y = x + 1
        y.mul_(2)
        y.sum()
    assert ops.count == 3


def test_ops_per_update_gives_one_count_per_phase():
    ddpg = step_parts.ops_per_update(make_config("MountainCarContinuous-v0", device="cpu"), torch.device("cpu"))
    td3 = step_parts.ops_per_update(make_config("MountainCarContinuous-v0", algo="td3", policy_delay=2, device="cpu"),
                               torch.device("cpu"))
    assert len(ddpg) == 1 and ddpg[0] > 50  # three nets forward and back, two Adam steps, the soft update
    assert len(td3) == 2
    with_actor, critic_only = td3
    assert critic_only < with_actor  # the actor's forward, backward, Adam step and the soft update are left out
    assert ddpg[0] < with_actor  # a second critic, its target, and the target policy's noise


def test_the_title_names_the_update_schedule():
    assert step_parts.updates(make_config(device="cpu")) == "one update per step"
    config = make_config(updates_per_step=2, n_step=3, critic_layer_norm=True, device="cpu")
    assert step_parts.updates(config) == "2 updates per step, 3-step returns, LayerNorm critic"


def test_the_chunks_take_turns_in_an_order_that_reverses_every_round():
    order = []

    class Impl:
        def __init__(self, name):
            self.name = name

        def run(self, steps):
            order.append((self.name, steps))
            return steps

    rates = loops.steps_per_second({name: Impl(name) for name in "abc"}, chunk=400, repeats=3)
    assert order[:3] == [("a", 300), ("b", 300), ("c", 300)]  # the warm-up: half a chunk, at least 300 steps
    assert [name for name, _ in order[3:]] == list("abccbaabc")
    assert all(steps == 400 for _, steps in order[3:])
    assert {name: len(r) for name, r in rates.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(rate > 0 for r in rates.values() for rate in r)


def test_each_table_says_how_much_cpu_time_other_virtual_machines_took(monkeypatch, tmp_path):
    # user nice system idle iowait irq softirq steal guest guest_nice, as Linux writes them
    stat = tmp_path / "stat"
    readings = iter(["cpu  600 0 100 250 0 0 0 50 9 0\n", "cpu  1500 0 200 1050 0 0 0 250 30 0\n"])
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(
        stat if path == "/proc/stat" else path, *a, **k))
    stat.write_text(next(readings))
    before = loops.cpu_ticks()
    assert before == (50, 1000)  # guest time is already inside user time: not counted twice
    stat.write_text(next(readings))
    assert "10.0% of the CPUs' time" in loops.steal_line(before, loops.cpu_ticks())  # 200 of 2000 ticks
    assert loops.steal_line(None, (250, 3000)) == ""  # no /proc/stat (macOS, Windows): no line
    stat.write_text("not a stat file\n")
    assert loops.cpu_ticks() is None


@pytest.mark.slow
def test_another_revision_runs_its_own_package_chunk_by_chunk():
    config = make_config("MountainCarContinuous-v0", batch_size=16, device="cpu", compile="off")
    before = loops.AtRevision("HEAD", config, chunk=25)
    try:
        assert before.differs == {}  # HEAD knows every setting
        assert before.label.startswith("HEAD (") and before.label.endswith(")")  # HEAD (its commit)
        assert before.run(25) == 25
        assert before.run(50) == 50  # two episodes of 25 (the chunk caps them)
    finally:
        before.close()
    assert before.child.returncode == 0  # its loop ended with its input
    assert not Path(before.dir).exists()


def test_a_loop_that_cannot_start_is_one_clear_error_and_leaves_no_folder(monkeypatch):
    made, real_mkdtemp = [], tempfile.mkdtemp

    def mkdtemp(**kw):
        made.append(real_mkdtemp(**kw))
        return made[-1]

    monkeypatch.setattr(loops.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(SystemExit, match="--against HEAD: its training loop stopped"):
        loops.AtRevision("HEAD", make_config("NoSuchEnv-v0", device="cpu"), chunk=10)
    assert len(made) == 1 and not Path(made[0]).exists()


@pytest.mark.slow
def test_the_settings_a_revision_lacks_are_dropped_and_named():
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "at_revision.py"), "chunks", str(ROOT),
         json.dumps({"env_id": "MountainCarContinuous-v0", "batch_size": 8, "no_such_setting": 3}), "10"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate("10\n", timeout=120)
    finally:
        child.kill()
    first, steps = out.splitlines()
    assert json.loads(first)["dropped"] == {"no_such_setting": 3}
    assert steps == "10"
    assert child.returncode == 0


def test_an_unknown_revision_is_one_clear_error():
    with pytest.raises(SystemExit, match="--against no-such-revision"):
        loops.AtRevision("no-such-revision", make_config(device="cpu"), chunk=10)


def test_a_table_says_what_the_graph_paths_check_found(monkeypatch, capsys):
    from ddpg_helpers.graphed import GraphedUpdate

    def agent(compile):
        config = make_config(device="cpu", compile=compile)
        return step_parts.random_setup(config, torch.device("cpu"), 300)[3:]

    memory, eager = agent("eager")
    assert step_parts.graph_check_line("eager", eager) == ""
    memory, graph = agent("graph")
    assert step_parts.graph_check_line("graph", graph) == ""  # nothing checked before the first update
    graph.learn(memory)
    assert step_parts.graph_check_line("graph", graph) == ("\ngraph: checked against the eager update at capture, "
                                                      "largest difference 0 of an update's change (limit 0.01)")

    def broken(self, memory):
        raise RuntimeError("capture failed")

    monkeypatch.setattr(GraphedUpdate, "_capture", broken)
    memory, fell_back = agent("graph")
    fell_back.learn(memory)
    assert step_parts.graph_check_line("graph", fell_back).startswith("\nWARNING: graph fell back to the eager update")


def gpu_check_commands() -> list[list[str]]:
    """The commands of benchmarks/gpu_check.sh's parts, line continuations joined, as argument lists."""
    text = (ROOT / "benchmarks" / "gpu_check.sh").read_text().replace("\\\n", " ")
    lines = [line.split() for line in text.splitlines() if line.startswith("part ")]
    return [words[3:] for words in lines]  # part SECONDS LOG COMMAND...


def gpu_check_test_paths() -> list[str]:
    """The test files the GPU check's pytest part names."""
    tests = next(c for c in gpu_check_commands() if c[:3] == ["python3", "-m", "pytest"])
    return [a for a in tests if a.startswith("tests/")]


def test_every_part_of_the_gpu_check_parses_here_before_it_costs_device_time():
    commands = gpu_check_commands()
    benches = [c for c in commands if c[:2] == ["python3", "benchmarks/bench.py"]]
    assert len(benches) == len(commands) - 1 >= 6  # the tests, then the tables
    for command in benches:
        args = [a for a in command[2:] if a != '"${compiled[@]}"'] + ["--no-compiled"]
        bench.parser().parse_args(args)  # exits (fails the test) on a flag bench.py does not have
    for path in gpu_check_test_paths():
        assert (ROOT / path).is_file(), path
    assert any("walker-preset" in c and "--no-steps" not in c for c in benches)  # the walker preset as it trains


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_the_gpu_check_stops_in_one_line_without_a_gpu(tmp_path):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # python3: this one, with torch
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path, "OUT": str(tmp_path / "out")})
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check.sh: no CUDA GPU"), done.stderr
    assert not (tmp_path / "out").exists()  # nothing written either


NOTEBOOK_ONLY = ("ipywidgets", "IPython")
"""Packages only the notebooks use: the GPU machine's list in ../shared/gpu/README.md has neither, and
its prepare script carries neither."""


@pytest.mark.slow
def test_the_gpu_check_imports_without_the_notebook_packages():
    collect = ["--collect-only", "-q", "-p", "no:nbval", "-p", "no:cacheprovider", *gpu_check_test_paths()]
    script = (f"import sys\nfor name in {NOTEBOOK_ONLY!r}:\n    sys.modules[name] = None  # import fails\n"
              f"import ddpg_helpers.cli, benchmarks.bench\nimport pytest\nsys.exit(pytest.main({collect!r}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "tests collected" in done.stdout


def test_threads_evaluate_plays_the_shipped_agent_at_its_thread_count():
    from benchmarks import threads

    before = torch.get_num_threads()
    try:
        impl = threads.Evaluating(threads.SHIPPED["mcc"], 1)
        torch.set_num_threads(2)
        steps = impl.run(150)
        assert torch.get_num_threads() == 1
        assert steps >= 150 and impl.seed >= 1  # whole episodes, env seeds 0, 1, ...
        first = impl.seed
        assert impl.run(1) >= 1 and impl.seed == first + 1
    finally:
        torch.set_num_threads(before)


def test_threads_evaluate_prints_one_table_per_env(capsys):
    from benchmarks import threads

    before = torch.get_num_threads()
    try:
        threads.main(["--evaluate", "--envs", "mcc", "--threads", "1", "--chunk", "100", "--repeats", "1"])
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert "evaluating trained/mcc" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1 and float(rows[0].split("|")[2].split()[0]) > 0


def test_whole_run_times_each_part_once_and_leaves_the_run_as_it_found_it(tmp_path):
    from benchmarks import whole_run
    from ddpg_helpers import trainer as trainer_module

    before = trainer_module.Trainer.train_episode
    # The first evaluation (episode 2) solves at -1e9, its confirmation agrees, and the run stops there.
    r = whole_run.one_run(0, eval_envs=3, naive_every=1, out=tmp_path / "run", episodes=4, max_episode_steps=60,
                          eval_every=2, eval_episodes=3, target_return=-1e9, confirm_episodes=4)
    assert r["calls"]["training episodes"] == 2 and r["calls"]["evaluations"] == 1
    assert r["calls"]["confirmations and longer looks"] == 1
    assert r["naive_chunks"] == 2 and r["env_steps"] == 120
    assert sum(r["parts"].values()) == pytest.approx(r["run_seconds"])
    assert r["run_rate"] < r["loop_rate"]  # the run is its training episodes and more
    assert trainer_module.Trainer.train_episode is before  # the timers are gone
    assert "| `train`, the whole run |" in whole_run.report(r)


def test_a_command_at_a_revision_runs_in_that_revision_with_its_own_package(tmp_path, capfd):
    script = "import ddpg_helpers, pathlib; print(pathlib.Path(ddpg_helpers.__file__).resolve())"
    assert at_revision.run("HEAD", ["--", "python", "-c", script], tmp_path / "rev") == 0
    assert capfd.readouterr().out.strip() == str((tmp_path / "rev" / "ddpg_helpers" / "__init__.py").resolve())
    assert (tmp_path / "rev" / ".at-revision").read_text().strip() == at_revision.commit_of("HEAD")
    with pytest.raises(SystemExit, match="at_revision: no-such-revision"):
        at_revision.run("no-such-revision", ["python", "-c", "pass"], tmp_path / "other")

