"""Which nets should a run keep? The nets each rule picks, played on env seeds the run never saw.

    python benchmarks/kept_nets.py runs/walker-seeds_n-step-5/BipedalWalker-v3-td3-s0 [RUN ...]

A run trained with `--snapshot-every` equal to its `--eval-every` holds the nets of each of its
evaluations (RUN/snapshots/episode_NNNN.pt). For each run, three sets of nets play `--episodes`
noise-free episodes on env seeds 0, 1, ... (the seeds a user reports with; a run evaluates on 10000
and up, and judges on 11000 and 12000 and up):

    best of 10   the nets of the evaluation with the highest mean: the run's choice without --keep-episodes
    kept         the nets the run kept (best.pt): with --keep-episodes, those whose longer look won
    last         the nets the run ended with

The report (stdout) is a markdown table, one row per run and rule: the evaluation that chose the nets
(episode, env steps, its mean, its longer look if it had one), then the mean and spread over the
episodes played here, and how many of them ended in a fall. `--csv` also writes the rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loops import machine  # noqa: E402
from benchmarks.walker_seeds import play, write_csv  # noqa: E402
from ddpg_helpers import Run  # noqa: E402
from ddpg_helpers.errors import DDPGError  # noqa: E402
from ddpg_helpers.run import load as load_payload  # noqa: E402

COLUMNS = ["run", "rule", "episode", "env_steps", "eval_mean", "keep_mean", "mean", "std", "falls", "episodes"]


def picks(run: Run) -> dict[str, tuple[dict, Path, bool]]:
    """Each rule's evaluation row and where its nets are: (row, path, best)."""
    evals = run.history()["evals"]
    if not evals:
        raise DDPGError(f"{run.path} has no evaluations")
    top = max(evals, key=lambda e: e["mean"])  # the first of equal means, as the run ranks them
    if top["episode"] == evals[-1]["episode"]:  # a finished run's last evaluation is of its last nets
        top_path = run.path
    else:
        top_path = run.snapshot_dir / f"episode_{top['episode']:04d}.pt"
        if not top_path.is_file():
            raise DDPGError(f"{run.path} has no snapshot of episode {top['episode']}, its best evaluation: "
                            "train it with --snapshot-every equal to its --eval-every")
    kept = load_payload(run.path, best=True)["best"]
    return {"best of 10": (top, top_path, False), "kept": (kept, run.path, True), "last": (evals[-1], run.path, False)}


def rows_for(run: Run, episodes: int) -> list[dict]:
    played: dict[int, dict] = {}  # by the episode whose evaluation they had: nets picked twice play once
    rows = []
    for rule, (row, path, best) in picks(run).items():
        if row["episode"] not in played:
            played[row["episode"]] = play(path, episodes, best=best)
        returns, falls = played[row["episode"]]["returns"], played[row["episode"]]["falls"]
        rows.append({"run": run.path.name, "rule": rule, "episode": row["episode"], "env_steps": row["env_steps"],
                     "eval_mean": round(row["mean"], 1),
                     "keep_mean": round(row["keep_mean"], 1) if "keep_mean" in row else "",
                     "mean": round(float(np.mean(returns)), 1), "std": round(float(np.std(returns)), 1),
                     "falls": falls, "episodes": episodes})
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run folders")
    p.add_argument("--episodes", type=int, default=100, help="episodes per set of nets, on env seeds 0, 1, ...")
    p.add_argument("--csv", type=Path, help="also write the rows here")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(1)  # one observation at a time: more threads only wait on each other
    try:
        if args.episodes <= 0:
            raise DDPGError(f"--episodes must be positive, got {args.episodes}")
        for path in args.runs:
            if not Run(path).is_finished():
                raise DDPGError(f"{path} is not a finished run (no summary.json)")
        rows = [row for path in args.runs for row in rows_for(Run(path), args.episodes)]
    except DDPGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{machine(torch.device('cpu'))}\n\n`python {' '.join(sys.argv)}`\n")
    print("| run | nets | episode | env steps | evaluation | longer look | mean over seeds 0-"
          f"{args.episodes - 1} | falls |\n|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['run']} | {r['rule']} | {r['episode']} | {r['env_steps']:,} | {r['eval_mean']} | "
              f"{r['keep_mean']} | {r['mean']} ± {r['std']} | {r['falls']} |")
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        write_csv(args.csv, rows, COLUMNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
