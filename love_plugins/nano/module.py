"""love-nano's pre-training module: `NanoForTraining`, LOVE's training module plus discarded heads.

Stages (`love_plugins.nano.stages`; none is in LOVE):

* ``motion`` — the motion encoder alone learns the MOS (and, on synthetic clips, the six degradation
  severities) through a small discarded head on its clip features, and each clip's hand-made quality
  statistics (`fragment_statistics`) through a discarded linear head, as distillation targets. It
  stands in for FAST-VQA's quality pre-training of `temporal.pth` (love-nano).
* ``vision`` — the vision tower and the task's vision projector alone learn to recognise each frame's
  scene attributes (background, object colour, shape, count) through a small discarded head on the
  mean and maximum of its tokens, one frame at a time, each frame mirrored left-right at random. It
  stands in for the pre-training of InternViT, which a base built from config lacks.
* ``encoders`` — the vision tower, the task's vision projector and the motion encoder learn the MOS
  (and, on synthetic clips, the six degradation severities and the scene attributes) through small
  discarded heads on their pooled outputs; no LLM.
* ``stage0`` — full fine-tuning of the shared base on all tasks at once (LM loss on the answers + L1
  through each score head + the probes below). It stands in for InternVL3's pre-training when a
  tiny base is built from config and no pretrained weights exist. Stage 0 uses one task's projector
  slot for every task; `copy_projectors` then seeds all tasks from it, as LOVE's tasks all start
  from InternVL3's one `mlp1`.

The motion encoder stays frozen in LOVE's stages; only these stages train it (`motion`, `encoders`,
or stage 0 with `train_motion_encoder`). Stage 0 can also keep the vision tower frozen
(`train_vision_tower`). Every head here is discarded: the bundle a stage writes is a plain LOVE model.
"""

from __future__ import annotations

import torch
from torch import nn

from ..modeling.configuration_love import TASKS
from ..training.module import LoveForTraining
from .data import MOTION_CLASS, SCENE_ATTRIBUTES, SCENE_CLASSES, SCENE_SEVERITIES

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


# The encoders stage regresses the standardised MOS: (MOS/100 - centre) / scale (MOS is 8-92 on the suite).
MOS_CENTER, MOS_SCALE = 0.5, 0.25
NO_LLM_STAGES = ("motion", "vision", "encoders")  # their forward reads the encoders alone


class NanoForTraining(LoveForTraining):
    """`LoveForTraining` for love-nano's pre-training stages: the discarded heads, their losses and the
    forward passes of the stages without an LLM. `stage` is a `PretrainingStage` (its options)."""

    def __init__(self, model, processor, stage, task: str,
                 statistics_scale: tuple[torch.Tensor, torch.Tensor] | None = None):
        stage.check_task(task)
        super().__init__(model, processor, stage, task)
        options = stage
        stage = stage.name
        match_layer, match_span_weight = options.match_layer, options.match_span_weight
        self.l1_weight = options.l1_weight
        self.aux_weight = options.aux_weight if stage in ("encoders", "stage0") else 0.0
        self.reads_motion = stage != "vision"  # the vision stage never reads motion
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
        self.distill_weight = options.distill_weight if stage == "motion" else 0.0
        if stage == "motion":
            self._init_motion_heads(statistics_scale)
        self.train_motion_encoder = stage in ("motion", "encoders") or (options.train_motion_encoder and stage == "stage0")
        self.motion_aux_weight = options.motion_aux_weight if self.train_motion_encoder else 0.0
        if self.motion_aux_weight:
            # Motion stage or stage 0 (discarded afterwards): the scene's direction of motion read off the
            # motion encoder's clip features. The frame tokens show where the objects are in each frame, so
            # "moving left" is a comparison across frames; this puts the direction into the two motion
            # tokens, one hop from the word that asks about it.
            sampler = model.config.sampler_config
            width = sampler.num_clips * model.config.motion_encoder_config.output_dim
            self.motion_aux_head = nn.Linear(width, SCENE_CLASSES[MOTION_CLASS])
        self.frame_motion_weight = options.frame_motion_weight if stage == "stage0" else 0.0
        if self.frame_motion_weight:
            # Stage-0 only (discarded afterwards): the direction of motion read off the mean and the maximum of
            # the frame tokens, so wherever a token sits. With the frame-difference channels
            # (`LoveConfig.frame_difference`) that makes "moving left" a feature of the tokens at a moving edge,
            # which a word can find as it finds "red"; without them a pooled token cannot tell the direction.
            self.frame_motion_head = nn.Linear(2 * hidden, SCENE_CLASSES[MOTION_CLASS])
        self.frame_scene_weight = options.frame_scene_weight if stage == "stage0" else 0.0
        if self.frame_scene_weight:
            # Stage-0 only (discarded afterwards): what one frame shows (background, colour, shape, count) read off
            # the mean and the maximum of the frame tokens, as the vision stage's head reads them: a token must say
            # what it shows wherever it sits, so that a question's word can find it.
            # `frame_scene_attributes` picks which of them (love-nano asks only shape and count, the two its ViT
            # reads worst: with background and colour too, stage 0's correspondence leant on the background).
            self.frame_scene_classes = frame_scene_classes(options.frame_scene_attributes)
            self.frame_scene_head = nn.Linear(2 * hidden, sum(SCENE_CLASSES[k] for k in self.frame_scene_classes))
        self.match_weight = options.match_weight if stage == "stage0" else 0.0
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

    @property
    def needs_scene_targets(self) -> bool:
        """Whether batches must carry the true scene (`NanoCollator(scene_targets=True)`)."""
        return bool(self.aux_weight or self.motion_aux_weight or self.frame_motion_weight or self.frame_scene_weight
                    or self.stage in NO_LLM_STAGES)

    def motion_features(self, motion_values: torch.Tensor) -> torch.Tensor:
        if self.train_motion_encoder:  # stage-0 pre-training of the encoder
            return self._trained_motion_features(motion_values)
        return super().motion_features(motion_values)

    def wants_layer_states(self, extra: dict) -> bool:
        return bool(self.match_weight) and extra.get("match_positions") is not None

    def forward(self, pixel_values: torch.Tensor, targets: torch.Tensor, motion_values: torch.Tensor | None = None,
                aux_targets: torch.Tensor | None = None, fragment_statistics: torch.Tensor | None = None,
                **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.stage == "motion":
            return self._motion_forward(motion_values, targets, aux_targets, fragment_statistics)
        if self.stage == "vision":
            return self._vision_forward(pixel_values.to(self.model.dtype), aux_targets)
        if self.stage == "encoders":
            return self._encoders_forward(pixel_values.to(self.model.dtype), motion_values, targets, aux_targets)
        return super().forward(pixel_values=pixel_values, targets=targets, motion_values=motion_values,
                               aux_targets=aux_targets, **batch)

    def losses(self, out, score, targets, task_ids, target_positions, motion_features, extra) -> list[torch.Tensor]:
        """LOVE's terms (next-token loss, L1 weighted by `l1_weight`), then stage 0's probes in a fixed order."""
        losses = super().losses(out, score, targets, task_ids, target_positions, motion_features, extra)
        aux_targets, match_positions = extra.get("aux_targets"), extra.get("match_positions")
        if self.aux_weight and aux_targets is not None:
            losses.append(self.aux_weight * self._aux_loss(out.frame_tokens, aux_targets))
        if self.motion_aux_weight and aux_targets is not None:
            losses.append(self._motion_direction_loss(motion_features, aux_targets))
        if self.frame_motion_weight and aux_targets is not None:
            losses.append(self._frame_motion_loss(out.frame_tokens, aux_targets))
        if self.frame_scene_weight and aux_targets is not None:
            losses.append(self._frame_scene_loss(out.frame_tokens, aux_targets))
        if self.match_weight and match_positions is not None:
            match_targets = extra["match_targets"]
            losses.append(self.match_weight * self._match_loss(out.layer_states[self.match_layer], match_positions,
                                                               match_targets))
            if self.match_span_weight:
                losses.append(self.match_span_weight * self._match_span_loss(
                    out.layer_states[self.match_layer + 1], match_positions, match_targets, target_positions,
                    task_ids == TASKS.index("qa")))
        return losses

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
        blocks = NanoForTraining._attribute_logits(logits, classes)
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
