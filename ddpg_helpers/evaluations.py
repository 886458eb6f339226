"""How a run judges its noise-free evaluations: against the threshold, which solves the run, and
against the kept nets, which the best evaluation so far holds. Each evaluation is a row of the run's
`history["evals"]`; the trainer plays the episodes, these functions say what they mean.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import CONFIRM_SEED_OFFSET, KEEP_SEED_OFFSET, Config

Look = Callable[[int, int], tuple[float, float]]
"""`look(episodes, first_seed)`: the mean and std of that many fresh noise-free episodes."""


def keep_score(row: dict) -> float:
    """What ranks evaluations for the kept nets: their longer look where they had one, else their own mean."""
    return row.get("keep_mean", row["mean"])


def judge(row: dict, look: Look, config: Config, threshold: float | None, solved_at: dict | None,
          best: dict | None) -> None:
    """Add to an evaluation's `row` (its `mean` over `eval_episodes`) the further looks that judge it.

    An evaluation that reaches the threshold is confirmed on `confirm_episodes` fresh episodes
    before the run counts as solved: a few lucky episodes prove little (the env's own definition of
    solved is a mean over 100 episodes). An evaluation that beats the kept nets (`best`) is judged
    again on `keep_episodes` fresh episodes, if that is set, and its nets are kept only if that
    longer look beats the kept nets' own (`keep_score`); one whose mean is below `keep_from` is
    ranked on its own episodes (a walker that stands still plays 1,600 steps an episode).
    """
    c = config
    if solved_at is None and threshold is not None and row["mean"] >= threshold:
        row["judged"] = True  # judged against the threshold (and confirmed, if confirm_episodes)
        if c.confirm_episodes:
            row["confirm_mean"], row["confirm_std"] = look(c.confirm_episodes, c.eval_seed + CONFIRM_SEED_OFFSET)
    looks_long = c.keep_from is None or row["mean"] >= c.keep_from  # a standing walker's look: 1,600 steps each
    if c.keep_episodes and looks_long and (best is None or row["mean"] > keep_score(best)):
        # A few episodes flatter nets that fall one time in twenty: a longer look before they are kept.
        row["keep_mean"], row["keep_std"] = look(c.keep_episodes, c.eval_seed + KEEP_SEED_OFFSET)
        row["keep_episodes"] = c.keep_episodes


def solves(row: dict, threshold: float | None, judged: bool = False) -> bool:
    """Whether an evaluation solved the run: judged against the threshold (`judge`, or `judged` where
    no evaluation was) and confirmed, where it was."""
    return (threshold is not None and (judged or bool(row.get("judged")))
            and row.get("confirm_mean", row["mean"]) >= threshold)


def first_solved(evals: list[dict], threshold: float | None, before_confirmations: bool) -> dict | None:
    """The first of a resumed run's evaluations that solves its (possibly new) threshold: one that was
    judged (and confirmed) then; a checkpoint from before confirmations counts its evaluations as they are."""
    return next((row for row in evals if solves(row, threshold, judged=before_confirmations)), None)


def is_better(row: dict, best: dict | None) -> bool:
    """Whether an evaluation's nets replace the kept ones."""
    return best is None or keep_score(row) > keep_score(best)


def time_to_solve(evals: list[dict], solved_at: dict | None) -> dict:
    """Where the looks' time went up to the evaluation that solved the run (its own looks included):
    seconds in evaluations, confirmations and longer looks, and the confirmations that failed before it.
    Empty where the run is not solved, or where a row was written before looks were timed."""
    if solved_at is None:
        return {}
    rows = evals[:next(i for i, row in enumerate(evals) if row is solved_at or row == solved_at) + 1]
    if any("eval_seconds" not in row for row in rows):
        return {}
    seconds = {kind: round(sum(row.get(f"{kind}_seconds", 0.0) for row in rows), 2)
               for kind in ("eval", "confirm", "keep")}
    return {"eval_seconds_to_solve": seconds["eval"], "confirm_seconds_to_solve": seconds["confirm"],
            "keep_seconds_to_solve": seconds["keep"],
            "failed_confirmations": sum(bool(row.get("judged")) for row in rows) - 1}
