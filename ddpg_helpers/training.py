"""A run from start to end: train, resume, finish (the final evaluation and the run's files), and
loading a saved agent back. The loop itself is `Trainer`; the run folder is `Run`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from . import checkpoint
from . import run as runs
from .agent import Agent
from .config import RESUMABLE, Config
from .envs import make_env, pick_device
from .errors import DDPGError
from .evaluations import time_to_solve
from .rollouts import Episode, run_episode
from .trainer import Trainer


@dataclass
class TrainResult:
    agent: Agent
    config: Config
    history: dict
    summary: dict
    final_episode: Episode | None
    out: Path | None


def config_from(payload: dict, path, **overrides) -> Config:
    """The run's Config from a checkpoint payload (with overrides), as a one-line error if it does not fit."""
    try:
        return Config.from_dict({**payload["config"], **overrides})
    except (TypeError, ValueError) as e:
        raise DDPGError(f"{runs.checkpoint_file(path)} holds a config this version cannot read ({e})") from None


def start_from(trainer: Trainer, path: str | Path) -> None:
    """Warm start: copy the nets of another run (same env, algo and sizes) before training."""
    payload = runs.load(path)
    theirs, c = config_from(payload, path), trainer.config
    shape = ("env_id", "algo", "actor_hidden", "critic_state_hidden", "critic_hidden", "critic_layer_norm")
    differ = [f"{k} {getattr(theirs, k)!r} vs {getattr(c, k)!r}" for k in shape if getattr(theirs, k) != getattr(c, k)]
    if differ:
        raise DDPGError(f"cannot start from {runs.checkpoint_file(path)}: its nets differ ({'; '.join(differ)})")
    missing = [n for n in trainer.agent.nets() if n not in payload]
    if missing:
        raise DDPGError(f"cannot start from {runs.checkpoint_file(path)}: it holds no {', '.join(missing)}")
    trainer.agent.load_nets(payload)


def logging_to(run: runs.Run | None, trainer: Trainer, callback=None):
    """Open the run's TensorBoard log (if its config asks for one); returns the per-episode callback that
    writes each episode to it, then calls `callback`."""
    if run is None or not trainer.config.tensorboard:
        return callback
    run.open_board(trainer.history, trainer.env_steps)

    def on_episode(t: Trainer) -> None:
        run.log(t.history)
        if callback is not None:
            callback(t)

    return on_episode


def summarize(trainer: Trainer) -> dict:
    """The run's summary.json (less its final episode's return): what it ran on, how far and how fast it
    went, its last and best evaluations, and whether and where it solved its threshold."""
    c, evals, solved, threshold = trainer.config, trainer.history["evals"], trainer.solved_at, trainer.threshold
    final, best = evals[-1], trainer.best or evals[-1]
    return {
        "env_id": c.env_id, "algo": c.algo, "seed": c.seed, "device": str(trainer.device),
        "episodes": trainer.episode, "env_steps": trainer.env_steps, "wall_seconds": round(trainer.wall_time, 2),
        "steps_per_second": round(trainer.env_steps / max(trainer.wall_time, 1e-9), 1),
        "final_eval_mean": final["mean"], "final_eval_std": final["std"],
        "best_eval_mean": best["mean"], "best_eval_std": best["std"], "best_episode": best["episode"],
        "best_env_steps": best["env_steps"], "eval_episodes": c.eval_episodes,
        # The best's longer look (None where it had none: keep_episodes 0, or kept before it was set).
        "best_keep_mean": best.get("keep_mean"), "best_keep_std": best.get("keep_std"),
        "keep_episodes": best.get("keep_episodes", c.keep_episodes if "keep_mean" in best else 0),
        "solve_threshold": threshold,
        # None where there is nothing to solve: the env has no threshold and none was given.
        "solved": None if threshold is None else solved is not None,
        "solved_episode": solved["episode"] if solved else None,
        "steps_to_solve": solved["env_steps"] if solved else None,
        "seconds_to_solve": round(solved["wall_time"], 2) if solved else None,
        "confirm_episodes": c.confirm_episodes,
        "confirm_mean": solved.get("confirm_mean") if solved else None,
        # A run that stops when solved (stop_when_solved, or a target_return given) and did.
        "stopped_at_solve": bool(solved) and (c.stop_when_solved or c.target_return is not None),
        **time_to_solve(evals, solved),
        **trainer.agent.update_path(),  # this session's: a resumed run captures and checks again
        "torch": torch.__version__,
    }


def finish(trainer: Trainer, run: runs.Run | None, should_stop=None) -> TrainResult:
    """Evaluate the final nets (unless the last evaluation was of them), play their noise-free
    episode and write the run's files.

    The checkpoint is saved first: a stop (`should_stop`, Interrupted) during the final
    evaluation then loses nothing, and `resume` finishes the run.
    """
    if not trainer.evaluated:  # also a resumed checkpoint written between evaluations
        if run is not None:
            run.save_checkpoint(trainer.state())
        trainer.evaluate_between_episodes(run, should_stop)  # its time counts: it is part of the run
    c = trainer.config
    # No frames: nothing reads them here, and a full episode of them is hundreds of megabytes.
    final = run_episode(trainer.agent, trainer.eval_env, c.eval_seed, max_steps=c.max_episode_steps) \
        if c.record_final else None
    summary = summarize(trainer)
    if final is not None:
        summary["final_episode_return"] = final.total_return
    if run is not None and summary["stopped_at_solve"]:  # how to go on past the solve, up to the run's cap
        flag = "--target-return inf" if c.target_return is not None else "--no-stop-when-solved"
        summary["train_on"] = f"python -m ddpg_helpers train --resume {run.path} {flag}"
    if run is not None:
        run.save_checkpoint(trainer.state())
        run.write_config(c)
        run.write_metrics(trainer.history)
        run.write_curve(trainer.history, title=f"{c.algo.upper()} on {c.env_id}")
        if final is not None:
            run.write_episode(final)
        run.write_summary(summary)
        run.close_board()
    return TrainResult(trainer.agent, c, trainer.history, summary, final, run.path if run else None)


def train(config: Config | None = None, out: str | Path | None = None, overwrite: bool = False,
          progress: bool = True, callback=None, should_stop=None) -> TrainResult:
    """Train an agent from scratch; with `out`, write checkpoints and the run's files there."""
    config = config or Config()
    trainer = Trainer(config)  # checks the env before any file is touched (the config checked itself)
    if config.init_from is not None:
        start_from(trainer, config.init_from)
    run = runs.Run(out).prepare(overwrite) if out is not None else None
    if run is not None:
        run.write_config(config)
        if config.snapshot_every:
            run.save_snapshot(trainer.state(with_memory=False))  # the untrained nets, as a baseline
    trainer.run_episodes(run, progress, logging_to(run, trainer, callback), should_stop)
    return finish(trainer, run, should_stop)


def why_finished(trainer: Trainer) -> str:
    """What stopped a finished run, and which flag takes it further."""
    c = trainer.config
    if trainer.episode >= c.episodes:
        return f"has run its {c.episodes} episodes; pass a larger --episodes"
    if c.total_steps is not None and trainer.env_steps >= c.total_steps:
        return f"has run its {c.total_steps} env steps; pass a larger --total-steps"
    if c.target_return is not None:
        return (f"reached its target return {c.target_return} at episode {trainer.solved_at['episode']}; "
                "pass a higher --target-return (inf: none)")
    return (f"was solved at episode {trainer.solved_at['episode']} and stopped there; pass --no-stop-when-solved "
            "to train on")


def resume_trainer(path: str | Path, **overrides) -> Trainer:
    """Rebuild a run's trainer from its checkpoint (config, nets, optimisers, memory, history, random states)."""
    payload = runs.load(path)
    missing = checkpoint.missing_for_resume(payload)
    if missing:
        raise DDPGError(f"{runs.checkpoint_file(path)} is an exported agent without its training state "
                        f"({', '.join(missing)}) and cannot be resumed")
    trainer = Trainer(config_from(payload, path, **overrides))
    trainer.load_state_dict(payload)
    return trainer


def resume(out: str | Path, progress: bool = True, callback=None, finished_ok: bool = False,
           should_stop=None, **overrides) -> TrainResult:
    """Continue the run in `out` from its last checkpoint (e.g. with more `episodes`).

    A run that is already finished is refused, or with `finished_ok` returned as it is. One whose
    process was killed after its last checkpoint but before its summary gets its files written.
    """
    run = runs.Run(out)
    if not run.checkpoint.is_file():
        hint = f" ({run.how_to_go_on()})" if run.path.is_dir() and run.config() is not None else ""
        raise DDPGError(f"no checkpoint at {run.checkpoint}{hint}")
    trainer = resume_trainer(run.path, **overrides)
    run.remove_stale()
    if trainer.done and run.is_finished():
        if not finished_ok:
            raise DDPGError(f"{run.path} is finished: it {why_finished(trainer)} to go on")
        return TrainResult(trainer.agent, trainer.config, trainer.history, run.summary(), run.final_episode(),
                           run.path)
    on_episode = logging_to(run, trainer, callback)
    if not trainer.done:  # else: killed after its last checkpoint, before its summary; finish writes its files
        trainer.run_episodes(run, progress, on_episode, should_stop)
    return finish(trainer, run, should_stop)


resume_run = resume  # for train_or_resume, whose `resume` flag hides the function


def load_agent(path: str | Path, env_id: str | None = None, device: str = "auto",
               best: bool = False) -> tuple[Agent, Config, dict]:
    """The agent of a saved run (folder or checkpoint file), its config, and the raw payload.

    With `best`, the run's best evaluated nets instead of its last ones. With
    `env_id`, refuse a checkpoint that was trained on another env.
    """
    payload = runs.load(path, best=best)
    file = runs.checkpoint_file(path, best)
    config = config_from(payload, file)
    if env_id is not None and env_id != payload["env_id"]:
        raise DDPGError(f"{file} was trained on {payload['env_id']}, not {env_id}")
    env = make_env(payload["env_id"])
    dims = (env.observation_space.shape[0], env.action_space.shape[0])
    env.close()
    if dims != (payload["obs_dim"], payload["act_dim"]):
        raise DDPGError(f"{file} does not match the spaces of {payload['env_id']}")
    agent = Agent(config, *dims, payload["action_low"], payload["action_high"], pick_device(device))
    try:
        agent.load_state_dict(payload, actor_only=True)
    except (KeyError, RuntimeError) as e:
        raise DDPGError(f"{file} does not fit the nets of its config ({type(e).__name__})") from None
    return agent, config, payload


def train_or_resume(config: Config, out: str | Path, resume: bool = False, progress: bool = True, callback=None):
    """Train `config` from scratch into `out` (replacing a run there), or continue the run in `out`.

    With `resume`, a checkpoint in `out` (from a run that was interrupted, or one that finished and
    should go on) is continued up to `config.episodes` episodes; a run that needs no more is
    returned as it is. Where `out` holds no checkpoint yet, it trains from scratch, so the same cell
    works before and after a disconnect. A run trained with other settings (other than how long it
    goes on and where it runs) is refused rather than mixed. Returns the `TrainResult`.
    """
    run = runs.Run(out)
    if resume and run.checkpoint.is_file():
        run.check_same_settings(config, remedy="set resume to False to replace it")
        how_long_and_where = {k: getattr(config, k) for k in RESUMABLE}
        return resume_run(out, progress=progress, callback=callback, finished_ok=True, **how_long_and_where)
    return train(config, out, overwrite=True, progress=progress, callback=callback)
