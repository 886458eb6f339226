"""The notebooks as files: paired with jupytext, in sync, stored without outputs, one install cell.

Running them is nbval's job: `DDPG_QUICK=1 python -m pytest --nbval-lax notebooks/`; here only
notebook 4 runs once more, on a run folder the shipped agents do not cover.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

import ddpg_helpers as dh

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))
SCRIPTS = sorted(NOTEBOOKS.glob("*.py"))


def cells(notebook) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in notebook.cells]


def test_there_are_notebooks():
    assert len(IPYNBS) >= 4


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_every_notebook_has_its_percent_script(ipynb):
    script = ipynb.with_suffix(".py")
    assert script.is_file(), f"{script.name} is missing: run `jupytext --sync notebooks/{ipynb.name}`"
    assert "format_name: percent" in script.read_text()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_percent_script_has_its_notebook(script):
    assert script.with_suffix(".ipynb").is_file(), f"run `jupytext --sync notebooks/{script.name}`"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_pair_is_in_sync(ipynb):
    script = ipynb.with_suffix(".py")
    if not script.is_file():
        pytest.skip("no pair")
    assert cells(jupytext.read(ipynb)) == cells(jupytext.read(script)), (
        f"{ipynb.name} and {script.name} differ: edit one, then run `jupytext --sync notebooks/{script.name}`")


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(ipynb):
    notebook = nbformat.read(ipynb, as_version=4)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{ipynb.name} cell {i} stores outputs"
            assert cell.execution_count is None, f"{ipynb.name} cell {i} stores an execution count"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_notebook_opens_on_a_python_kernel(ipynb):
    assert nbformat.read(ipynb, as_version=4).metadata["kernelspec"]["name"] == "python3"


def install_cell(ipynb: Path) -> str:
    code = [c.source for c in nbformat.read(ipynb, as_version=4).cells if c.cell_type == "code"]
    found = [src for src in code if "setup_colab.sh" in src]
    assert len(found) == 1, f"{ipynb.name} needs exactly one install cell (the one running setup_colab.sh)"
    return found[0]


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_install_cell_clones_the_one_repository_url(ipynb):
    urls = re.findall(r'REPO_URL = "([^"]+)"', install_cell(ipynb))
    assert urls == [dh.REPO_URL], "the install cell's REPO_URL must equal ddpg_helpers.notebook.REPO_URL"


def test_install_cell_is_the_same_everywhere():
    assert len({install_cell(p) for p in IPYNBS}) == 1, "the notebooks' install cells differ"


def test_setup_colab_script_is_valid_bash_and_leaves_torch_alone():
    import subprocess

    script = NOTEBOOKS.parent / "setup_colab.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "-r requirements.txt" in text
    assert not re.search(r"pip install[^\n]*\btorch\b", text), "Colab's torch must not be reinstalled"


@pytest.mark.slow
def test_notebook_4_watches_a_run_that_kept_no_final_episode(tmp_path, monkeypatch):
    # A run trained with record_final=False has no final_episode.npz and no final return in its
    # summary: notebook 4 replays the episode and plots the replay instead.
    nbclient = pytest.importorskip("nbclient")  # requirements-dev.txt installs it
    from conftest import TINY
    from ddpg_helpers.run import FINAL_EPISODE

    run = tmp_path / "no-final"
    dh.train(dh.Config(**TINY), run, progress=False)
    assert not (run / FINAL_EPISODE).exists() and dh.Run(run).final_episode() is None
    path = NOTEBOOKS / "04_watching_the_agent.ipynb"
    notebook = nbformat.read(path, as_version=4)
    [cell] = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("RUN = None")]
    cell.source = cell.source.replace("RUN = None", f"RUN = {str(run)!r}", 1)
    monkeypatch.setenv("DDPG_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert f"run: {run}" in text and "final noise-free episode: not recorded" in text
    assert "replayed: return" in text and "recorded: return" not in text
