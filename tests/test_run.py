"""The checkpoint schema and the run folder: every file is a layout of the same named groups."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch

import ddpg_helpers.trainer as trainer_module
from ddpg_helpers import DDPGError, Run, load_agent, train
from ddpg_helpers import checkpoint as ck
from ddpg_helpers.run import BEST, CHECKPOINT, FILES, FINAL_EPISODE, load
from ddpg_helpers.training import resume_trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from conftest import TINY
    from ddpg_helpers import Config

    out = tmp_path_factory.mktemp("run") / "mcc"
    train(dataclasses.replace(Config(**TINY), eval_every=1, snapshot_every=1, record_final=True), out, progress=False)
    return Run(out)


def test_every_group_name_is_used_once():
    names = [k for group in ck.GROUPS.values() for k in group]
    assert len(names) == len(set(names))


def test_the_full_checkpoint_holds_every_group_it_has(finished):
    payload = load(finished.path)
    assert set(payload) - {"format"} <= ck.keys("checkpoint")
    assert not ck.missing_for_resume(payload)
    for group in ("meta", "position", "record", "optimisers", "memory"):
        assert set(ck.GROUPS[group]) <= set(payload), group


def test_the_best_nets_and_the_snapshots_are_their_layouts_only(finished):
    best = load(finished.path, best=True)
    assert set(best) - {"format"} <= ck.keys("agent", memory=False)
    assert ck.missing_for_resume(best) == ["actor_opt", "critic_opt", "memory", "rng"]
    snapshot = ck.load(finished.snapshots()[-1])
    assert set(snapshot) - {"format"} == {k for k in ck.keys("snapshot") if k != "critic2"}


def test_an_export_is_the_agent_layout_and_cannot_be_resumed(finished, tmp_path):
    dest = finished.export(tmp_path / "export", snapshots=False)
    payload = load(dest.path)
    assert set(payload) - {"format"} <= ck.keys("agent", memory=False)
    assert {f for f in FILES if (dest.path / f).is_file()} == {f for f in FILES if (finished.path / f).is_file()}
    assert not dest.snapshot_dir.exists()
    with pytest.raises(DDPGError, match="cannot be resumed"):
        resume_trainer(dest.path)
    with_memory = load(finished.export(tmp_path / "with-memory", keep_memory=True).path)
    assert "memory" in with_memory and "actor_opt" not in with_memory


def test_an_export_of_the_best_nets_holds_the_kept_nets_not_the_last(tmp_path, tiny_config, monkeypatch):
    means = [5.0, 1.0, 2.0]  # the first evaluation is the best; the run goes on past it
    monkeypatch.setattr(trainer_module, "evaluate", lambda *a, **k: [means.pop(0)] * tiny_config.eval_episodes)
    run = Run(tmp_path / "run")
    train(dataclasses.replace(tiny_config, episodes=2, eval_every=1), run.path, progress=False)
    dest = run.export(tmp_path / "export", best=True, keep_memory=True)
    exported, kept, last = load(dest.path), load(run.best), load(run.checkpoint)
    assert exported["episode"] == kept["episode"] == 1 and last["episode"] == 2
    assert all(torch.equal(exported["actor"][k], kept["actor"][k]) for k in kept["actor"])
    assert not all(torch.equal(exported["actor"][k], last["actor"][k]) for k in kept["actor"])
    assert torch.equal(exported["memory"]["data"], last["memory"]["data"])  # the states the run visited
    assert not (dest.path / FINAL_EPISODE).exists()  # the last nets' episode, not the exported ones'
    summary = dest.summary()
    assert summary["nets"] == "best" and "final_episode_return" not in summary
    assert summary["best_episode"] == 1 and summary["final_eval_mean"] == run.summary()["final_eval_mean"]
    assert dest.export(tmp_path / "again").summary()["nets"] == "best"  # a copy of the copy holds the same nets
    agent, _, _ = load_agent(dest.path)  # what `evaluate` and the notebooks load
    assert all(torch.equal(p, kept["actor"][k]) for k, p in agent.actor.state_dict().items())


def test_an_export_of_the_best_nets_needs_some(finished, tmp_path):
    never_evaluated = Run(tmp_path / "run")
    shutil.copytree(finished.path, never_evaluated.path)
    never_evaluated.best.unlink()
    with pytest.raises(DDPGError, match="kept no best nets"):
        never_evaluated.export(tmp_path / "export", best=True)
    assert not (tmp_path / "export").exists()


def test_the_run_reads_back_what_it_wrote(finished):
    summary = finished.summary()
    assert summary["episodes"] == 2 and summary["best_eval_mean"] >= summary["final_eval_mean"]
    assert finished.history()["episode"] == [0, 1]
    assert finished.final_episode().total_return == pytest.approx(summary["final_episode_return"], abs=1e-3)
    assert finished.config()["env_id"] == "MountainCarContinuous-v0"
    assert [p.name for p in finished.snapshots()] == ["episode_0000.pt", "episode_0001.pt", "episode_0002.pt"]


def test_best_needs_a_run_folder_with_best_nets(finished, tmp_path):
    with pytest.raises(DDPGError, match="kept in a run folder"):
        load(finished.path / CHECKPOINT, best=True)
    (tmp_path / "nobest").mkdir()
    with pytest.raises(DDPGError, match=f"holds no best nets \\({BEST}\\)"):
        load(tmp_path / "nobest", best=True)


def test_a_run_folder_refuses_to_be_overwritten_without_overwrite(finished):
    with pytest.raises(DDPGError, match=f"--resume {finished.path} to continue it or --overwrite"):
        Run(finished.path).prepare()


@pytest.mark.slow
@pytest.mark.parametrize("shipped", ["mcc", "walker-td3", "walker-tqc"])
def test_the_shipped_checkpoints_written_before_the_schema_still_load(shipped):
    path = ROOT / "trained" / shipped
    if not Run(path).is_finished():
        pytest.skip(f"this checkout has no trained/{shipped}")
    agent, config, payload = load_agent(path, device="cpu")
    assert payload["env_id"] == config.env_id and agent.actor is not None
