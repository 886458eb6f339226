"""The trainer's schedules: the best nets a run keeps, the confirmation before a run counts as solved,
stopping on request, and what the summary says."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import ddpg_helpers.trainer as trainer_module
from ddpg_helpers import Config, Run, load_agent, train
from ddpg_helpers.errors import DDPGError
from ddpg_helpers.rollouts import Interrupted
from ddpg_helpers.run import BEST
from ddpg_helpers.trainer import CONFIRM_SEED_OFFSET, KEEP_SEED_OFFSET, Trainer


def scripted_evaluations(monkeypatch, means_by_seed: dict[int, list[float]]):
    """Make every evaluation return the next scripted mean for its first env seed; returns the calls made."""
    calls = []

    def fake_evaluate(agent, env, episodes, seed, max_steps=None, should_stop=None):
        calls.append((seed, episodes))
        return [means_by_seed[seed].pop(0)] * episodes

    monkeypatch.setattr(trainer_module, "evaluate", fake_evaluate)
    return calls


def same_nets(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_whose_last_evaluation_is_worse_keeps_the_earlier_nets(tmp_path, tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=3, eval_every=1, snapshot_every=1)
    scripted_evaluations(monkeypatch, {config.eval_seed: [1.0, 5.0, 2.0]})
    result = train(config, tmp_path / "run", progress=False)
    s = result.summary
    assert (s["best_eval_mean"], s["best_episode"], s["final_eval_mean"]) == (5.0, 2, 2.0)
    run = Run(tmp_path / "run")
    best_agent, _, best_payload = load_agent(run.path, best=True)
    at_episode_2 = torch.load(run.snapshot_dir / "episode_0002.pt", weights_only=True)
    assert best_payload["episode"] == 2 and best_payload["best"]["mean"] == 5.0
    assert same_nets(best_agent.actor.state_dict(), at_episode_2["actor"])
    last_agent, _, _ = load_agent(run.path)
    assert not same_nets(last_agent.actor.state_dict(), at_episode_2["actor"])  # the run went on past its best


def test_nets_that_beat_the_kept_ones_on_a_few_episodes_are_kept_only_if_more_episodes_agree(
        tmp_path, tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=5, eval_every=1, snapshot_every=1, keep_episodes=7)
    keep_seed = config.eval_seed + KEEP_SEED_OFFSET
    calls = scripted_evaluations(monkeypatch, {config.eval_seed: [1.0, 5.0, 4.0, 3.0, 6.0],
                                               keep_seed: [1.0, 2.0, 3.5, 3.0]})
    s = train(config, tmp_path / "run", progress=False).summary
    # Episode 2 scored 5 on its evaluation but 2 on the longer look; episode 3's 4 held up better (3.5).
    # Episode 4 (3) did not beat 3.5, so it had no longer look; episode 5 (6) fell to 3 on it.
    assert (s["best_episode"], s["best_eval_mean"], s["best_keep_mean"], s["keep_episodes"]) == (3, 4.0, 3.5, 7)
    assert [seed for seed, _ in calls].count(keep_seed) == 4 and (keep_seed, 7) in calls
    best_agent, _, _ = load_agent(tmp_path / "run", best=True)
    at_episode_3 = torch.load(Run(tmp_path / "run").snapshot_dir / "episode_0003.pt", weights_only=True)
    assert same_nets(best_agent.actor.state_dict(), at_episode_3["actor"])


def test_evaluations_below_keep_from_are_ranked_without_the_longer_look(tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=3, eval_every=1, keep_episodes=4, keep_from=50.0)
    keep_seed = config.eval_seed + KEEP_SEED_OFFSET
    calls = scripted_evaluations(monkeypatch, {config.eval_seed: [10.0, 60.0, 70.0], keep_seed: [55.0, 40.0]})
    t = Trainer(config)
    t.run_episodes(progress=False)
    # 10: below keep_from, kept on its own mean; 60: looked at (55), kept; 70: looked at (40), not kept.
    assert calls == [(config.eval_seed, 1), (config.eval_seed, 1), (keep_seed, 4), (config.eval_seed, 1),
                     (keep_seed, 4)]
    assert t.best["episode"] == 2 and t.best["keep_mean"] == 55.0 and "keep_mean" not in t.history["evals"][0]


def test_without_a_longer_look_the_evaluation_alone_ranks_the_nets(tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=3, eval_every=1, keep_episodes=0)
    calls = scripted_evaluations(monkeypatch, {config.eval_seed: [1.0, 5.0, 4.0]})
    s = train(config, None, progress=False).summary
    assert (s["best_episode"], s["best_keep_mean"]) == (2, None)
    assert {seed for seed, _ in calls} == {config.eval_seed}


def test_new_best_nets_get_a_checkpoint_at_once_so_a_resumed_run_ranks_against_them(
        tmp_path, tiny_config, monkeypatch):
    from ddpg_helpers import resume

    # No scheduled checkpoints: only the new bests at episodes 2 and 3 write one.
    config = dataclasses.replace(tiny_config, episodes=4, eval_every=1, checkpoint_every=0, keep_episodes=3)
    keep_seed = config.eval_seed + KEEP_SEED_OFFSET
    scripted_evaluations(monkeypatch, {config.eval_seed: [1.0, 5.0, 6.0, 2.0], keep_seed: [1.0, 4.0, 5.5]})
    trainer = Trainer(config)
    run = Run(tmp_path / "run").prepare()
    with pytest.raises(Interrupted):  # killed after episode 4's evaluation (not a new best), before any save
        trainer.run_episodes(run, progress=False, callback=lambda t: t.episode == 4 and (_ for _ in ()).throw(
            Interrupted("killed")))
    saved = torch.load(run.checkpoint, weights_only=True)
    assert saved["episode"] == 3 and saved["best"]["episode"] == 3 and saved["best"]["keep_mean"] == 5.5
    assert torch.load(run.path / BEST, weights_only=True)["best"] == saved["best"]
    # Resumed, the run knows its kept nets: episode 4 again (7 on its evaluation, 5.0 on a longer look
    # of 5 episodes: below 5.5) does not replace them, and the summary gives their own longer look's length.
    calls = scripted_evaluations(monkeypatch, {config.eval_seed: [7.0], keep_seed: [5.0]})
    s = resume(run.path, progress=False, keep_episodes=5).summary
    assert (keep_seed, 5) in calls
    assert (s["best_episode"], s["best_keep_mean"], s["keep_episodes"]) == (3, 5.5, 3)
    assert torch.load(run.path / BEST, weights_only=True)["episode"] == 3


def test_the_final_evaluation_counts_in_the_wall_time(tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=1, eval_every=0)
    real = trainer_module.evaluate

    def slow_evaluate(*args, **kwargs):
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate", slow_evaluate)
    result = train(config, None, progress=False)
    assert result.summary["wall_seconds"] >= 0.5
    # wall_seconds is rounded to 0.01 s: compare it with the evaluation's time rounded the same way.
    assert result.summary["wall_seconds"] >= round(result.history["evals"][-1]["wall_time"], 2)
    assert result.history["evals"][-1]["wall_time"] >= 0.5


def test_the_best_nets_survive_a_kill_while_the_next_best_is_written(tmp_path, tiny_config):
    out = tmp_path / "run"
    train(dataclasses.replace(tiny_config, eval_every=1), out, progress=False)
    before = (out / BEST).read_bytes()
    # A process that starts writing new best nets and is killed halfway through the write.
    script = textwrap.dedent(f"""
        import os, signal, torch
        from ddpg_helpers import Run, load_agent
        def half_then_die(obj, f, *a, **k):
            open(f, "wb").write(b"PK\\x03\\x04 half a file")
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = half_then_die
        _, _, payload = load_agent({str(out)!r})
        Run({str(out)!r}).save_best(payload)
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert proc.returncode == -9
    assert (out / BEST).read_bytes() == before  # the previous best nets, intact
    assert list(out.glob(f".{BEST}.*.tmp"))  # the cut write left only its temporary file
    Run(out).remove_stale()
    assert not list(out.glob(".*.tmp"))
    load_agent(out, best=True)


def test_a_solving_evaluation_counts_only_once_fresh_episodes_confirm_it(tmp_path, tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=10, eval_every=1, target_return=90.0, confirm_episodes=7)
    confirm_seed = config.eval_seed + CONFIRM_SEED_OFFSET
    calls = scripted_evaluations(monkeypatch, {config.eval_seed: [50.0, 95.0, 94.0, 93.0],
                                               confirm_seed: [80.0, 91.0]})
    s = train(config, None, progress=False).summary
    # Lucky at episode 2 (80 on 7 fresh episodes: trains on); confirmed at episode 3, where the run stops.
    assert s["solved"] and s["solved_episode"] == 3 and s["episodes"] == 3 and s["confirm_mean"] == 91.0
    assert calls == [(config.eval_seed, 1), (config.eval_seed, 1), (confirm_seed, 7), (config.eval_seed, 1),
                     (confirm_seed, 7)]


def test_a_run_that_stops_when_solved_says_where_its_time_went_and_how_to_train_on(
        tmp_path, tiny_config, monkeypatch):
    from ddpg_helpers import resume

    # The env's own threshold (MountainCar's 90), no target_return: stop_when_solved alone stops the run.
    config = dataclasses.replace(tiny_config, episodes=6, eval_every=1, stop_when_solved=True, confirm_episodes=7,
                                 keep_episodes=3, checkpoint_every=1)
    confirm_seed, keep_seed = config.eval_seed + CONFIRM_SEED_OFFSET, config.eval_seed + KEEP_SEED_OFFSET
    scripted_evaluations(monkeypatch, {config.eval_seed: [50.0, 95.0, 96.0, 10.0, 11.0, 12.0],
                                       confirm_seed: [80.0, 91.0], keep_seed: [49.0, 94.0, 95.0]})
    s = train(config, tmp_path / "run", progress=False).summary
    # Episode 2's 95 failed its confirmation (80); episode 3's 96 was confirmed (91): the run stops there.
    assert s["solved"] and s["stopped_at_solve"] and s["episodes"] == s["solved_episode"] == 3
    assert s["failed_confirmations"] == 1 and s["confirm_mean"] == 91.0
    looks = [s[f"{kind}_seconds_to_solve"] for kind in ("eval", "confirm", "keep")]
    assert all(seconds >= 0 for seconds in looks) and sum(looks) <= s["seconds_to_solve"]
    assert s["train_on"] == f"python -m ddpg_helpers train --resume {tmp_path / 'run'} --no-stop-when-solved"
    with pytest.raises(DDPGError, match="was solved at episode 3 and stopped there; pass --no-stop-when-solved"):
        resume(tmp_path / "run", progress=False)
    more = resume(tmp_path / "run", progress=False, stop_when_solved=False).summary
    assert more["episodes"] == 6 and more["solved_episode"] == 3 and not more["stopped_at_solve"]
    assert "train_on" not in more


def test_with_no_confirmation_the_evaluation_alone_solves(tiny_config, monkeypatch):
    config = dataclasses.replace(tiny_config, episodes=5, eval_every=1, target_return=90.0, confirm_episodes=0)
    scripted_evaluations(monkeypatch, {config.eval_seed: [95.0]})
    s = train(config, None, progress=False).summary
    assert s["solved"] and s["solved_episode"] == 1 and s["confirm_mean"] is None


def test_an_env_without_a_threshold_has_nothing_to_solve(tiny_config):
    s = train(dataclasses.replace(tiny_config, env_id="Pendulum-v1", episodes=1, max_episode_steps=20), None,
              progress=False).summary
    assert s["solve_threshold"] is None and s["solved"] is None


def test_a_stop_request_saves_the_checkpoint_at_the_episode_end(tmp_path, tiny_config):
    out = tmp_path / "run"
    asked = []

    def stop_after_two():
        asked.append(1)
        return trainer.episode >= 2

    trainer = Trainer(dataclasses.replace(tiny_config, episodes=50, checkpoint_every=0))
    with pytest.raises(Interrupted, match="after episode 2"):
        trainer.run_episodes(Run(out).prepare(), progress=False, should_stop=stop_after_two)
    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    assert payload["episode"] == 2 and len(payload["history"]["episode"]) == 2


def test_truncated_transitions_keep_bootstrapping_in_the_training_loop():
    """A time-limit end is stored with terminated=0, so its target still includes gamma * Q'."""
    import gymnasium as gym

    from ddpg_helpers import Trainer

    trainer = Trainer(Config(episodes=1, eval_every=0, record_final=False))
    trainer.env = gym.make("MountainCarContinuous-v0", max_episode_steps=5)  # the env's own time limit
    trainer.train_episode()
    assert trainer.history["length"] == [5]  # cut by the env: truncated, never terminated
    assert trainer.memory.data[:5, trainer.memory._slices["terminated"]].sum() == 0
    agent = trainer.agent
    batch = trainer.memory.split(trainer.memory.data[:5])
    with torch.no_grad():
        q_next = agent.critic_target(batch.next_obs, agent.actor_target(batch.next_obs))
    torch.testing.assert_close(agent.target(batch), batch.reward + 0.999 * q_next)


def test_no_update_before_learning_starts():
    from ddpg_helpers import Trainer

    trainer = Trainer(Config(episodes=3, max_episode_steps=150, learning_starts=200, batch_size=16, eval_every=0,
                             record_final=False))
    actor_before = [p.clone() for p in trainer.agent.actor.parameters()]
    trainer.train_episode()  # at most 150 steps: the memory holds many batches, but learning has not started
    assert trainer.agent.updates == 0 and len(trainer.memory) == trainer.env_steps > 16
    assert all(torch.equal(a, b) for a, b in zip(actor_before, trainer.agent.actor.parameters()))
    while trainer.env_steps < 200:
        trainer.train_episode()
    assert trainer.agent.updates == trainer.env_steps - 199  # one per step from step 200 on


def test_blocked_updates_come_in_rounds_on_multiples_of_update_every():
    from ddpg_helpers import Trainer

    trainer = Trainer(Config(episodes=2, max_episode_steps=100, learning_starts=30, batch_size=16, update_every=7,
                             updates_per_step=2, eval_every=0, record_final=False, device="cpu"))
    seen = []
    learn = trainer.agent.learn

    def spy(memory):
        seen.append(trainer.env_steps)
        return learn(memory)

    trainer.agent.learn = spy
    trainer.train_episode()
    trainer.train_episode()
    rounds = [s for s in range(30, trainer.env_steps + 1) if s % 7 == 0]  # 35, 42, ... across both episodes
    assert trainer.env_steps == 200 and seen == [s for s in rounds for _ in range(7 * 2)]
    assert trainer.agent.updates == len(seen)


def test_td3_history_averages_the_actor_loss_over_the_actor_updates_only():
    from ddpg_helpers import Trainer

    # On the CPU: the spy wraps the eager step, which a GPU's graph path replays instead of calling.
    trainer = Trainer(Config(algo="td3", episodes=1, max_episode_steps=40, batch_size=16, eval_every=0,
                             record_final=False, device="cpu"))
    step, seen = trainer.agent._step, []

    def spy(batch, update_actor):
        critic_loss, actor_loss = step(batch, update_actor)
        if update_actor:
            seen.append(actor_loss.item())
        return critic_loss, actor_loss

    trainer.agent._step = spy
    trainer.train_episode()
    assert 0 < len(seen) < trainer.agent.updates  # the delay skipped some
    assert trainer.history["actor_loss"][0] == pytest.approx(np.mean(seen), rel=1e-5)


def test_a_real_end_is_stored_as_terminated():
    import gymnasium as gym

    from ddpg_helpers import Trainer

    class NearTheFlag(gym.Wrapper):
        def reset(self, **kwargs):
            _, info = self.env.reset(**kwargs)
            self.env.unwrapped.state = np.array([0.44, 0.07])  # a few pushes from the flag
            return self.env.unwrapped.state.astype(np.float32), info

    trainer = Trainer(Config(episodes=1, eval_every=0, record_final=False))
    trainer.env = NearTheFlag(gym.make("MountainCarContinuous-v0"))
    trainer.agent.act = lambda obs: np.ones(1, dtype=np.float32)  # full throttle to the right
    trainer.train_episode()
    n = trainer.history["length"][0]
    terminated = trainer.memory.data[:n, trainer.memory._slices["terminated"]].flatten().tolist()
    assert n < 20 and terminated == [0.0] * (n - 1) + [1.0]


def test_an_evaluation_a_stop_cut_short_is_done_on_resume(tmp_path, tiny_config):
    from ddpg_helpers import resume

    config = dataclasses.replace(tiny_config, episodes=4, eval_every=2, checkpoint_every=0)
    straight = train(config, tmp_path / "straight", progress=False)
    trainer = Trainer(config)
    with pytest.raises(Interrupted):
        trainer.run_episodes(Run(tmp_path / "split").prepare(), progress=False,
                             should_stop=lambda: trainer.episode >= 2)
    assert trainer.history["evals"] == []  # the stop came before episode 2's evaluation
    resumed = resume(tmp_path / "split", progress=False)
    assert [e["episode"] for e in resumed.history["evals"]] == [e["episode"] for e in straight.history["evals"]]
    assert [e["episode"] for e in resumed.history["evals"]] == [2, 4]
    assert [e["mean"] for e in resumed.history["evals"]] == [e["mean"] for e in straight.history["evals"]]


@pytest.mark.parametrize("cut", [CONFIRM_SEED_OFFSET, KEEP_SEED_OFFSET], ids=["confirmation", "longer look"])
def test_a_stop_during_a_confirmation_or_longer_look_resumes_into_the_same_result(tmp_path, tiny_config,
                                                                                  monkeypatch, cut):
    from ddpg_helpers import resume

    # Any return beats -1e9: the evaluation after episode 2 is confirmed and judged on a longer look.
    config = dataclasses.replace(tiny_config, episodes=4, eval_every=2, checkpoint_every=0, eval_episodes=2,
                                 target_return=-1e9, confirm_episodes=3, keep_episodes=3)
    straight = train(config, tmp_path / "straight", progress=False).summary
    real_evaluate, asked = trainer_module.evaluate, []

    def evaluate(agent, envs, episodes, seed, max_steps=None, should_stop=None):
        if seed == config.eval_seed + cut:
            asked.append(seed)  # the signal lands as this look starts: it stops before its first episode
        return real_evaluate(agent, envs, episodes, seed, max_steps, should_stop)

    monkeypatch.setattr(trainer_module, "evaluate", evaluate)
    trainer = Trainer(config)
    with pytest.raises(Interrupted):
        trainer.run_episodes(Run(tmp_path / "split").prepare(), progress=False, should_stop=lambda: bool(asked))
    assert asked and trainer.history["evals"] == [] and trainer.solved_at is None  # nothing half-judged kept
    monkeypatch.setattr(trainer_module, "evaluate", real_evaluate)
    resumed = resume(tmp_path / "split", progress=False).summary
    same = ("solved_episode", "steps_to_solve", "confirm_mean", "best_keep_mean", "best_episode", "final_eval_mean")
    assert {k: resumed[k] for k in same} == {k: straight[k] for k in same}
    assert resumed["solved"] and resumed["stopped_at_solve"] and resumed["episodes"] == 2


def test_lowering_the_target_on_resume_counts_only_judged_evaluations(tmp_path, tiny_config, monkeypatch):
    from ddpg_helpers import resume

    config = dataclasses.replace(tiny_config, episodes=2, eval_every=1, checkpoint_every=1, target_return=1e9)
    scripted_evaluations(monkeypatch, {config.eval_seed: [5.0, 6.0, 7.0],
                                       config.eval_seed + CONFIRM_SEED_OFFSET: [2.0]})
    train(config, tmp_path / "run", progress=False)
    # 5 and 6 were never judged against a threshold of 3: the next evaluation (7) is, and its
    # confirmation (2) fails, so the run is not solved and trains on.
    s = resume(tmp_path / "run", progress=False, episodes=3, target_return=3.0).summary
    assert s["solved"] is False and s["episodes"] == 3


def test_sizes_from_the_command_line_or_json_are_tuples():
    assert Config(actor_hidden=[32, 32]).actor_hidden == (32, 32)
    assert Config.from_dict({"actor_hidden": [32, 32]}).actor_hidden == (32, 32)


def test_a_cpu_run_flushes_denormals_to_zero(tiny_config):
    """Adam's moments of weights that no longer learn decay through the denormal range, where every
    CPU op on them is slow: a CPU trainer flushes them to zero (torch's setting is process-wide)."""
    torch.set_flush_denormal(False)
    try:
        assert (torch.tensor([1e-39]) * 2).item() > 0  # torch's default keeps them
        Trainer(dataclasses.replace(tiny_config, device="cpu"))
        assert (torch.tensor([1e-39]) * 2).item() == 0.0
        assert (torch.tensor([1e-30]) * 2).item() == pytest.approx(2e-30)  # a normal float is untouched
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("cap, shows", [(None, "2/2 ["), (150, "150/150 [")])
def test_the_progress_bar_counts_what_the_run_is_capped_by(tiny_config, capsys, cap, shows):
    # Episodes without a step cap; env steps with one (the walker's runs), however many episodes that takes.
    train(dataclasses.replace(tiny_config, episodes=2 if cap is None else 50, total_steps=cap), progress=True)
    bar = capsys.readouterr().err.split("\r")[-1]
    assert shows in bar and ("step/s" in bar) == (cap is not None) and ("ep=" in bar) == (cap is not None)
