"""The Trainer-facing module: LOVE's losses per stage and which parameters each stage trains.

Stages (SPEC §2, LOVE's recipe):

* ``stage1`` — the task's vision projector (`mlp1`) and motion projector (`fast_mlp`) learn with
  next-token cross-entropy on the level sentence; everything else is frozen.
* ``stage2`` — the task's LoRA adapters (vision tower and LLM) and its score head learn with L1
  between the head's output and MOS/100; the projectors are frozen.
* ``qa`` — the QA LoRA adapters learn with next-token cross-entropy on the Yes/No answer.
* ``motion`` — not in LOVE: the motion encoder alone learns the MOS (and, on synthetic clips, the six
  degradation severities) through a small discarded head on its clip features, and each clip's
  hand-made quality statistics (`fragment_statistics`) through a discarded linear head, as
  distillation targets. It stands in for FAST-VQA's quality pre-training of `temporal.pth` (love-nano).
* ``vision`` — not in LOVE: the vision tower and the task's vision projector alone learn to recognise
  each frame's scene attributes (background, object colour, shape, count) through a small discarded
  head on the mean and maximum of its tokens, one frame at a time, each frame mirrored left-right at
  random. It stands in for the pre-training of InternViT, which a base built from config lacks
  (love-nano): trained on whole clips inside stage 0, the tiny ViT learns shapes and counts slowly.
* ``encoders`` — not in LOVE: the vision tower, the task's vision projector and the motion encoder
  learn the MOS (and, on synthetic clips, the six degradation severities and the scene attributes)
  through small discarded heads on their pooled outputs; no LLM. It stands in for the quality
  pre-training the encoders of a base built from config lack (love-nano), before stage 0.
* ``stage0`` — not in LOVE: full fine-tuning of the shared base on all tasks at once (LM loss on the
  answers + L1 through each score head). It stands in for InternVL3's pre-training when a tiny base
  is built from config (love-nano) and no pretrained weights exist. Stage 0 uses one task's
  projector slot (`slot`) for every task; `copy_projectors` then seeds all tasks from it, as
  LOVE's tasks all start from InternVL3's one `mlp1`.

The motion encoder stays frozen in LOVE's stages; only love-nano's pre-training stages train it
(`motion`, `encoders`, or stage 0 with `train_motion_encoder`), standing in for FAST-VQA's quality
pre-training of `temporal.pth`. Stage 0 can also keep the vision tower frozen (`train_vision_tower`).

`forward(**batch)` returns ``{"loss", "logits"}`` where ``logits`` is (B, 3): the head's score
(MOS/100, NaN where the task has no head), the level expectation from the level-word distribution
(0–1), and P(yes) over {yes, no}. `compute_metrics` turns them into SRCC/PLCC/KRCC or accuracy.
"""

from __future__ import annotations

import torch
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.modeling_love import LoveModel
from ..modeling.prompting import LoveProcessor
from .collator import MOTION_CLASS, SCENE_ATTRIBUTES, SCENE_CLASSES, SCENE_SEVERITIES

# The scene attributes a single frame shows (background, colour, shape, count; not the motion).
FRAME_ATTRIBUTES = MOTION_CLASS
# What one frame can show (all but the direction of motion): the frame-scene probe's choices.
FRAME_SCENE_ATTRIBUTES = SCENE_ATTRIBUTES[:FRAME_ATTRIBUTES]
ALL_SCENE_CLASSES = tuple(range(len(SCENE_CLASSES)))  # indices into SCENE_CLASSES / the scene targets
FRAME_SCENE_CLASSES = ALL_SCENE_CLASSES[:FRAME_ATTRIBUTES]


def frame_scene_classes(attributes: tuple[str, ...]) -> tuple[int, ...]:
    """The scene-class indices of the frame-scene probe's attributes (in `SCENE_ATTRIBUTES` order)."""
    unknown = [a for a in attributes if a not in FRAME_SCENE_ATTRIBUTES]
    if unknown or not attributes:
        raise ValueError(f"frame-scene attributes must be a non-empty subset of {FRAME_SCENE_ATTRIBUTES}, got "
                         f"{tuple(attributes)!r}")
    return tuple(k for k, name in enumerate(FRAME_SCENE_ATTRIBUTES) if name in attributes)

STAGES = ("motion", "vision", "encoders", "stage0", "stage1", "stage2", "qa")

# The encoders stage regresses the standardised MOS: (MOS/100 - centre) / scale (MOS is 8-92 on the suite).
MOS_CENTER, MOS_SCALE = 0.5, 0.25


def _is_lora_of(name: str, task: str) -> bool:
    return f".lora_A.{task}." in name or f".lora_B.{task}." in name


def trainable_parameter_names(model: LoveModel, stage: str, task: str, motion_encoder: bool = False,
                              vision_tower: bool = True) -> list[str]:
    """Names of the parameters `stage` trains for `task` (see module docstring). In stage 0,
    `motion_encoder` also pre-trains the motion encoder, which every LOVE stage then keeps frozen,
    and `vision_tower=False` keeps the vision tower as the encoders stage left it."""
    names = []
    for name, _ in model.named_parameters():
        head = name.split(".")
        if head[0] == "motion_encoder":
            if stage in ("motion", "encoders") or (stage == "stage0" and motion_encoder):
                names.append(name)
            continue
        if stage == "motion":  # the motion encoder alone
            continue
        if stage == "stage0" and head[0] == "vision_tower" and not vision_tower:
            continue
        is_lora = "lora_A" in head or "lora_B" in head
        if stage in ("encoders", "vision"):
            keep = not is_lora and (head[0] == "vision_tower" or (head[0] == "projectors" and head[1] == task))
        elif stage == "stage0":
            keep = not is_lora and (head[0] not in ("projectors", "motion_projectors") or head[1] == task)
        elif stage == "stage1":
            keep = head[0] in ("projectors", "motion_projectors") and head[1] == task
        elif stage == "stage2":
            keep = _is_lora_of(name, task) or (head[0] == "score_heads" and head[1] == task)
        elif stage == "qa":
            keep = _is_lora_of(name, task)
        else:
            raise ValueError(f"unknown stage {stage!r}; known: {STAGES}")
        if keep:
            names.append(name)
    return names


def configure_trainable(model: LoveModel, stage: str, task: str, motion_encoder: bool = False,
                        vision_tower: bool = True) -> int:
    """Freeze everything but what `stage` trains; returns the number of trainable parameters."""
    keep = set(trainable_parameter_names(model, stage, task, motion_encoder, vision_tower))
    count = 0
    for name, param in model.named_parameters():
        param.requires_grad_(name in keep)
        count += param.numel() if name in keep else 0
    if count == 0:
        raise ValueError(f"stage {stage!r} of task {task!r} has nothing to train in this model")
    return count


def set_adapters_enabled(model: LoveModel, enabled: bool) -> None:
    """Switch every LoRA branch on or off (off: the layers compute the base weights only)."""
    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.enable_adapters(enabled)


@torch.no_grad()
def copy_projectors(model: LoveModel, source: str) -> None:
    """Seed every task's projectors from `source`'s (after stage 0)."""
    for task in model.config.tasks:
        if task != source:
            model.projectors[task].load_state_dict(model.projectors[source].state_dict())
            model.motion_projectors[task].load_state_dict(model.motion_projectors[source].state_dict())


class LoveForTraining(nn.Module):
    """Wraps a `LoveModel` for `transformers.Trainer`: one stage, one task (or all, in stage 0)."""

    def __init__(self, model: LoveModel, processor: LoveProcessor, stage: str, task: str, l1_weight: float = 1.0,
                 aux_weight: float = 0.0, train_motion_encoder: bool = False, match_weight: float = 0.0,
                 match_layer: int = 1, motion_aux_weight: float = 0.0, train_vision_tower: bool = True,
                 distill_weight: float = 1.0, statistics_scale: tuple[torch.Tensor, torch.Tensor] | None = None,
                 match_span_weight: float = 0.0, frame_motion_weight: float = 0.0,
                 frame_scene_weight: float = 0.0, frame_scene_attributes: tuple[str, ...] = FRAME_SCENE_ATTRIBUTES):
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; known: {STAGES}")
        if stage == "stage2" and task not in SCORE_TASKS:
            raise ValueError("stage 2 trains a score head: task must be perception or correspondence")
        if stage == "qa" and task != "qa":
            raise ValueError("the qa stage trains the qa task")
        if stage in ("motion", "vision", "encoders") and task != "perception":
            raise ValueError(f"the {stage} stage learns the perception MOS: task must be perception")
        self.model = model
        self.stage = stage
        self.task = task
        self.l1_weight = l1_weight
        self.aux_weight = aux_weight if stage in ("encoders", "stage0") else 0.0
        tokens = model.config.tokens_per_frame * model.config.sampler_config.num_frames
        hidden = model.config.text_config["hidden_size"]
        if self.aux_weight:
            # Pre-training only (discarded afterwards): a linear probe reading the scene's attributes
            # (and, in stage 0, the degradations) off the visual tokens, standing in for the ViT's own
            # pre-training.
            severities = SCENE_SEVERITIES if stage == "stage0" else 0
            self.aux_head = nn.Linear(tokens * hidden, sum(SCENE_CLASSES) + severities)
        if stage == "encoders":
            # Discarded afterwards: the standardised MOS and the six severities from the mean and the
            # maximum over the frame tokens and from the motion features, so that both encoders learn what
            # quality looks like. The maximum lets a few tokens speak for the clip: blur shows only in the
            # patches that hold an edge (held-out SRCC of the encoders 0.68 with it, 0.61-0.63 without).
            sampler = model.config.sampler_config
            motion = sampler.num_clips * model.config.motion_encoder_config.output_dim
            self.quality_head = nn.Sequential(nn.Linear(2 * hidden + motion, 128), nn.GELU(),
                                              nn.Linear(128, 1 + SCENE_SEVERITIES))
        if stage == "vision":
            # Discarded afterwards: the frame's background, colour, shape and count from the mean and the
            # maximum over its tokens (pooled, so a token must say what it shows wherever it sits).
            self.scene_head = nn.Linear(2 * hidden, sum(SCENE_CLASSES[k] for k in FRAME_SCENE_CLASSES))
        self.distill_weight = distill_weight if stage == "motion" else 0.0
        if stage == "motion":
            self._init_motion_heads(statistics_scale)
        self.train_motion_encoder = stage in ("motion", "encoders") or (train_motion_encoder and stage == "stage0")
        self.motion_aux_weight = motion_aux_weight if self.train_motion_encoder else 0.0
        if self.motion_aux_weight:
            # Motion stage or stage 0 (discarded afterwards): the scene's direction of motion read off the
            # motion encoder's clip features. The frame tokens show where the objects are in each frame, so
            # "moving left" is a comparison across frames; this puts the direction into the two motion
            # tokens, one hop from the word that asks about it.
            sampler = model.config.sampler_config
            width = sampler.num_clips * model.config.motion_encoder_config.output_dim
            self.motion_aux_head = nn.Linear(width, SCENE_CLASSES[MOTION_CLASS])
        self.frame_motion_weight = frame_motion_weight if stage == "stage0" else 0.0
        if self.frame_motion_weight:
            # Stage-0 only (discarded afterwards): the direction of motion read off the mean and the maximum of
            # the frame tokens, so wherever a token sits. With the frame-difference channels
            # (`LoveConfig.frame_difference`) that makes "moving left" a feature of the tokens at a moving edge,
            # which a word can find as it finds "red"; without them a pooled token cannot tell the direction.
            self.frame_motion_head = nn.Linear(2 * hidden, SCENE_CLASSES[MOTION_CLASS])
        self.frame_scene_weight = frame_scene_weight if stage == "stage0" else 0.0
        if self.frame_scene_weight:
            # Stage-0 only (discarded afterwards): what one frame shows (background, colour, shape, count) read off
            # the mean and the maximum of the frame tokens, as the vision stage's head reads them: a token must say
            # what it shows wherever it sits, so that a question's word can find it.
            # `frame_scene_attributes` picks which of them (love-nano asks only shape and count, the two its ViT
            # reads worst: with background and colour too, stage 0's correspondence leant on the background).
            self.frame_scene_classes = frame_scene_classes(frame_scene_attributes)
            self.frame_scene_head = nn.Linear(2 * hidden, sum(SCENE_CLASSES[k] for k in self.frame_scene_classes))
        self.match_weight = match_weight if stage == "stage0" else 0.0
        self.match_layer = match_layer
        if self.match_weight:
            # Stage-0 only (discarded afterwards): at each word of a question or prompt that states a
            # scene attribute, does the video show it? Read from the LLM's state after `match_layer`
            # layers, this gives the word a direct reason to look up its match among the visual tokens;
            # the answer position then only has to read that off the word. Without it a from-scratch
            # LLM learns to name what it sees but never to compare it with a question (docs/love-nano.md).
            if not 1 <= match_layer <= model.config.text_config["num_hidden_layers"]:
                raise ValueError(f"match_layer must be an LLM layer, 1..{model.config.text_config['num_hidden_layers']}")
            self.match_head = nn.Linear(model.config.text_config["hidden_size"], 1)
        if match_span_weight and stage == "stage0" and not self.match_weight:
            raise ValueError("the match span probe carries the word-match probe's verdict: it needs match_weight > 0")
        self.match_span_weight = match_span_weight if self.match_weight else 0.0
        if self.match_span_weight:
            # Stage-0 only (discarded afterwards): the word-match verdict carried on, one layer later, to every
            # position from a yes/no question's attribute word to its answer. With the verdict on the word, the
            # answer still had to learn where in the question to look, and whether it did was a matter of luck
            # (docs/love-nano.md); this gives that last hop a target of its own.
            if match_layer >= model.config.text_config["num_hidden_layers"]:
                raise ValueError("the match span probe reads the layer after match_layer, which must exist")
            self.match_span_head = nn.Linear(model.config.text_config["hidden_size"], 1)
        self.context_id = processor.image_context_id
        self.register_buffer("level_ids", torch.tensor(processor.level_token_ids), persistent=False)
        self.register_buffer("yes_no_ids", torch.tensor([processor.yes_token_id, processor.no_token_id]),
                             persistent=False)
        # Stage 0 trains the base itself: the (zero-initialised) LoRA branches would only add work.
        # peft's adapter switches also flip requires_grad, so they come before `configure_trainable`.
        set_adapters_enabled(model, stage not in ("motion", "vision", "encoders", "stage0"))
        model.set_task(task)
        self.num_trainable = configure_trainable(model, stage, task, self.train_motion_encoder,
                                                 vision_tower=train_vision_tower or stage != "stage0")
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

    @property
    def needs_scene_targets(self) -> bool:
        """Whether batches must carry the true scene (`LoveCollator(scene_targets=True)`)."""
        return bool(self.aux_weight or self.motion_aux_weight or self.frame_motion_weight or self.frame_scene_weight
                    or self.stage in ("motion", "vision", "encoders"))

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
        aux_targets: torch.Tensor | None = None,
        match_positions: torch.Tensor | None = None,
        match_targets: torch.Tensor | None = None,
        fragment_statistics: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        model = self.model
        if self.stage == "motion":
            return self._motion_forward(motion_values, targets, aux_targets, fragment_statistics)
        if self.stage == "vision":
            return self._vision_forward(pixel_values.to(model.dtype), aux_targets)
        if self.stage == "encoders":
            return self._encoders_forward(pixel_values.to(model.dtype), motion_values, targets, aux_targets)
        if motion_features is None and self.train_motion_encoder:  # stage-0 pre-training of the encoder
            motion_features = self._trained_motion_features(motion_values)
        elif motion_features is None:
            with torch.no_grad():  # the frozen encoder: no graph to keep
                motion_features = model.encode_motion(motion_values)
        if self.stage != "stage0" and not bool((task_ids == TASKS.index(self.task)).all()):
            raise ValueError(f"batch holds samples of another task than {self.task!r}")
        lm_loss = self.stage in ("stage0", "stage1", "qa")
        out = model(
            self.task,
            input_ids=input_ids,
            attention_mask=attention_mask,
            target_positions=target_positions,
            pixel_values=pixel_values.to(model.dtype),
            motion_features=motion_features,
            context_id=self.context_id,
            labels=labels if lm_loss else None,
            output_layer_states=bool(self.match_weight) and match_positions is not None,
        )
        score = torch.full_like(targets, float("nan"))
        for t in SCORE_TASKS:
            rows = task_ids == TASKS.index(t)
            if t in model.score_heads and bool(rows.any()):
                score = score.masked_scatter(rows, model.score_heads[t](out.hidden[rows]).float())
        is_score = ~torch.isnan(score)
        losses = []
        if lm_loss:
            losses.append(out.loss)
        if self.stage in ("stage0", "stage2") and bool(is_score.any()):
            l1 = (score[is_score] - targets[is_score].float()).abs().mean()
            losses.append(self.l1_weight * l1 if self.stage == "stage0" else l1)
        if self.aux_weight and aux_targets is not None:
            losses.append(self.aux_weight * self._aux_loss(out.frame_tokens, aux_targets))
        if self.motion_aux_weight and aux_targets is not None:
            losses.append(self._motion_direction_loss(motion_features, aux_targets))
        if self.frame_motion_weight and aux_targets is not None:
            losses.append(self._frame_motion_loss(out.frame_tokens, aux_targets))
        if self.frame_scene_weight and aux_targets is not None:
            losses.append(self._frame_scene_loss(out.frame_tokens, aux_targets))
        if self.match_weight and match_positions is not None:
            losses.append(self.match_weight * self._match_loss(out.layer_states[self.match_layer], match_positions,
                                                               match_targets))
            if self.match_span_weight:
                losses.append(self.match_span_weight * self._match_span_loss(
                    out.layer_states[self.match_layer + 1], match_positions, match_targets, target_positions,
                    task_ids == TASKS.index("qa")))
        levels = out.word_logits[:, self.level_ids].softmax(-1)
        expectation = levels @ torch.linspace(0, 1, levels.shape[-1], device=levels.device)
        p_yes = out.word_logits[:, self.yes_no_ids].softmax(-1)[:, 0]
        return {"loss": sum(losses), "logits": torch.stack([score, expectation, p_yes], dim=-1)}

    def _match_loss(self, states: torch.Tensor, positions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the word-match probe over every marked word (-1 = no mark)."""
        rows, slots = torch.nonzero(positions >= 0, as_tuple=True)
        logits = self.match_head(states[rows, positions[rows, slots]].float()).squeeze(-1)
        return nn.functional.binary_cross_entropy_with_logits(logits, targets[rows, slots].float())

    def _match_span_loss(self, states: torch.Tensor, positions: torch.Tensor, targets: torch.Tensor,
                         target_positions: torch.Tensor, is_qa: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the match span probe: at every position after a yes/no question's one
        marked word up to the position that predicts the answer, does the video show what the word states?"""
        asked = is_qa & (positions[:, 0] >= 0)
        span = torch.arange(states.shape[1], device=states.device)
        inside = (span > positions[:, :1]) & (span <= target_positions[:, None]) & asked[:, None]
        rows, columns = torch.nonzero(inside, as_tuple=True)
        logits = self.match_span_head(states[rows, columns].float()).squeeze(-1)
        if len(rows) == 0:  # no yes/no question in this batch (open questions and captions carry no mark)
            return logits.sum()
        return nn.functional.binary_cross_entropy_with_logits(logits, targets[rows, 0].float())

    def _vision_forward(self, pixel_values: torch.Tensor, aux_targets: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The vision stage: every frame on its own, mirrored left-right at random while training (the
        attributes it learns do not change under a mirror); logits[:, 0] is each clip's share of right answers."""
        if aux_targets is None:
            raise ValueError("the vision stage learns the true scene attributes: use a synthetic suite's manifest")
        batch, frames = pixel_values.shape[:2]
        images = pixel_values.flatten(0, 1)
        if self.training:
            mirror = torch.rand(images.shape[0], device=images.device) < 0.5
            images = torch.where(mirror[:, None, None, None], images.flip(-1), images)
        tokens = self.model.encode_frames(images.unsqueeze(1), self.task)
        logits = self.scene_head(self._pooled(tokens))
        targets = aux_targets.repeat_interleave(frames, dim=0)
        loss = self._scene_class_loss(logits, targets, FRAME_SCENE_CLASSES)
        right = [(block.argmax(-1) == targets[:, k].long()).float()
                 for k, block in zip(FRAME_SCENE_CLASSES, self._attribute_logits(logits, FRAME_SCENE_CLASSES))]
        share = torch.stack(right, -1).mean(-1).reshape(batch, frames).mean(-1)
        return {"loss": loss, "logits": torch.stack([share, torch.zeros_like(share), torch.zeros_like(share)], -1)}

    def _encoders_forward(self, pixel_values: torch.Tensor, motion_values: torch.Tensor, targets: torch.Tensor,
                          aux_targets: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The encoders stage: no LLM; the quality head reads the pooled frame tokens and the motion features."""
        model = self.model
        tokens = model.encode_frames(pixel_values, self.task)
        motion = self._trained_motion_features(motion_values).flatten(1)
        out = self.quality_head(torch.cat([self._pooled(tokens), motion.float()], dim=-1))
        loss = self._quality_loss(out, targets, aux_targets)
        if aux_targets is not None and self.aux_weight:
            loss = loss + self.aux_weight * self._scene_class_loss(self.aux_head(tokens.flatten(1).float()), aux_targets)
        return {"loss": loss, "logits": self._quality_logits(out)}

    def _init_motion_heads(self, statistics_scale: tuple[torch.Tensor, torch.Tensor] | None) -> None:
        """The motion stage's discarded heads: quality (standardised MOS + severities) from both clips'
        features, and the standardised statistics of each clip from that clip's features."""
        from .fragment_statistics import FRAGMENT_STATISTICS

        width = self.model.config.motion_encoder_config.output_dim
        clips = self.model.config.sampler_config.num_clips
        self.quality_head = nn.Sequential(nn.Linear(clips * width, 64), nn.GELU(), nn.Linear(64, 1 + SCENE_SEVERITIES))
        self.distill_head = nn.Linear(width, len(FRAGMENT_STATISTICS))
        if self.distill_weight and statistics_scale is None:
            raise ValueError("the motion stage's distillation needs the statistics' mean and std "
                             "(statistics_scale), e.g. from LoveDataset.precompute_fragment_statistics")
        mean, std = statistics_scale or (torch.zeros(len(FRAGMENT_STATISTICS)), torch.ones(len(FRAGMENT_STATISTICS)))
        self.register_buffer("statistics_mean", torch.as_tensor(mean, dtype=torch.float32).reshape(-1))
        self.register_buffer("statistics_std", torch.as_tensor(std, dtype=torch.float32).reshape(-1).clamp_min(1e-6))

    def _motion_forward(self, motion_values: torch.Tensor, targets: torch.Tensor, aux_targets: torch.Tensor | None,
                        statistics: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The motion stage: no LLM, no ViT; the heads read the motion encoder's clip features."""
        features = self._trained_motion_features(motion_values).float()  # (B, clips, width)
        out = self.quality_head(features.flatten(1))
        loss = self._quality_loss(out, targets, aux_targets)
        if self.distill_weight and statistics is not None:
            standardised = (statistics.float() - self.statistics_mean) / self.statistics_std
            loss = loss + self.distill_weight * nn.functional.mse_loss(self.distill_head(features), standardised)
        if self.motion_aux_weight and aux_targets is not None:
            loss = loss + self._motion_direction_loss(features, aux_targets)
        return {"loss": loss, "logits": self._quality_logits(out)}

    def _motion_direction_loss(self, motion_features: torch.Tensor, aux_targets: torch.Tensor) -> torch.Tensor:
        """The direction-of-motion probe's weighted cross-entropy on the clips' motion features."""
        logits = self.motion_aux_head(motion_features.flatten(1).float())
        return self.motion_aux_weight * nn.functional.cross_entropy(logits, aux_targets[:, MOTION_CLASS].long())

    @staticmethod
    def _pooled(frame_tokens: torch.Tensor) -> torch.Tensor:
        """The mean and the maximum over the frame tokens: what the pooled heads and probes read, wherever a
        token sits (the vision and encoders stages' heads, stage 0's frame probes)."""
        return torch.cat([frame_tokens.mean(1), frame_tokens.amax(1)], dim=-1).float()

    def _frame_motion_loss(self, frame_tokens: torch.Tensor, aux_targets: torch.Tensor) -> torch.Tensor:
        """The frame-motion probe's weighted cross-entropy on the frame tokens the LLM read."""
        return self.frame_motion_weight * nn.functional.cross_entropy(self.frame_motion_head(self._pooled(frame_tokens)),
                                                                      aux_targets[:, MOTION_CLASS].long())

    def _frame_scene_loss(self, frame_tokens: torch.Tensor, aux_targets: torch.Tensor) -> torch.Tensor:
        """The frame-scene probe's weighted cross-entropy (mean over its attributes) on the same tokens."""
        logits = self.frame_scene_head(self._pooled(frame_tokens))
        return self.frame_scene_weight * self._scene_class_loss(logits, aux_targets, self.frame_scene_classes)

    @staticmethod
    def _quality_loss(out: torch.Tensor, targets: torch.Tensor, aux_targets: torch.Tensor | None) -> torch.Tensor:
        """A pre-training quality head's loss: MSE on the standardised MOS (column 0) and, on synthetic
        clips, on 4 × the six severities (the rest)."""
        loss = nn.functional.mse_loss(out[:, 0], (targets.float() - MOS_CENTER) / MOS_SCALE)
        if aux_targets is not None:
            loss = loss + nn.functional.mse_loss(out[:, 1:], 4 * aux_targets[:, len(SCENE_CLASSES) :])
        return loss

    @staticmethod
    def _quality_logits(out: torch.Tensor) -> torch.Tensor:
        """(B, 3) as `forward` returns them: the quality head's MOS/100, then two unused columns."""
        score = out[:, 0] * MOS_SCALE + MOS_CENTER
        return torch.stack([score, torch.zeros_like(score), torch.zeros_like(score)], -1)

    def _trained_motion_features(self, motion_values: torch.Tensor) -> torch.Tensor:
        """`LoveModel.encode_motion`, for the stages that train the motion encoder (its weights then require
        gradients)."""
        return self.model.encode_motion(motion_values)

    @staticmethod
    def _scene_class_loss(logits: torch.Tensor, aux_targets: torch.Tensor,
                          classes: tuple[int, ...] = ALL_SCENE_CLASSES) -> torch.Tensor:
        """Mean cross-entropy over the scene attributes `classes` (indices into SCENE_CLASSES), whose logits
        come first, one block per attribute in that order."""
        blocks = LoveForTraining._attribute_logits(logits, classes)
        return sum(nn.functional.cross_entropy(block, aux_targets[:, k].long()) for k, block in zip(classes, blocks)
                   ) / len(classes)

    @staticmethod
    def _attribute_logits(logits: torch.Tensor, classes: tuple[int, ...] = ALL_SCENE_CLASSES
                          ) -> tuple[torch.Tensor, ...]:
        """The logits of each scene attribute in `classes`, in order (one block per attribute, from the first)."""
        sizes = [SCENE_CLASSES[k] for k in classes]
        return logits[:, : sum(sizes)].split(sizes, dim=-1)

    def _aux_loss(self, frame_tokens: torch.Tensor, aux_targets: torch.Tensor) -> torch.Tensor:
        """The scene probe on the frame tokens the LLM read in this forward pass (no second ViT pass)."""
        logits = self.aux_head(frame_tokens.flatten(1).float())
        severities = aux_targets[:, len(SCENE_CLASSES) :]
        start = sum(SCENE_CLASSES)
        return self._scene_class_loss(logits, aux_targets) + 4 * nn.functional.mse_loss(logits[:, start:], severities)
