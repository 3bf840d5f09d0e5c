"""LOVE-Reward in the shapes RL trainers for text-to-video models call a reward (see docs/reward.md).

Each adapter is a few lines over `LoveReward`; none of the frameworks needs to be installed to import this
module (where one is, its base class is used so its loader accepts the adapter).

| trainer | what it calls | adapter |
|---|---|---|
| Flow-GRPO (`flow_grpo/rewards.py`) | `reward_fn(images, prompts, metadata) -> (scores, info)`; `multi_score(device, {name: weight})` | `flow_grpo_reward(device)` |
| Flow-Factory (`rewards/abc.py`) | `PointwiseRewardModel(prompt, video=[Tensor(T,C,H,W)] or [[PIL]]) -> RewardModelOutput(rewards)` | `FlowFactoryLoveReward` |
| FastVideo (`training/rl/rewards/base.py`) | `BaseRewardModel.compute_reward(videos[B,T,C,H,W] in [0,1], prompts) -> Tensor[B]` | `FastVideoLoveReward` |
| DanceGRPO (`fastvideo/models/videoalign/inference.py`) | `inferencer.reward(paths, prompts, use_norm=True) -> [{"VQ", "MQ", "TA", "Overall"}]` | `DanceGRPOLoveInferencer` |

Questions for the qa component come from the trainer's per-sample metadata (`metadata[i]["question"]`,
Flow-GRPO) or keyword arguments (`questions=`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .reward import LoveReward

logger = logging.getLogger(__name__)

__all__ = ["DanceGRPOLoveInferencer", "FastVideoLoveReward", "FlowFactoryLoveReward", "flow_grpo_reward"]


def _questions(metadata, n: int) -> list[str] | None:
    """Per-sample questions from trainer metadata (dicts, or Flow-Factory's JSON strings), if any."""
    if metadata is None:
        return None
    rows = [json.loads(m) if isinstance(m, str) else (m or {}) for m in (metadata if isinstance(metadata, (list, tuple))
                                                                          else [metadata] * n)]
    found = [r.get("question") for r in rows]
    return found if any(found) else None


# -- Flow-GRPO -------------------------------------------------------------------------------------------
def flow_grpo_reward(device="cuda", **reward_options):
    """Flow-GRPO's reward factory: `score_fn = flow_grpo_reward(device)`, then `scores, info = score_fn(images,
    prompts, metadata)` with `images` (B, T, C, H, W) float in [0, 1] (video; a list of (T, C, H, W) too).
    Register it beside Flow-GRPO's own: `score_functions["love"] = flow_grpo_reward` in `multi_score`."""
    reward = LoveReward(device=device, **reward_options)

    def _fn(images, prompts, metadata):
        out = reward(images, list(prompts), questions=_questions(metadata, len(prompts)))
        info = {task: value.detach().cpu().numpy() for task, value in out.details.items()}
        return out.rewards.detach().cpu().numpy().astype(np.float32), info

    return _fn


# -- Flow-Factory ----------------------------------------------------------------------------------------
try:  # its loader expects a subclass of its base when installed
    from flow_factory.rewards import PointwiseRewardModel as _FlowFactoryBase
    from flow_factory.rewards import RewardModelOutput
except ImportError:
    _FlowFactoryBase = object

    @dataclass
    class RewardModelOutput:
        """Flow-Factory's output record (`rewards` (B,), `extra_info`), when Flow-Factory is not installed."""

        rewards: torch.Tensor
        extra_info: dict[str, Any] | None = field(default=None)


def _pil_video(frames) -> np.ndarray:
    return np.stack([np.asarray(frame.convert("RGB")) for frame in frames])


class FlowFactoryLoveReward(_FlowFactoryBase):
    """`reward_model: love_plugins.reward_adapters.FlowFactoryLoveReward` in a Flow-Factory config.

    Takes videos as tensors (T, C, H, W) in [0, 1] (`use_tensor_inputs`) or as lists of PIL frames."""

    required_fields = ("prompt", "video")
    use_tensor_inputs = True

    def __init__(self, config=None, accelerator=None, **reward_options):
        if _FlowFactoryBase is not object:
            super().__init__(config, accelerator)
        device = getattr(config, "device", None) or reward_options.pop("device", None)
        self.love = LoveReward(device=device, **reward_options)

    def __call__(self, prompt, image=None, video=None, audio=None, condition_images=None, condition_videos=None,
                 **kwargs) -> RewardModelOutput:
        if video is None:
            raise ValueError("LOVE scores videos: pass video=[...]")
        videos = [v if isinstance(v, (torch.Tensor, np.ndarray)) else _pil_video(v) for v in video]
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        out = self.love(videos, prompts, questions=kwargs.get("questions") or _questions(kwargs.get("metadata"),
                                                                                          len(prompts)))
        return RewardModelOutput(rewards=out.rewards, extra_info={**out.details, "errors": out.errors})


# -- FastVideo -------------------------------------------------------------------------------------------
try:
    from fastvideo.training.rl.rewards.base import BaseRewardModel as _FastVideoBase
except ImportError:
    _FastVideoBase = nn.Module


class FastVideoLoveReward(_FastVideoBase):
    """FastVideo's video reward model: `compute_reward(videos[B, T, C, H, W] in [0, 1], prompts) -> Tensor[B]`."""

    def __init__(self, model_path: str | None = "love", device: str = "cuda", **reward_options):
        if _FastVideoBase is nn.Module:
            super().__init__()
            self.model_path, self.device = model_path, device
        else:
            super().__init__(model_path, device)
        self.love = LoveReward(model_path or "love", device=device, **reward_options)

    def compute_reward(self, videos: torch.Tensor, prompts: list[str] | None, **kwargs: Any) -> torch.Tensor:
        return self.love(videos, prompts, questions=kwargs.get("questions")).rewards

    def forward(self, videos: torch.Tensor, prompts: list[str] | None = None, **kwargs: Any) -> torch.Tensor:
        return self.compute_reward(videos, prompts, **kwargs)


# -- DanceGRPO -------------------------------------------------------------------------------------------
class DanceGRPOLoveInferencer:
    """In place of DanceGRPO's VideoAlign inferencer: `reward(video_paths, prompts, use_norm=True)` returns one
    dict per video: VQ (visual quality) and MQ (motion quality) are LOVE's perception (which sees motion
    through its motion encoder), TA (text alignment) its correspondence, Overall the LoveReward reward; on
    the 0-1 scale with `use_norm`, else on LOVE's 0-100 MOS scale.

    DanceGRPO turns any exception of the reward into a reward of -1.0 without a word; this inferencer logs each
    video it cannot score (file and reason) at ERROR level before it raises, so the failure is at least seen."""

    def __init__(self, model: str = "love", device: str = "cuda", **reward_options):
        from .scorer import load

        self.device = device
        scorer = load(model, device=device, perception_views=1)
        options = {"weights": {"perception": 1.0, "correspondence": 1.0}, **reward_options}
        self.love = {norm: LoveReward(scorer, normalize=norm, on_error="nan", **options) for norm in ("mos", "none")}

    def reward(self, video_paths, prompts, fps=None, num_frames=None, max_pixels=None, use_norm=True):
        """`fps`, `num_frames`, `max_pixels` are VideoAlign's sampling options: LOVE samples its own frames."""
        out = self.love["mos" if use_norm else "none"](list(video_paths), list(prompts))
        for path, error in zip(video_paths, out.errors):
            if error:
                logger.error("LOVE-Reward: %s: %s", path, error)
        if not bool(out.valid.all()):
            raise RuntimeError(f"LOVE could not score {int((~out.valid).sum())} video(s); see the log")
        perception, correspondence = (out.details[t].tolist() for t in ("perception", "correspondence"))
        return [{"VQ": p, "MQ": p, "TA": c, "Overall": float(r)}
                for p, c, r in zip(perception, correspondence, out.rewards.tolist())]
