"""Animations of recorded episodes: inline HTML for notebooks (under the embed limit) and GIF files."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def shrink(frames, max_frames: int = 200, scale: float = 0.5) -> list[np.ndarray]:
    """Keep at most `max_frames` evenly spaced frames, each downscaled by `scale` (area-averaged,
    so thin lines such as MountainCar's track stay lines instead of dots).

    A 999-step MountainCar episode at 600x400 is ~720 MB of pixels and about 40 MB as the PNGs
    that `to_jshtml` embeds: twice matplotlib's default `animation.embed_limit` (20 MB), past which
    the animation is silently cut. Halving the size and thinning to 200 frames keeps it near 2 MB.
    """
    frames = list(frames)
    if len(frames) > max_frames:
        frames = [frames[i] for i in np.linspace(0, len(frames) - 1, max_frames).round().astype(int)]
    if scale != 1:
        from PIL import Image

        h, w = frames[0].shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        frames = [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BOX)) for f in frames]
    return frames


def animate(frames, interval_ms: float = 30, max_frames: int = 200, scale: float = 0.5, embed_limit_mb: float = 40):
    """An `ArtistAnimation` of the frames (as the blog's), shrunk to embed safely in a notebook.

    Show it with `IPython.display.HTML(anim.to_jshtml())`. The embed limit is raised to
    `embed_limit_mb` knowingly, as a margin: `shrink` already keeps the HTML well below it.
    """
    import matplotlib
    from matplotlib import animation
    from matplotlib.figure import Figure

    matplotlib.rcParams["animation.embed_limit"] = embed_limit_mb
    frames = shrink(frames, max_frames, scale)
    h, w = frames[0].shape[:2]
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    artists = [[ax.imshow(f, animated=True)] for f in frames]
    return animation.ArtistAnimation(fig, artists, interval=interval_ms, blit=True)


def save_gif(frames, path: str | Path, fps: int = 25, max_frames: int = 400, scale: float = 0.5) -> Path:
    """Write the frames to an animated GIF (atomically), thinned and downscaled as in `shrink`."""
    from PIL import Image

    from .checkpoint import atomic_write

    images = [Image.fromarray(f) for f in shrink(frames, max_frames, scale)]
    atomic_write(path, lambda tmp: images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                                                  duration=round(1000 / fps), loop=0, optimize=True))
    return Path(path)


def embedded_frames(html: str) -> int:
    """How many frames an HTML string from `to_jshtml` really holds."""
    return html.count('"data:image/')


def jshtml(frames, interval_ms: float = 30, max_frames: int = 200, scale: float = 0.5,
           embed_limit_mb: float = 40) -> str:
    """The animation as self-contained HTML for `IPython.display.HTML`, checked to be complete.

    Past `animation.embed_limit` matplotlib stops adding frames and only logs a warning, so a
    notebook shows a cut animation without saying so. This counts the frames that made it into
    the HTML and raises if any is missing.
    """
    from .errors import DDPGError

    frames = list(frames)
    expected = min(len(frames), max_frames)  # what `shrink` keeps
    anim = animate(frames, interval_ms, max_frames, scale, embed_limit_mb)
    html = anim.to_jshtml()
    if embedded_frames(html) < expected:
        raise DDPGError(f"the animation was cut at matplotlib's embed limit: {embedded_frames(html)} of "
                        f"{expected} frames; use fewer frames (max_frames) or a smaller scale")
    return html


def frame_stride_for(n_steps: int, max_frames: int = 200) -> int:
    """The frame stride that records about `max_frames` frames of an `n_steps` episode.

    Rendering only the frames the animation keeps saves memory: a 999-step episode at 600x400 is
    about 720 MB of pixels when every frame is kept.
    """
    return max(1, -(-int(n_steps) // max_frames))
