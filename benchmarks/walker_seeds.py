"""The walker preset on several seeds: one row per seed with its best evaluation, its kept nets over
100 fresh episodes (and how many of those fell), and when its evaluations first reached 300.

    python benchmarks/walker_seeds.py                                 # the preset (TQC), seeds 0-4, 300k env steps each
    python benchmarks/walker_seeds.py --jobs 2                        # two seeds at a time
    python benchmarks/walker_seeds.py --extra "--actor-preact-l2 0"   # a recipe under test, kept apart
    python benchmarks/walker_seeds.py --algo td3 --extra "--updates-per-step 2 --n-step 3 --tau 0.005"   # TD3's preset
    python benchmarks/walker_seeds.py --total-steps 500000            # the same runs, continued to a larger cap
    python benchmarks/walker_seeds.py --solve --jobs 2                # time to a confirmed solve: walker-solve.csv

Each seed trains as `python -m ddpg_helpers train --threads 1` (the walker preset, then `--extra`)
in its own run folder, RUNS/BipedalWalker-v3-ALGO-sSEED, its output appended to RUN/train.log.
`--total-steps` alone ends a run, past its solve (`--no-stop-when-solved`), so that every seed's
table covers the same budget. `--jobs` seeds train at once.

With `--solve`, each seed instead trains with the preset's own command (`train --env BipedalWalker-v3
--seed S`), which stops once an evaluation at 300 is confirmed on 100 fresh episodes, or at its cap:
walker-solve.csv (its columns: benchmarks/walker_solve.py) says how long each took and where the time went.

The command can be stopped and given again without losing anything: a run already finished at
`--total-steps` is kept, a killed one continues from its last checkpoint (`train --resume`), one
finished at a smaller cap continues to the new one. SIGTERM or Ctrl-C stops the training processes
at their checkpoints. A run folder trained with other settings is refused, not continued.

The CSV (default benchmarks/results/walker-seeds.csv), one row per seed:

    env_steps_at_best, best_eval_mean   the best periodic noise-free evaluation (eval_episodes episodes
                                        on env seeds 10000, ...); the run keeps its nets in best.pt
    final_eval_mean                     the last evaluation, of the final nets
    eval100_mean, eval100_std           the kept nets (best.pt) over 100 episodes on env seeds 0-99, on
                                        the CPU (cached in RUN/eval100.json while best.pt stays the same)
    steps_to_300                        env steps at the first evaluation whose mean reached 300 (empty: never)
    wall_seconds, device                training time over all resumes (evaluations included), and where
    falls_in_eval100                    episodes of those 100 that ended in a fall (-100 on the last step)
    best_keep_mean                      the kept nets' longer look in the run (--keep-episodes episodes on
                                        env seeds 12000, ...; empty where the run judged its nets without one)

Other recipes get their own files: `--extra` flags, an algo other than the preset's and an env other than the
walker are added to the default CSV and runs folder names, so `--extra "--actor-preact-l2 0"` writes
benchmarks/results/walker-seeds_actor-preact-l2-0.csv from runs/walker-seeds_actor-preact-l2-0/.

The report (stdout) is markdown to quote: the machine, the date, the command, the table, and how many
seeds reach 300 over the 100 episodes with the median steps_to_300 (with --solve: the time to solve).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import walker_solve  # noqa: E402
from benchmarks.bench import machine  # noqa: E402
from ddpg_helpers import PRESETS, Config, Run, default_name, make_config, make_env, pick_device  # noqa: E402
from ddpg_helpers.checkpoint import atomic_write  # noqa: E402
from ddpg_helpers.cli import build_parser  # noqa: E402
from ddpg_helpers.errors import DDPGError  # noqa: E402
from ddpg_helpers.rollouts import run_episode  # noqa: E402
from ddpg_helpers.run import CONFIG, METRICS, SUMMARY  # noqa: E402
from ddpg_helpers.run import load as load_payload  # noqa: E402
from ddpg_helpers.seeds import bootstrap_interval, iqm  # noqa: E402
from ddpg_helpers.training import load_agent  # noqa: E402
from ddpg_helpers.walker import WALKER_ID, walker_outcome  # noqa: E402

PRESET_ALGO = PRESETS[WALKER_ID]["algo"]
"""The walker preset's algorithm, which the default table trains."""
TARGET = 300.0
"""BipedalWalker's reward threshold: gymnasium counts it solved at a mean of 300 over 100 episodes."""
COLUMNS = ["seed", "algo", "env_steps_at_best", "best_eval_mean", "final_eval_mean", "eval100_mean", "eval100_std",
           "steps_to_300", "wall_seconds", "device", "falls_in_eval100", "best_keep_mean"]
EPISODES = 1_000_000
"""`--episodes` of every run: out of reach, so that `--total-steps` alone ends it."""
LOG = "train.log"
EVAL100 = "eval100.json"


class Stopped(Exception):
    """SIGTERM or SIGHUP reached this command."""


# --- what the table reads from a run ---
def steps_to(evals: list[dict], target: float = TARGET) -> int | None:
    """Env steps at the first evaluation whose mean reached `target` (None if none did)."""
    return next((e["env_steps"] for e in evals if e["mean"] >= target), None)


def count_falls(episode_rewards, time_limit: int) -> int:
    """Episodes that ended in a fall, told from their per-step rewards as `walker_outcome` tells them."""
    return sum(walker_outcome(rewards, time_limit) == "fell" for rewards in episode_rewards)


def eval100(run: Run, episodes: int, seed: int = 0) -> dict:
    """The returns and falls of the run's kept nets (best.pt) over `episodes` noise-free episodes on
    env seeds seed, seed+1, ...; kept in RUN/eval100.json and reused while best.pt is the same file."""
    key = {"best_sha256": hashlib.sha256(run.best.read_bytes()).hexdigest(), "episodes": episodes, "seed": seed}
    cache = run.path / EVAL100
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return saved
    result = {"key": key, **play(run.path, episodes, seed, best=True)}
    atomic_write(cache, lambda tmp: Path(tmp).write_text(json.dumps(result)))
    return result


def play(path: str | Path, episodes: int, seed: int = 0, best: bool = False) -> dict:
    """The returns and falls of the nets in `path` (a run folder, its best nets, or a checkpoint or
    snapshot file) over `episodes` noise-free episodes on env seeds seed, seed+1, ..."""
    # The CPU: one observation at a time, a GPU only adds a copy to each step.
    agent, config, _ = load_agent(path, best=best, device="cpu")
    env = make_env(config.env_id)
    played = [run_episode(agent, env, seed + i, max_steps=config.max_episode_steps) for i in range(episodes)]
    env.close()
    return {"returns": [e.total_return for e in played],
            "falls": count_falls([e.rewards for e in played], config.max_episode_steps or env.spec.max_episode_steps)}


def row_for(run: Run, eval100_episodes: int) -> dict:
    """The run's row of the table (a finished run)."""
    s, long = run.summary(), eval100(run, eval100_episodes)
    return {"seed": s["seed"], "algo": s["algo"], "env_steps_at_best": s["best_env_steps"],
            "best_eval_mean": round(s["best_eval_mean"], 2), "final_eval_mean": round(s["final_eval_mean"], 2),
            "eval100_mean": round(float(np.mean(long["returns"])), 2),
            "eval100_std": round(float(np.std(long["returns"])), 2),
            "steps_to_300": steps_to(run.history()["evals"]), "wall_seconds": s["wall_seconds"],
            "device": s["device"], "falls_in_eval100": long["falls"],
            "best_keep_mean": None if s.get("best_keep_mean") is None else round(s["best_keep_mean"], 2)}


# --- which runs need training, and how ---
def recipe_tag(env_id: str, algo: str, extra: list[str]) -> str:
    """'' for the walker preset as it is; otherwise what differs, for file names ('_ddpg_actor-preact-l2-0')."""
    parts = [env_id] * (env_id != WALKER_ID) + [algo] * (algo != PRESET_ALGO) + [" ".join(extra)] * bool(extra)
    return "".join("_" + re.sub(r"[^A-Za-z0-9.]+", "-", part).strip("-") for part in parts)


def train_flags(args, seed: int) -> list[str]:
    """The `train` flags of a fresh run of this seed (`--extra` last, so that it wins): a fixed budget that
    goes on past the solve, or with `--solve` the preset's own command, which stops there (and its cap)."""
    common = ["--env", args.env, "--algo", args.algo, "--seed", str(seed), "--threads", "1", "--device", args.device]
    if getattr(args, "solve", False):
        cap = ["--total-steps", str(args.total_steps)] if args.total_steps is not None else []
        return [*common, "--stop-when-solved", *cap, *args.extra]
    return [*common, "--total-steps", str(args.total_steps), "--episodes", str(EPISODES), "--no-stop-when-solved",
            *args.extra]


def config_for(flags: list[str]) -> Config:
    """The Config that `train` builds from these flags (the env's preset, then the flags)."""
    ns = build_parser().parse_args(["train", *flags])
    return make_config(**{f.name: getattr(ns, f.name) for f in dataclasses.fields(Config)})


def train_command(run: Run, config: Config, flags: list[str]) -> list[str] | None:
    """The `train` arguments that bring the run in `run` to `config.total_steps`, or None where it is there."""
    if not run.checkpoint.is_file():  # nothing to go on from (none yet, or killed before its first): start it
        return [*flags, "--out", str(run.path), "--overwrite"]
    run.check_same_settings(config, remedy="give another --runs folder for another recipe")
    # The checkpoint, not config.json: a run continued to a larger cap and killed on the way holds
    # the new cap there, beside the old cap's config.json and summary.
    saved = load_payload(run.path)
    cap = saved["config"]["total_steps"]
    if cap is None or cap > config.total_steps:
        raise DDPGError(f"{run.path} holds a run capped at {cap} env steps, not at most {config.total_steps}; "
                        "give its --total-steps or another --runs folder")
    summary = run.path / SUMMARY
    if summary.is_file() and run.summary()["env_steps"] != saved["env_steps"]:
        # The summary of an earlier cap: `train --resume` would take the run for finished.
        summary.unlink()
    if cap == config.total_steps and run.is_finished():
        return None
    # Killed (no summary of its checkpoint), or finished at a smaller cap: the checkpoint holds the
    # recipe, only the cap moves.
    return ["--resume", str(run.path), "--total-steps", str(config.total_steps), "--episodes", str(config.episodes),
            "--threads", str(config.threads), "--device", config.device]


@contextlib.contextmanager
def stop_requests():
    """While seeds train, SIGTERM (a scheduler, `kill`), SIGHUP (a closed terminal) and Ctrl-C are
    only noted in the list this yields; the loop acts on them between its steps, so a signal never
    lands halfway through starting a training that would then be left running."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda sig, _: received.append(sig)) for sig in signals}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train_all(commands: dict[int, list[str]], runs: dict[int, Run], jobs: int) -> dict[int, int]:
    """`python -m ddpg_helpers train` for each seed, `jobs` at a time; the exit status of each.

    Stopped by SIGTERM, SIGHUP or Ctrl-C, it sends SIGTERM to the running trainings (each then saves
    a checkpoint at the end of its episode and exits) and waits for them before raising. They run in
    sessions of their own, so that a Ctrl-C reaches them only as that SIGTERM: Ctrl-C itself would
    stop them at once, back at their last periodic checkpoint.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    pending, running, status = list(commands), {}, {}  # in the order given: the longest first, if known
    try:
        with stop_requests() as received:
            while pending or running:
                if received:
                    raise KeyboardInterrupt if received[0] == signal.SIGINT else Stopped
                while pending and len(running) < jobs:
                    seed = pending.pop(0)
                    runs[seed].path.mkdir(parents=True, exist_ok=True)
                    argv = [sys.executable, "-m", "ddpg_helpers", "train", *commands[seed], "--no-progress"]
                    with open(runs[seed].path / LOG, "a") as log:
                        log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}: python {shlex.join(argv[1:])}\n")
                        log.flush()
                        running[seed] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                         start_new_session=True)
                    what = "continuing" if "--resume" in commands[seed] else "training"
                    print(f"seed {seed}: {what} in {runs[seed].path} (log: {LOG})", file=sys.stderr, flush=True)
                for seed, proc in list(running.items()):
                    if proc.poll() is not None:
                        status[seed] = running.pop(seed).returncode
                        print(f"seed {seed}: " + ("done" if status[seed] == 0 else
                                                  f"failed (exit {status[seed]}), see {runs[seed].path / LOG}"),
                              file=sys.stderr, flush=True)
                time.sleep(0.2)
    except (Stopped, KeyboardInterrupt):
        for proc in running.values():
            proc.send_signal(signal.SIGTERM)
        for proc in running.values():
            proc.wait()
        raise
    return status


# --- the report ---
def write_csv(path: Path, rows: list[dict], columns: list[str] = COLUMNS) -> None:
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, columns)
            w.writeheader()
            w.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)

    atomic_write(path, write)


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if c in ("algo", "device") else "---:" for c in COLUMNS) + "|"]
    for r in rows:
        cells = [r["seed"], r["algo"], f"{r['env_steps_at_best']:,}", f"{r['best_eval_mean']:.1f}",
                 f"{r['final_eval_mean']:.1f}", f"{r['eval100_mean']:.1f}", f"{r['eval100_std']:.1f}",
                 "never" if r["steps_to_300"] is None else f"{r['steps_to_300']:,}", f"{r['wall_seconds']:.0f}",
                 r["device"], r["falls_in_eval100"],
                 "" if r["best_keep_mean"] is None else f"{r['best_keep_mean']:.1f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict], episodes: int) -> str:
    """How many seeds' kept nets reach 300 over the long evaluation, and the median steps_to_300
    over all seeds (a seed that never reached 300 counts as never, so the median is honest)."""
    reached = sum(r["eval100_mean"] >= TARGET for r in rows)
    steps = [math.inf if r["steps_to_300"] is None else r["steps_to_300"] for r in rows]
    median = statistics.median(steps) if steps else math.inf
    median_text = f"{median:,.0f}" if math.isfinite(median) else "never (half the seeds or more never reached it)"
    return (f"{reached} of {len(rows)} seeds reach {TARGET:g} over {episodes} episodes; "
            f"median steps_to_300: {median_text}")


def keep_curves(runs: list[Run], folder: Path) -> None:
    """Each run's config.json, metrics.csv and summary.json (a few hundred kB in all) in `folder`/RUN, so the
    table's learning curves can be drawn without the runs: `python -m ddpg_helpers plot "FOLDER/*"`."""
    for run in runs:
        dest = folder / run.path.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in (CONFIG, METRICS, SUMMARY):
            atomic_write(dest / name, lambda tmp, source=run.path / name: shutil.copyfile(source, tmp))


def iqm_line(rows: list[dict], episodes: int) -> str:
    """The kept nets' interquartile mean over seeds, with its bootstrap 95% interval (ddpg_helpers.seeds)."""
    values = [r["eval100_mean"] for r in rows]
    low, high = bootstrap_interval(values, iqm)
    return (f"kept nets over {episodes} episodes, interquartile mean over {len(values)} seeds: {iqm(values):.1f} "
            f"[{low:.1f}, {high:.1f}] (bootstrap 95% interval)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="trained in this order")
    p.add_argument("--algo", default=PRESET_ALGO, choices=["ddpg", "td3", "tqc"],
                   help="the algorithm (default: the walker preset's, %(default)s)")
    p.add_argument("--env", default=WALKER_ID, help="the env (a small one for tests; the preset is the walker's)")
    p.add_argument("--total-steps", type=int, help="env steps of each run (default: 300,000; with --solve the "
                                                   "preset's cap)")
    p.add_argument("--solve", action="store_true",
                   help="train each seed with the preset's own command, which stops once solved, and write the "
                        "time to a confirmed solve (benchmarks/walker_solve.py) to walker-solve[_RECIPE].csv")
    p.add_argument("--runs", type=Path, help="folder of the run folders (default: runs/walker-seeds[_RECIPE])")
    p.add_argument("--csv", type=Path, help="the table (default: benchmarks/results/walker-seeds[_RECIPE].csv)")
    p.add_argument("--jobs", type=int, default=1, help="seeds trained at once, one torch thread each")
    p.add_argument("--device", default="auto", help="passed to train")
    p.add_argument("--extra", default="", help='more train flags, the recipe under test (e.g. "--actor-preact-l2 0")')
    p.add_argument("--eval100-episodes", type=int, default=100, help="episodes of the kept nets' long evaluation")
    p.add_argument("--curves", type=Path, help="where the runs' metrics, configs and summaries are copied "
                                               "(default: benchmarks/results/runs/walker-seeds[_RECIPE])")
    args = p.parse_args(argv)
    args.total_steps = 300_000 if args.total_steps is None and not args.solve else args.total_steps
    if args.jobs < 1 or args.eval100_episodes < 1 or (args.total_steps is not None and args.total_steps < 1):
        p.error("--jobs, --eval100-episodes and --total-steps must be positive")
    args.extra = shlex.split(args.extra)
    name = ("walker-solve" if args.solve else "walker-seeds") + recipe_tag(args.env, args.algo, args.extra)
    csv_path = args.csv or ROOT / "benchmarks" / "results" / f"{name}.csv"
    runs_dir = args.runs or ROOT / "runs" / name
    curves_dir = args.curves or ROOT / "benchmarks" / "results" / "runs" / name
    device = pick_device(args.device)
    header = (f"# {time.strftime('%Y-%m-%d')} on {machine(device)}, device {device}\n"
              f"# command: python benchmarks/walker_seeds.py {shlex.join(argv if argv is not None else sys.argv[1:])}")

    runs, commands = {}, {}
    try:
        for seed in dict.fromkeys(args.seeds):
            flags = train_flags(args, seed)
            config = config_for(flags)
            if config.total_steps is None:
                raise DDPGError(f"{args.env} has no preset step cap: give --total-steps")
            runs[seed] = Run(runs_dir / default_name(config))
            commands[seed] = train_command(runs[seed], config, flags)
            if commands[seed] is None:
                print(f"seed {seed}: finished in {runs[seed].path}, kept",
                      file=sys.stderr)
    except DDPGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        status = train_all({s: c for s, c in commands.items() if c is not None}, runs, args.jobs)
    except (Stopped, KeyboardInterrupt) as e:
        print("stopped: each run keeps its last checkpoint; give the same command again to go on", file=sys.stderr)
        return 143 if isinstance(e, Stopped) else 130
    failed = sorted(s for s, rc in status.items() if rc != 0)

    torch.set_num_threads(1)  # one observation at a time: more threads only wait on each other
    finished = [runs[s] for s in sorted(runs) if s not in failed]
    recipe = f", {' '.join(args.extra)}" if args.extra else ""
    if args.solve:
        try:
            rows = [walker_solve.solve_row(run, play) for run in finished]
        except DDPGError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        write_csv(csv_path, rows, walker_solve.COLUMNS)
        keep_curves(finished, curves_dir)
        print(header.rstrip())
        print(f"\n## {args.env}, {args.algo.upper()}{recipe}: {len(rows)} seeds, trained until confirmed solved\n")
        print(walker_solve.markdown(rows))
        threshold = finished[0].summary()["solve_threshold"] if finished else TARGET
        print(f"\n{walker_solve.verdict(rows, threshold)}")
    else:
        rows = [row_for(run, args.eval100_episodes) for run in finished]
        write_csv(csv_path, rows)
        keep_curves(finished, curves_dir)
        print(header.rstrip())
        print(f"\n## {args.env}, {args.algo.upper()}{recipe}: {len(rows)} seeds, {args.total_steps:,} env steps each\n")
        print(markdown(rows))
        print(f"\n{verdict(rows, args.eval100_episodes)}")
        if rows:
            print(iqm_line(rows, args.eval100_episodes))
    print(f"\nCSV: {csv_path}\ncurves: python -m ddpg_helpers plot \"{curves_dir}/*\" --out curves.png")
    if failed:
        print(f"error: seeds {', '.join(map(str, failed))} failed; see {LOG} in their run folders", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
