"""Videos held in memory (what an RL trainer's generator hands over) → LOVE's two input streams.

Accepted layouts, alone or in a list, or stacked as a batch:

    uint8 (T, H, W, 3)          frames as a decoder gives them (also a numpy array)
    float (T, 3, H, W) in [0, 1]  frames as generators and trainers hold them (Flow-GRPO, FastVideo, ...)
    (B, T, 3, H, W) float / (B, T, H, W, 3) uint8   a batch

Two paths, one sampling (the same frame indices and fragment offsets as for a file):

- `sample_from_frames`: a CPU video, as uint8 (floats are rounded to uint8), through exactly the code that
  reads files (PIL bicubic resize, FAST-VQA fragments): frames that a file decodes to give the file's
  scores bit for bit.
- `tensor_streams`: any device, differentiable: the spatial frames resized with torch's antialiased bicubic
  (PIL's filter, without PIL's rounding to uint8) and the fragments cut by indexing, so gradients flow from
  the model back to the pixels and GPU tensors stay on the GPU. Its scores agree with the exact path up to
  that rounding (tested; `LoveReward` documents the tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import LoveError
from .video import (
    SamplerConfig,
    VideoMeta,
    VideoSample,
    _Assembler,
    _needs_upsample,
    clip_indices,
    fragment_offsets,
    spatial_indices,
)

__all__ = ["is_video_tensor", "sample_from_frames", "split_videos", "tensor_streams", "to_uint8_frames",
           "to_float_frames"]


def is_video_tensor(value) -> bool:
    return isinstance(value, (torch.Tensor, np.ndarray))


def _describe(video) -> str:
    return f"{str(video.dtype).replace('torch.', '')} {tuple(video.shape)}"


def split_videos(videos) -> list:
    """A list of per-video items (paths, or 4-D arrays) from any accepted input: a path, a video, a list of
    either, or a 5-D batch."""
    if isinstance(videos, (str, bytes)) or not isinstance(videos, (Sequence, torch.Tensor, np.ndarray)):
        return [videos]
    if is_video_tensor(videos):
        if videos.ndim == 5:
            return list(videos.unbind(0)) if isinstance(videos, torch.Tensor) else list(videos)
        if videos.ndim == 4:
            return [videos]
        raise LoveError(f"a video tensor must be 4-D (one video) or 5-D (a batch), got {_describe(videos)}")
    return list(videos)


def _layout(video, index: int) -> str:
    """"thwc" (uint8 frames) or "tchw" (float frames in [0, 1]); anything else is an error naming the video."""
    shape = tuple(video.shape)
    uint8 = video.dtype in (torch.uint8, np.uint8)
    if video.ndim == 4 and uint8 and shape[-1] == 3:
        return "thwc"
    if video.ndim == 4 and not uint8 and shape[1] == 3:
        return "tchw"
    raise LoveError(f"video {index}: expected uint8 (T, H, W, 3) or float (T, 3, H, W) in [0, 1], got "
                    f"{_describe(video)}")


def _check(video, index: int) -> str:
    layout = _layout(video, index)
    if video.shape[0] < 1 or min(video.shape[1:3] if layout == "thwc" else video.shape[2:4]) < 1:
        raise LoveError(f"video {index}: it has no frames or no pixels ({_describe(video)})")
    if layout == "tchw":  # one pass: a NaN or an infinity shows in the minimum or the maximum
        low, high = (float(v) for v in torch.aminmax(torch.as_tensor(video).detach()))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise LoveError(f"video {index}: holds NaN or infinite values")
        if low < -1e-6 or high > 1 + 1e-6:
            raise LoveError(f"video {index}: float frames must be in [0, 1], found [{low:.3g}, {high:.3g}]")
    return layout


def to_uint8_frames(video, index: int = 0) -> torch.Tensor:
    """uint8 (T, H, W, 3) on the video's device; float frames are rounded to the nearest level."""
    layout = _check(video, index)
    video = torch.as_tensor(video)
    if layout == "thwc":
        return video
    return (video.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)


def to_float_frames(video, index: int = 0) -> torch.Tensor:
    """float (T, 3, H, W) in [0, 1] on the video's device (the differentiable path's input)."""
    layout = _check(video, index)
    video = torch.as_tensor(video)
    if layout == "tchw":
        return video if video.is_floating_point() else video.float()
    return video.permute(0, 3, 1, 2).float() / 255


def sample_from_frames(video, config: SamplerConfig, fps: float | None = None, name: str = "<memory>",
                       index: int = 0) -> VideoSample:
    """Both streams of an in-memory video, through the same code as a file's decoded frames (CPU)."""
    _layout(video, index)
    n = video.shape[0]
    if n < 1:
        raise LoveError(f"video {index}: it has no frames or no pixels ({_describe(video)})")
    asm = _Assembler(n, config)
    needed = torch.as_tensor(video)[asm.needed]  # only the frames sampling reads are checked and converted
    frames = to_uint8_frames(needed, index).cpu().numpy()
    for idx, rgb in zip(asm.needed, frames):
        asm.add(name, idx, np.ascontiguousarray(rgb))
    height, width = frames.shape[1:3]
    meta = VideoMeta(name, n, float(fps or 0.0), width, height, n / fps if fps else 0.0, "memory")
    frames, fragments = asm.streams()
    return VideoSample(frames=frames, fragments=fragments, meta=meta, config=config)


def tensor_streams(video: torch.Tensor, config: SamplerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(frames (N, S, S, 3), fragments (C, T, M, M, 3)), float on 0-255, differentiable, on the video's device,
    from float frames (T, 3, H, W) in [0, 1] (see `to_float_frames`)."""
    n, _, height, width = video.shape
    size = config.frame_size
    spatial = video[spatial_indices(n, config.num_frames)] * 255
    frames = F.interpolate(spatial, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    frames = frames.clamp(0, 255).permute(0, 2, 3, 1)
    picked = video[clip_indices(n, config.num_clips, config.clip_len)] * 255  # (C*T, 3, H, W)
    if _needs_upsample(height, width, config):  # as the authors, from the original size
        scale = 1 / min(height / config.mosaic_size, width / config.mosaic_size)
        picked = F.interpolate(picked, scale_factor=scale, mode="bilinear")
    top, left = fragment_offsets(height, width, config)  # (G, G, C)
    grid, patch = config.fragments, config.fragment_size
    clips = picked.reshape(config.num_clips, config.clip_len, *picked.shape[1:])
    mosaics = []
    for c in range(config.num_clips):
        rows = [torch.cat([clips[c, :, :, int(top[i, j, c]):int(top[i, j, c]) + patch,
                                 int(left[i, j, c]):int(left[i, j, c]) + patch] for j in range(grid)], dim=-1)
                for i in range(grid)]
        mosaics.append(torch.cat(rows, dim=-2))  # (T, 3, M, M)
    return frames, torch.stack(mosaics).permute(0, 1, 3, 4, 2)
