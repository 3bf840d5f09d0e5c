"""The Trainer-facing module: LOVE's losses and which parameters a stage trains.

`LoveForTraining(model, processor, stage, task)` wraps a `LoveModel` for `transformers.Trainer`.
`forward(**batch)` returns ``{"loss", "logits"}`` where ``logits`` is (B, 3): the head's score
(MOS/100, NaN where the task has no head), the level expectation from the level-word distribution
(0–1), and P(yes) over {yes, no}. `compute_metrics` turns them into SRCC/PLCC/KRCC or accuracy.
The loss is the stage's (`love_plugins.training.stages`): next-token cross-entropy on the
teacher-forced answer (stage 1, QA) and L1 between the head's output and MOS/100 (stage 2).

A stage registered by another package may subclass `LoveForTraining`: add its discarded heads after
`super().__init__`, append loss terms in `losses`, or replace `forward` where it does not read the LLM.
"""

from __future__ import annotations

import torch
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.modeling_love import LoveModel
from ..modeling.prompting import LoveProcessor
from .stages import LOVE_STAGES, Stage, build_stage


def trainable_parameter_names(model: LoveModel, stage: str | Stage, task: str) -> list[str]:
    """Names of the parameters `stage` trains for `task` (see `love_plugins.training.stages`)."""
    return (build_stage(stage) if isinstance(stage, str) else stage).trainable_parameter_names(model, task)


def configure_trainable(model: LoveModel, names: list[str], what: str = "this stage") -> int:
    """Freeze every parameter but `names`; returns the number of trainable parameters."""
    keep = set(names)
    count = 0
    for name, param in model.named_parameters():
        param.requires_grad_(name in keep)
        count += param.numel() if name in keep else 0
    if count == 0:
        raise ValueError(f"{what} has nothing to train in this model")
    return count


def set_adapters_enabled(model: LoveModel, enabled: bool) -> None:
    """Switch every LoRA branch on or off (off: the layers compute the base weights only)."""
    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.enable_adapters(enabled)


@torch.no_grad()
def copy_projectors(model: LoveModel, source: str) -> None:
    """Seed every task's projectors from `source`'s (e.g. after a shared pre-training stage)."""
    for task in model.config.tasks:
        if task != source:
            model.projectors[task].load_state_dict(model.projectors[source].state_dict())
            model.motion_projectors[task].load_state_dict(model.motion_projectors[source].state_dict())


class LoveForTraining(nn.Module):
    """Wraps a `LoveModel` for `transformers.Trainer`: one stage, one task."""

    train_motion_encoder = False  # LOVE keeps the motion encoder frozen: its features are computed once per video
    reads_motion = True  # the stage reads the motion features (`train` precomputes them when frozen)
    l1_weight = 1.0  # of the score loss against the others

    def __init__(self, model: LoveModel, processor: LoveProcessor, stage: str | Stage, task: str):
        super().__init__()
        spec = build_stage(stage) if isinstance(stage, str) else stage
        if spec.name in LOVE_STAGES:
            from .stages import check_task

            check_task(spec.name, task)
        self.model = model
        self.stage = spec.name
        self.spec = spec
        self.task = task
        self.context_id = processor.image_context_id
        self.register_buffer("level_ids", torch.tensor(processor.level_token_ids), persistent=False)
        self.register_buffer("yes_no_ids", torch.tensor([processor.yes_token_id, processor.no_token_id]),
                             persistent=False)
        # peft's adapter switches also flip requires_grad, so they come before `configure_trainable`.
        set_adapters_enabled(model, spec.lora)
        model.set_task(task)
        self.num_trainable = configure_trainable(model, spec.trainable_parameter_names(model, task),
                                                 f"stage {spec.name!r} of task {task!r}")
        # transformers.Trainer looks for these on the model it is given
        self.config = model.config

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs: dict | None = None, **options) -> None:
        """Gradient checkpointing of the ViT and LLM layers (what `TrainingArguments` switches on)."""
        kwargs = {"use_reentrant": False, **(activation_checkpointing_kwargs or {})}
        for part in (self.model.language_model, self.model.vision_tower):
            if hasattr(part, "activation_checkpointing_enable"):
                part.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs, **options)
            else:  # transformers < 5.18
                part.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)

    gradient_checkpointing_enable = activation_checkpointing_enable  # the name transformers < 5.18 calls

    def motion_features(self, motion_values: torch.Tensor) -> torch.Tensor:
        """The motion encoder's features when the batch carries fragments instead of precomputed features."""
        with torch.no_grad():  # the frozen encoder: no graph to keep
            return self.model.encode_motion(motion_values)

    def wants_layer_states(self, extra: dict) -> bool:
        """Whether the LLM pass must return every layer's states (for a subclass's loss terms)."""
        return False

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        target_positions: torch.Tensor,
        pixel_values: torch.Tensor,
        task_ids: torch.Tensor,
        targets: torch.Tensor,
        labels: torch.Tensor | None = None,
        motion_features: torch.Tensor | None = None,
        motion_values: torch.Tensor | None = None,
        **extra: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        model = self.model
        if motion_features is None:
            motion_features = self.motion_features(motion_values)
        if not self.spec.mixed_tasks and not bool((task_ids == TASKS.index(self.task)).all()):
            raise ValueError(f"batch holds samples of another task than {self.task!r}")
        out = model(
            self.task,
            input_ids=input_ids,
            attention_mask=attention_mask,
            target_positions=target_positions,
            pixel_values=pixel_values.to(model.dtype),
            motion_features=motion_features,
            context_id=self.context_id,
            labels=labels if self.spec.next_token_loss else None,
            output_layer_states=self.wants_layer_states(extra),
        )
        score = torch.full_like(targets, float("nan"))
        for t in SCORE_TASKS:
            rows = task_ids == TASKS.index(t)
            if t in model.score_heads and bool(rows.any()):
                score = score.masked_scatter(rows, model.score_heads[t](out.hidden[rows]).float())
        losses = self.losses(out, score, targets, task_ids, target_positions, motion_features, extra)
        levels = out.word_logits[:, self.level_ids].softmax(-1)
        expectation = levels @ torch.linspace(0, 1, levels.shape[-1], device=levels.device)
        p_yes = out.word_logits[:, self.yes_no_ids].softmax(-1)[:, 0]
        return {"loss": sum(losses), "logits": torch.stack([score, expectation, p_yes], dim=-1)}

    def losses(self, out, score: torch.Tensor, targets: torch.Tensor, task_ids: torch.Tensor,
               target_positions: torch.Tensor, motion_features: torch.Tensor, extra: dict) -> list[torch.Tensor]:
        """The stage's loss terms, summed in this order: next-token loss, then L1 on the score heads' rows.
        A subclass appends its own terms (its batch fields arrive in `extra`)."""
        losses = []
        if self.spec.next_token_loss:
            losses.append(out.loss)
        is_score = ~torch.isnan(score)
        if self.spec.score_loss and bool(is_score.any()):
            losses.append(self.l1_weight * (score[is_score] - targets[is_score].float()).abs().mean())
        return losses
