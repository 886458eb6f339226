"""The graph path (compile='graph'): the same update as `Agent.update`, replayed from a CUDA graph.

On the CPU nothing is captured, but everything around the capture runs: the step drawn from the
memory's device-side size, the host actor and its lag, the TD3 schedule, the warm-up's undo,
checkpoints across paths, the check at capture and the fall-back to the eager update (forced by
replacing the graph's replay or its capture). The tests marked `cuda` check the captured graph itself.
"""

import copy
import dataclasses
import io
import json
import time

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ddpg_helpers import Agent, Config, ReplayMemory
from ddpg_helpers.agent import load_optimizer_state, update_mode
from ddpg_helpers.graphed import CHECK_ROUNDS, CHECK_TOLERANCE, GraphedUpdate, _Snapshot
from ddpg_helpers.memory import Batch

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
OBS, ACT = 2, 1


def make_agent(mode, device="cpu", obs_dim=OBS, act_dim=ACT, **kw):
    torch.manual_seed(0)
    return Agent(Config(compile=mode, **kw), obs_dim, act_dim, [-1.0] * act_dim, [1.0] * act_dim, device=device)


def filled_memory(n=300, device="cpu", obs_dim=OBS, act_dim=ACT, capacity=1000, n_step=1):
    memory = ReplayMemory(capacity, obs_dim, act_dim, device=device)
    rng = np.random.default_rng(0)
    for _ in range(n):
        memory.push(rng.normal(size=obs_dim), rng.uniform(-1, 1, act_dim), rng.normal(), rng.normal(size=obs_dim),
                    rng.random() < 0.1, int(rng.integers(1, n_step + 1)) if n_step > 1 else 1)
    return memory


def net_params(agent):
    return {f"{name}.{i}": p for name, m in agent.modules().items() if not name.endswith("_opt")
            for i, p in enumerate(m.parameters())}


def assert_same_nets(a, b, **tol):
    mine, theirs = net_params(a), net_params(b)
    assert mine.keys() == theirs.keys()
    for key in mine:
        torch.testing.assert_close(mine[key].cpu(), theirs[key].cpu(), msg=key, **tol)


def test_compile_values_name_one_path_per_device():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert update_mode("auto", cpu) == "eager" and update_mode("auto", gpu) == "graph"
    assert [update_mode(v, cpu) for v in ("graph", "compile", "eager")] == ["graph", "compile", "eager"]
    assert update_mode("on", gpu) == "compile" and update_mode("off", gpu) == "eager"  # older checkpoints' values
    with pytest.raises(ValueError):
        update_mode("fast", cpu)


# The walker preset's additions to the update: n-step targets (a `steps` column), a LayerNorm critic,
# the actor's pre-activation penalty.
WALKER_EXTRAS = dict(n_step=3, critic_layer_norm=True, actor_preact_l2=1e-3)


@pytest.mark.parametrize("algo, extras", [("ddpg", {}), ("td3", {}), ("td3", WALKER_EXTRAS), ("tqc", WALKER_EXTRAS)],
                         ids=["ddpg", "td3", "td3-walker-extras", "tqc-walker-extras"])
def test_graph_step_run_on_the_cpu_equals_update(algo, extras):
    """The function the graph captures (draw, update step, gather of the actor), run eagerly,
    learns exactly what `update` learns from the same draws."""
    fast, eager = make_agent("graph", algo=algo, **extras), make_agent("eager", algo=algo, **extras)
    assert fast.mode == "graph" and eager.mode == "eager"
    memory = filled_memory(n_step=extras.get("n_step", 1))
    for seed in range(6):
        torch.manual_seed(seed)
        critic_fast, actor_fast = fast.learn(memory)
        torch.manual_seed(seed)
        critic_eager, actor_eager = eager.update(memory.draw(128))
        torch.testing.assert_close(critic_fast, critic_eager, rtol=0, atol=0)
        assert (actor_fast is None) == (actor_eager is None)
        if actor_fast is not None:
            torch.testing.assert_close(actor_fast, actor_eager, rtol=0, atol=0)
    assert fast.updates == eager.updates == 6
    assert_same_nets(fast, eager, rtol=0, atol=0)


def test_td3_delay_schedule_is_the_same_on_both_paths():
    memory = filled_memory()
    moved = {}
    for mode in ("graph", "eager"):
        agent = make_agent(mode, algo="td3", policy_delay=3)
        moved[mode] = [agent.learn(memory)[1] is not None for _ in range(8)]
    assert moved["graph"] == moved["eager"] == [True, False, False, True, False, False, True, False]


def test_update_on_a_given_batch_works_in_graph_mode_too():
    fast, eager = make_agent("graph"), make_agent("eager")
    g = torch.Generator().manual_seed(0)
    batch = Batch(torch.randn(64, OBS, generator=g), torch.rand(64, ACT, generator=g) * 2 - 1,
                  torch.randn(64, 1, generator=g), torch.randn(64, OBS, generator=g), torch.zeros(64, 1))
    for _ in range(3):
        fast.update(batch)
        eager.update(batch)
    assert_same_nets(fast, eager, rtol=0, atol=0)
    obs = np.array([0.3, -0.01], dtype=np.float32)
    fast.act(obs)  # the act right after an update lags by one; the next one is current
    np.testing.assert_allclose(fast.act(obs), eager.act(obs), rtol=1e-6)


def test_the_host_actor_lags_the_learner_by_exactly_one_update():
    agent, memory = make_agent("graph"), filled_memory()
    obs = torch.tensor([[-0.5, 0.02], [0.1, -0.03]])

    def actions(actor):
        with torch.no_grad():
            return actor(obs).numpy()

    np.testing.assert_allclose(agent.act(obs.numpy()), actions(agent.actor))  # in sync at the start
    history = [copy.deepcopy(agent.actor)]
    for _ in range(4):
        agent.learn(memory)
        history.append(copy.deepcopy(agent.actor))
        # An act after an update uses the actor from before it ...
        np.testing.assert_allclose(agent.act(obs.numpy()), actions(history[-2]), rtol=1e-6)
        assert not np.allclose(actions(history[-2]), actions(history[-1]))
    # ... and an act with no update since the last one catches up (an evaluation acts with the actor as it is).
    np.testing.assert_allclose(agent.act(obs.numpy()), actions(history[-1]), rtol=1e-6)
    # Two updates between acts: the actor from one update ago, not two.
    agent.learn(memory)
    one_ago = copy.deepcopy(agent.actor)
    agent.learn(memory)
    np.testing.assert_allclose(agent.act(obs.numpy()), actions(one_ago), rtol=1e-6)
    agent.learn(memory)
    agent.sync_actor()  # no lag after a sync
    np.testing.assert_allclose(agent.act(obs.numpy()), actions(agent.actor), rtol=1e-6)


def test_the_host_actor_sees_weights_changed_outside_an_update():
    agent = make_agent("graph")
    torch.manual_seed(1)
    other = Agent(Config(compile="graph"), OBS, ACT, [-1.0], [1.0])  # other weights
    obs = np.array([0.2, 0.01], dtype=np.float32)
    agent.act(obs)
    with torch.no_grad():
        agent.actor.out.bias.fill_(40.0)  # an experiment by hand: every action at the bound
    assert agent.act(obs)[0] == pytest.approx(1.0)
    agent.load_state_dict(other.state_dict())
    np.testing.assert_allclose(agent.act(obs), other.act(obs), rtol=1e-6)


def test_undoing_the_warm_up_leaves_a_fresh_agent():
    """Before capture, warm-up updates create Adam's state; restoring the snapshot must leave an
    agent that learns exactly as one that never ran them."""
    for algo in ("ddpg", "td3"):
        fresh, warmed = make_agent("graph", algo=algo), make_agent("graph", algo=algo)
        memory = filled_memory()
        saved = _Snapshot(warmed)
        for update_actor in (True, False):
            for _ in range(3):
                warmed._graphed._run(memory, update_actor)
        saved.restore()
        assert warmed.actor_opt.state and not fresh.actor_opt.state
        for seed in range(3):
            for agent in (fresh, warmed):
                torch.manual_seed(seed)
                agent.learn(memory)
        assert_same_nets(fresh, warmed, rtol=0, atol=0)


def test_undo_restores_a_trained_state():
    agent, memory = make_agent("graph", algo="td3"), filled_memory()
    for _ in range(3):
        agent.learn(memory)
    before = copy.deepcopy(agent.state_dict())
    saved = _Snapshot(agent)
    for _ in range(3):
        agent._graphed._run(memory, True)
    saved.restore()
    after = agent.state_dict()
    for name in ("actor", "critic", "critic2", "critic_target"):
        for k in before[name]:
            torch.testing.assert_close(after[name][k], before[name][k], rtol=0, atol=0)
    for name in ("actor_opt", "critic_opt"):
        for i, state in before[name]["state"].items():
            for k, v in state.items():
                torch.testing.assert_close(after[name]["state"][i][k], v, rtol=0, atol=0)


@pytest.mark.parametrize(("saver", "loader"), [("graph", "eager"), ("eager", "graph"), ("graph", "graph")])
def test_checkpoints_load_across_paths(saver, loader):
    memory = filled_memory()
    source = make_agent(saver, algo="td3")
    for _ in range(3):
        source.learn(memory)
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, map_location="cpu", weights_only=True)
    target = make_agent(loader, algo="td3", seed=5)
    target.learn(memory)  # its own optimiser state exists (on a GPU: its graph is captured) before the load
    opt_tensors = [v for s in target.critic_opt.state.values() for v in s.values()]
    target.load_state_dict(state)
    assert target.updates == source.updates == 3
    loaded = [v for s in target.critic_opt.state.values() for v in s.values()]
    assert len(loaded) == len(opt_tensors) and all(a is b for a, b in zip(loaded, opt_tensors))  # loaded in place
    assert_same_nets(source, target, rtol=0, atol=0)
    for seed in (7, 8):
        for agent in (source, target):
            torch.manual_seed(seed)
            agent.update(memory.draw(128))  # the same next steps: the optimiser state came along
    assert_same_nets(source, target, rtol=0, atol=0)


def test_optimizer_state_from_another_implementation_keeps_this_ones_switches():
    """A state saved by a capturable (GPU graph) or foreach (compiled) Adam loads into a fused one
    and back, each keeping its own implementation and its `step` where it expects it."""
    params = [torch.nn.Parameter(torch.randn(3, 2))]
    fused = torch.optim.Adam(params, lr=1e-3, fused=True)
    params[0].grad = torch.randn(3, 2)
    fused.step()
    saved = copy.deepcopy(fused.state_dict())
    saved["param_groups"][0].update(capturable=True, fused=True)
    foreach = torch.optim.Adam(params, lr=1e-3, foreach=True)
    load_optimizer_state(foreach, saved)
    group = foreach.param_groups[0]
    assert group["foreach"] and not group["fused"] and not group["capturable"]
    assert foreach.state[params[0]]["step"].device.type == "cpu" and foreach.state[params[0]]["step"].item() == 1
    foreach.step()  # runs: a capturable flag taken over from the file would refuse CPU parameters
    back = torch.optim.Adam(params, lr=1e-3, fused=True)
    load_optimizer_state(back, foreach.state_dict())
    assert back.param_groups[0]["fused"] and not back.param_groups[0]["foreach"]
    assert back.state[params[0]]["step"].dtype == torch.float32


# --- on a GPU: the captured graph itself -------------------------------------------------------

def fixed_batch_draw(memory, n=128, seed=0):
    """A `draw` that always returns the same rows (indices fixed on the device), for comparisons
    where the graph's random draws cannot match eager ones."""
    idx = torch.randint(0, len(memory), (n,), generator=torch.Generator().manual_seed(seed)).to(memory.device)
    return lambda batch_size: memory.split(memory.data.index_select(0, idx))


@cuda
@pytest.mark.parametrize("algo, extras", [("ddpg", {}), ("td3", {}), ("td3", WALKER_EXTRAS), ("tqc", WALKER_EXTRAS)],
                         ids=["ddpg", "td3", "td3-walker-extras", "tqc-walker-extras"])
def test_captured_graph_matches_eager_on_gpu(algo, extras):
    memory = filled_memory(device="cuda", n_step=extras.get("n_step", 1))
    memory.draw = fixed_batch_draw(memory)
    fast = make_agent("graph", "cuda", algo=algo, policy_noise=0.0, **extras)
    eager = make_agent("eager", "cuda", algo=algo, policy_noise=0.0, **extras)
    assert fast.actor_opt.param_groups[0]["capturable"]
    for _ in range(7):
        critic_fast, actor_fast = fast.learn(memory)
        critic_eager, actor_eager = eager.update(memory.draw(128))
        torch.testing.assert_close(critic_fast, critic_eager, rtol=1e-4, atol=1e-6)
        assert (actor_fast is None) == (actor_eager is None)
    assert len(fast._graphed.graphs) == (1 if algo == "ddpg" else 2)
    assert_same_nets(fast, eager, rtol=1e-4, atol=1e-5)
    obs = np.array([[-0.5, 0.02], [0.1, -0.03]], dtype=np.float32)
    fast.act(obs)
    np.testing.assert_allclose(fast.act(obs), eager.act(obs), rtol=1e-4, atol=1e-5)


@cuda
def test_a_captured_draw_follows_the_memory_as_it_fills():
    memory = ReplayMemory(1000, OBS, ACT, device="cuda")
    for i in range(1, 6):
        memory.push(np.zeros(OBS), np.zeros(ACT), float(i), np.zeros(OBS), False)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up before capture, as the PyTorch notes advise
        memory.draw(4096)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        batch = memory.draw(4096)
    graph.replay()
    assert set(batch.reward.flatten().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    for i in range(6, 11):
        memory.push(np.zeros(OBS), np.zeros(ACT), float(i), np.zeros(OBS), False)
    graph.replay()  # no recapture: the graph reads the size on the device
    assert set(batch.reward.flatten().tolist()) == {float(i) for i in range(1, 11)}


@cuda
def test_resume_round_trip_on_gpu():
    memory = filled_memory(device="cuda")
    memory.draw = fixed_batch_draw(memory)
    source = make_agent("graph", "cuda", algo="td3", policy_noise=0.0)
    for _ in range(5):
        source.learn(memory)
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, map_location="cpu", weights_only=True)  # as checkpoint.load does
    on_cpu = make_agent("eager", algo="td3", policy_noise=0.0)
    on_cpu.load_state_dict(state)
    assert_same_nets(source, on_cpu, rtol=0, atol=0)
    resumed = make_agent("graph", "cuda", algo="td3", policy_noise=0.0, seed=3)
    resumed.learn(memory)  # captured before the load: the graph must see the loaded weights
    resumed.load_state_dict(state)
    eager = make_agent("eager", "cuda", algo="td3", policy_noise=0.0, seed=4)
    eager.load_state_dict(state)
    assert resumed.updates == eager.updates == 5
    for _ in range(4):
        resumed.learn(memory)
        eager.update(memory.draw(128))
    assert_same_nets(resumed, eager, rtol=1e-4, atol=1e-5)


class HostReads(TorchDispatchMode):
    """The ops that read a tensor's values on the host, or make a tensor from the host's numbers.

    On a GPU each of them waits for the device or copies from pageable memory, which a CUDA graph
    cannot record: its capture fails (or records the number as a constant). The CPU runs the same
    ops, so a step that would break the capture shows here, without a GPU.
    """

    READS = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique", "_unique2",
             "unique_consecutive", "unique_dim", "lift_fresh", "lift_fresh_copy"}

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        bool_index = name == "index" and any(t is not None and t.dtype == torch.bool for t in args[1])
        if name in self.READS or bool_index:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def test_the_host_read_detector_sees_host_reads():
    x = torch.randn(8)
    with HostReads() as reads:
        float(x.sum())
        x[x > 0].sum()
        torch.tensor([1.0, 2.0])
        (x * 2).clamp(-1, 1)  # computations alone read nothing
    assert reads.seen == ["_local_scalar_dense", "index", "lift_fresh"]


@pytest.mark.parametrize("algo, extras", [("ddpg", {}), ("td3", {}), ("td3", WALKER_EXTRAS)],
                         ids=["ddpg", "td3", "td3-walker-extras"])
def test_the_captured_step_reads_nothing_on_the_host(algo, extras):
    """What the graph records (the draw, the update, the gather of the actor), in each TD3 phase,
    neither reads a value back nor makes a tensor from the host's numbers."""
    agent, memory = make_agent("graph", algo=algo, **extras), filled_memory(n_step=extras.get("n_step", 1))
    graphed = agent._graphed
    for update_actor in (True, False):
        graphed._run(memory, update_actor)  # the warm-up: Adam's state is created outside the graph
        with HostReads() as reads:
            graphed._run(memory, update_actor)
        assert reads.seen == [], f"update_actor={update_actor}: {reads.seen}"


@cuda
def test_no_host_sync_per_update():
    """Push and learn only enqueue work: with the GPU held busy, 20 of them return before it is free."""
    memory = filled_memory(device="cuda")
    agent = make_agent("graph", "cuda", algo="td3")
    agent.learn(memory)  # capture
    rng = np.random.default_rng(1)
    torch.cuda.synchronize()
    torch.cuda._sleep(2_000_000_000)  # about a second of GPU clock cycles
    start = time.perf_counter()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(20):
            memory.push(rng.normal(size=OBS), rng.uniform(-1, 1, ACT), 0.0, rng.normal(size=OBS), False)
            agent.learn(memory)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    busy = not torch.cuda.current_stream().query()
    elapsed = time.perf_counter() - start
    torch.cuda.synchronize()
    assert busy, f"the GPU was idle after 20 updates ({elapsed * 1000:.1f} ms): something waited for it"


@cuda
def test_capture_takes_under_five_seconds():
    torch.zeros(1, device="cuda").sum().item()  # the CUDA context, which any GPU run pays once
    for algo in ("ddpg", "td3"):
        memory = filled_memory(device="cuda", obs_dim=24, act_dim=4)
        extras = WALKER_EXTRAS if algo == "td3" else {}  # the walker preset's TD3 update as it trains
        agent = make_agent("graph", "cuda", obs_dim=24, act_dim=4, algo=algo, actor_hidden=(256, 256),
                           critic_state_hidden=256, critic_hidden=(256,), **extras)
        start = time.perf_counter()
        agent.learn(memory)
        torch.cuda.synchronize()
        assert time.perf_counter() - start < 5.0, f"{algo}: first update took {time.perf_counter() - start:.1f} s"
        assert agent._graphed.capture_seconds < 5.0


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_the_training_loop_runs_on_the_graph_path(device):
    """The trainer's loop (act, push, learn, losses added on the device) on the graph path, which
    compile='auto' picks on a GPU."""
    from ddpg_helpers import Trainer

    trainer = Trainer(Config(algo="td3", episodes=1, max_episode_steps=300, batch_size=64, eval_every=0,
                             record_final=False, device=device, compile="auto" if device == "cuda" else "graph"))
    assert trainer.agent.mode == "graph"
    trainer.train_episode()
    assert trainer.agent.updates == trainer.env_steps - 63  # one per step once the memory holds a batch
    assert len(trainer.agent._graphed.graphs) == (2 if device == "cuda" else 0)
    assert np.isfinite(trainer.history["critic_loss"][0]) and np.isfinite(trainer.history["actor_loss"][0])


# --- the check at capture, and the fall-back to the eager update --------------------------------
# On the CPU the graph's stand-in is the uncaptured step, so a check there passes with a difference
# of exactly 0; the faults below are injected by replacing the stand-in's replay or the capture.

ALGOS = [("ddpg", {}), ("td3", {}), ("td3", WALKER_EXTRAS), ("tqc", WALKER_EXTRAS)]
ALGO_IDS = ["ddpg", "td3", "td3-walker-extras", "tqc-walker-extras"]
REAL_REPLAY, REAL_CAPTURE = GraphedUpdate._replay, GraphedUpdate._capture


def replay_losing_the_target_update(self, memory, update_actor):
    """A replay that leaves the targets where they were (as a graph writing to stale copies would):
    each target should have moved by tau of an update, 1e-6 of a weight or less."""
    targets = [p.clone() for p in self.agent._target_params]
    losses = REAL_REPLAY(self, memory, update_actor)
    with torch.no_grad():
        torch._foreach_copy_(self.agent._target_params, targets)
    return losses


def replay_one_ulp_off(self, memory, update_actor):
    """A replay whose critic weights come out one float32 step above the eager update's: rounding."""
    losses = REAL_REPLAY(self, memory, update_actor)
    with torch.no_grad():
        for p in self.agent.critic.parameters():
            p.copy_(torch.nextafter(p, torch.full_like(p, float("inf"))))
    return losses


def capture_raising(self, memory):
    """A capture that fails after its warm-up updates: what it changed must be undone all the same."""
    REAL_CAPTURE(self, memory)
    raise RuntimeError("operation not permitted when stream is capturing\n(a second line the report leaves out)")


FAULTS = {"difference": ("_replay", replay_losing_the_target_update), "capture error": ("_capture", capture_raising)}


def report_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "issue tracker" in line]


@pytest.mark.parametrize("algo, extras", ALGOS, ids=ALGO_IDS)
def test_the_check_passes_on_a_correct_step(algo, extras, monkeypatch, capsys):
    """Each phase is replayed and run eagerly CHECK_ROUNDS times; on the CPU they agree exactly."""
    calls = {"_replay": 0, "_eager": 0}

    def counted(name, real):
        def call(self, *args):
            calls[name] += 1
            return real(self, *args)
        return call

    for name in calls:
        monkeypatch.setattr(GraphedUpdate, name, counted(name, getattr(GraphedUpdate, name)))
    agent, memory = make_agent("graph", algo=algo, **extras), filled_memory(n_step=extras.get("n_step", 1))
    agent.learn(memory)
    phases = 1 if algo == "ddpg" else 2
    assert calls == {"_replay": phases * CHECK_ROUNDS + 1, "_eager": phases * CHECK_ROUNDS}  # + the update itself
    assert agent.mode == "graph" and agent.graph_check.max_diff == 0.0 and agent.graph_check.fallback is None
    assert agent.update_path() == {"update_path": "graph", "graph_check_max_diff": 0.0, "graph_fallback": None}
    assert capsys.readouterr().err == ""


def test_the_check_lets_rounding_pass(monkeypatch, capsys):
    monkeypatch.setattr(GraphedUpdate, "_replay", replay_one_ulp_off)
    agent = make_agent("graph", algo="td3", **WALKER_EXTRAS)
    agent.learn(filled_memory(n_step=3))
    assert agent.mode == "graph" and 0 < agent.graph_check.max_diff < CHECK_TOLERANCE / 10
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("algo, extras", ALGOS, ids=ALGO_IDS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_failed_check_or_capture_hands_the_agent_to_the_eager_update(fault, algo, extras, monkeypatch, capsys):
    """One line says why and where to report it; the agent then learns exactly as an eager one:
    the capture and the check left no update and no random number behind."""
    monkeypatch.setattr(GraphedUpdate, *FAULTS[fault])
    agent, eager = make_agent("graph", algo=algo, **extras), make_agent("eager", algo=algo, **extras)
    memory = filled_memory(n_step=extras.get("n_step", 1))
    for seed in range(4):
        for a in (agent, eager):
            torch.manual_seed(seed)
            a.learn(memory)
    assert agent.mode == "eager" and agent._graphed is None
    assert all(not g["capturable"] for opt in agent.optimisers().values() for g in opt.param_groups)
    assert_same_nets(agent, eager, rtol=0, atol=0)
    obs = np.array([0.3, -0.01], dtype=np.float32)
    np.testing.assert_array_equal(agent.act(obs), eager.act(obs))  # no host copy one update behind any more
    lines = report_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "eager update" in lines[0] and "Please report it" in lines[0]
    if fault == "difference":
        assert agent.graph_check.max_diff > CHECK_TOLERANCE and "target" in agent.graph_check.fallback
    else:
        assert agent.graph_check.max_diff is None
        assert agent.graph_check.fallback == ("could not be captured (RuntimeError: operation not permitted when "
                                              "stream is capturing)")
    assert agent.graph_check.fallback in lines[0]


def tiny_run(config, out, compile):
    """A run of `config` on the CPU, where the graph's stand-in is the eager step: its summary and checkpoint."""
    from ddpg_helpers import train

    train(dataclasses.replace(config, compile=compile, device="cpu"), out=out, progress=False)
    return json.loads((out / "summary.json").read_text()), torch.load(out / "checkpoint.pt", weights_only=False)


@pytest.mark.parametrize("fault", [None, *FAULTS])
def test_training_goes_on_after_the_check_and_the_summary_says_on_which_path(fault, tiny_config, tmp_path,
                                                                            monkeypatch, capsys):
    """The trainer's loop on MountainCar with compile='graph': with a sound step it trains on the
    graph path; after an injected difference or capture error, on the eager path, learning exactly
    what a run with compile='eager' from the same seed learns."""
    if fault is not None:
        monkeypatch.setattr(GraphedUpdate, *FAULTS[fault])
    summary, state = tiny_run(tiny_config, tmp_path / "graph", "graph")
    assert summary["env_steps"] == 200 and np.isfinite(summary["final_eval_mean"])
    if fault is None:
        assert summary["update_path"] == "graph" and summary["graph_check_max_diff"] == 0.0
        assert summary["graph_fallback"] is None and report_lines(capsys.readouterr().err) == []
        return
    assert summary["update_path"] == "eager" and summary["graph_fallback"]
    assert (summary["graph_check_max_diff"] > CHECK_TOLERANCE) if fault == "difference" else \
        summary["graph_check_max_diff"] is None
    assert len(report_lines(capsys.readouterr().err)) == 1
    monkeypatch.undo()
    eager_summary, eager_state = tiny_run(tiny_config, tmp_path / "eager", "eager")
    assert eager_summary["update_path"] == "eager" and eager_summary["graph_fallback"] is None
    assert state["updates"] == eager_state["updates"] == 200 - 127
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for key, value in eager_state[name].items():
            torch.testing.assert_close(state[name][key], value, rtol=0, atol=0, msg=f"{name}.{key}")
    assert summary["final_eval_mean"] == eager_summary["final_eval_mean"]


@cuda
@pytest.mark.parametrize("algo, extras", ALGOS, ids=ALGO_IDS)
def test_the_check_passes_on_the_gpu(algo, extras, capsys):
    agent = make_agent("graph", "cuda", algo=algo, **extras)
    agent.learn(filled_memory(device="cuda", n_step=extras.get("n_step", 1)))
    assert report_lines(capsys.readouterr().err) == []
    assert agent.mode == "graph" and len(agent._graphed.graphs) == (1 if algo == "ddpg" else 2)
    assert agent.graph_check.max_diff <= CHECK_TOLERANCE, agent.graph_check


@cuda
@pytest.mark.parametrize("fault", FAULTS)
def test_a_failed_check_or_capture_on_the_gpu_goes_on_eagerly(fault, monkeypatch, capsys):
    monkeypatch.setattr(GraphedUpdate, *FAULTS[fault])
    agent, eager = make_agent("graph", "cuda", algo="td3"), make_agent("eager", "cuda", algo="td3")
    memory = filled_memory(device="cuda")
    for seed in range(4):
        for a in (agent, eager):
            torch.manual_seed(seed)
            a.learn(memory)
    assert agent.mode == "eager" and len(report_lines(capsys.readouterr().err)) == 1
    assert_same_nets(agent, eager, rtol=1e-5, atol=1e-6)
