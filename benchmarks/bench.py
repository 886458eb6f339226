"""Env steps per second with one update per step (or each env's preset, `--preset`), side by side in
one run; where a step's time goes; and time to solve.

    python benchmarks/bench.py                      # both envs, CPU or GPU (whichever is there)
    python benchmarks/bench.py --envs mcc --solve-seeds 5
    python benchmarks/bench.py --envs walker-preset # the walker preset as it trains (TQC, one update per step)
    python benchmarks/bench.py --envs walker-td3    # the walker preset's settings and nets with TD3
    python benchmarks/bench.py --envs walker-sizes  # TD3 on the walker: the preset's nets vs the Zoo's
    python benchmarks/bench.py --envs walker-recipes  # the preset vs the presets before it (TQC, 3-step; TD3)
    python benchmarks/bench.py --envs mcc walker --against 2aa61c3 HEAD   # today's loop beside an older one

Each implementation runs the same number of env steps in chunks, and the chunks are interleaved
(naive, eager, compiled, graph, SB3, then back from SB3 to naive, ...) so that a change in the
machine's load hits all of them alike, and so does the place in a round.
The table gives the median over chunks and the ratio of medians to the naive loop
(to the eager loop where the naive loop would not run the same algorithm: TD3, or a preset's
several updates per step, n-step targets or LayerNorm critic). Under each table, where Linux
reports it, the share of CPU time the hypervisor gave other virtual machines while the table ran
(steal): on a shared machine the absolute figures move with it from run to run, the ratios less.

Before it, one table per env times the parts of a step for each update path of the package:
the first updates (where torch.compile compiles and the graph path captures), then `agent.learn`,
`agent.act` and `memory.push` alone and the three as the loop calls them (no env), each in a loop
of `--calls` calls with one GPU sync at its end, and the env's own step. Learn calls queue up on
a GPU when nothing waits for them, so that figure is the update's cost once launching is no
longer what limits it; the last column adds what acting has to wait for.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loops import (  # noqa: E402
    DEFAULT_THREADS,
    EAGER,
    SB3,
    AtRevision,
    Naive,
    Ours,
    cpu_ticks,
    machine,
    print_rates,
    print_steal,
    steps_per_second,
)
from benchmarks.step_parts import MODES, graph_check_line, modes_for, print_calls, updates  # noqa: E402
from ddpg_helpers import make_config, train  # noqa: E402
from ddpg_helpers.training import pick_device  # noqa: E402

BASE = "naive, 1 thread"
ENVS = {"mcc": "MountainCarContinuous-v0", "walker": "BipedalWalker-v3", "walker-td3": "BipedalWalker-v3",
        "walker-preset": "BipedalWalker-v3"}
ALGOS = {"walker-td3": "td3", "walker-preset": None}  # None: the preset's own, as it trains; the rest: the blog's DDPG
# The RL Baselines3 Zoo's TD3 sizes for the walker, which the package's preset trades for smaller ones.
ZOO_WALKER_SIZES = dict(actor_hidden=(400, 300), critic_state_hidden=400, critic_hidden=(300,), batch_size=256)
# The walker preset's TQC before one-step targets with tau 0.02 (BENCHMARKS.md, "BipedalWalker over several seeds").
TQC_BEFORE = dict(n_step=3, tau=0.005)


def print_revisions(rates: dict, revisions: dict) -> None:
    """Ratios of medians between the revisions' loops, each in a child process like the others; the
    loop in this process is compared too, but the process a loop runs in moves its figure."""
    def ratio(a: str, b: str) -> str:
        return f"{statistics.median(rates[a]) / statistics.median(rates[b]):.2f}x"

    names = list(revisions)
    for name in names[:-1]:
        print(f"\n{names[-1]} / {name}: {ratio(names[-1], name)}")
    for name, before in revisions.items():
        print(f"\n{EAGER} (this process) / {name}: {ratio(EAGER, name)}")
        if before.differs:
            print(f"WARNING: {before.label} has no setting for {before.differs}: it ran without them")


def walker_side_by_side(key: str, device, chunk: int, repeats: int) -> None:
    """Walker recipes in the package's own loop (eager), interleaved. walker-sizes: TD3 with the preset's
    nets and batch vs the Zoo's, one update per step. walker-recipes: the preset as it trains (TQC, one update
    per env step) vs the TQC preset before it (3-step returns, tau 0.005) and the TD3 preset before TQC (two
    updates per env step, 3-step returns, the rest the same)."""
    if key == "walker-sizes":
        preset = make_config(ENVS["walker"], algo="td3", device=str(device), compile="eager", updates_per_step=1)
        zoo = make_config(**{**preset.to_dict(), **ZOO_WALKER_SIZES})
        impls = {f"preset: {list(preset.actor_hidden)} nets, batch {preset.batch_size}": Ours(preset, chunk),
                 "Zoo: [400, 300] nets, batch 256": Ours(zoo, chunk)}
        title, first_column, ratio_column = "TD3, one update per step", "sizes", "vs Zoo sizes"
    else:
        tqc = make_config(ENVS["walker"], device=str(device), compile="eager")
        tqc3 = make_config(**{**tqc.to_dict(), **TQC_BEFORE})
        td3 = make_config(**{**tqc3.to_dict(), "algo": "td3", "updates_per_step": 2})
        impls = {f"TQC, n_step {tqc.n_step}, tau {tqc.tau} (the preset)": Ours(tqc, chunk),
                 f"TQC, n_step {tqc3.n_step}, tau {tqc3.tau} (the preset before)": Ours(tqc3, chunk),
                 "TD3, two updates per env step (the preset before TQC)": Ours(td3, chunk)}
        title, first_column, ratio_column = "the preset as it trains", "recipe", "vs the preset before"
    ticks = cpu_ticks()
    print_rates(f"BipedalWalker-v3 (ddpg_helpers eager): env steps/s, {title}, {repeats} x {chunk} steps",
                steps_per_second(impls, chunk, repeats), base=list(impls)[1], first_column=first_column,
                ratio_column=ratio_column, ticks=ticks)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["mcc", "walker"],
                   choices=sorted(ENVS) + ["walker-sizes", "walker-recipes"])
    p.add_argument("--device", default="auto")
    p.add_argument("--chunk", type=int, default=1000, help="env steps per timed chunk")
    p.add_argument("--repeats", type=int, default=5, help="timed chunks per implementation")
    p.add_argument("--calls", type=int, default=300, help="calls per timed loop in the parts-of-a-step table (0: skip)")
    p.add_argument("--no-steps", action="store_true", help="skip the env-steps-per-second table")
    p.add_argument("--no-compiled", action="store_true", help="skip the torch.compile path")
    p.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3 even if installed")
    p.add_argument("--solve-seeds", type=int, default=5, help="seeds for MountainCar's time to solve (0: skip)")
    p.add_argument("--against", metavar="REV", nargs="+", default=[],
                   help="also time the eager loop as it is at each git revision REV, side by side, with the same "
                        "settings, each in its own process: what a change costs or gains (add HEAD to see what "
                        "running in a second process alone changes)")
    p.add_argument("--preset", action="store_true",
                   help="train with each env's preset settings as they are (the walker: TQC, its updates per step, "
                        "tau 0.02, a LayerNorm critic) instead of one update per step and the blog's DDPG, with the "
                        "algorithm the env's key names (walker-preset: the preset's own, always as it trains)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    device = pick_device(args.device)
    print(f"# {time.strftime('%Y-%m-%d')} on {machine(device)}, device {device}")
    print(f"# command: python benchmarks/bench.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())

    for key in (k for k in args.envs if k in ("walker-sizes", "walker-recipes")):
        walker_side_by_side(key, device, args.chunk, args.repeats)
    for key in (k for k in args.envs if k in ENVS):
        # One update per env step, as the tables say; DDPG as the blog's loop has it (one-step targets,
        # no LayerNorm), so that only the plumbing differs. walker-preset: the preset as it trains.
        algo = ALGOS.get(key, "ddpg")
        blog = {"n_step": 1, "critic_layer_norm": False} if algo == "ddpg" else {}
        one_update = {} if args.preset or algo is None else {"updates_per_step": 1, **blog}
        config = make_config(ENVS[key], device=str(device), **({"algo": algo} if algo else {}), **one_update)
        if args.calls:
            print_calls(config, device, args.calls, compiled=not args.no_compiled)
        if args.no_steps:
            continue
        impls = {}
        blogs_loop = config.updates_per_step == 1 and config.n_step == 1 and not config.critic_layer_norm
        if config.algo == "ddpg" and blogs_loop:
            # The ratios are against the blog's loop with one thread, the setting that suits it best
            # on a small CPU; with torch's default thread count it is shown too, as a user would run it
            # (where that default is more than one thread: else the two rows would be one loop twice).
            impls = {BASE: Naive(config, device, threads=1)}
            if DEFAULT_THREADS > 1:
                impls[f"naive, {DEFAULT_THREADS} threads (torch default)"] = Naive(config, device)
        for mode in modes_for(device, compiled=not args.no_compiled):
            impls[MODES[mode]] = Ours(make_config(**{**config.to_dict(), "compile": mode}), args.chunk)
        revisions = {}
        try:
            for rev in args.against:  # "off": the eager update's name in every revision ("eager" came later)
                before = AtRevision(rev, make_config(**{**config.to_dict(), "compile": "off"}), args.chunk)
                revisions[f"{EAGER} at {before.label}"] = before
            impls.update(revisions)
            if not args.no_sb3:
                try:
                    sb3 = SB3(config, str(device))
                    impls[sb3.label] = sb3
                except ImportError:
                    pass
            base = BASE if BASE in impls else EAGER  # the blog's loop is DDPG only
            ticks = cpu_ticks()
            rates = steps_per_second(impls, args.chunk, args.repeats)
        finally:
            for before in revisions.values():
                before.close()
        print_rates(f"{config.env_id}, {config.algo.upper()}: env steps/s, {updates(config)}, batch "
                    f"{config.batch_size}, actor {list(config.actor_hidden)}, {args.repeats} x {args.chunk} steps",
                    rates, base=base, first_column="implementation", ratio_column=f"vs {base}", ticks=ticks)
        if checks := "".join(graph_check_line(name, impl.trainer.agent) for name, impl in impls.items()
                             if isinstance(impl, Ours)):
            print(checks)
        print_revisions(rates, revisions)

    if args.solve_seeds and "mcc" in args.envs:
        rows, ticks = [], cpu_ticks()
        for seed in range(args.solve_seeds):
            s = train(make_config(ENVS["mcc"], seed=seed, target_return=90, device=str(device),
                                  record_final=False), progress=False).summary
            rows.append(s)
        confirm = make_config(ENVS["mcc"]).confirm_episodes
        print(f"\n## Time to solve MountainCarContinuous-v0 (noise-free evaluation mean of "
              f"{rows[0]['eval_episodes']} episodes >= 90, confirmed on {confirm} fresh episodes), blog's settings, "
              f"seeds 0-{args.solve_seeds - 1}\n")
        print("| seed | solved | env steps | wall seconds |")
        print("|---:|:---:|---:|---:|")
        for s in rows:
            print(f"| {s['seed']} | {s['solved']} | {s['steps_to_solve']} | {s['seconds_to_solve']} |")
        solved = [s for s in rows if s["solved"]]
        if solved:
            print(f"\nmedian over solved seeds ({len(solved)}/{len(rows)}): "
                  f"{statistics.median(s['steps_to_solve'] for s in solved):.0f} env steps, "
                  f"{statistics.median(s['seconds_to_solve'] for s in solved):.1f} s")
        print_steal(ticks)


if __name__ == "__main__":
    main()
