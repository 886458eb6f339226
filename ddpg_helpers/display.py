"""A virtual display, started only where a renderer needs one.

gymnasium's `rgb_array` rendering, which every notebook uses, draws with pygame into an off-screen
surface and returns the pixels: it needs no display, on Colab or on a headless server. Only a
renderer that opens a window (`render_mode="human"`, or the OpenGL viewer of the old `gym` the
blog used) needs an X display; where there is none, Xvfb provides a virtual one through
`pyvirtualdisplay` (`bash setup_colab.sh --xvfb` installs both on Colab).
"""

from __future__ import annotations

import os
import shutil

from .errors import DDPGError

WINDOW_MODES = {"human"}
"""Render modes that open a window and so need a display."""


def has_display() -> bool:
    """True when an X display is set (a desktop, or a virtual display already started)."""
    return bool(os.environ.get("DISPLAY"))


def needs_display(render_mode: str | None) -> bool:
    """True when rendering in `render_mode` needs a display this machine does not have."""
    return render_mode in WINDOW_MODES and not has_display()


def start_virtual_display(size: tuple[int, int] = (1024, 768)):
    """Start Xvfb through pyvirtualdisplay (it sets DISPLAY) and return the running Display."""
    try:
        from pyvirtualdisplay import Display
    except ImportError:
        raise DDPGError("pyvirtualdisplay is not installed: pip install pyvirtualdisplay "
                        "(on Colab: bash setup_colab.sh --xvfb)") from None
    if shutil.which("Xvfb") is None:
        raise DDPGError("Xvfb is not installed: apt-get install -y xvfb (on Colab: bash setup_colab.sh --xvfb)")
    display = Display(visible=False, size=size)
    display.start()
    return display


def ensure_display(render_mode: str | None = "rgb_array", size: tuple[int, int] = (1024, 768)):
    """A virtual display if `render_mode` needs one and none is set, else None (nothing started)."""
    if not needs_display(render_mode):
        return None
    return start_virtual_display(size)


def explain(render_mode: str | None = "rgb_array") -> str:
    """One line saying whether `render_mode` needs a display here, and why."""
    if render_mode not in WINDOW_MODES:
        return (f"render_mode={render_mode!r} draws off-screen and returns pixels: no display needed, "
                "no virtual display started.")
    if has_display():
        return f"render_mode={render_mode!r} opens a window on the display {os.environ['DISPLAY']}."
    return f"render_mode={render_mode!r} opens a window: this machine has no display, so Xvfb provides one."
