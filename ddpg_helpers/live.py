"""Showing things in a notebook: the package's real source, figures as PNG, a reward curve that grows in place."""

from __future__ import annotations

import io


def show_source(obj):
    """The real source of a class or function from this package, highlighted in the notebook."""
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def figure_png(fig, dpi: int = 80) -> bytes:
    """A Figure rendered to PNG bytes (works without pyplot and without a display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class LiveRewardPlot:
    """A training callback that redraws the reward curve in place each time an episode ends.

        plot = LiveRewardPlot()
        train(config, callback=plot)

    It keeps one display handle and replaces its image, so the cell shows one growing plot instead
    of one plot per episode. Outside a notebook it only counts the redraws.
    """

    def __init__(self, every: int = 1, title: str | None = None, figsize=(7, 3.5)):
        self.every, self.title, self.figsize = max(1, int(every)), title, figsize
        self.handle = None
        self.draws = 0

    def __call__(self, trainer) -> None:
        if trainer.episode % self.every == 0 or trainer.done:
            self.draw(trainer.history)

    def draw(self, history: dict) -> None:
        from matplotlib.figure import Figure

        from .plotting import reward_curve

        fig = Figure(figsize=self.figsize)
        reward_curve(history, fig.add_subplot(), title=self.title)
        fig.tight_layout()
        self.draws += 1
        self._show(figure_png(fig))

    def _show(self, png: bytes) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import Image, display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self.handle is None:
            self.handle = display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))
