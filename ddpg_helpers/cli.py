"""The command line, generated from the Config dataclass.

    python -m ddpg_helpers train --env MountainCarContinuous-v0 --seed 0 --out runs/mcc
    python -m ddpg_helpers train --resume runs/mcc --episodes 300
    python -m ddpg_helpers evaluate runs/mcc --episodes 10 --seed 0 [--gif car.gif]
    python -m ddpg_helpers export runs/walker trained/walker   # small copy without the replay memory
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from pathlib import Path

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
        help_text = f"{docs.get(f.name, '')} (default: {f.default})"
        if isinstance(hint, types.UnionType):  # `X | None`
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        if hint is bool:
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
    return parser


def cmd_train(args) -> dict:
    from . import training

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
    if args.resume is not None:
        if args.out is not None or args.overwrite:
            raise DDPGError("--resume continues the run in its own folder; it takes no --out or --overwrite")
        given = {k: v for k, v in overrides.items() if v is not None}
        if set(given) - RESUMABLE:
            raise DDPGError(f"--resume only takes {_flags(RESUMABLE)}")
        result = training.resume(args.resume, progress=not args.no_progress, **given)
    else:
        config = make_config(**{k: v for k, v in overrides.items() if k != "env_id" or v is not None})
        out = args.out or Path("runs") / f"{config.env_id}-{config.algo}-s{config.seed}"
        result = training.train(config, out, overwrite=args.overwrite, progress=not args.no_progress)
    print(f"run written to {result.out}", file=sys.stderr)
    return result.summary


def cmd_evaluate(args) -> dict:
    import numpy as np

    from . import training

    for flag in ("episodes", "gif_fps", "gif_stride"):
        if getattr(args, flag) <= 0:
            raise DDPGError(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    agent, config, _ = training.load_agent(args.run, env_id=args.env, device=args.device)
    env = training.make_env(config.env_id)
    returns = training.evaluate(agent, env, args.episodes, args.seed, config.max_episode_steps)
    result = {"env_id": config.env_id, "algo": config.algo, "episodes": args.episodes, "seed": args.seed,
              "mean": float(np.mean(returns)), "std": float(np.std(returns)),
              "min": float(np.min(returns)), "max": float(np.max(returns))}
    if args.gif is not None:
        from .animation import save_gif

        render_env = training.make_env(config.env_id, render_mode="rgb_array")
        episode = training.run_episode(agent, render_env, args.seed, record=True, frame_stride=args.gif_stride,
                                       max_steps=config.max_episode_steps)
        save_gif(episode.frames, args.gif, fps=args.gif_fps)
        result["gif"] = str(args.gif)
        result["gif_return"] = episode.total_return
    return result


def cmd_export(args) -> dict:
    import shutil

    from . import checkpoint, training

    payload = checkpoint.load_payload(args.run)
    run = checkpoint.resolve(args.run).parent
    if not (run / "summary.json").is_file():
        raise DDPGError(f"{run} is not a finished run (no summary.json): finish it first with "
                        f"train --resume {run}")
    if args.dest.exists() and not args.dest.is_dir():
        raise DDPGError(f"{args.dest} exists and is not a folder")
    if args.dest.exists() and args.dest.resolve() == run.resolve():
        raise DDPGError("export needs a destination other than the run itself")
    if args.dest.exists() and any(args.dest.iterdir()):
        if not args.overwrite:
            raise DDPGError(f"{args.dest} is not empty; pass --overwrite to replace it")
        training.prepare_out(args.dest, overwrite=True)  # clears an earlier export's files and snapshots
    drop = {"rng", "noise_state", "torch_rng", "cuda_rng", "actor_opt", "critic_opt", "format"}
    if not args.keep_memory:
        drop.add("memory")
    slim = {k: v for k, v in payload.items() if k not in drop}
    args.dest.mkdir(parents=True, exist_ok=True)
    checkpoint.save(args.dest / checkpoint.CHECKPOINT, slim)
    for name in training.RUN_FILES[1:]:
        if (run / name).exists():
            shutil.copyfile(run / name, args.dest / name)
    for snap in [] if args.no_snapshots else training.list_snapshots(run):
        (args.dest / training.SNAPSHOTS).mkdir(exist_ok=True)
        shutil.copyfile(snap, args.dest / training.SNAPSHOTS / snap.name)
    return {"exported": str(args.dest), "bytes": (args.dest / checkpoint.CHECKPOINT).stat().st_size}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = {"train": cmd_train, "evaluate": cmd_evaluate, "export": cmd_export}[args.command](args)
    except DDPGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted (the last checkpoint in the run folder is intact)", file=sys.stderr)
        return 130
    print(json.dumps(result))
    return 0
