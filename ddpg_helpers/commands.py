"""What the command line's `train`, `evaluate` and `export` do, once cli.py has parsed their flags:
run control (a SIGTERM that stops a run at the end of its episode, the exit codes of a stopped one)
and the results each prints. `plot` and `tune` live with their own code (seeds.py, tune.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
from pathlib import Path

from .config import RESUMABLE, Config, make_config
from .errors import DDPGError


def flags(names) -> str:
    """Config field names as the command line spells them: `--batch-size, --episodes`."""
    return ", ".join("--" + name.replace("_", "-") for name in sorted(names))


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
        seconds = f", {summary['seconds_to_solve']:.0f} s" if summary.get("seconds_to_solve") is not None else ""
        lines.append(f"solved: yes, at episode {summary['solved_episode']} ({summary['steps_to_solve']:,} env steps"
                     f"{seconds}){confirm}")
        if summary.get("confirm_seconds_to_solve") is not None:
            lines.append(f"  of that time: {summary['eval_seconds_to_solve']:.0f} s in evaluations, "
                         f"{summary['confirm_seconds_to_solve']:.0f} s in confirmations "
                         f"({summary['failed_confirmations']} failed), {summary['keep_seconds_to_solve']:.0f} s "
                         "in longer looks at new best nets")
    else:
        lines.append(f"solved: no (threshold {summary['solve_threshold']})")
    lines.append(f"final evaluation: {summary['final_eval_mean']:.1f} ± {summary['final_eval_std']:.1f} over "
                 f"{summary['eval_episodes']} noise-free episodes; best {summary['best_eval_mean']:.1f} "
                 f"at episode {summary['best_episode']}" + (
                     f" ({summary['best_keep_mean']:.1f} over {summary['keep_episodes']} more)"
                     if summary.get("best_keep_mean") is not None else ""))
    lines.append(f"files: {out}/ (evaluate it with: python -m ddpg_helpers evaluate {out} --episodes 100)")
    if summary.get("train_on"):
        lines.append(f"stopped at the solve; to train on towards a better agent: {summary['train_on']}")
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
            raise DDPGError(f"--resume only takes {flags(RESUMABLE)}")
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
    envs = [make_env(config.env_id) for _ in range(config.eval_envs)]
    returns = evaluate(agent, envs, args.episodes, args.seed, config.max_episode_steps)
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
