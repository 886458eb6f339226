"""The command line, generated from the Config dataclass.

    python -m ddpg_helpers train --env MountainCarContinuous-v0 --seed 0 --out runs/mcc
    python -m ddpg_helpers train --resume runs/mcc --episodes 300
    python -m ddpg_helpers evaluate runs/mcc --episodes 10 --seed 0 [--gif car.gif] [--best]
    python -m ddpg_helpers export runs/walker trained/walker   # small copy without the replay memory
    python -m ddpg_helpers plot "runs/walker-seeds*/*" --out seeds.png   # seeds of each recipe, mean and band
    python -m ddpg_helpers tune --env Pendulum-v1 --trials 30 --steps 20000   # an Optuna study of the settings

This module builds the parser and hands each command to its function: commands.py (`train`,
`evaluate`, `export`), seeds.py (`plot`) and tune.py (`tune`). Every command prints its result as one
JSON line on stdout; `train` also prints a short plain summary on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Literal

from .commands import cmd_evaluate, cmd_export, cmd_train, flags
from .config import RESUMABLE, Config, field_docs
from .errors import DDPGError


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
                       help=f"continue the run in this folder; only {flags(RESUMABLE)} may change")
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
