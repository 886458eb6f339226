"""How long a notebook takes top to bottom, cell by cell, as a reader runs it (nbclient, the kernel in the
notebook's folder). Unset DDPG_QUICK for the full settings; the executed copy is written to --out.

    python benchmarks/notebook_time.py notebooks/06_bipedal_walker.ipynb --out /tmp/06_executed.ipynb
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", type=Path)
    p.add_argument("--out", type=Path, required=True, help="where the executed notebook is written")
    return p


def cell_seconds(cell) -> float | None:
    """A cell's run time from the timestamps nbclient records in its metadata."""
    ex = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in ex or "shell.execute_reply" not in ex:
        return None
    start, end = (datetime.fromisoformat(ex[k].replace("Z", "+00:00")) for k in ("iopub.execute_input",
                                                                                    "shell.execute_reply"))
    return (end - start).total_seconds()


def main(argv=None) -> int:
    import nbclient
    import nbformat

    args = parser().parse_args(argv)
    notebook = nbformat.read(args.notebook, as_version=4)
    start = time.time()
    nbclient.NotebookClient(notebook, timeout=None, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.parent)}}).execute()
    total = time.time() - start
    nbformat.write(notebook, args.out)
    for i, cell in enumerate(notebook.cells):
        if (seconds := cell_seconds(cell)) is not None:
            print(f"cell {i:2d}: {seconds:8.1f} s  {cell.source.splitlines()[0][:70]!r}")
    print(f"total: {total:.0f} s ({total / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
