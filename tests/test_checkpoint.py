import numpy as np
import pytest
import torch

from ddpg_helpers import Config, DDPGError, evaluate, load_agent, make_env, train
from ddpg_helpers.run import load as load_run
from ddpg_helpers.training import resume_trainer

TINY = dict(episodes=2, max_episode_steps=150, eval_every=0, eval_episodes=1, record_final=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mcc"
    train(Config(**TINY), out, progress=False)
    return out


def test_run_folder_holds_every_file(run):
    for name in ("checkpoint.pt", "metrics.csv", "config.json", "summary.json", "reward_curve.png"):
        assert (run / name).stat().st_size > 0
    assert not list(run.glob(".*.tmp"))  # no temporary file left behind


def test_save_load_round_trip(run):
    payload = load_run(run)
    agent, config, _ = load_agent(run)
    assert config == Config(**TINY)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        saved = payload[name]
        for key, value in getattr(agent, name).state_dict().items():
            assert torch.equal(value, saved[key])
    assert payload["history"]["episode"] == [0, 1]
    assert payload["memory"]["size"] == payload["env_steps"]


def test_full_resume_restores_optimisers_and_memory(run):
    trainer = resume_trainer(run)
    payload = load_run(run)
    assert trainer.episode == 2 and trainer.env_steps == payload["env_steps"]
    assert len(trainer.memory) == payload["env_steps"]
    saved_state = payload["actor_opt"]["state"]
    for key, value in trainer.agent.actor_opt.state_dict()["state"][0].items():
        assert torch.equal(value, saved_state[0][key])


def test_missing_truncated_and_foreign_checkpoints_are_refused(run, tmp_path):
    with pytest.raises(DDPGError, match="no checkpoint"):
        load_agent(tmp_path / "nothing")
    data = (run / "checkpoint.pt").read_bytes()
    for i, cut in enumerate((len(data) // 2, 100, 0)):
        broken = tmp_path / f"cut{i}.pt"
        broken.write_bytes(data[:cut])
        with pytest.raises(DDPGError, match="truncated or corrupt"):
            load_agent(broken)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(DDPGError, match="not a ddpg_helpers checkpoint"):
        load_agent(other)
    with pytest.raises(DDPGError, match="trained on MountainCarContinuous-v0, not Pendulum-v1"):
        load_agent(run, env_id="Pendulum-v1")


def test_loading_never_executes_code(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "actor": Evil()}, path)
    with pytest.raises(DDPGError):
        load_agent(path)
    assert not marker.exists()


# The fast suite resumes DDPG on the eager path and TD3 on the graph path with n-step returns; the
# other combinations (seconds each, the last one the longest) run with the slow tests.
@pytest.mark.parametrize("algo, path, n_step, more", [
    ("ddpg", "eager", 1, {}), pytest.param("td3", "eager", 1, {}, marks=pytest.mark.slow),
    pytest.param("td3", "graph", 1, {}, marks=pytest.mark.slow),
    pytest.param("td3", "eager", 3, {}, marks=pytest.mark.slow), ("td3", "graph", 3, {}),
    pytest.param("td3", "eager", 3, {"critic_layer_norm": True, "updates_per_step": 2}, marks=pytest.mark.slow),
    pytest.param("tqc", "eager", 3, {"update_every": 7}, marks=pytest.mark.slow)])
def test_resume_continues_exactly_as_an_uninterrupted_run(tmp_path, algo, path, n_step, more):
    # The graph path on the CPU runs the captured step uncaptured, with its lagging acting copy.
    settings = {**TINY, "algo": algo, "compile": path, "n_step": n_step, **more}
    straight = train(Config(**{**settings, "episodes": 4, "checkpoint_every": 2}), tmp_path / "straight",
                     progress=False)
    first = train(Config(**{**settings, "episodes": 2}), tmp_path / "split", progress=False)
    assert first.history["return"] == straight.history["return"][:2]
    from ddpg_helpers import resume

    resumed = resume(tmp_path / "split", progress=False, episodes=4)
    assert resumed.history["episode"] == [0, 1, 2, 3]
    assert resumed.history["return"] == straight.history["return"]
    assert resumed.agent.updates == straight.agent.updates  # TD3's delay keeps its phase
    for name in ("actor", "critic", "critic2"):
        if algo == "ddpg" and name == "critic2":
            continue
        for p, q in zip(getattr(resumed.agent, name).parameters(), getattr(straight.agent, name).parameters()):
            assert torch.equal(p, q)


def test_a_run_stopped_at_its_target_resumes_only_past_a_new_target(tmp_path):
    from ddpg_helpers import resume

    out = tmp_path / "solved"
    config = Config(**{**TINY, "episodes": 3, "eval_every": 1, "target_return": -1e9})
    first = train(config, out, progress=False)
    assert first.history["episode"] == [0]  # any return beats -1e9: it stopped after one episode
    with pytest.raises(DDPGError, match="reached its target return"):
        resume(out, progress=False, episodes=3)
    more = resume(out, progress=False, target_return=float("inf"))  # inf: no target
    assert more.history["episode"] == [0, 1, 2] and not more.summary["solved"]


def test_a_run_stopped_at_its_step_cap_says_which_flag_goes_on(tmp_path):
    from ddpg_helpers import resume

    out = tmp_path / "capped"
    first = train(Config(**{**TINY, "episodes": 5, "total_steps": 200}), out, progress=False)
    assert first.summary["env_steps"] == 200 and first.summary["episodes"] < 5
    with pytest.raises(DDPGError, match="has run its 200 env steps; pass a larger --total-steps"):
        resume(out, progress=False)
    more = resume(out, progress=False, total_steps=400)
    assert more.summary["env_steps"] == 400
    assert more.history["episode"] == list(range(more.summary["episodes"]))


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(tmp_path):
    from ddpg_helpers import resume

    out = tmp_path / "run"
    done = train(Config(**TINY), out, progress=False)
    for name in ("summary.json", "metrics.csv", "reward_curve.png"):  # what finish() writes after the loop
        (out / name).unlink()
    finished = resume(out, progress=False)
    assert finished.history["return"] == done.history["return"]  # no episode trained again
    assert finished.summary["episodes"] == 2 and (out / "summary.json").is_file() and (out / "metrics.csv").is_file()
    again = resume(out, progress=False, finished_ok=True)  # now finished: returned as it is
    assert again.summary == finished.summary
    with pytest.raises(DDPGError, match="is finished"):
        resume(out, progress=False)


def test_a_checkpoint_between_evaluations_is_evaluated_when_resume_finishes_it(tmp_path):
    from ddpg_helpers import resume

    out, copy = tmp_path / "run", tmp_path / "at-3"

    def keep_episode_3(trainer):  # the checkpoint written after episode 3, as a copy taken mid-run would be
        if trainer.episode == 3:
            copy.mkdir()
            for name in ("checkpoint.pt", "config.json"):
                if (out / name).is_file():
                    (copy / name).write_bytes((out / name).read_bytes())

    config = Config(**{**TINY, "episodes": 4, "eval_every": 2, "checkpoint_every": 1})
    train(config, out, progress=False, callback=keep_episode_3)
    assert [e["episode"] for e in load_run(copy)["history"]["evals"]] == [2]
    finished = resume(copy, progress=False, episodes=3)
    last = finished.history["evals"][-1]
    assert last["episode"] == 3 and finished.summary["final_eval_mean"] == last["mean"]
    env = make_env(config.env_id)
    assert last["mean"] == pytest.approx(float(np.mean(evaluate(finished.agent, env, 1, config.eval_seed, 150))))


def test_a_warm_start_copies_the_nets_but_not_the_optimisers(run, tmp_path):
    source = load_agent(run)[0]
    # learning_starts beyond the run: no update, so the new run's nets are exactly the copied ones.
    result = train(Config(**TINY, init_from=str(run), learning_starts=10_000), tmp_path / "warm", progress=False)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for p, q in zip(getattr(result.agent, name).parameters(), getattr(source, name).parameters()):
            assert torch.equal(p, q), name
    assert result.agent.actor_opt.state_dict()["state"] == {}  # fresh Adam, no steps taken
    assert load_run(tmp_path / "warm")["config"]["init_from"] == str(run)


def test_a_warm_start_from_a_snapshot_takes_its_nets_as_targets(tmp_path):
    config = dict(TINY, algo="td3", snapshot_every=1)
    train(Config(**config), tmp_path / "td3", progress=False)
    snapshot = tmp_path / "td3" / "snapshots" / "episode_0001.pt"
    result = train(Config(**TINY, algo="td3", init_from=str(snapshot), learning_starts=10_000), tmp_path / "warm",
                   progress=False)
    for online, target in (("actor", "actor_target"), ("critic", "critic_target"), ("critic2", "critic2_target")):
        for p, q in zip(getattr(result.agent, online).parameters(), getattr(result.agent, target).parameters()):
            assert torch.equal(p, q), target

    payload = load_run(snapshot)
    del payload["critic2"]
    torch.save(payload, tmp_path / "one_critic.pt")
    with pytest.raises(DDPGError, match="holds no critic2"):
        train(Config(**TINY, algo="td3", init_from=str(tmp_path / "one_critic.pt")), tmp_path / "never",
              progress=False)
    assert not (tmp_path / "never").exists()
