"""The loops `bench.py` times side by side, and the timing: the package's own (`Ours`), the blog's
(`Naive`), the package's at another git revision in a child process (`AtRevision`, through
`at_revision.py`) and Stable-Baselines3's (`SB3`); `steps_per_second` runs them in interleaved chunks,
`print_rates` prints one table of them with the CPU steal while they ran.
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.naive import NaiveDDPG  # noqa: E402
from ddpg_helpers import Config, make_config, make_env  # noqa: E402
from ddpg_helpers.training import Trainer  # noqa: E402

DEFAULT_THREADS = torch.get_num_threads()
EAGER = "ddpg_helpers eager"


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
                [sys.executable, str(ROOT / "benchmarks" / "at_revision.py"), "chunks", self.dir,
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


def machine(device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.type == "cuda" else ""
    return f"{cpu} ({torch.get_num_threads()} threads available{gpu}), torch {torch.__version__}"
