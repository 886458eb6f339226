"""The notebooks' plumbing: budget, Colab and run folders, live plot, display, episode plots, animation."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import ddpg_helpers as dh
from conftest import fake_run
from ddpg_helpers import Config, animation, colab, display, make_env, plotting, run_episode, train
from ddpg_helpers import runs as runs_module
from ddpg_helpers.errors import DDPGError

ROOT = Path(__file__).resolve().parents[1]


# --- budget and where we are -----------------------------------------------------------------

@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_quick_mode_reads_one_variable(monkeypatch, value, quick):
    monkeypatch.setenv("DDPG_QUICK", value)
    assert dh.quick_mode() is quick


def test_budget_is_the_config_itself_without_quick_mode(monkeypatch):
    monkeypatch.delenv("DDPG_QUICK", raising=False)
    config = Config()
    assert dh.budget(config) is config
    assert config.episodes == 200  # the blog's


def test_budget_in_quick_mode_only_shortens_the_run(monkeypatch):
    monkeypatch.setenv("DDPG_QUICK", "1")
    quick = dh.budget(Config())
    assert quick.episodes == dh.QUICK_EPISODES and quick.eval_episodes == 1
    assert quick.checkpoint_every == 0 and quick.snapshot_every == 0
    for name in ("gamma", "tau", "batch_size", "actor_lr", "critic_lr", "memory_size", "sigma_decay", "seed"):
        assert getattr(quick, name) == getattr(Config(), name)
    assert dh.budget(Config(episodes=2)).episodes == 2


def test_colab_is_detected_by_its_module_or_environment(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not dh.in_colab()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
    assert dh.in_colab()


def test_repo_root_is_this_checkout():
    assert dh.repo_root() == ROOT


def test_missing_requirements(monkeypatch):
    assert dh.missing_requirements() == []
    monkeypatch.setitem(dh.REQUIREMENTS, "no_such_module_xyz", "no-such-package")
    assert dh.missing_requirements() == ["no-such-package"]


def test_device_report_says_how_to_get_a_gpu_on_colab(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    assert "Change runtime type" in dh.device_report()


# --- run folders -----------------------------------------------------------------------------

def test_runs_dir_is_the_checkout_runs_folder_and_quick_runs_go_aside(monkeypatch):
    monkeypatch.delenv("DDPG_QUICK", raising=False)
    assert dh.runs_dir() == ROOT / "runs"
    monkeypatch.setenv("DDPG_QUICK", "1")
    assert dh.runs_dir() == ROOT / "runs" / "quick"


def test_drive_is_mounted_only_on_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(DDPGError, match="Colab"):
        dh.runs_dir(use_drive=True)


def test_run_name_matches_the_command_line_default():
    assert dh.run_name(Config(seed=3)) == "MountainCarContinuous-v0-ddpg-s3"


def test_latest_run_is_the_newest_finished_one_of_the_env(tmp_path):
    assert dh.latest_run(tmp_path / "nothing") is None
    assert dh.latest_run(tmp_path) is None
    fake_run(tmp_path / "old", mtime=1_000)
    new = fake_run(tmp_path / "new", mtime=2_000)
    fake_run(tmp_path / "walker", env_id="BipedalWalker-v3", mtime=3_000)
    fake_run(tmp_path / "unfinished", finished=False)
    assert dh.latest_run(tmp_path) == new
    assert dh.latest_run(tmp_path, env_id="BipedalWalker-v3") == tmp_path / "walker"
    assert dh.latest_run(tmp_path, env_id=None) == tmp_path / "walker"


def test_choose_run_prefers_the_given_then_the_latest_then_the_shipped(tmp_path, monkeypatch):
    shipped = fake_run(tmp_path / "trained" / "mcc")
    monkeypatch.setattr(runs_module, "shipped_run", lambda: shipped)
    runs = tmp_path / "runs"
    assert dh.choose_run(None, runs) == shipped
    assert dh.is_shipped(shipped)
    latest = fake_run(runs / "a")
    assert dh.choose_run(None, runs) == latest and not dh.is_shipped(latest)
    given = fake_run(tmp_path / "elsewhere")
    assert dh.choose_run(given, runs) == given
    with pytest.raises(DDPGError, match="not a finished run"):
        dh.choose_run(tmp_path / "missing", runs)


def test_shipped_run_is_found_or_explained(monkeypatch, tmp_path):
    if (ROOT / dh.SHIPPED_RUN / "summary.json").is_file():
        assert dh.shipped_run() == ROOT / dh.SHIPPED_RUN
    monkeypatch.setattr(colab, "repo_root", lambda: None)
    monkeypatch.setattr(colab, "COLAB_CHECKOUT", tmp_path / "none")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DDPGError, match="trained/mcc"):
        dh.shipped_run()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A real run folder from a very short run."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = Config(episodes=2, max_episode_steps=60, batch_size=16, eval_episodes=1, eval_every=0)
    train(config, out=out, progress=False)
    return out


def test_summary_and_history_are_read_back_from_the_run_folder(tiny_run):
    summary = dh.load_summary(tiny_run)
    history = dh.load_history(tiny_run)
    assert summary["episodes"] == 2 and "final_episode_return" in summary
    assert len(history["return"]) == 2 and history["evals"]
    assert dh.latest_run(tiny_run.parent) == tiny_run


# --- showing things --------------------------------------------------------------------------

def test_show_source_shows_the_real_class():
    from ddpg_helpers import ReplayMemory

    code = dh.show_source(ReplayMemory)
    assert "class ReplayMemory" in code.data and "def sample" in code.data


def test_live_plot_redraws_as_episodes_end():
    history = {"episode": [], "return": [], "env_steps": [], "evals": []}
    trainer = types.SimpleNamespace(episode=0, done=False, history=history)
    plot = dh.LiveRewardPlot(every=2)
    for i in range(5):
        history["episode"].append(i)
        history["return"].append(float(i))
        history["env_steps"].append(100 * (i + 1))
        trainer.episode = i + 1
        trainer.done = i == 4
        plot(trainer)
    assert plot.draws == 3  # episodes 2 and 4, then the last one
    assert plot.handle is None  # outside a notebook nothing is displayed


def test_figure_png_needs_no_display():
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1])
    assert dh.figure_png(fig).startswith(b"\x89PNG")


@pytest.mark.parametrize("steps, stride", [(999, 5), (1000, 5), (1001, 6), (200, 1), (50, 1), (0, 1)])
def test_frame_stride_keeps_about_200_frames(steps, stride):
    assert dh.frame_stride_for(steps, max_frames=200) == stride


def test_episode_plots_draw_position_speed_and_action():
    obs = np.stack([np.linspace(-0.5, 0.5, 11), np.linspace(0, 0.05, 11)], axis=1)
    actions = np.linspace(-1, 1, 10)[:, None]
    axes = plotting.episode_plots(obs, actions, fps=50)
    assert len(axes) == 3
    t, position = axes[0].lines[0].get_data()
    assert np.allclose(t, np.arange(11) / 50) and np.allclose(position, obs[:, 0])
    assert [ax.get_ylabel() for ax in axes] == ["position", "speed", "action"]


# --- display ---------------------------------------------------------------------------------

def test_rgb_array_needs_no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setitem(sys.modules, "pyvirtualdisplay", None)  # importing it would fail
    assert not display.needs_display("rgb_array")
    assert display.ensure_display("rgb_array") is None
    assert "no display needed" in display.explain("rgb_array")


def test_a_window_needs_a_display_only_where_there_is_none(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    assert not display.needs_display("human")
    assert display.ensure_display("human") is None
    monkeypatch.delenv("DISPLAY")
    assert display.needs_display("human")


def test_virtual_display_explains_what_to_install(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setitem(sys.modules, "pyvirtualdisplay", None)
    with pytest.raises(DDPGError, match="pip install pyvirtualdisplay"):
        display.ensure_display("human")


def test_virtual_display_starts_xvfb_through_pyvirtualdisplay(monkeypatch):
    started = []

    class FakeDisplay:
        def __init__(self, visible, size):
            self.visible, self.size = visible, size

        def start(self):
            started.append(self)
            os.environ["DISPLAY"] = ":99"

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setitem(sys.modules, "pyvirtualdisplay", types.SimpleNamespace(Display=FakeDisplay))
    monkeypatch.setattr(display.shutil, "which", lambda name: None)
    with pytest.raises(DDPGError, match="apt-get install -y xvfb"):
        display.ensure_display("human")
    monkeypatch.setattr(display.shutil, "which", lambda name: "/usr/bin/Xvfb")
    shown = display.ensure_display("human", size=(640, 480))
    assert started == [shown] and shown.size == (640, 480) and not shown.visible
    assert display.has_display()
    monkeypatch.delenv("DISPLAY")


# --- animation: a whole 999-step episode stays under the embed limit --------------------------

class Rocking:
    """Pushes the way the car moves, too weakly to reach the flag: 999 steps of a moving car."""

    def act(self, obs):
        return np.array([0.12 if obs[1] >= 0 else -0.12], dtype=np.float32)


@pytest.fixture(scope="module")
def full_episode():
    env = make_env("MountainCarContinuous-v0", render_mode="rgb_array")
    episode = run_episode(Rocking(), env, seed=3, record=True, frame_stride=dh.frame_stride_for(999))
    env.close()
    return episode


def test_a_full_episode_animates_far_below_the_default_embed_limit(full_episode):
    assert len(full_episode.actions) == 999 and len(full_episode.frames) == 200
    with matplotlib.rc_context():
        html = animation.jshtml(full_episode.frames)
    assert animation.embedded_frames(html) == 200
    assert len(html) < 5 * 2**20  # matplotlib's default limit is 20 MB


def test_a_cut_animation_raises_instead_of_passing_silently(full_episode):
    with matplotlib.rc_context(), pytest.raises(DDPGError, match="embed limit"):
        animation.jshtml(full_episode.frames, embed_limit_mb=0.2)


def test_the_animation_is_also_saved_as_a_gif(full_episode, tmp_path):
    from PIL import Image

    gif = animation.save_gif(full_episode.frames, tmp_path / "car.gif", fps=10)
    with Image.open(gif) as image:
        # Pillow merges identical consecutive frames (the car pausing at a turn) into one
        assert image.format == "GIF" and 150 < image.n_frames <= 200 and image.size == (300, 200)
