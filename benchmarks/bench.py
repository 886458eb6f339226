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
import io
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import weakref
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.naive import NaiveDDPG  # noqa: E402
from ddpg_helpers import Agent, Config, ReplayMemory, make_config, make_env, train  # noqa: E402
from ddpg_helpers.graphed import CHECK_TOLERANCE  # noqa: E402
from ddpg_helpers.training import Trainer, pick_device  # noqa: E402

DEFAULT_THREADS = torch.get_num_threads()
BASE = "naive, 1 thread"
EAGER = "ddpg_helpers eager"
ENVS = {"mcc": "MountainCarContinuous-v0", "walker": "BipedalWalker-v3", "walker-td3": "BipedalWalker-v3",
        "walker-preset": "BipedalWalker-v3"}
ALGOS = {"walker-td3": "td3", "walker-preset": None}  # None: the preset's own, as it trains; the rest: the blog's DDPG
# The RL Baselines3 Zoo's TD3 sizes for the walker, which the package's preset trades for smaller ones.
ZOO_WALKER_SIZES = dict(actor_hidden=(400, 300), critic_state_hidden=400, critic_hidden=(300,), batch_size=256)
# The walker preset's TQC before one-step targets with tau 0.02 (BENCHMARKS.md, "BipedalWalker over several seeds").
TQC_BEFORE = dict(n_step=3, tau=0.005)


class Ours:
    def __init__(self, config, chunk):
        # Episodes capped at `chunk` steps: one call of train_episode is one timed chunk of the real loop.
        cfg = make_config(**{**config.to_dict(), "max_episode_steps": chunk, "warmup_steps": 0, "learning_starts": 0,
                                 "eval_every": 0})
        self.trainer = Trainer(cfg)
        self.threads = cfg.threads or DEFAULT_THREADS

    def run(self, steps):
        torch.set_num_threads(self.threads)  # torch's default where the config leaves it (0)
        self.trainer.apply_torch_settings()  # the run's own, which the other loops here change
        t = self.trainer
        start = t.env_steps
        while t.env_steps - start < steps:
            t.train_episode()
        return t.env_steps - start


class Naive:
    def __init__(self, config, device, threads=None):
        self.impl = NaiveDDPG(make_env(config.env_id), config, device)
        self.threads = threads or DEFAULT_THREADS  # the blog never set it: torch's default

    def run(self, steps):
        torch.set_num_threads(self.threads)
        torch.set_flush_denormal(False)  # torch's default, which the blog kept
        for _ in range(steps):
            self.impl.step()
        return steps


class AtRevision:
    """The package's training loop at git revision `rev`, in a child process that runs one chunk per
    request (`at_revision.py`), so that it interleaves with the others like any implementation here.

    `label` names the commit (`git archive` takes the committed tree: a change not yet committed is
    not in it). `differs` lists the settings the revision has no field for whose values here are
    not today's defaults: the revision ran without them, so a different algorithm ran."""

    def __init__(self, rev: str, config, chunk: int):
        self.rev = rev
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", f"{rev}^{{commit}}"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip()
            archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        except subprocess.CalledProcessError as e:
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else e.stderr or ""
            raise SystemExit(f"--against {rev}: {err.strip() or 'not a commit'}") from None
        self.label = rev if rev == commit else f"{rev} ({commit})"
        self.dir = tempfile.mkdtemp(prefix="bench-at-revision-")
        self._remove = weakref.finalize(self, shutil.rmtree, self.dir, True)  # also on an error or Ctrl-C
        self.child = None
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(self.dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            self.child = subprocess.Popen(
                [sys.executable, str(ROOT / "benchmarks" / "at_revision.py"), self.dir,
                 json.dumps(config.to_dict()), str(chunk)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            dropped = json.loads(self._answer())["dropped"]
        except BaseException:
            self.close()
            raise
        defaults = Config().to_dict()  # in the same form as the values sent (lists, not tuples)
        self.differs = {k: v for k, v in dropped.items() if k in defaults and v != defaults[k]}

    def _answer(self) -> str:
        line = self.child.stdout.readline()
        if not line:
            raise SystemExit(f"--against {self.rev}: its training loop stopped (exit {self.child.wait()})")
        return line

    def run(self, steps):
        self.child.stdin.write(f"{steps}\n")
        self.child.stdin.flush()
        return int(self._answer())

    def close(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.stdin.close()  # the child's loop ends with its input
            try:
                self.child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self._remove()


class SB3:
    """Stable-Baselines3's DDPG (or TD3) with the RL Zoo's tuned settings for the env, as many updates
    per env step as the package's run; for TQC, SB3-Contrib's (SAC-based: no action noise) with the
    same walker settings and TQC's 25 quantiles per critic, 2 dropped. ImportError where not installed."""

    def __init__(self, config, device):
        from stable_baselines3 import DDPG, TD3
        from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

        env = make_env(config.env_id)
        n = env.action_space.shape[0]
        if config.env_id == "MountainCarContinuous-v0":  # zoo: OU noise 0.5, otherwise SB3 defaults
            kwargs = dict(action_noise=OrnsteinUhlenbeckActionNoise(np.zeros(n), 0.5 * np.ones(n)))
        else:  # zoo's BipedalWalker-v3 DDPG and TD3
            kwargs = dict(action_noise=NormalActionNoise(np.zeros(n), 0.1 * np.ones(n)), gamma=0.98,
                          buffer_size=200_000, learning_rate=1e-3, policy_kwargs=dict(net_arch=[400, 300]))
        algo = TD3 if config.algo == "td3" else DDPG
        self.label = f"SB3 {config.algo.upper()} (RL Zoo settings)"
        if config.algo == "tqc":
            from sb3_contrib import TQC

            algo, self.label = TQC, "SB3-Contrib TQC (TD3's Zoo settings, 25 quantiles, 2 dropped)"
            kwargs.pop("action_noise")
            kwargs.update(top_quantiles_to_drop_per_net=2,
                          policy_kwargs=dict(kwargs["policy_kwargs"], n_quantiles=25, n_critics=2))
        self.model = algo("MlpPolicy", env, train_freq=1, gradient_steps=config.updates_per_step, learning_starts=256,
                          seed=0, device=device, verbose=0, **kwargs)
        self.threads = DEFAULT_THREADS

    def run(self, steps):
        torch.set_num_threads(self.threads)
        torch.set_flush_denormal(False)  # torch's default, which SB3 keeps
        self.model.learn(steps, reset_num_timesteps=False)
        return steps


def steps_per_second(impls: dict, chunk: int, repeats: int) -> dict:
    rates = {name: [] for name in impls}
    for impl in impls.values():  # warm-up: fill the memory past one batch, compile or capture, allocate
        impl.run(max(chunk // 2, 300))
    order = list(impls.items())
    for r in range(repeats):
        # The order reverses every round: where the place in a round counts (a process
        # taking the CPU back from the one before it), every implementation gets both ends.
        for name, impl in (order if r % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            n = impl.run(chunk)
            rates[name].append(n / (time.perf_counter() - start))
    return rates


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, all) CPU time of the machine so far, in ticks, from Linux's /proc/stat; None elsewhere.

    Steal is time the hypervisor gave this virtual machine's CPUs to other guests. The interleaved
    chunks share it out on average only: it makes them noisier and the absolute figures lower than
    in a quieter run, so each table says how much there was while it ran.
    """
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    return (ticks[7], sum(ticks)) if len(ticks) == 8 else None


def steal_line(before, after) -> str:
    """The share of CPU time stolen between two `cpu_ticks()` readings, as a line under a table."""
    if before is None or after is None or after[1] <= before[1]:
        return ""
    share = (after[0] - before[0]) / (after[1] - before[1])
    return f"\nCPU steal while this ran (/proc/stat): {share:.1%} of the CPUs' time went to other virtual machines"


def print_steal(since) -> None:
    """The steal line since `since` (a `cpu_ticks()` reading), where there is one."""
    if line := steal_line(since, cpu_ticks()):
        print(line)


def print_rates(title: str, rates: dict, base: str, first_column: str, ratio_column: str, ticks=None) -> None:
    """One markdown table: median and range of each implementation's chunks, and the ratio to `base`;
    under it, the CPU steal since `ticks` (a `cpu_ticks()` reading taken before the chunks ran)."""
    base_median = statistics.median(rates[base])
    print(f"\n## {title}\n")
    print(f"| {first_column} | median steps/s | min - max | {ratio_column} |")
    print("|---|---:|---:|---:|")
    for name, r in rates.items():
        med = statistics.median(r)
        print(f"| {name} | {med:.0f} | {min(r):.0f} - {max(r):.0f} | {med / base_median:.2f}x |")
    print_steal(ticks)
    sys.stdout.flush()


MODES = {"eager": EAGER, "compile": "ddpg_helpers compiled", "graph": "ddpg_helpers graph"}


def graph_check_line(name: str, agent) -> str:
    """What the graph path's check at capture found, as a line under a table ('' off the graph path):
    a row whose graph path fell back to the eager update times the eager update, and must say so."""
    if agent.graph_check is None:
        return ""
    path = agent.update_path()
    if path["graph_fallback"]:
        return f"\nWARNING: {name} fell back to the eager update (the graph path {path['graph_fallback']}): " \
               "its row times the eager update"
    if path["graph_check_max_diff"] is None:
        return ""
    return (f"\n{name}: checked against the eager update at capture, largest difference "
            f"{path['graph_check_max_diff']:.2g} of an update's change (limit {CHECK_TOLERANCE:g})")


def modes_for(device, compiled: bool) -> list[str]:
    """The package's update paths worth timing here: the graph path only on a GPU (on the CPU it is
    the eager step with extra copies), torch.compile unless skipped."""
    return [m for m in MODES if (m != "compile" or compiled) and (m != "graph" or device.type == "cuda")]


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_setup(config, device, n: int):
    """The env, `n` random observations and actions, a memory filled with them, and a new agent."""
    env = make_env(config.env_id)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    rng = np.random.default_rng(0)
    n = max(n, 2 * config.batch_size)
    obs = rng.standard_normal((n, obs_dim)).astype(np.float32)
    actions = rng.uniform(low, high, (n, act_dim)).astype(np.float32)
    memory = ReplayMemory(config.memory_size, obs_dim, act_dim, device)
    for i in range(n):
        memory.push(obs[i], actions[i], float(rng.normal()), obs[(i + 1) % n], False)
    torch.set_num_threads(config.threads or DEFAULT_THREADS)
    torch.manual_seed(config.seed)
    return env, obs, actions, memory, Agent(config, obs_dim, act_dim, low, high, device)


class CountOps(TorchDispatchMode):
    """Counts the ops dispatched below autograd, leaving out views and allocations, which launch no
    kernel: about the kernels a GPU runs for the same calls."""

    SKIP = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "lift_fresh",
            "_record_function_enter_new", "_record_function_exit"}

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        first = func._schema.arguments[0].alias_info if func._schema.arguments else None
        view = first is not None and not first.is_write  # returns an alias of its input: no kernel
        if not view and func.overloadpacket.__name__ not in self.SKIP:
            self.count += 1
        return func(*args, **(kwargs or {}))


def ops_per_update(config, device) -> list[int]:
    """The ops one eager update dispatches, per phase: [critic, actor and targets] for DDPG; TD3 first
    [with the actor], then [critic only] for each update that leaves the actor be."""
    env, _, _, memory, agent = random_setup(make_config(**{**config.to_dict(), "compile": "eager"}), device, 0)
    env.close()
    for _ in range(3):  # Adam's state and the libraries' workspaces exist after the first updates
        agent.learn(memory)
    agent.updates = 0  # the next update moves the actor
    counts = []
    for _ in range(config.policy_delay if config.algo in ("td3", "tqc") else 1):
        with CountOps() as ops:
            agent.learn(memory)
        counts.append(ops.count)
    return counts


def time_calls(config, device, calls: int, first: int = 50) -> dict:
    """Seconds of the first `first` updates, then ms per `learn`, `act` and `push` call, and per
    act-push-learn step, each timed in a loop of `calls` with one sync at its end (random
    transitions), and per env step."""
    env, obs, actions, memory, agent = random_setup(config, device, calls)
    row = {}

    def timed(call) -> float:
        sync(device)
        start = time.perf_counter()
        for i in range(calls):
            call(i)
        sync(device)
        return (time.perf_counter() - start) / calls * 1000

    sync(device)
    start = time.perf_counter()
    for _ in range(first):
        agent.learn(memory)
    sync(device)
    row["first"] = time.perf_counter() - start
    row["learn"] = timed(lambda i: agent.learn(memory))
    agent.act(obs[0])
    row["act"] = timed(lambda i: agent.act(obs[i]))
    row["push"] = timed(lambda i: memory.push(obs[i], actions[i], 0.0, obs[i], False))

    def step(i):  # the three as the training loop calls them: acting overlaps the updates in flight
        agent.act(obs[i])
        memory.push(obs[i], actions[i], 0.0, obs[i], False)
        for _ in range(config.updates_per_step):
            agent.learn(memory)

    row["step"] = timed(step)
    row["check"] = graph_check_line(MODES[agent.mode if agent.graph_check is None else "graph"], agent)

    def env_step(i):
        _, _, terminated, truncated, _ = env.step(actions[i])
        if terminated or truncated:
            env.reset()

    env.reset(seed=0)
    row["env"] = timed(env_step)
    env.close()
    return row


def print_calls(config, device, calls: int, compiled: bool) -> None:
    """Where a step's time goes, per update path: one markdown table."""
    rows = {MODES[m]: time_calls(make_config(**{**config.to_dict(), "compile": m}), device, calls)
            for m in modes_for(device, compiled)}
    env_ms = statistics.median(r["env"] for r in rows.values())
    ops = ops_per_update(config, device)
    phases = f"{ops[0]} with the actor, {' and '.join(map(str, ops[1:]))} without" if len(ops) > 1 else f"{ops[0]}"
    print(f"\n## {config.env_id}, {config.algo.upper()}, {updates(config)}: the parts of a step, ms per call "
          f"({calls} calls, one sync at the end); env step {env_ms:.3f} ms; ops (~ GPU kernels) per update: {phases}\n")
    learns = "learn" if config.updates_per_step == 1 else f"{config.updates_per_step} learns"
    print(f"| update path | first 50 updates (s) | learn | act | push | act, push, {learns} |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['first']:.2f} | {r['learn']:.3f} | {r['act']:.3f} | {r['push']:.3f} | {r['step']:.3f} |")
    if checks := "".join(r["check"] for r in rows.values()):
        print(checks)
    sys.stdout.flush()


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


def updates(config) -> str:
    """The update schedule as a table title says it."""
    per_step = "one update" if config.updates_per_step == 1 else f"{config.updates_per_step} updates"
    extras = [f"{config.n_step}-step returns"] * (config.n_step > 1) + ["LayerNorm critic"] * config.critic_layer_norm
    return ", ".join([f"{per_step} per step", *extras])


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


def machine(device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.type == "cuda" else ""
    return f"{cpu} ({torch.get_num_threads()} threads available{gpu}), torch {torch.__version__}"


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
