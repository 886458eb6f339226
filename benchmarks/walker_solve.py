"""The solve table of `walker_seeds.py --solve`: each seed trained by the walker preset's own command,
which stops once an evaluation at 300 is confirmed on 100 fresh episodes, and how long that took.

    seed, solved                  whether the run was confirmed solved before its step cap
    env_steps_to_solve            env steps at the evaluation that was confirmed
    wall_seconds_to_solve         training time up to the end of that confirmation, over all resumes,
                                  evaluations, confirmations and longer looks included
    confirm_mean, confirm_falls   the confirmation's mean over its fresh episodes, and how many of them
                                  fell (the solving nets played again on the confirmation's env seeds)
    failed_confirmations          evaluations at 300 before it that their confirmation did not bear out
    train_seconds, eval_seconds,  where wall_seconds_to_solve went: acting and updating, the periodic
    confirm_seconds, keep_seconds evaluations, the confirmations, the longer looks at new best nets
    env_steps, device             where the run ended (the cap, for an unsolved one) and where it ran
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from pathlib import Path

import numpy as np

from ddpg_helpers import Run
from ddpg_helpers.checkpoint import atomic_write
from ddpg_helpers.config import CONFIRM_SEED_OFFSET, Config
from ddpg_helpers.errors import DDPGError

COLUMNS = ["seed", "solved", "env_steps_to_solve", "wall_seconds_to_solve", "confirm_mean", "confirm_falls",
           "failed_confirmations", "train_seconds", "eval_seconds", "confirm_seconds", "keep_seconds", "env_steps",
           "device"]
TARGET_MEDIAN_SECONDS, TARGET_MAX_SECONDS = 600, 900
"""The aim: a median of 10 minutes to a confirmed solve, every seed within 15."""
CONFIRM = "confirm.json"


def confirmation(run: Run, config: Config, play) -> dict:
    """The solving nets (the final nets of a run that stopped at its solve) played again on the
    confirmation's env seeds, by `play(path, episodes, seed)`; kept in RUN/confirm.json while the
    checkpoint stays the same file. Their mean must be the confirmation's own: else they are other nets."""
    key = {"checkpoint_sha256": hashlib.sha256(run.checkpoint.read_bytes()).hexdigest(),
           "episodes": config.confirm_episodes, "seed": config.eval_seed + CONFIRM_SEED_OFFSET}
    cache = run.path / CONFIRM
    if cache.is_file() and (saved := json.loads(cache.read_text())).get("key") == key:
        return saved
    result = {"key": key, **play(run.path, key["episodes"], key["seed"])}
    atomic_write(cache, lambda tmp: Path(tmp).write_text(json.dumps(result)))
    return result


def solve_row(run: Run, play) -> dict:
    """The run's row of the solve table (a finished run)."""
    s, config = run.summary(), Config.from_dict(run.config())
    row = {"seed": s["seed"], "solved": bool(s["solved"]), "env_steps": s["env_steps"], "device": s["device"]}
    if not s["solved"]:
        return row
    row.update(env_steps_to_solve=s["steps_to_solve"], wall_seconds_to_solve=s["seconds_to_solve"],
               confirm_mean=round(s["confirm_mean"], 2), failed_confirmations=s.get("failed_confirmations"))
    looks = {kind: s.get(f"{kind}_seconds_to_solve") for kind in ("eval", "confirm", "keep")}
    if None not in looks.values():
        row.update({f"{kind}_seconds": seconds for kind, seconds in looks.items()},
                   train_seconds=round(s["seconds_to_solve"] - sum(looks.values()), 2))
    if s.get("stopped_at_solve") and config.confirm_episodes:
        played = confirmation(run, config, play)
        if not math.isclose(float(np.mean(played["returns"])), s["confirm_mean"], abs_tol=0.01):
            raise DDPGError(f"{run.path}'s final nets do not replay its confirmation "
                            f"({np.mean(played['returns']):.2f} against {s['confirm_mean']:.2f})")
        row["confirm_falls"] = played["falls"]
    return row


def markdown(rows: list[dict]) -> str:
    def cell(value, column):
        if value is None or isinstance(value, (bool, str)):
            return "" if value is None else str(value)
        return f"{value:.1f}" if column == "confirm_mean" else f"{value:,.0f}"

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---:" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(r.get(c), c) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def verdict(rows: list[dict], target: float) -> str:
    """How many seeds were confirmed solved, the median and slowest time to it (an unsolved seed counts
    as never), against the aim of a 10-minute median with every seed within 15."""
    solved = [r for r in rows if r["solved"]]
    times = [r["wall_seconds_to_solve"] if r["solved"] else math.inf for r in rows]
    steps = [r["env_steps_to_solve"] if r["solved"] else math.inf for r in rows]
    if not rows:
        return "no seeds"
    median, slowest = statistics.median(times), max(times)
    text = (f"{len(solved)} of {len(rows)} seeds confirmed at {target:g}; time to a confirmed solve: median "
            f"{median:,.0f} s ({median / 60:.1f} min), slowest {slowest:,.0f} s ({slowest / 60:.1f} min); "
            f"median env steps {statistics.median(steps):,.0f}")
    met = median <= TARGET_MEDIAN_SECONDS and slowest <= TARGET_MAX_SECONDS and len(solved) == len(rows)
    return text + (f"\naim (median {TARGET_MEDIAN_SECONDS} s, every seed within {TARGET_MAX_SECONDS} s, all "
                   f"confirmed): {'met' if met else 'not met'}")
