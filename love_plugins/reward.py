"""LOVE-Reward: LOVE's scores as the reward of RL fine-tuning for text-to-video models.

    reward = LoveReward("love", weights={"perception": 1.0, "correspondence": 1.0, "qa": 0.0})
    out = reward(videos, prompts)            # videos: (B, T, 3, H, W) float in [0, 1], a list, or mp4 paths
    out.rewards                              # (B,) float32: sum of weight x detail
    out.details["perception"]                # (B,) MOS / 100 (normalize="mos"), or the MOS (normalize="none")
    out.valid, out.errors                    # which videos could be scored, and why not

Details per video: perception and correspondence are LOVE's MOS on the 0-1 scale (MOS / 100, default) or
on 0-100 (`normalize="none"`); qa is P(yes) for the video's question (LOVE's QA head, renormalised over
yes and no): questions should be asked so that "yes" is what the prompt wants. `rewards` is the weighted
sum of the details (not divided by the weights' sum, as Flow-GRPO's `multi_score` adds its rewards).

A video that cannot be scored never gets a made-up number: `on_error="raise"` (default) raises with every
reason; `on_error="nan"` gives NaN rewards, `valid` False and the reason in `errors`.

`differentiable=True` (for reward-gradient methods: DRaFT, VADER, ...) keeps the autograd graph from the
reward back to float input pixels: the frames are resized and cut into fragments with torch
(`tensor_video.tensor_streams`), then normalised and run through the vision tower, the motion encoder, the
LLM and the head, all with frozen weights. Its scores agree with the default path (which samples exactly as
for a file) within the resize's rounding: at most 1.5 MOS points on love-nano's test clips
(`tests/test_reward.py`). Gradient checkpointing (on by default) keeps the activations of one LLM layer at a
time: memory per video of the 9B model is about the bf16 activations of the vision tower (8 frames x 1,025
tokens x 24 layers) plus one LLM layer's (2,166 tokens), plus the checkpoints (48 layers x 2,166 x 4,096 x 2
bytes, 0.85 GB); about 2-3 GB per video and task.

Adapters for the trainers people use are in `love_plugins.reward_adapters`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .errors import LoveError
from .modeling.configuration_love import SCORE_TASKS
from .modeling.prompting import TextRequest
from .scorer import Scorer, load
from .tensor_video import is_video_tensor, split_videos, tensor_streams, to_float_frames
from .video import normalize_fragments, normalize_frames

__all__ = ["LoveReward", "RewardOutput", "DEFAULT_WEIGHTS"]

DEFAULT_WEIGHTS = {"perception": 1.0, "correspondence": 1.0, "qa": 0.0}
NORMALIZE = ("mos", "none")
ON_ERROR = ("raise", "nan")


@dataclass
class RewardOutput:
    rewards: torch.Tensor  # (B,) float32
    details: dict[str, torch.Tensor] = field(default_factory=dict)  # task -> (B,)
    valid: torch.Tensor | None = None  # (B,) bool
    errors: list[str | None] = field(default_factory=list)


class LoveReward:
    """LOVE as a reward function (see the module docstring)."""

    def __init__(self, model: str | Scorer = "love", weights: Mapping[str, float] | None = None,
                 normalize: str = "mos", on_error: str = "raise", differentiable: bool = False,
                 gradient_checkpointing: bool = True, device=None, dtype=None, batch_size: int = 8):
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown reward component(s) {sorted(unknown)}; known: {sorted(DEFAULT_WEIGHTS)}")
        if not all(isinstance(w, (int, float)) and math.isfinite(w) for w in weights.values()):
            raise ValueError(f"reward weights must be finite numbers, got {weights}")
        if normalize not in NORMALIZE or on_error not in ON_ERROR:
            raise ValueError(f"normalize must be one of {NORMALIZE} and on_error one of {ON_ERROR}")
        # A Scorer, or anything with its score/tasks/describe (a `love_plugins.client.LoveClient`: `remote`).
        self.scorer = load(model, device=device, dtype=dtype, batch_size=batch_size, perception_views=1) \
            if isinstance(model, str) else model
        if differentiable and not isinstance(self.scorer, Scorer):
            raise ValueError("differentiable=True needs the model in this process, not a remote service")
        self.weights = {t: float(w) for t, w in weights.items() if w != 0}
        missing = set(self.weights) - set(self.scorer.tasks)
        if missing or not self.weights:
            raise ValueError(f"reward weights {weights} need task(s) the model has ({self.scorer.tasks})")
        self.normalize, self.on_error, self.differentiable = normalize, on_error, differentiable
        if differentiable:
            self._prepare_for_gradients(gradient_checkpointing)

    @classmethod
    def remote(cls, url: str, api_key: str | None = None, **options) -> LoveReward:
        """The same reward, computed by a LOVE service on other GPUs (`love-eval serve`; see love_plugins.client).
        Videos travel as uint8 frames, as the in-process default path rounds them: the rewards are equal."""
        from .client import LoveClient

        return cls(LoveClient(url, api_key=api_key), **options)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for t in DEFAULT_WEIGHTS if t in self.weights)

    def describe(self) -> dict:
        return {**self.scorer.describe(), "reward_weights": self.weights, "normalize": self.normalize,
                "differentiable": self.differentiable}

    # -- the reward ---------------------------------------------------------------------------------
    def __call__(self, videos, prompts: Sequence[str] | None = None, questions: Sequence[str] | None = None,
                 fps=None) -> RewardOutput:
        items = split_videos(videos)
        if "correspondence" in self.weights and prompts is None:
            raise LoveError("the correspondence reward needs the videos' prompts")
        if "qa" in self.weights and questions is None:
            raise LoveError("the qa reward needs one yes/no question per video")
        if self.differentiable:
            out = self._differentiable(items, prompts, questions)
        else:
            out = self._scored(items, prompts, questions, fps)
        bad = [f"video {i}: {e}" for i, e in enumerate(out.errors) if e]
        if bad and self.on_error == "raise":
            raise LoveError(f"{len(bad)} of {len(items)} video(s) could not be scored: " + "; ".join(bad[:5]))
        return out

    reward = __call__

    def _combine(self, details: dict[str, torch.Tensor], valid: torch.Tensor, errors) -> RewardOutput:
        rewards = sum(self.weights[t] * details[t] for t in self.tasks)
        rewards = torch.where(valid, rewards, torch.full_like(rewards, math.nan))
        return RewardOutput(rewards=rewards, details=details, valid=valid, errors=list(errors))

    def _scale(self, task: str, value: torch.Tensor) -> torch.Tensor:
        return value / 100 if task in SCORE_TASKS and self.normalize == "mos" else value

    def _scored(self, items, prompts, questions, fps) -> RewardOutput:
        results = self.scorer.score(items, prompts=prompts if "correspondence" in self.weights else None,
                                    questions=questions if "qa" in self.weights else None, tasks=self.tasks,
                                    fps=fps)
        device = next((v.device for v in items if isinstance(v, torch.Tensor)), torch.device("cpu"))
        valid = torch.tensor([r.error is None for r in results], device=device)
        details = {}
        for task in self.tasks:
            name = "qa_p_yes" if task == "qa" else task
            raw = [math.nan if r.error else float(getattr(r, name)) for r in results]
            details[task] = self._scale(task, torch.tensor(raw, dtype=torch.float32, device=device))
        return self._combine(details, valid, [r.error for r in results])

    # -- differentiable path ------------------------------------------------------------------------
    def _prepare_for_gradients(self, checkpointing: bool) -> None:
        """Frozen weights, no dropout; with checkpointing, each LLM / vision-tower layer's activations are
        recomputed in the backward pass instead of kept (transformers checkpoints only in training mode)."""
        model = self.scorer.model
        model.requires_grad_(False)
        model.adapters_frozen = True
        if checkpointing:

            def task_context():
                """A layer recomputed in the backward pass runs with the task (LoRA adapter) it ran with in the
                forward pass, not with the one the next task's forward switched to."""
                task = model.task

                @contextlib.contextmanager
                def recompute():
                    current = model.task
                    model.set_task(task)
                    try:
                        yield
                    finally:
                        model.set_task(current)

                return contextlib.nullcontext(), recompute()

            options = {"use_reentrant": False, "context_fn": task_context}
            for part in (model.language_model, model.vision_tower):
                part.activation_checkpointing_enable(options)
            model.train()
            for module in model.modules():
                if isinstance(module, nn.Dropout):
                    module.eval()
            model.motion_encoder.eval()

    def _differentiable(self, items, prompts, questions) -> RewardOutput:
        if not all(is_video_tensor(v) for v in items):
            raise LoveError("differentiable=True needs the videos as float tensors (T, 3, H, W) in [0, 1]")
        scorer, model = self.scorer, self.scorer.model
        sampler, dtype = scorer.sampler, model.dtype
        streams = [tensor_streams(to_float_frames(v, i), sampler) for i, v in enumerate(items)]
        pixel_values = normalize_frames(torch.stack([f for f, _ in streams]).to(scorer.device)).to(dtype)
        motion_values = normalize_fragments(torch.stack([m for _, m in streams]).to(scorer.device)).to(dtype)
        motion = model.encode_motion(motion_values)
        requests = [TextRequest(prompt=prompts[i] if prompts else None, question=questions[i] if questions else None)
                    for i in range(len(items))]
        details = {}
        for task in self.tasks:
            batch = {k: v.to(scorer.device) for k, v in scorer.processor(task, requests).items()}
            out = model(task, pixel_values=pixel_values, motion_features=motion,
                        context_id=scorer.processor.image_context_id, **batch)
            if task == "qa":
                ids = [scorer.processor.yes_token_id, scorer.processor.no_token_id]
                details[task] = out.word_logits[:, ids].softmax(-1)[:, 0]
            else:
                details[task] = self._scale(task, out.score * 100)
        valid = torch.ones(len(items), dtype=torch.bool, device=scorer.device)
        return self._combine(details, valid, [None] * len(items))
