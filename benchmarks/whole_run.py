"""A whole `train` run on MountainCar with the defaults, beside the blog-style loop, and where its time goes.

    python benchmarks/whole_run.py                  # seed 0, the blog's 200 episodes, a run folder in a temp dir
    python benchmarks/whole_run.py --seeds 0 1 2
    python benchmarks/whole_run.py --eval-envs 1 10 # the same run with evaluations one by one, then side by side

`bench.py` times the training loop alone in interleaved chunks. A run does more: noise-free
evaluations every 5 episodes, 100-episode confirmations of an evaluation that reaches the threshold,
checkpoints, TensorBoard event files, the progress bar, the final episode and the run's files. This
runs `ddpg_helpers.train` as `python -m ddpg_helpers train` does, with a 500-step chunk of the
blog-style loop (`naive.py`, one thread, as in bench.py's tables) after every 10th episode, timed
apart and left out of the run's time: the two share the machine's moments. Timers wrapped around the
run's parts say where its time goes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loops import Naive, machine  # noqa: E402
from ddpg_helpers import Config, train  # noqa: E402
from ddpg_helpers import trainer as trainer_module  # noqa: E402
from ddpg_helpers import training as training_module  # noqa: E402
from ddpg_helpers.config import CONFIRM_SEED_OFFSET  # noqa: E402
from ddpg_helpers.run import Run  # noqa: E402

NAIVE_CHUNK = 500
"""Env steps of the blog-style loop timed after every `--naive-every`-th episode."""


class Timers:
    """Seconds and calls per part of a run, from wrappers put around the functions that do each part."""

    def __init__(self):
        self.seconds, self.calls = defaultdict(float), defaultdict(int)

    def wrap(self, owner, name: str, part):
        """Time `owner.name` as `part` (a name, or a function of the call's arguments that returns one)."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            label = part(*args, **kwargs) if callable(part) else part
            start = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1
            return result

        setattr(owner, name, timed)
        return original


def evaluation_kind(agent, env, episodes, first_seed, *rest, **kw) -> str:
    """Which of a run's looks an `evaluate` call is, from its first env seed."""
    offset = first_seed - Config.eval_seed
    return "evaluations" if offset < CONFIRM_SEED_OFFSET else "confirmations and longer looks"


def one_run(seed: int, eval_envs: int, naive_every: int, out: Path, **overrides) -> dict:
    """One `train` run with the defaults (and `overrides`), timed by part, beside the blog-style loop."""
    timers = Timers()
    parts = [(trainer_module.Trainer, "train_episode", "training episodes"),
             (trainer_module, "evaluate", evaluation_kind),
             (Run, "save_checkpoint", "checkpoints (and TensorBoard's flush)"),
             (Run, "save_best", "best nets"),
             (Run, "log", "TensorBoard events"),
             (training_module, "run_episode", "final episode")]
    originals = [(owner, name, timers.wrap(owner, name, part)) for owner, name, part in parts]
    config = Config(seed=seed, eval_envs=eval_envs, **overrides)
    naive = Naive(config, "cpu", threads=1)
    naive.run(NAIVE_CHUNK)  # warm-up: the memory past one batch
    naive_rates, naive_seconds = [], 0.0

    def callback(trainer):
        nonlocal naive_seconds
        if trainer.episode % naive_every == 0:
            start = time.perf_counter()
            naive.run(NAIVE_CHUNK)
            elapsed = time.perf_counter() - start
            naive_seconds += elapsed
            naive_rates.append(NAIVE_CHUNK / elapsed)
            trainer.apply_torch_settings()  # the run's own settings back (the naive loop sets torch's)

    try:
        start = time.perf_counter()
        result = train(config, out, progress=True, callback=callback)
        run_seconds = time.perf_counter() - start - naive_seconds
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    steps = result.summary["env_steps"]
    parts = dict(timers.seconds)
    parts["the rest (progress bar, bookkeeping, the run's files)"] = run_seconds - sum(parts.values())
    return {"seed": seed, "eval_envs": eval_envs, "episodes": result.summary["episodes"], "env_steps": steps,
            "run_seconds": run_seconds,
            "run_rate": steps / run_seconds, "loop_rate": steps / timers.seconds["training episodes"],
            "naive_rate": statistics.median(naive_rates), "naive_chunks": len(naive_rates), "parts": parts,
            "calls": dict(timers.calls), "solved": result.summary["solved"]}


def report(r: dict) -> str:
    lines = [f"### seed {r['seed']}, eval_envs {r['eval_envs']}: {r['episodes']} episodes, "
             f"{r['env_steps']:,} env steps, {r['run_seconds']:.1f} s (solved: {r['solved']})", "",
             "| | env steps/s | vs the blog-style loop |", "|---|---:|---:|",
             f"| blog-style loop, 1 thread (median of {r['naive_chunks']} chunks of {NAIVE_CHUNK}) | "
             f"{r['naive_rate']:.0f} | 1.00x |",
             f"| `train`, the whole run | {r['run_rate']:.0f} | {r['run_rate'] / r['naive_rate']:.2f}x |",
             f"| its training episodes alone | {r['loop_rate']:.0f} | {r['loop_rate'] / r['naive_rate']:.2f}x |", "",
             "| part of the run | seconds | share | calls |", "|---|---:|---:|---:|"]
    for part, seconds in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {part} | {seconds:.1f} | {seconds / r['run_seconds']:.1%} | {r['calls'].get(part, '')} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--eval-envs", nargs="+", type=int, default=[Config.eval_envs],
                   help="copies of the env an evaluation plays side by side; several values: one run each")
    p.add_argument("--naive-every", type=int, default=10, help="episodes between chunks of the blog-style loop")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.naive_every <= 0 or min(args.eval_envs) <= 0:
        p.error("--naive-every and --eval-envs must be positive")
    print(f"# {time.strftime('%Y-%m-%d')} on {machine(torch.device('cpu'))}")
    print(f"# command: python benchmarks/whole_run.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for eval_envs in args.eval_envs:
                out = Path(tmp) / f"s{seed}-e{eval_envs}"
                print("\n" + report(one_run(seed, eval_envs, args.naive_every, out)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
