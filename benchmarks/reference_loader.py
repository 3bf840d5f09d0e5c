"""Baseline for bench_video.py: the LOVE authors' way of loading one video, rewritten for comparison.

The file is opened with decord twice: once for the spatial frames, read one by one with ``vr[idx]``, and
once for the fragment frames, each read one by one (repeated indices decoded once) and stacked as a full
(3, C*T, H, W) video before fragments are cut with Python loops. The offsets come from the global RNG
after ``torch.manual_seed(seed)``, which is how their draws relate to our seeded generator. The outputs
use the same layout as ``love_plugins.video.VideoSample`` (uint8) so the two can be compared.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from decord import VideoReader
from PIL import Image

from love_plugins.video import SamplerConfig, clip_indices, spatial_indices


def reference_frames(path: str, cfg: SamplerConfig) -> torch.Tensor:
    """Spatial stream: uint8 (N, S, S, 3)."""
    vr = VideoReader(path, num_threads=1)
    out = []
    for idx in spatial_indices(len(vr), cfg.num_frames):
        img = Image.fromarray(vr[idx].asnumpy()).convert("RGB")
        out.append(np.asarray(img.resize((cfg.frame_size, cfg.frame_size), Image.BICUBIC)))
    return torch.from_numpy(np.stack(out))


def reference_fragments(path: str, cfg: SamplerConfig) -> torch.Tensor:
    """Motion stream: uint8 (C, T, M, M, 3)."""
    G, P, C, T, M = cfg.fragments, cfg.fragment_size, cfg.num_clips, cfg.clip_len, cfg.mosaic_size
    vr = VideoReader(path)
    indices = clip_indices(len(vr), C, T)
    decoded = {idx: vr[idx].asnumpy() for idx in np.unique(indices)}
    video = torch.stack([torch.from_numpy(decoded[idx]) for idx in indices]).permute(3, 0, 1, 2)
    _, _, res_h, res_w = video.shape
    ratio = min(res_h / M, res_w / M)
    if ratio < 1:
        video = (F.interpolate(video / 255.0, scale_factor=1 / ratio, mode="bilinear") * 255.0).type_as(video)
    hgrids = [min(res_h // G * i, res_h - P) for i in range(G)]
    wgrids = [min(res_w // G * i, res_w - P) for i in range(G)]
    hlength, wlength = res_h // G, res_w // G
    torch.manual_seed(cfg.seed)
    rnd_h = torch.randint(hlength - P, (G, G, C)) if hlength > P else torch.zeros((G, G, C)).int()
    rnd_w = torch.randint(wlength - P, (G, G, C)) if wlength > P else torch.zeros((G, G, C)).int()
    target = torch.zeros((3, C * T, M, M))
    for i, hs in enumerate(hgrids):
        for j, ws in enumerate(wgrids):
            for c in range(C):
                h0, w0 = hs + rnd_h[i][j][c], ws + rnd_w[i][j][c]
                target[:, c * T : (c + 1) * T, i * P : (i + 1) * P, j * P : (j + 1) * P] = video[
                    :, c * T : (c + 1) * T, h0 : h0 + P, w0 : w0 + P
                ]
    return target.to(torch.uint8).reshape(3, C, T, M, M).permute(1, 2, 3, 4, 0).contiguous()


def reference_load(path: str, cfg: SamplerConfig = SamplerConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """Both streams, the reference way: (frames, fragments)."""
    return reference_frames(path, cfg), reference_fragments(path, cfg)
