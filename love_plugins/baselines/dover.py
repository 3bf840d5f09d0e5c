"""DOVER (Wu et al., ICCV 2023): a technical branch and an aesthetic branch, each with a quality head, fused.

- Technical: FAST-VQA's Swin3D (LOVE's motion encoder) on fragment mosaics of 3 clips of 32 frames taken every
  second frame, 7x7 patches of 32x32, new patch offsets per clip (`dover.yml`, `sample_types.technical`).
- Aesthetic: an inflated ConvNeXt-T (`ConvNeXt3D` below: 3D stem (2, 4, 4), depthwise kernels of temporal length
  1, 3, 1, 1, 3, 1, ... within a stage, 2x2 spatial downsampling) on 32 frames, one from each of 32 equal
  segments, every frame resized to 224x224 (bilinear, antialiased, as torchvision's Resize).
- Each head (FAST-VQA's `VQAHead`) scores every position of its branch's feature map; a branch's score is the
  mean. DOVER's fused quality (`evaluate_one_video.py --fusion`) is
  sigmoid(0.6104 (technical - 0.1107) / 0.07355 + 0.3896 (aesthetic + 0.08285) / 0.03774), in [0, 1];
  perception = 100 x that; `raw` keeps the two branch scores.

Sampling differs from DOVER's in one way: DOVER draws its frame and patch offsets from NumPy's and torch's
global generators at test time; here they come from generators seeded by `seed`, so a video always gets the
same score.

Weights (not downloaded at run time): DOVER.pth (S-Lab License 1.0: non-commercial use; about 220 MB),
https://github.com/QualityAssessment/DOVER/releases/download/v0.1.0/DOVER.pth, found in $LOVE_BASELINE_WEIGHTS or
~/.cache/love_plugins/baselines/, or passed as `weights=`. Loaded with weights_only, every key checked.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from ..modeling.motion_encoder import MotionEncoder
from ..tensor_video import sample_from_frames
from ..video import IMAGENET_MEAN_255, IMAGENET_STD_255, SamplerConfig, normalize_fragments
from .base import BaselineScore, read_rgb_frames
from .fastvqa import VQAHead, WeightsBaseline, load_backbone, load_part, read_state_dict

WEIGHTS_FILE = "DOVER.pth"
WEIGHTS_URL = "https://github.com/QualityAssessment/DOVER/releases/download/v0.1.0/DOVER.pth"
FUSION = {"technical": (0.1107, 0.07355, 0.6104), "aesthetic": (-0.08285, 0.03774, 0.3896)}  # (mean, std, weight)


# -- the aesthetic backbone ------------------------------------------------------------------------------
class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of (N, C, T, H, W)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.zeros(dim)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.movedim(1, -1), self.weight.shape, self.weight, self.bias, self.eps).movedim(-1, 1)


class ConvNeXtBlock3D(nn.Module):
    """Depthwise (k, 7, 7) convolution, LayerNorm, MLP 4x, layer scale, residual."""

    def __init__(self, dim: int, temporal_kernel: int):
        super().__init__()
        self.dwconv = nn.Conv3d(dim, dim, (temporal_kernel, 7, 7), padding=(temporal_kernel // 2, 3, 3), groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).movedim(1, -1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.movedim(-1, 1)


class ConvNeXt3D(nn.Module):
    """ConvNeXt-T inflated to video (DOVER's `convnext_3d_tiny`, inflate strategy "131"); parameter names match
    DOVER's `aesthetic_backbone.*`."""

    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), temporal_kernels="131"):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Sequential(nn.Conv3d(3, dims[0], (2, 4, 4), stride=(2, 4, 4)),
                                                              ChannelsFirstLayerNorm(dims[0]))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(ChannelsFirstLayerNorm(dims[i]),
                                                        nn.Conv3d(dims[i], dims[i + 1], (1, 2, 2), stride=(1, 2, 2))))
        self.stages = nn.ModuleList(
            nn.Sequential(*[ConvNeXtBlock3D(dims[i], int(temporal_kernels[j % len(temporal_kernels)]))
                            for j in range(depth)]) for i, depth in enumerate(depths))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) normalised frames -> (N, 768, T/2, H/32, W/32) normalised feature map."""
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


class Dover(nn.Module):
    def __init__(self):
        super().__init__()
        self.technical_backbone = MotionEncoder()
        self.aesthetic_backbone = ConvNeXt3D()
        self.technical_head = VQAHead(768)
        self.aesthetic_head = VQAHead(768)

    def forward(self, technical: torch.Tensor, aesthetic: torch.Tensor) -> tuple[float, float]:
        """Normalised technical clips (C, 3, 32, 224, 224) and aesthetic frames (1, 3, 32, 224, 224) -> the two
        branch scores."""
        t = self.technical_head(self.technical_backbone.forward_features(technical)).mean()
        a = self.aesthetic_head(self.aesthetic_backbone(aesthetic)).mean()
        return float(t), float(a)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Dover:
        """The released DOVER.pth, loaded with weights_only and checked key by key."""
        state = read_state_dict(path)
        model = cls()
        rest = load_backbone(path, model.technical_backbone, state, "technical_backbone.")
        parts = {"aesthetic_backbone.": model.aesthetic_backbone, "technical_head.": model.technical_head,
                 "aesthetic_head.": model.aesthetic_head}
        for key in rest:
            if not key.startswith(tuple(parts)):
                raise CheckpointError(path, f"unexpected tensor {key}: not part of DOVER")
        for prefix, module in parts.items():
            load_part(path, state, prefix, module)
        return model.eval()


# -- sampling --------------------------------------------------------------------------------------------
def segment_indices(num_frames: int, segments: int, length: int, interval: int, rng: np.random.Generator) -> np.ndarray:
    """DOVER's UnifiedFrameSampler: `segments` equal parts, in each `length` frames `interval` apart from a random
    start (0 when the part is too short); indices past the end wrap."""
    part = num_frames // segments
    span = length * interval
    starts = rng.integers(0, part - span, segments) if part > span else np.zeros(segments, dtype=np.int64)
    grid = np.arange(segments) * part
    return np.mod((grid + starts)[:, None] + np.arange(length)[None, :] * interval, num_frames).reshape(-1)


def _normalise(frames_uint8: torch.Tensor) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float, ImageNet statistics on 0-255."""
    mean, std = torch.tensor(IMAGENET_MEAN_255), torch.tensor(IMAGENET_STD_255)
    return ((frames_uint8.float() - mean) / std).permute(3, 0, 1, 2)


class DoverScorer(WeightsBaseline):
    name, label = "dover", "DOVER"
    description = "DOVER (Wu et al. 2023), released weights; score = 100 x DOVER's fused quality"
    network = Dover
    weights_file, weights_url = WEIGHTS_FILE, WEIGHTS_URL
    weights_terms = "S-Lab License 1.0, non-commercial; about 220 MB"

    def __init__(self, weights: str | Path | None = None, device: str | None = None, technical_clips: int = 3,
                 seed: int = 0, max_decode: int = 2048):
        super().__init__(weights, device)
        self.technical_clips, self.seed, self.max_decode = technical_clips, seed, max_decode

    def config(self) -> dict:
        return {"technical": {"clips": self.technical_clips, "clip_len": 32, "frame_interval": 2, "fragments": 7,
                              "fragment_size": 32},
                "aesthetic": {"frames": 32, "size": 224}, "seed": self.seed, "weights": str(self.weights)}

    def views(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalised technical clips (C, 3, 32, 224, 224) and aesthetic frames (1, 3, 32, 224, 224)."""
        from torchvision.transforms.functional import resize

        rng = np.random.default_rng(self.seed)
        clips = []
        for k in range(self.technical_clips):
            picked = torch.from_numpy(frames[segment_indices(len(frames), 1, 32, 2, rng)])
            sample = sample_from_frames(picked, SamplerConfig(num_frames=1, frame_size=16, num_clips=1, clip_len=32,
                                                              seed=self.seed + k))
            clips.append(normalize_fragments(sample.fragments)[0])
        picked = torch.from_numpy(frames[segment_indices(len(frames), 32, 1, 2, rng)]).permute(0, 3, 1, 2)
        resized = resize(picked, [224, 224], antialias=True).permute(0, 2, 3, 1)
        return torch.stack(clips), _normalise(resized)[None]

    @torch.inference_mode()
    def measure(self, path: str) -> BaselineScore:
        technical, aesthetic = self.views(read_rgb_frames(path, max_frames=self.max_decode))
        t, a = self.model(technical.to(self.device), aesthetic.to(self.device))
        logit = sum(w * (x - m) / s for x, (m, s, w) in zip((t, a), FUSION.values()))
        quality = 1 / (1 + math.exp(-logit))
        return BaselineScore(video=path, perception=100 * quality,
                             raw={"dover_technical": t, "dover_aesthetic": a, "dover_fused": quality})
