"""The package's training loop as it was at another git revision, run chunk by chunk for bench.py.

    python benchmarks/at_revision.py REVISION_DIR CONFIG_JSON CHUNK

`bench.py --against REV` starts this with REVISION_DIR holding `git archive REV`, so that the loop
of REV imports its own `ddpg_helpers` in this process while bench.py runs today's. It prints one
JSON line (where `ddpg_helpers` came from, and the settings REV has no field for, which it runs
without), then reads step counts from stdin, one per line, and answers each with the number of env
steps it ran: one timed chunk, as `bench.Ours.run` does in bench.py's own process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path


def main() -> None:
    root, wanted, chunk = Path(sys.argv[1]).resolve(), json.loads(sys.argv[2]), int(sys.argv[3])
    # The answers go to the original stdout; anything else printed (by the revision or a library)
    # goes to stderr, where it cannot be taken for an answer.
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
    # The same overrides as bench.Ours: episodes capped at the chunk, learning from the first step.
    config.update(max_episode_steps=chunk, warmup_steps=0, learning_starts=0, eval_every=0)
    trainer = Trainer(make_config(**config))  # it sets torch's thread count from the config
    print(json.dumps({"ddpg_helpers": ddpg_helpers.__file__, "dropped": dropped}), file=answers, flush=True)
    for line in sys.stdin:
        start, steps = trainer.env_steps, int(line)
        while trainer.env_steps - start < steps:
            trainer.train_episode()
        print(trainer.env_steps - start, file=answers, flush=True)


if __name__ == "__main__":
    main()
