"""FAST-VQA-B (Wu et al., ECCV 2022): a Swin3D-T over fragment mosaics and a per-position quality head.

The backbone is LOVE's motion encoder (`modeling.motion_encoder.MotionEncoder`, FAST-VQA's `fragments_backbone`
with its fragment position biases), the sampling LOVE's fragment stream (`video.SamplerConfig` defaults: 4
clips of 32 frames at the centres of 4 segments, 7x7 patches of 32x32 per frame, the same patch offsets through
a clip; ImageNet normalisation on 0-255), which is FAST-VQA-B's test-time sampling (`options/fast/fast-b.yml`,
`vqa.py`). One difference: FAST-VQA draws the patch offsets from torch's global generator, we from a seeded one
(`SamplerConfig.seed`), so a video always gets the same score.

The head (`VQAHead`: 1x1x1 conv 768 -> 64, GELU, 1x1x1 conv 64 -> 1) scores every position of the final
feature map; FAST-VQA's score is the mean over positions and clips, and its demo reports
sigmoid((score - mean) / std) with the training set's statistics (FAST-VQA-B: -0.110198185, 0.04178565) as
a quality in [0, 1]. Here perception = 100 x that; `raw` keeps both.

Weights (not downloaded at run time): FAST_VQA_B_1_4.pth (MIT licence, about 110 MB),
https://github.com/TimothyHTimothy/FAST-VQA/releases/download/v2.0.0/FAST_VQA_B_1_4.pth; pass its path
(`weights=`, `love-eval generalize --model fast-vqa` reads $LOVE_BASELINE_WEIGHTS or
~/.cache/love_plugins/baselines/). LOVE's own `temporal.pth` carries a FAST-VQA head (`fragments_head.*`)
and loads too. Loading is strict: a missing, unexpected or mis-shaped tensor is refused by name.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, LoveError
from ..modeling.motion_encoder import MotionEncoder, load_fastvqa_state_dict
from ..video import SamplerConfig, normalize_fragments, read_video
from .base import BaselineScore, FrameBaseline

WEIGHTS_FILE = "FAST_VQA_B_1_4.pth"
WEIGHTS_URL = "https://github.com/TimothyHTimothy/FAST-VQA/releases/download/v2.0.0/FAST_VQA_B_1_4.pth"
RESCALE = (-0.110198185, 0.04178565)  # FAST-VQA-B's (mean, std) in its vqa.py
HEAD_PREFIXES = ("vqa_head.", "fragments_head.")


def weights_dir() -> Path:
    return Path(os.environ.get("LOVE_BASELINE_WEIGHTS") or Path.home() / ".cache" / "love_plugins" / "baselines")


class VQAHead(nn.Module):
    """FAST-VQA's quality head: a score per position of the (B, 768, T', H', W') feature map."""

    def __init__(self, in_channels: int = 768, hidden_channels: int = 64):
        super().__init__()
        self.fc_hid = nn.Conv3d(in_channels, hidden_channels, (1, 1, 1))
        self.fc_last = nn.Conv3d(hidden_channels, 1, (1, 1, 1))
        self.gelu = nn.GELU()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc_last(self.gelu(self.fc_hid(features)))


class FastVQA(nn.Module):
    def __init__(self):
        super().__init__()
        self.fragments_backbone = MotionEncoder()
        self.vqa_head = VQAHead(self.fragments_backbone.config.output_dim)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, M, M) normalised clips -> FAST-VQA's raw score: the mean over positions and clips."""
        return self.vqa_head(self.fragments_backbone.forward_features(clips)).mean()

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> FastVQA:
        """The released `.pth` (`{"state_dict": ...}`), loaded with weights_only and checked key by key."""
        state = read_state_dict(path)
        model = cls()
        rest = load_backbone(path, model.fragments_backbone, state, "fragments_backbone.")
        prefix = next((p for p in HEAD_PREFIXES if any(k.startswith(p) for k in rest)), None)
        if prefix is None:
            raise CheckpointError(path, f"no quality head ({' or '.join(p + '*' for p in HEAD_PREFIXES)})")
        for key in rest:
            if not key.startswith(prefix):
                raise CheckpointError(path, f"unexpected tensor {key}: not part of FAST-VQA-B")
        load_part(path, state, prefix, model.vqa_head)
        return model.eval()


# -- checkpoint loading shared with DOVER ---------------------------------------------------------------
def read_state_dict(path: str | Path) -> dict:
    """A released `.pth`: a state dict, bare or under "state_dict", read with weights_only."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt or non-torch file
        raise CheckpointError(path, f"not a torch checkpoint ({type(exc).__name__}: {exc})") from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(path, "no state dict in the file")
    return state


def load_backbone(path, encoder: MotionEncoder, state: dict, prefix: str) -> list[str]:
    """The Swin3D under `prefix`, strictly; returns the keys outside it."""
    try:
        return load_fastvqa_state_dict(encoder, state, prefix=prefix)
    except ValueError as exc:
        raise CheckpointError(path, str(exc)) from None


def load_part(path, state: dict, prefix: str, module: nn.Module) -> None:
    """The tensors under `prefix` into `module`: a missing, unexpected or mis-shaped one is refused by name."""
    given = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    expected = module.state_dict()
    for key in sorted(expected.keys() - given.keys()):
        raise CheckpointError(path, f"missing tensor {prefix}{key}")
    for key in sorted(given.keys() - expected.keys()):
        raise CheckpointError(path, f"unexpected tensor {prefix}{key}")
    for key, value in given.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(path, f"{prefix}{key} has shape {tuple(value.shape)}, expected "
                                        f"{tuple(expected[key].shape)}")
    module.load_state_dict(given, strict=True)


class WeightsBaseline(FrameBaseline):
    """A baseline that runs a network with released weights (FAST-VQA, DOVER): finds the file, says what to
    download when it is absent, loads it with the network's strict `from_checkpoint`, and records it."""

    network: type[nn.Module]
    label = ""  # the network's name in messages
    weights_file = weights_url = weights_terms = ""  # file name, where to get it, "licence, size"

    def __init__(self, weights: str | Path | None = None, device: str | None = None):
        path = Path(weights) if weights else weights_dir() / self.weights_file
        if not path.is_file():
            raise LoveError(f"{self.label} weights not found at {path}: download {self.weights_url} "
                            f"({self.weights_terms}) and pass its path, or put it in {weights_dir()} "
                            "($LOVE_BASELINE_WEIGHTS)")
        self.weights = path
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = self.network.from_checkpoint(path).to(self.device)

    def describe(self) -> dict:
        return {**super().describe(), "checkpoint": str(self.weights), "kind": "learned baseline",
                "versions": {"torch": torch.__version__, "python": platform.python_version()}}


class FastVQAScorer(WeightsBaseline):
    name, label = "fast-vqa", "FAST-VQA"
    description = "FAST-VQA-B (Wu et al. 2022), released weights; score = 100 x sigmoid((raw - mean) / std)"
    network = FastVQA
    weights_file, weights_url, weights_terms = WEIGHTS_FILE, WEIGHTS_URL, "MIT licence, about 110 MB"

    def __init__(self, weights: str | Path | None = None, device: str | None = None, sampler: SamplerConfig | None = None):
        super().__init__(weights, device)
        self.sampler = sampler or SamplerConfig()

    def config(self) -> dict:
        return {**self.sampler.to_dict(), "weights": str(self.weights), "rescale": list(RESCALE)}

    @torch.inference_mode()
    def measure(self, path: str) -> BaselineScore:
        sample = read_video(path, self.sampler)
        raw = float(self.model(normalize_fragments(sample.fragments).to(self.device)))
        quality = 1 / (1 + math.exp(-(raw - RESCALE[0]) / RESCALE[1]))
        return BaselineScore(video=path, perception=100 * quality, raw={"fast_vqa": raw, "fast_vqa_rescaled": quality})
