"""The project as it was at another git revision: a command run there, or its training loop run
chunk by chunk for bench.py.

    python benchmarks/at_revision.py run 07f977e -- python benchmarks/walker_seeds.py --seeds 1 2 --extra "--tau 0.02"
    python benchmarks/at_revision.py chunks REVISION_DIR CONFIG_JSON CHUNK

`run REV -- COMMAND` extracts `git archive REV` (the committed tree) into `at-revision/COMMIT/` at the
checkout's root, once, and runs COMMAND there (`python` is this interpreter): the revision's own scripts
and `ddpg_helpers`, with the revision's defaults and presets. What the command writes (run folders,
CSVs) stays in that folder, so today's `runs/` and `benchmarks/results/` are left as they are, and
commands at one revision that go on from one another (a resume, a table of finished runs) find each
other's folders. `--dir` picks another folder, and lets commands at several commits share one: each
extracts its commit over the last. It exits with the command's exit status.

`chunks` is what `bench.py --against REV` starts with REVISION_DIR holding `git archive REV`, so that
the loop of REV imports its own `ddpg_helpers` in this process while bench.py runs today's. It prints
one JSON line (where `ddpg_helpers` came from, and the settings REV has no field for, which it runs
without), then reads step counts from stdin, one per line, and answers each with the number of env
steps it ran: one timed chunk, as `loops.Ours.run` does in bench.py's own process.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit_of(rev: str) -> str:
    """The short hash of the commit `rev` names; SystemExit with git's message where it names none."""
    done = subprocess.run(["git", "rev-parse", "--short", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"at_revision: {rev}: {done.stderr.strip() or 'not a commit'}")
    return done.stdout.strip()


def extract(commit: str, folder: Path) -> None:
    """`git archive COMMIT` into `folder`, unless an earlier call finished doing so; over another commit
    extracted there before, its files are replaced (what the commands wrote, run folders and CSVs, stays)."""
    done = folder / ".at-revision"
    if done.exists() and done.read_text().strip() == commit:
        return
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    done.write_text(commit + "\n")


def run(rev: str, command: list[str], folder: Path | None = None) -> int:
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise SystemExit("at_revision run: no command after the revision")
    commit = commit_of(rev)
    folder = (folder or ROOT / "at-revision" / commit).resolve()
    extract(commit, folder)
    argv = [sys.executable if command[0] in ("python", "python3") else command[0], *command[1:]]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the revision's package, not today's
    print(f"at_revision: at {commit}, in {folder}: {' '.join(command)}", file=sys.stderr, flush=True)
    return subprocess.call(argv, cwd=folder, env=env)


def chunks(root: Path, wanted: dict, chunk: int) -> None:
    # The answers go to the original stdout; anything else printed (by the revision or a library)
    # goes to stderr, where it cannot be taken for an answer.
    root = root.resolve()
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.path.insert(0, str(root))
    import ddpg_helpers
    from ddpg_helpers import make_config
    from ddpg_helpers.training import Trainer

    if not Path(ddpg_helpers.__file__).resolve().is_relative_to(root):
        sys.exit(f"at_revision: ddpg_helpers came from {ddpg_helpers.__file__}, not from {root}")
    known = {f.name for f in dataclasses.fields(make_config())}
    dropped = {k: v for k, v in wanted.items() if k not in known}
    config = {k: v for k, v in wanted.items() if k in known}
    # The same overrides as loops.Ours: episodes capped at the chunk, learning from the first step.
    config.update(max_episode_steps=chunk, warmup_steps=0, learning_starts=0, eval_every=0)
    trainer = Trainer(make_config(**config))  # it sets torch's thread count from the config
    print(json.dumps({"ddpg_helpers": ddpg_helpers.__file__, "dropped": dropped}), file=answers, flush=True)
    for line in sys.stdin:
        start, steps = trainer.env_steps, int(line)
        while trainer.env_steps - start < steps:
            trainer.train_episode()
        print(trainer.env_steps - start, file=answers, flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run", help="run a command in the project as it was at a git revision",
                       usage="%(prog)s REV [--dir DIR] -- COMMAND...")
    r.add_argument("rev", help="a commit, tag or branch")
    r.add_argument("--dir", type=Path, help="where the revision is extracted and the command runs "
                                            "(default: at-revision/COMMIT at the checkout's root)")
    c = sub.add_parser("chunks", help="a revision's training loop, one timed chunk per line of stdin (bench.py)")
    c.add_argument("root", type=Path, help="a folder holding `git archive REV`")
    c.add_argument("config", type=json.loads, help="the settings, as JSON")
    c.add_argument("chunk", type=int, help="the steps an episode is capped at")
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments; for `run`, everything after the first `--` is the command (`args.command`), its own
    options included."""
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:split])
    if args.mode == "run":
        args.command = argv[split + 1:]
        if not args.command:
            parser().error("run: no command: give it after --")
    return args


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.mode == "run":
        return run(args.rev, args.command, args.dir)
    chunks(args.root, args.config, args.chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
