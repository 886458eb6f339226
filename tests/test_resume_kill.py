"""A run killed with SIGKILL mid-training resumes from its last checkpoint with nothing lost or doubled."""

import signal
import subprocess
import sys
import time

import pytest

from ddpg_helpers import DDPGError, load_agent
from ddpg_helpers.run import load as load_run

ARGS = ["--episodes", "14", "--max-episode-steps", "150", "--checkpoint-every", "2", "--eval-every", "0",
        "--eval-episodes", "1", "--no-record-final", "--no-progress"]


def saved_episode(out):
    try:
        return load_run(out)["episode"]
    except DDPGError:
        return -1


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ddpg_helpers", "train", "--out", str(out), *ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while saved_episode(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"

    killed_at = load_run(out)  # the last checkpoint survived the kill intact
    k = killed_at["episode"]
    assert 4 <= k < 14 and k % 2 == 0
    assert killed_at["history"]["episode"] == list(range(k))

    done = subprocess.run([sys.executable, "-m", "ddpg_helpers", "train", "--resume", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = load_run(out)
    history = final["history"]
    assert history["episode"] == list(range(14))  # no episode lost, none counted twice
    assert history["return"][:k] == killed_at["history"]["return"]
    steps = history["env_steps"]
    assert all(b - a == n for a, b, n in zip(steps, steps[1:], history["length"][1:]))
    assert final["env_steps"] == sum(history["length"])
    load_agent(out)  # and the final checkpoint loads
    assert not list(out.glob(".*.tmp"))  # a write cut by the kill leaves no debris after the resume
