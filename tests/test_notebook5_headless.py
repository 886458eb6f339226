"""Notebook 5 runs headless without stalling, and its sliders never draw into an Output widget.

A headless client (nbclient, and so nbconvert --execute and papermill) mimics the Output widget of
`ipywidgets.interact`, and for every output captured in it writes to the kernel's shell channel
while it waits on that channel for the cell's reply; now and then that reply is then only seen when
the cell's timeout runs out (see ddpg_helpers/widgets.py). The run below uses a 600 s cell timeout,
as a patient runner would, so a stall shows as a run of ten minutes, not as an error: the test
bounds the wall time instead.
"""

import time
from pathlib import Path

import ipywidgets
import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure

from ddpg_helpers.widgets import png, slider_view

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_inside_the_nets.ipynb"
CELL_TIMEOUT_S = 600
# Measured here (2 shared cores, DDPG_QUICK=1): 18 to 30 s from kernel start to the last cell.
# A stall costs the whole cell timeout (600 s), so a bound of a minute tells the two apart.
WALL_BOUND_S = 60


def figure(slope: float) -> Figure:
    fig = Figure(figsize=(2, 1.5))
    fig.add_subplot().plot(np.arange(5), slope * np.arange(5))
    return fig


def test_slider_view_shows_images_and_text_and_redraws_them():
    calls = []

    def view(slope):
        calls.append(slope)
        return [figure(slope), f"slope {slope}"]

    slider = ipywidgets.IntSlider(value=1, min=0, max=3)
    box = slider_view(view, slope=slider)
    controls, status, image, label = box.children
    assert controls.children == (slider,) and status.value == ""
    assert isinstance(image, ipywidgets.Image) and image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert label.value == "slope 1"
    first = image.value
    slider.value = 3
    assert calls == [1, 3] and label.value == "slope 3" and image.value != first
    assert image.value == png(figure(3))


def test_slider_view_never_uses_an_output_widget():
    # The stall needs output captured in an Output widget; none may exist anywhere in the view.
    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    box = slider_view(lambda x: [figure(x), "text"], x=ipywidgets.FloatSlider(value=0.5))
    assert not any(isinstance(w, ipywidgets.Output) for w in walk(box))


def test_slider_view_shows_a_failing_redraw():
    def view(x):
        if x > 1:
            raise ValueError("too steep")
        return [f"x {x}"]

    slider = ipywidgets.IntSlider(value=0, max=5)
    _, status, label = slider_view(view, x=slider).children
    slider.value = 2
    assert status.value == "could not redraw: ValueError: too steep" and label.value == "x 0"
    slider.value = 1
    assert status.value == "" and label.value == "x 1"


@pytest.mark.slow
def test_notebook_5_runs_headless_without_stalling(monkeypatch):
    try:
        import nbclient
    except ImportError:  # not a skip: this run is the check that the notebook cannot stall
        pytest.fail("nbclient runs the notebook headless: pip install -r requirements-dev.txt")
    monkeypatch.setenv("DDPG_QUICK", "1")
    # One torch thread, as in the other tests: on 2 shared cores two threads spin against each
    # other and the notebook's 9,261 one-by-one critic calls can take ten times as long.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # kernel "python3" whose argv is "python": jupyter_client starts it with this interpreter.
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    assert seconds < WALL_BOUND_S, f"notebook 5 took {seconds:.0f} s headless: a cell waited for its timeout?"

    models = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    names = {model["model_name"] for model in models}
    assert "ImageModel" in names and "OutputModel" not in names
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert not [o for o in outputs if o.output_type == "error"]
