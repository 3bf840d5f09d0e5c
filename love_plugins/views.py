"""Test-time views for the perception score: a video, its mirror images, played backwards, and with
other fragment samplings; the perception score is the mean over the views (multi-view testing, as video
models average "clips × crops" and FAST-VQA averages several fragment samplings).

A video's technical quality does not change when it is mirrored or played backwards, but what a model
reads off it does: each view puts other pixels into the fragments and at other places in the frames,
and averaging the views averages out what one sampling happened to show. On love-nano's 1,000 held-out
clips, perception SRCC 0.819 with one view and 0.855 with eight (docs/love-nano.md).

Only perception uses views. A correspondence prompt and a QA question can say "moving left" or "on the
top", which a mirror image or a reversal changes; those tasks read the model's own view alone.

View i is transform i % 4 of fragment sampling i // 4 (sampling k draws the fragment offsets with the
sampler's seed + k; sampling 0 is the model's own), so one view is exactly the single-view score and
every four more views cost one more decode of the video.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

VIEW_TRANSFORMS = ("identity", "hflip", "vflip", "reverse")


@dataclass(frozen=True)
class View:
    """One test-time view: which fragment sampling (an offset on the sampler's seed), which transform."""

    sampling: int
    transform: str


def view_plan(views: int) -> list[View]:
    """The first `views` views, in order (see the module docstring)."""
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"perception views must be an integer >= 1 (1 = the model's own view only), got {views!r}")
    n = len(VIEW_TRANSFORMS)
    return [View(i // n, VIEW_TRANSFORMS[i % n]) for i in range(views)]


def samplings_needed(views: int) -> int:
    """How many fragment samplings (decodes of the video) the first `views` views read."""
    return view_plan(views)[-1].sampling + 1


def apply_view(frames: torch.Tensor, fragments: torch.Tensor, transform: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The view of both input streams: `frames` (..., N, S, S, 3) and `fragments` (..., C, T, M, M, 3),
    uint8 channels-last as `read_video` gives them, with or without a batch dimension in front."""
    if transform == "identity":
        return frames, fragments
    axis = {"hflip": -2, "vflip": -3, "reverse": -4}.get(transform)  # width, height, time (frame order)
    if axis is None:
        raise ValueError(f"unknown view transform {transform!r}; known: {VIEW_TRANSFORMS}")
    return frames.flip(axis), fragments.flip(axis)
