"""Hand-made quality statistics of a fragment clip: the distillation targets of love-nano's motion stage.

LOVE's motion encoder comes pre-trained for quality (FAST-VQA's `temporal.pth`); love-nano's is built
from config and has to learn from a few hundred clips. Trained on the MOS and the six degradation
severities alone it reads the held-out MOS at about 0.62; asked as well to predict these eleven
statistics of each clip it reads it at 0.69-0.76, and fed in place of the motion features the
statistics themselves carry the whole recipe to 0.82 (docs/love-nano.md). They are classical
no-reference measures, each aimed at one artefact the suite renders:

* flicker: the spread and range of the frame brightness, and its mean step between frames;
* colour loss: the mean saturation;
* noise: the median absolute deviation of the Laplacian;
* blur: high percentiles of the gradient magnitude after a 3×3 median filter (which removes the
  noise first), over the grey range;
* blockiness: how much larger the horizontal steps are on an 8- (4-) pixel grid than on average;
* stutter and freezing: the share of (nearly) still frame steps and the spread of the frame steps.

Only a training target: no model reads them at inference.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

FRAGMENT_STATISTICS: tuple[str, ...] = (
    "brightness_std", "brightness_range", "saturation", "noise", "sharpness_p99.5", "sharpness_p98",
    "grid8_step_ratio", "grid4_step_ratio", "brightness_step", "still_share", "step_spread",
)
_EPS = 1e-3


def _grid_step_ratio(column_steps: np.ndarray, period: int) -> float:
    """Largest mean column step on any `period`-pixel grid phase, over the mean column step."""
    return max(float(column_steps[k::period].mean()) for k in range(period)) / (float(column_steps.mean()) + _EPS)


def clip_statistics(clip: np.ndarray) -> np.ndarray:
    """The `FRAGMENT_STATISTICS` of one clip, (T, H, W, 3) on 0-255 (uint8 or float); float64 (11,)."""
    x = np.asarray(clip, dtype=np.float32)
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[0] < 2:
        raise ValueError(f"need a clip of shape (T >= 2, H, W, 3), got {x.shape}")
    grey = x.mean(-1)
    brightness = grey.mean((1, 2))
    laplacian = np.stack([ndimage.laplace(frame) for frame in grey])
    denoised = np.stack([ndimage.median_filter(frame, 3) for frame in grey])
    gy, gx = np.gradient(denoised, axis=(1, 2))
    gradient = np.hypot(gx, gy)
    grey_range = np.percentile(denoised, 99) - np.percentile(denoised, 1) + _EPS
    column_steps = np.abs(np.diff(grey, axis=2)).mean((0, 1))
    frame_steps = np.abs(np.diff(x, axis=0)).mean((1, 2, 3))
    return np.array([
        brightness.std(),
        np.ptp(brightness),
        (x.max(-1) - x.min(-1)).mean(),
        np.median(np.abs(laplacian - np.median(laplacian))),
        np.percentile(gradient, 99.5) / grey_range,
        np.percentile(gradient, 98) / grey_range,
        _grid_step_ratio(column_steps, 8),
        _grid_step_ratio(column_steps, 4),
        np.abs(np.diff(brightness)).mean(),
        (frame_steps < 0.5).mean(),
        frame_steps.std() / (frame_steps.mean() + _EPS),
    ], dtype=np.float64)


def fragment_statistics(fragments: torch.Tensor) -> torch.Tensor:
    """Statistics of each clip of a video's uint8 fragments (clips, T, H, W, 3) → float32 (clips, 11)."""
    if fragments.ndim != 5:
        raise ValueError(f"need fragments of shape (clips, T, H, W, 3), got {tuple(fragments.shape)}")
    return torch.from_numpy(np.stack([clip_statistics(clip.numpy()) for clip in fragments])).float()
