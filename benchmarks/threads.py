"""How many CPU threads torch should use: env steps/s per thread count, on an idle machine and beside
one busy neighbour, side by side in one run.

    python benchmarks/threads.py                        # MountainCar (blog's nets) and the walker preset (TD3)
    python benchmarks/threads.py --envs mcc --chunk 300 --repeats 5
    python benchmarks/threads.py --evaluate             # the shipped agents, as `evaluate` plays them

The neighbour is one process spinning on one core (`while True: pass`), as a second training, a
test run or a notebook kernel would be. Each thread count runs the package's real training loop in
chunks, interleaved, first with the machine idle, then with the neighbour running, so a change in
the machine's load hits every count alike. The table gives the median chunk, and what the
neighbour costs each count. With --evaluate, a chunk is noise-free episodes of the shipped agent
(trained/), the loop of `python -m ddpg_helpers evaluate`, in place of training.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loops import DEFAULT_THREADS, Ours, machine, steps_per_second  # noqa: E402
from ddpg_helpers import make_config  # noqa: E402
from ddpg_helpers.envs import make_env  # noqa: E402
from ddpg_helpers.rollouts import run_episode  # noqa: E402
from ddpg_helpers.training import load_agent  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"mcc": ("MountainCarContinuous-v0", "ddpg"), "walker": ("BipedalWalker-v3", "td3")}
SHIPPED = {"mcc": ROOT / "trained" / "mcc", "walker": ROOT / "trained" / "walker-td3"}


class Evaluating:
    """Noise-free episodes of a saved agent (env seeds 0, 1, ...) at one thread count: what
    `python -m ddpg_helpers evaluate` runs. The episode under way when a chunk ends runs to its end."""

    def __init__(self, run: Path, threads: int):
        self.agent, config, _ = load_agent(run, device="cpu")
        self.env, self.max_steps = make_env(config.env_id), config.max_episode_steps
        self.threads, self.seed = threads, 0

    def run(self, steps):
        torch.set_num_threads(self.threads)
        done = 0
        while done < steps:
            done += len(run_episode(self.agent, self.env, self.seed, max_steps=self.max_steps).actions)
            self.seed += 1
        return done


def rates_for(key: str, thread_counts, chunk: int, repeats: int, shipped: bool) -> dict:
    env_id, algo = SETTINGS[key]
    if shipped:
        impls = {n: Evaluating(SHIPPED[key], n) for n in thread_counts}
    else:
        impls = {n: Ours(make_config(env_id, algo=algo, device="cpu", threads=n), chunk) for n in thread_counts}
    return steps_per_second(impls, chunk, repeats)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["mcc", "walker"], choices=sorted(SETTINGS))
    p.add_argument("--threads", nargs="+", type=int, default=sorted({1, DEFAULT_THREADS}))
    p.add_argument("--chunk", type=int, default=300, help="env steps per timed chunk")
    p.add_argument("--repeats", type=int, default=5, help="timed chunks per thread count and load")
    p.add_argument("--evaluate", action="store_true",
                   help="time the shipped agents' noise-free episodes (what `evaluate` runs), not training")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    print(f"# {time.strftime('%Y-%m-%d')} on {machine(torch.device('cpu'))}")
    print(f"# command: python benchmarks/threads.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    for key in args.envs:
        env_id, algo = SETTINGS[key]
        idle = rates_for(key, args.threads, args.chunk, args.repeats, args.evaluate)
        neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)  # let it take its core
            busy = rates_for(key, args.threads, args.chunk, args.repeats, args.evaluate)
        finally:
            neighbour.kill()
            neighbour.wait()
        what = f"evaluating {SHIPPED[key].relative_to(ROOT)}" if args.evaluate else "training"
        print(f"\n## {env_id}, {algo.upper()}, {what}: env steps/s by torch thread count, "
              f"{args.repeats} x {args.chunk} steps\n")
        print("| threads | idle: median (min - max) | one core busy: median (min - max) | busy / idle |")
        print("|---:|---:|---:|---:|")
        for n in args.threads:
            i, b = statistics.median(idle[n]), statistics.median(busy[n])
            print(f"| {n} | {i:.0f} ({min(idle[n]):.0f} - {max(idle[n]):.0f}) "
                  f"| {b:.0f} ({min(busy[n]):.0f} - {max(busy[n]):.0f}) | {b / i:.2f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
