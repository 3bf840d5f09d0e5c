"""love-nano's pre-training stages, registered with `love_plugins.training.register_stage`.

`PretrainingStage` is one `Stage` with the options of all four (``motion``, ``vision``, ``encoders``,
``stage0``; see `love_plugins.nano.module` for what each trains): an option is refused in a stage that
does not read it, so none is dropped without a word.

    from love_plugins.nano.stages import PretrainingStage  # registers the stages
    train(TrainConfig(task="perception", stage="0", data=..., output_dir=...,
                      stage_options={"aux_weight": 1.0, "augment_scenes": True}))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..errors import AnnotationError
from ..modeling.configuration_love import TASKS
from ..training.data import LoveDataset
from ..training.stages import Stage, register_stage
from ..training.trainer import evaluation_metrics
from .data import (
    DistillationDataset,
    FragmentResampledDataset,
    NanoCollator,
    SceneAugmentedDataset,
)
from .module import FRAME_SCENE_ATTRIBUTES, NO_LLM_STAGES, NanoForTraining, frame_scene_classes

PRETRAINING_STAGES = ("motion", "vision", "encoders", "stage0")

# Each option and the stages that read it; one changed from its default anywhere else is refused (the motion
# and encoders stages always train the motion encoder, so they accept that too).
OPTION_STAGES = {"tasks": ("stage0",), "l1_weight": ("stage0",), "aux_weight": ("encoders", "stage0"),
                 "augment_scenes": ("stage0",), "match_weight": ("stage0",), "match_layer": ("stage0",),
                 "motion_aux_weight": ("motion", "stage0"), "train_motion_encoder": ("motion", "encoders", "stage0"),
                 "train_vision_tower": ("stage0",), "distill_weight": ("motion",), "match_span_weight": ("stage0",),
                 "motion_question_weight": ("stage0",), "caption_share": ("stage0",), "open_share": ("stage0",),
                 "fragment_draws": ("motion",), "frame_motion_weight": ("stage0",),
                 "frame_scene_weight": ("stage0",), "frame_scene_attributes": ("stage0",)}
# options of the questions that augment_scenes draws from each clip's true scene
SCENE_DRAW_OPTIONS = ("caption_share", "open_share", "motion_question_weight")


@dataclass
class PretrainingStage(Stage):
    """One of love-nano's pre-training stages and its options (recorded in training_info.json)."""

    stage: str = "stage0"
    tasks: tuple[str, ...] = TASKS  # stage 0: the tasks mixed (a task listed twice is drawn twice per epoch)
    l1_weight: float = 1.0  # stage 0: weight of the L1 score terms against the next-token and probe losses
    aux_weight: float = 0.0  # encoders, stage 0: weight of the scene-attribute probe loss (synthetic manifests)
    augment_scenes: bool = False  # stage 0: fresh QA questions / prompts per draw from the true scenes
    caption_share: float = 0.5  # stage 0 with augment_scenes: share of QA draws that are scene captions
    open_share: float = 0.0  # stage 0 with augment_scenes: share of QA draws that are open questions
    motion_question_weight: float = 1.0  # stage 0 with augment_scenes: how much likelier motion questions are
    match_weight: float = 0.0  # stage 0: weight of the word-match probe loss
    match_layer: int = 1  # stage 0: the LLM layer whose output the word-match probe reads
    match_span_weight: float = 0.0  # stage 0: the verdict carried from a yes/no question's word to its answer
    motion_aux_weight: float = 0.0  # motion stage, or stage 0 with train_motion_encoder: direction-of-motion probe
    frame_motion_weight: float = 0.0  # stage 0: direction of motion read off the pooled frame tokens
    frame_scene_weight: float = 0.0  # stage 0: background, colour, shape and count off the pooled frame tokens
    frame_scene_attributes: tuple[str, ...] = field(default=FRAME_SCENE_ATTRIBUTES)  # stage 0: which of them
    train_motion_encoder: bool = False  # stage 0: pre-train the (later frozen) motion encoder too
    train_vision_tower: bool = True  # stage 0: False keeps the vision tower as the encoders stage left it
    distill_weight: float = 1.0  # motion stage: weight of the hand-made fragment statistics as targets
    fragment_draws: int = 1  # motion stage: training clips' fragments drawn from this many samplings

    lora = False  # these stages train the base itself: the (zero-initialised) LoRA branches would only add work

    def __post_init__(self):
        if self.stage not in PRETRAINING_STAGES:
            raise ValueError(f"unknown pre-training stage {self.stage!r}; known: {PRETRAINING_STAGES}")
        if self.fragment_draws < 1:
            raise ValueError(f"fragment_draws must be >= 1 (1 = the model's own sampling only), got "
                             f"{self.fragment_draws}")
        self.tasks = tuple(self.tasks)
        self.frame_scene_attributes = tuple(self.frame_scene_attributes)
        frame_scene_classes(self.frame_scene_attributes)  # refuses an unknown attribute before any video is read
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        unread = [name for name, stages in OPTION_STAGES.items()  # else dropped without a word
                  if self.stage not in stages and getattr(self, name) != defaults[name]]
        if unread:
            raise ValueError(f"{', '.join(unread)}: pre-training option(s), not used by stage {self.stage!r}")
        undrawn = [name for name in SCENE_DRAW_OPTIONS  # else dropped without a word
                   if not self.augment_scenes and getattr(self, name) != defaults[name]]
        if undrawn:
            raise ValueError(f"{', '.join(undrawn)}: shape(s) the questions that augment_scenes draws afresh; "
                             "they need augment_scenes")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.stage

    @property
    def next_token_loss(self) -> bool:  # type: ignore[override]
        return self.stage == "stage0"

    score_loss = next_token_loss  # stage 0 also learns both score heads
    mixed_tasks = next_token_loss  # stage 0's batches mix the tasks

    def options(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "stage"}

    def check_task(self, task: str) -> None:
        if self.stage in NO_LLM_STAGES and task != "perception":
            raise ValueError(f"the {self.stage} stage learns the perception MOS: task must be perception "
                             "(--task perception)")

    def check(self, cfg) -> None:
        self.check_task(cfg.task)

    def record_tasks(self, cfg) -> tuple[str, ...]:
        return self.tasks if self.stage == "stage0" else (cfg.task,)

    def datasets(self, cfg, train_records: list, eval_records: list, cache) -> tuple:
        if self.stage == "vision" and not all(r.scene for r in train_records):  # before any video is decoded
            raise AnnotationError(cfg.data, "the vision stage learns each frame's true scene attributes, which these "
                                            "annotations do not carry (a `love-eval synth` manifest does)")
        if self.stage == "stage0" and self.augment_scenes:
            train_set = SceneAugmentedDataset(train_records, cache, seed=cfg.seed, caption_share=self.caption_share,
                                              open_share=self.open_share, progress=True,
                                              motion_weight=self.motion_question_weight)
        elif self.stage == "motion" and self.fragment_draws > 1:
            train_set = FragmentResampledDataset(train_records, cache, self.fragment_draws, seed=cfg.seed,
                                                 progress=True)
        else:
            train_set = (DistillationDataset if self.stage == "motion" else LoveDataset)(train_records, cache,
                                                                                          progress=True)
        eval_class = DistillationDataset if self.stage == "motion" else LoveDataset
        return train_set, (eval_class(eval_records, cache, progress=True) if eval_records else None)

    def build_module(self, cfg, model, processor, train_set, eval_set) -> NanoForTraining:
        statistics_scale = None
        if self.stage == "motion" and self.distill_weight:  # the targets, standardised over the training clips
            statistics = train_set.precompute_fragment_statistics(progress=True).flatten(0, 1)
            statistics_scale = (statistics.mean(0), statistics.std(0))
            if eval_set is not None:
                eval_set.precompute_fragment_statistics(progress=True)
        return NanoForTraining(model, processor, self, cfg.task, statistics_scale=statistics_scale)

    def trainable_parameter_names(self, model, task: str) -> list[str]:
        """motion: the motion encoder alone; vision: the ViT and the task's vision projector; encoders: both
        encoders and that projector; stage 0: everything but LoRA and the other tasks' projectors (the motion
        encoder only with `train_motion_encoder`, the ViT unless `train_vision_tower` is off)."""
        names = []
        for name, _ in model.named_parameters():
            head = name.split(".")
            if head[0] == "motion_encoder":
                if self.stage in ("motion", "encoders") or (self.stage == "stage0" and self.train_motion_encoder):
                    names.append(name)
                continue
            if self.stage == "motion":
                continue
            if self.stage == "stage0" and head[0] == "vision_tower" and not self.train_vision_tower:
                continue
            is_lora = "lora_A" in head or "lora_B" in head
            if self.stage in ("encoders", "vision"):
                keep = not is_lora and (head[0] == "vision_tower" or (head[0] == "projectors" and head[1] == task))
            else:
                keep = not is_lora and (head[0] not in ("projectors", "motion_projectors") or head[1] == task)
            if keep:
                names.append(name)
        return names

    def collator(self, module: NanoForTraining, processor) -> NanoCollator:
        # the batches carry the true scenes only where the module learns from them
        return NanoCollator(processor, scene_targets=module.needs_scene_targets,
                            word_matches=bool(module.match_weight))

    def metrics(self, predictions, targets, task_ids) -> dict:
        """The vision stage reports the share of scene attributes its frames were recognised right
        (`scene_accuracy`); the others LOVE's figures."""
        if self.stage == "vision":
            accuracy = float(np.mean(predictions[:, 0]))
            return {"scene_accuracy": accuracy, "combined": accuracy}
        return evaluation_metrics(predictions, targets, task_ids, self.name)


for _name in PRETRAINING_STAGES:
    register_stage(_name, partial(PretrainingStage, _name))
