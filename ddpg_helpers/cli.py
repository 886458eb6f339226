"""The command line, generated from the Config dataclass.

    python -m ddpg_helpers train --env MountainCarContinuous-v0 --seed 0 --out runs/mcc
    python -m ddpg_helpers train --resume runs/mcc --episodes 300
    python -m ddpg_helpers evaluate runs/mcc --episodes 10 --seed 0 [--gif car.gif] [--best]
    python -m ddpg_helpers export runs/walker trained/walker   # small copy without the replay memory
    python -m ddpg_helpers plot "runs/walker-seeds*/*" --out seeds.png   # seeds of each recipe, mean and band
    python -m ddpg_helpers tune --env Pendulum-v1 --trials 30 --steps 20000   # an Optuna study of the settings

`train` prints a short plain summary on stderr and the run's summary as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import threading
import types
import typing
from pathlib import Path
from typing import Literal

from .config import RESUMABLE, Config, field_docs, make_config
from .errors import DDPGError


def _flags(names) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in sorted(names))


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Config field; defaults are None so only what the user typed overrides."""
    hints, docs = typing.get_type_hints(Config), field_docs()
    for f in dataclasses.fields(Config):
        hint = hints[f.name]
        flag = "--env" if f.name == "env_id" else "--" + f.name.replace("_", "-")
        doc = docs.get(f.name, "")
        help_text = doc if "(default: " in doc else f"{doc} (default: {f.default})"
        if isinstance(hint, types.UnionType):  # `X | None`
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        if typing.get_origin(hint) is Literal:
            # Checked by Config itself, for the same one-line error as every other bad value.
            metavar = "{" + ",".join(typing.get_args(hint)) + "}"
            parser.add_argument(flag, dest=f.name, metavar=metavar, default=None, help=help_text)
        elif hint is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif typing.get_origin(hint) is tuple:
            parser.add_argument(flag, dest=f.name, type=int, nargs="+", default=None, metavar="N", help=help_text)
        else:
            parser.add_argument(flag, dest=f.name, type=hint, default=None, help=help_text)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ddpg_helpers", description="DDPG and TD3 on gymnasium.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an agent and write a run folder",
                           description="Train an agent. Defaults are the blog's; an env with a preset "
                                       "(BipedalWalker-v3) starts from its tuned values; flags override both.")
    train.add_argument("--out", type=Path, help="run folder (default: runs/ENV-ALGO-sSEED)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument("--resume", type=Path, metavar="RUN",
                       help=f"continue the run in this folder; only {_flags(RESUMABLE)} may change")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_config_flags(train)

    ev = sub.add_parser("evaluate", help="run noise-free episodes of a saved agent, print one JSON line")
    ev.add_argument("run", type=Path, help="run folder or checkpoint file")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0, help="env seed of the first episode (then seed+1, ...)")
    ev.add_argument("--env", help="refuse the checkpoint unless it was trained on this env")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--threads", type=int, default=1,
                    help="CPU threads for torch (default: 1, as in training: as fast as two on an idle 2-core CPU, "
                         "8-12x faster beside a busy core, benchmarks/threads.py --evaluate; 0: torch's default)")
    ev.add_argument("--best", action="store_true", help="the run's best evaluated nets, not its last")
    ev.add_argument("--gif", type=Path, help="also record the first episode to this GIF")
    ev.add_argument("--gif-fps", type=int, default=25)
    ev.add_argument("--gif-stride", type=int, default=2, help="keep every n-th frame in the GIF")

    ex = sub.add_parser("export", help="copy a run without its replay memory and optimiser state")
    ex.add_argument("run", type=Path)
    ex.add_argument("dest", type=Path)
    ex.add_argument("--overwrite", action="store_true")
    ex.add_argument("--keep-memory", action="store_true",
                    help="keep the replay memory (the states the agent visited, for plots)")
    ex.add_argument("--no-snapshots", action="store_true", help="leave out the run's snapshots of earlier episodes")
    ex.add_argument("--best", action="store_true",
                    help="export the nets the run kept at its best evaluation (best.pt), not its last ones")

    from . import seeds, tune

    seeds.add_parser(sub)
    tune.add_parser(sub)
    return parser


@contextlib.contextmanager
def sigterm_stops():
    """While training, SIGTERM (what Colab, a job scheduler or `kill` sends) asks the run to stop
    at the end of its episode, after saving a checkpoint, instead of killing it mid-write."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop.is_set
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop.is_set
    finally:
        signal.signal(signal.SIGTERM, previous)


def plain_summary(summary: dict, out: Path) -> str:
    """A few lines a person reads at the end of a run (the JSON line is for scripts)."""
    from .graphed import CHECK_TOLERANCE

    path = f", {summary['update_path']} update" if summary.get("update_path") else ""
    lines = [f"{summary['algo']} on {summary['env_id']}: {summary['episodes']} episodes, "
             f"{summary['env_steps']:,} env steps, {summary['wall_seconds']:.0f} s on {summary['device']}{path}"]
    if summary.get("graph_fallback"):
        lines.append(f"update path: eager, because the graph path {summary['graph_fallback']} "
                     "(please report it at the project's issue tracker)")
    elif summary.get("graph_check_max_diff") is not None:
        lines.append(f"update path: graph, checked against the eager update at capture (largest difference "
                     f"{summary['graph_check_max_diff']:.2g} of an update's change, limit {CHECK_TOLERANCE:g})")
    if summary["solved"] is None:
        lines.append("solved: nothing to solve (the env has no reward threshold; --target-return sets one)")
    elif summary["solved"]:
        confirm = (f", confirmed at {summary['confirm_mean']:.1f} over {summary['confirm_episodes']} fresh episodes"
                   if summary.get("confirm_mean") is not None else "")
        lines.append(f"solved: yes, at episode {summary['solved_episode']} ({summary['steps_to_solve']:,} env steps)"
                     f"{confirm}")
    else:
        lines.append(f"solved: no (threshold {summary['solve_threshold']})")
    lines.append(f"final evaluation: {summary['final_eval_mean']:.1f} ± {summary['final_eval_std']:.1f} over "
                 f"{summary['eval_episodes']} noise-free episodes; best {summary['best_eval_mean']:.1f} "
                 f"at episode {summary['best_episode']}" + (
                     f" ({summary['best_keep_mean']:.1f} over {summary['keep_episodes']} more)"
                     if summary.get("best_keep_mean") is not None else ""))
    lines.append(f"files: {out}/ (evaluate it with: python -m ddpg_helpers evaluate {out} --episodes 100)")
    return "\n".join(lines)


def cmd_train(args) -> dict:
    from . import training
    from .rollouts import Interrupted
    from .run import Run, default_name

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
    if args.resume is not None:
        if args.out is not None or args.overwrite:
            raise DDPGError("--resume continues the run in its own folder; it takes no --out or --overwrite")
        given = {k: v for k, v in overrides.items() if v is not None}
        if set(given) - RESUMABLE:
            raise DDPGError(f"--resume only takes {_flags(RESUMABLE)}")
        out = args.resume
        start = lambda stop: training.resume(out, progress=not args.no_progress, should_stop=stop, **given)
    else:
        config = make_config(**{k: v for k, v in overrides.items() if k != "env_id" or v is not None})
        out = args.out or Path("runs") / default_name(config)
        start = lambda stop: training.train(config, out, overwrite=args.overwrite, progress=not args.no_progress,
                                            should_stop=stop)
    try:
        with sigterm_stops() as stop:
            result = start(stop)
    except Interrupted as e:
        print(f"{e} (SIGTERM): its checkpoint is saved in {out}; {Run(out).how_to_go_on()}", file=sys.stderr)
        raise SystemExit(128 + signal.SIGTERM) from None
    except KeyboardInterrupt:
        print(f"interrupted: the last checkpoint in {out} is intact; {Run(out).how_to_go_on()}", file=sys.stderr)
        raise SystemExit(130) from None
    print(plain_summary(result.summary, result.out), file=sys.stderr)
    return result.summary


def cmd_evaluate(args) -> dict:
    import numpy as np

    from . import training
    from .envs import make_env
    from .rollouts import evaluate, run_episode

    for flag in ("episodes", "gif_fps", "gif_stride"):
        if getattr(args, flag) <= 0:
            raise DDPGError(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    for flag in ("seed", "threads"):
        if getattr(args, flag) < 0:
            raise DDPGError(f"--{flag} must not be negative, got {getattr(args, flag)}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    agent, config, _ = training.load_agent(args.run, env_id=args.env, device=args.device, best=args.best)
    if args.gif is not None:  # before the episodes: a long evaluation learns it at once, not at its end
        from .checkpoint import check_writable

        check_writable(args.gif)
    env = make_env(config.env_id)
    returns = evaluate(agent, env, args.episodes, args.seed, config.max_episode_steps)
    result = {"env_id": config.env_id, "algo": config.algo, "nets": "best" if args.best else "last",
              "episodes": args.episodes, "seed": args.seed,
              "mean": float(np.mean(returns)), "std": float(np.std(returns)),
              "min": float(np.min(returns)), "max": float(np.max(returns))}
    if args.gif is not None:
        from .animation import save_gif

        render_env = make_env(config.env_id, render_mode="rgb_array")
        episode = run_episode(agent, render_env, args.seed, record=True, frame_stride=args.gif_stride,
                                       max_steps=config.max_episode_steps)
        try:
            save_gif(episode.frames, args.gif, fps=args.gif_fps)
        except OSError as e:
            raise DDPGError(f"cannot write {args.gif}: {e.strerror}") from None
        result["gif"] = str(args.gif)
        result["gif_return"] = episode.total_return
    return result


def cmd_export(args) -> dict:
    from .run import Run

    dest = Run(args.run).export(args.dest, keep_memory=args.keep_memory, snapshots=not args.no_snapshots,
                                overwrite=args.overwrite, best=args.best)
    return {"exported": str(dest.path), "bytes": dest.checkpoint.stat().st_size}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from . import seeds, tune

        commands = {"train": cmd_train, "evaluate": cmd_evaluate, "export": cmd_export, "plot": seeds.run,
                    "tune": tune.run}
        result = commands[args.command](args)
    except DDPGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result))
    return 0
