"""Where a step's time goes, for `bench.py --calls N`: per update path of the package, the first
updates (where torch.compile compiles and the graph path captures), then `agent.learn`, `agent.act`
and `memory.push` alone and the three as the loop calls them (no env), each in a loop of N calls with
one GPU sync at its end, and the env's own step; and the ops (about the GPU kernels) one update
dispatches.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loops import DEFAULT_THREADS, EAGER  # noqa: E402
from ddpg_helpers import Agent, ReplayMemory, make_config, make_env  # noqa: E402
from ddpg_helpers.graphed import CHECK_TOLERANCE  # noqa: E402

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


def updates(config) -> str:
    """The update schedule as a table title says it."""
    per_step = "one update" if config.updates_per_step == 1 else f"{config.updates_per_step} updates"
    extras = [f"{config.n_step}-step returns"] * (config.n_step > 1) + ["LayerNorm critic"] * config.critic_layer_norm
    return ", ".join([f"{per_step} per step", *extras])
