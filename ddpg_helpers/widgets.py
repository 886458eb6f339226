"""Sliders that redraw figures, built so that a notebook run without a browser cannot stall on them.

`ipywidgets.interact` (and `interactive_output`) draws into an Output widget: the cell's figures and
prints are captured by a widget that the browser fills in. A client that runs a notebook headless
(nbclient, and so `jupyter nbconvert --execute` and papermill) has no browser, so it mimics that
widget, and for every output captured in it sends the widget's new state back to the kernel as a
comm message on the shell channel, the very socket on which it is waiting for the cell's reply.
jupyter_client sends through a blocking shadow of that asyncio socket, so pyzmq's event loop is not
told to look again for incoming messages; when the send falls just as the reply arrives, the
socket's edge-triggered wake-up is spent on the send, and the client sees the reply only when the
cell's timeout fires and it polls one last time. The cell then ends without an error, the kernel
idle all along: 300 s lost with nbconvert's `--ExecutePreprocessor.timeout=300`.

So nothing here is drawn into an Output widget. Each figure is an Image widget holding a PNG, and
each line of text a Label; moving a slider replaces their values. The kernel only ever sends widget
state, which a headless client records and never answers, while a reader in Jupyter or Colab sees
the same figures redrawn as with `interact`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:  # imported where a slider is built: the command line and the benchmarks run without it
    import ipywidgets


def png(fig: Figure, dpi: int = 72) -> bytes:
    """The figure as PNG bytes, trimmed to what is drawn (as the inline backend shows it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _widget_for(item, dpi: int) -> ipywidgets.Widget:
    import ipywidgets

    if isinstance(item, Figure):
        return ipywidgets.Image(value=png(item, dpi), format="png", layout=ipywidgets.Layout(max_width="100%"))
    return ipywidgets.Label(value=str(item))


def _update(widget: ipywidgets.Widget, item, dpi: int) -> None:
    widget.value = png(item, dpi) if isinstance(item, Figure) else str(item)


def _labelled(control: ipywidgets.ValueWidget) -> ipywidgets.Widget:
    """The control with its description and its value shown whole, at any width of the page.

    A slider's description sits in a box 80 pixels wide and its readout in one of at most 148: longer
    text is cut ("final (episode 115)" showed as "final (episode"). The description gets the width of
    its text; a selection slider's readout, text that cannot be typed into anyway, is replaced by a
    Label beside it that grows with its value.
    """
    import ipywidgets

    if getattr(control, "description", ""):
        control.style.description_width = "initial"
    if not isinstance(control, ipywidgets.SelectionSlider) or not control.readout:
        return control
    control.readout = False
    readout = ipywidgets.Label(value=control.label, layout=ipywidgets.Layout(flex="0 0 auto"))

    def show(_change=None) -> None:
        readout.value = control.label

    control.observe(show, names="label")
    return ipywidgets.HBox([control, readout], layout=ipywidgets.Layout(flex="0 0 auto", align_items="center"))


def slider_view(view: Callable[..., list], dpi: int = 72, **controls: ipywidgets.ValueWidget) -> ipywidgets.VBox:
    """The controls above what `view(**values)` returns, redrawn whenever a control's value changes.

    `view` is called with each control's value under its keyword and returns a list of matplotlib
    Figures and strings, the same kinds in the same order on every call; each becomes an Image or a
    Label. Display the returned box to show it. A `view` that raises shows its error in place of
    the text instead of failing silently in the kernel's log. Each control's description and value
    show whole (`_labelled`), and the controls wrap onto more lines where the page is narrow.
    """
    import ipywidgets

    def values() -> dict:
        return {name: control.value for name, control in controls.items()}

    shown = [_widget_for(item, dpi) for item in view(**values())]
    status = ipywidgets.Label()

    def redraw(_change=None) -> None:
        try:
            items = view(**values())
        except Exception as e:  # a slider callback's error would otherwise only reach the kernel's log
            status.value = f"could not redraw: {type(e).__name__}: {e}"
            return
        status.value = ""
        for widget, item in zip(shown, items):
            _update(widget, item, dpi)

    for control in controls.values():
        control.observe(redraw, names="value")
    # The controls wrap onto a second line where the page is too narrow for them side by side.
    row = ipywidgets.HBox([_labelled(control) for control in controls.values()],
                          layout=ipywidgets.Layout(flex_flow="row wrap"))
    return ipywidgets.VBox([row, status, *shown])
