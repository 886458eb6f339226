"""Settings found for you: an Optuna study whose trials are ordinary runs.

    python -m ddpg_helpers tune --env Pendulum-v1 --trials 30 --steps 20000 --seeds 2
    python -m ddpg_helpers tune --env Pendulum-v1 --trials 30 --steps 20000 --seeds 2 --workers 2

Each trial samples settings (TPE: a model of which settings scored well so far), trains them on
`--seeds` seeds for `--steps` env steps each as normal run folders (STUDY/trial-0007-s1), and scores
the mean over seeds of the final noise-free evaluation. A median pruner stops a trial whose first
seed's evaluations fall below the median of earlier trials at the same env step. Trial 0 is the
defaults (the blog's, or the env's preset), so the study shows what tuning bought.

The study lives in a database: an SQLite file in the study folder by default, or any database
Optuna supports (`--storage postgresql://...`). Workers anywhere that open the same study fill it
together: `--workers K` starts K on this machine; the same command on other machines, pointed at
one PostgreSQL server, adds theirs. Every worker beats a heartbeat into the study; a trial whose
worker was killed stops beating, and the next worker to start a trial marks it failed (it says so)
and queues its settings again, so an interrupted study goes on where it was with the same command.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from .config import Config, make_config
from .errors import DDPGError

HEARTBEAT_SECONDS = 60
"""How often a worker marks its trial alive; one silent for twice that is taken as killed."""
SEARCH_SPACE = ("gamma", "tau", "actor_lr", "critic_lr", "batch_size", "noise", "sigma_start", "sigma_end")
"""The Config fields a trial samples (`suggest`); the rest keep the defaults, the env's preset and --set."""


def suggest(trial) -> dict:
    """One trial's settings, in ranges that hold the blog's defaults and the walker's preset."""
    return {
        "gamma": trial.suggest_categorical("gamma", [0.95, 0.98, 0.99, 0.995, 0.999]),
        "tau": trial.suggest_float("tau", 1e-3, 5e-2, log=True),
        "actor_lr": trial.suggest_float("actor_lr", 1e-4, 3e-3, log=True),
        "critic_lr": trial.suggest_float("critic_lr", 1e-4, 3e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "noise": trial.suggest_categorical("noise", ["blog", "gaussian"]),
        "sigma_start": trial.suggest_float("sigma_start", 0.05, 1.0, log=True),
        "sigma_end": trial.suggest_float("sigma_end", 0.05, 0.5, log=True),
    }


def train_flags(settings: dict) -> str:
    """Settings as the `train` flags that reproduce them."""
    flags = []
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            flags.append(" ".join([flag, *map(str, value)]))
        else:
            flags.append(f"{flag} {value}")
    return " ".join(flags)


def open_storage(url: str, heartbeat: int):
    """Optuna's database storage, with heartbeats; a URL it cannot open is a one-line error."""
    import warnings

    import optuna

    try:
        with warnings.catch_warnings():  # heartbeats are marked experimental, as they have been since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                                              heartbeat_stale_trial_callback=requeue_failed)
    except Exception as e:  # SQLAlchemy's errors for a bad URL, a missing driver, a server that does not answer
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DDPGError(f"cannot open the study storage {url}: {message}") from None


def requeue_failed(study, trial) -> None:
    """Called for a trial whose worker stopped beating: say so, and queue its settings again."""
    import optuna

    optuna.storages.RetryFailedTrialCallback(max_retry=1)(study, trial)
    print(f"trial {trial.number} was left running by a worker that stopped: marked failed, its settings queued "
          "again", file=sys.stderr)


def parse_fixed(items: list[str]) -> dict:
    """`--set FIELD=VALUE` items as Config values (JSON where it parses: numbers, lists, true; else a string)."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(Config)}
    fixed = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in fields:
            raise DDPGError(f"--set takes FIELD=VALUE with a train setting as FIELD (e.g. eval_every=10), got {item!r}")
        if name in (*SEARCH_SPACE, "env_id", "algo", "seed", "total_steps", "episodes"):
            raise DDPGError(f"--set {name}: the study sets it itself (--env, --algo, --seed, --steps or its search)")
        try:
            fixed[name] = json.loads(text)
        except ValueError:
            fixed[name] = text
    return fixed


def open_study(env_id: str, algo: str, name: str, storage, fixed: dict, steps: int):
    """The study, created or loaded; one made for another env, algo or fixed settings is refused."""
    import optuna

    sampler = optuna.samplers.TPESampler(n_startup_trials=5)
    # No pruning in a trial's first quarter: early evaluations say little about where it ends.
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=steps // 4)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    what = {"env_id": env_id, "algo": algo, "fixed": fixed}
    if not study.user_attrs:
        for key, value in what.items():
            study.set_user_attr(key, value)
        defaults = make_config(env_id, algo=algo, **fixed)
        study.enqueue_trial({k: getattr(defaults, k) for k in SEARCH_SPACE}, skip_if_exists=True)
    else:
        theirs = {k: study.user_attrs.get(k) for k in what}
        if theirs != what:
            raise DDPGError(f"study {name!r} was made for {theirs}, not {what}; choose another --study name")
    return study


class Objective:
    """A trial: its settings trained on each seed as a run folder, scored by the mean final evaluation."""

    def __init__(self, args, folder: Path):
        self.args, self.folder = args, folder

    def __call__(self, trial) -> float:
        import optuna

        from .training import train

        a, finals = self.args, []
        settings = suggest(trial)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        for i, seed in enumerate(range(a.seed, a.seed + a.seeds)):
            config = make_config(a.env, algo=a.algo, seed=seed, total_steps=a.steps, episodes=10**9,
                                 threads=1, **a.fixed, **settings)
            out = self.folder / f"trial-{trial.number:04d}-s{seed}"
            trial.set_user_attr("runs", [*trial.user_attrs.get("runs", []), str(out)])

            def report(trainer, first=i == 0):
                # The first seed's evaluations, by env step, feed the pruner.
                evals = trainer.history["evals"]
                if first and evals and evals[-1]["episode"] == trainer.episode:
                    trial.report(evals[-1]["mean"], evals[-1]["env_steps"])
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned at {evals[-1]['env_steps']} env steps")

            result = train(config, out, overwrite=True, progress=False, callback=report)
            finals.append(result.summary["final_eval_mean"])
        value = sum(finals) / len(finals)
        print(f"trial {trial.number}: {value:.1f} (seeds: {', '.join(f'{f:.1f}' for f in finals)}) with "
              f"{train_flags(settings)}", file=sys.stderr)
        return value


def finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def work(args, folder: Path, storage) -> None:
    """One worker: trials until the study holds `--trials` complete or pruned ones."""
    import optuna

    study = open_study(args.env, args.algo, args.study, storage, args.fixed, args.steps)
    if finished(study) >= args.trials:
        return
    stop = optuna.study.MaxTrialsCallback(args.trials, states=(optuna.trial.TrialState.COMPLETE,
                                                               optuna.trial.TrialState.PRUNED))
    study.optimize(Objective(args, folder), callbacks=[stop], catch=())


def best_report(study) -> dict:
    """The best trial as the train flags that reproduce it, beside the defaults' trial 0."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        raise DDPGError(f"study {study.study_name!r} has no complete trial yet")
    best = max(done, key=lambda t: t.value)
    defaults = next((t for t in done if t.number == 0), None)
    return {"study": study.study_name, "trials": finished(study), "best_trial": best.number, "best_value": best.value,
            "best_flags": train_flags(best.params), "best_runs": best.user_attrs.get("runs", []),
            "defaults_value": defaults.value if defaults else None}


def run(args) -> dict:
    """`python -m ddpg_helpers tune`: check everything, then work (in `--workers` processes) and report."""
    for name in ("trials", "steps", "seeds", "workers"):
        if getattr(args, name) <= 0:
            raise DDPGError(f"--{name} must be positive, got {getattr(args, name)}")
    if args.heartbeat <= 0:
        raise DDPGError(f"--heartbeat must be a positive number of seconds, got {args.heartbeat}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.fixed = parse_fixed(args.fixed)
    make_config(args.env, algo=args.algo, **args.fixed)  # a bad algo or --set value: one line, nothing written
    from .envs import make_env

    make_env(args.env).close()  # an unknown env too
    args.study = args.study or f"{args.env}-{args.algo}"
    folder = Path(args.out) if args.out else Path("runs") / "tune" / args.study
    if args.storage is None:
        if folder.exists() and not folder.is_dir():
            raise DDPGError(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        args.storage = f"sqlite:///{folder / 'study.db'}"
    storage = open_storage(args.storage, args.heartbeat)
    open_study(args.env, args.algo, args.study, storage, args.fixed, args.steps)  # another env's study: refused
    folder.mkdir(parents=True, exist_ok=True)
    if args.workers == 1:
        work(args, folder, storage)
    else:  # more processes of this same command, one worker each, one torch thread each
        command = [sys.executable, "-m", "ddpg_helpers", "tune", "--env", args.env, "--algo", args.algo,
                   "--trials", str(args.trials), "--steps", str(args.steps), "--seeds", str(args.seeds),
                   "--seed", str(args.seed), "--storage", args.storage, "--study", args.study, "--out", str(folder),
                   "--heartbeat", str(args.heartbeat), *[f"--set={k}={json.dumps(v)}" for k, v in args.fixed.items()]]
        workers = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
        codes = [w.wait() for w in workers]
        if any(codes):
            raise DDPGError(f"a worker stopped with exit code {max(codes)}; run the same command to go on")
    report = best_report(open_study(args.env, args.algo, args.study, storage, args.fixed, args.steps))
    defaults = "not run yet" if report["defaults_value"] is None else f"{report['defaults_value']:.1f}"
    flags = " ".join(f for f in (train_flags(args.fixed), report["best_flags"]) if f)
    print(f"best trial {report['best_trial']}: {report['best_value']:.1f} (trial 0, the defaults: {defaults})\n"
          f"reproduce it: python -m ddpg_helpers train --env {args.env} --algo {args.algo} {flags}", file=sys.stderr)
    return report


def add_parser(sub) -> None:
    p = sub.add_parser("tune", help="search settings with an Optuna study; every trial is a run folder",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default=Config.env_id, help="gymnasium env id (default: %(default)s)")
    p.add_argument("--algo", default="ddpg", help="ddpg, td3 or tqc (default: %(default)s)")
    p.add_argument("--trials", type=int, default=20, help="complete or pruned trials the study ends with")
    p.add_argument("--steps", type=int, default=20_000, help="env steps of each run")
    p.add_argument("--seeds", type=int, default=1, help="seeds per trial, from --seed on; a trial scores their mean")
    p.add_argument("--seed", type=int, default=0, help="the first seed (default: 0)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine, one thread each")
    p.add_argument("--storage", help="database URL (default: sqlite:///STUDY_FOLDER/study.db), e.g. "
                                     "postgresql://user:password@host/db to share the study between machines")
    p.add_argument("--study", help="study name (default: ENV-ALGO)")
    p.add_argument("--out", type=Path, help="study folder for the trials' run folders (default: runs/tune/STUDY)")
    p.add_argument("--set", dest="fixed", action="append", default=[], metavar="FIELD=VALUE",
                   help="a setting every trial keeps, e.g. --set eval_every=10 (repeatable)")
    p.add_argument("--heartbeat", type=int, default=HEARTBEAT_SECONDS,
                   help="seconds between a worker's heartbeats; a trial silent for two is taken as killed")
