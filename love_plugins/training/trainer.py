"""`train(...)`: LOVE's recipe on transformers' Trainer (single process, accelerate, torchrun, DeepSpeed).

Defaults are the paper's (SPEC §2): AdamW lr 4e-5, cosine schedule, 3 % warmup, weight decay 0.01,
10 epochs, batch 4 per device, bf16 on GPU, gradient checkpointing. The test split is evaluated
every epoch (SRCC/PLCC/KRCC for the score tasks, accuracy for QA), the best checkpoint is kept and
reloaded at the end, and `resume="auto"` continues from the last checkpoint after an interruption.
The result is a bundle (`love_config.json`, `model.safetensors`, tokenizer, `training_info.json`
with the training config and metrics) that `love_plugins.load(output_dir)` reads directly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import AnnotationError
from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.modeling_love import LoveModel
from ..modeling.prompting import LoveProcessor
from .collator import LoveCollator
from .data import (
    FragmentResampledDataset,
    LoveDataset,
    SceneAugmentedDataset,
    VideoCache,
    load_records,
    share_cache,
)
from .module import FRAME_SCENE_ATTRIBUTES, STAGES, LoveForTraining, frame_scene_classes, set_adapters_enabled

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
INFO_NAME = "training_info.json"


# love-nano's pre-training options and the stages that read them; `TrainConfig` refuses one changed from
# its default anywhere else (the motion and encoders stages always train the motion encoder, so they accept
# that too).
PRETRAINING_OPTION_STAGES = {"aux_weight": ("encoders", "stage0"), "augment_scenes": ("stage0",),
                             "match_weight": ("stage0",), "motion_aux_weight": ("motion", "stage0"),
                             "train_motion_encoder": ("motion", "encoders", "stage0"),
                             "train_vision_tower": ("stage0",), "distill_weight": ("motion",),
                             "match_span_weight": ("stage0",), "motion_question_weight": ("stage0",),
                             "caption_share": ("stage0",), "open_share": ("stage0",),
                             "fragment_draws": ("motion",), "frame_motion_weight": ("stage0",),
                             "frame_scene_weight": ("stage0",), "frame_scene_attributes": ("stage0",)}
# options of the questions that augment_scenes draws from each clip's true scene
SCENE_DRAW_OPTIONS = ("caption_share", "open_share", "motion_question_weight")


@dataclass
class TrainConfig:
    """Everything a run needs; recorded verbatim in the bundle's training_info.json."""

    task: str
    stage: str  # "1", "2", "qa" (or "stage1", ...); "motion", "vision", "encoders", "0" = love-nano's base pretraining
    data: str  # LOVE meta JSON, manifest (.jsonl/.csv) or suite folder
    output_dir: str
    model: str = "love-nano"  # bundle directory, "love-nano" or "tiny-random"
    eval_data: str | None = None  # default: the test split of `data`
    stage0_tasks: tuple[str, ...] = TASKS  # tasks mixed in stage 0
    learning_rate: float = 4e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0  # gradient clipping (transformers' default); 0 = none
    num_train_epochs: float = 10.0
    max_steps: int = -1
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    bf16: bool = True  # only on a GPU that supports it
    gradient_checkpointing: bool = True
    seed: int = 42
    eval_strategy: str = "epoch"  # "epoch", "steps" or "no"
    eval_steps: int | None = None
    save_steps: int | None = None
    save_total_limit: int | None = 2
    logging_steps: int = 10
    l1_weight: float = 1.0  # weight of the L1 term in stage 0
    aux_weight: float = 0.0  # stage 0: weight of the scene-attribute probe loss (synthetic manifests only)
    augment_scenes: bool = False  # stage 0: fresh QA questions / prompts per draw from the true scenes
    caption_share: float = 0.5  # stage 0 with augment_scenes: share of QA draws that are scene captions
    open_share: float = 0.0  # stage 0 with augment_scenes: share of QA draws that are open questions
    motion_question_weight: float = 1.0  # stage 0 with augment_scenes: how much likelier motion questions are
    match_weight: float = 0.0  # stage 0 with augment_scenes: weight of the word-match probe loss
    match_layer: int = 1  # stage 0: the LLM layer whose output the word-match probe reads
    match_span_weight: float = 0.0  # stage 0: the verdict carried from a yes/no question's word to its answer
    motion_aux_weight: float = 0.0  # motion stage, or stage 0 with train_motion_encoder: direction-of-motion probe
    frame_motion_weight: float = 0.0  # stage 0: direction of motion read off the pooled frame tokens
    frame_scene_weight: float = 0.0  # stage 0: background, colour, shape and count read off the pooled frame tokens
    frame_scene_attributes: tuple[str, ...] = FRAME_SCENE_ATTRIBUTES  # stage 0: which of them the probe asks
    train_motion_encoder: bool = False  # stage 0 only: pre-train the (later frozen) motion encoder too
    train_vision_tower: bool = True  # stage 0 only: False keeps the vision tower as the encoders stage left it
    distill_weight: float = 1.0  # motion stage: weight of the hand-made fragment statistics as targets
    fragment_draws: int = 1  # motion stage: training clips' fragments drawn from this many samplings, one per draw
    resume: str | None = None  # None, "auto" (last checkpoint if any) or a checkpoint directory
    deepspeed: str | None = None  # DeepSpeed JSON config (ZeRO-1/2), passed to TrainingArguments
    cache_dir: str | None = None  # decoded-video cache (default: <output_dir>/video_cache)
    decode_workers: int = 0
    dataloader_num_workers: int = 0
    keep_checkpoints: bool = True
    max_train_samples: int | None = None
    name: str | None = None  # new config.name of the model (e.g. the love-nano label)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; known: {TASKS}")
        self.stage = resolve_stage(self.task, self.stage)
        if self.stage == "qa" and self.task != "qa":
            raise ValueError("--stage qa trains the qa task")
        if self.stage == "stage2" and self.task not in SCORE_TASKS:
            raise ValueError("stage 2 (score head + LoRA with L1) is for perception and correspondence")
        if self.stage in ("motion", "vision", "encoders") and self.task != "perception":
            raise ValueError(f"the {self.stage} stage learns the perception MOS: --task perception")
        if self.fragment_draws < 1:
            raise ValueError(f"fragment_draws must be >= 1 (1 = the model's own sampling only), got "
                             f"{self.fragment_draws}")
        if self.max_grad_norm < 0:  # a negative bound would flip the gradients it clips
            raise ValueError(f"max_grad_norm must be >= 0 (0 = no clipping), got {self.max_grad_norm}")
        self.stage0_tasks = tuple(self.stage0_tasks)
        self.frame_scene_attributes = tuple(self.frame_scene_attributes)
        frame_scene_classes(self.frame_scene_attributes)  # refuses an unknown attribute before any video is read
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        unread = [name for name, stages in PRETRAINING_OPTION_STAGES.items()  # else dropped without a word
                  if self.stage not in stages and getattr(self, name) != defaults[name]]
        if unread:
            raise ValueError(f"{', '.join(unread)}: pre-training option(s), not used by stage {self.stage!r}")
        undrawn = [name for name in SCENE_DRAW_OPTIONS  # else dropped without a word
                   if not self.augment_scenes and getattr(self, name) != defaults[name]]
        if undrawn:
            raise ValueError(f"{', '.join(undrawn)}: shape(s) the questions that augment_scenes draws afresh; "
                             "they need augment_scenes")


def normalize_stage(stage: str | int) -> str:
    text = str(stage).lower().removeprefix("stage")
    out = {"motion": "motion", "vision": "vision", "encoders": "encoders", "0": "stage0", "1": "stage1", "2": "stage2", "qa": "qa"}.get(text)
    if out is None:
        raise ValueError(f"unknown stage {stage!r}; use 1, 2 or qa (motion, vision, encoders, 0: love-nano's "
                         "pre-training)")
    return out


def resolve_stage(task: str, stage: str) -> str:
    """QA has one LoRA stage: `--task qa --stage 2` means the QA recipe."""
    stage = normalize_stage(stage)
    return "qa" if task == "qa" and stage == "stage2" else stage


# -- metrics ----------------------------------------------------------------------------------------------
def evaluation_metrics(predictions: np.ndarray, targets: np.ndarray, task_ids: np.ndarray, stage: str) -> dict:
    """SRCC/PLCC/KRCC per score task (head output; the level expectation in stage 1), accuracy for QA,
    and `combined` = the mean of each task's main figure (what picks the best checkpoint). The vision
    stage reports the share of scene attributes its frames were recognised right (`scene_accuracy`)."""
    from ..metrics import MetricError, correlations

    if stage == "vision":
        accuracy = float(np.mean(predictions[:, 0]))
        return {"scene_accuracy": accuracy, "combined": accuracy}

    out: dict[str, float] = {}
    mains = []
    present = [TASKS[i] for i in sorted(set(np.asarray(task_ids).tolist()))]
    for task in present:
        rows = task_ids == TASKS.index(task)
        if task in SCORE_TASKS:
            column = 1 if stage == "stage1" else 0
            try:
                corr = correlations(predictions[rows, column], targets[rows])
                values = {k: float(corr[k]) for k in ("srcc", "plcc", "krcc")}
            except MetricError:  # e.g. a constant prediction early in training
                values = {"srcc": 0.0, "plcc": 0.0, "krcc": 0.0}
            mains.append(values["srcc"])
        else:
            acc = float(np.mean((predictions[rows, 2] >= 0.5) == (targets[rows] >= 0.5)))
            values = {"accuracy": acc}
            mains.append(acc)
        for key, value in values.items():
            out[f"{task}_{key}"] = value
            if len(present) == 1:
                out[key] = value
    out["combined"] = float(np.mean(mains)) if mains else 0.0
    return out


def _compute_metrics_for(stage: str):
    def compute(eval_pred) -> dict:
        preds = eval_pred.predictions
        preds = preds[0] if isinstance(preds, tuple) else preds
        targets, task_ids = eval_pred.label_ids
        return evaluation_metrics(np.asarray(preds, dtype=np.float64), np.asarray(targets, dtype=np.float64),
                                  np.asarray(task_ids), stage)

    return compute


# -- model loading ----------------------------------------------------------------------------------------
def load_model_and_tokenizer(name_or_path: str):
    """A bundle directory, the packaged "love-nano", or "tiny-random" (random weights)."""
    from transformers import AutoTokenizer

    from ..scorer import PACKAGED_MODELS

    if name_or_path == "tiny-random":
        from ..modeling.tiny import build_tiny_model

        return build_tiny_model(randomize_adapters=False)
    directory = PACKAGED_MODELS.get(name_or_path, Path(name_or_path))
    return LoveModel.from_pretrained(directory), AutoTokenizer.from_pretrained(directory)


def _previous_history(name_or_path: str) -> list:
    from ..scorer import PACKAGED_MODELS

    path = Path(PACKAGED_MODELS.get(name_or_path, Path(name_or_path))) / INFO_NAME
    if path.is_file():
        try:
            return list(json.loads(path.read_text()).get("history", []))
        except (json.JSONDecodeError, AttributeError):
            return []
    return []


# -- the run ----------------------------------------------------------------------------------------------
def _records(cfg: TrainConfig, stage: str, split: str, data: str) -> list:
    tasks = cfg.stage0_tasks if stage == "stage0" else (cfg.task,)
    records = []
    for task in tasks:
        records += load_records(data, task, split)
    return records


def train(cfg: TrainConfig, model: LoveModel | None = None, tokenizer=None, callbacks=None) -> dict:
    """Run one stage of LOVE's recipe; returns the training info written into the bundle.

    `model`/`tokenizer` may be passed in memory (else `cfg.model` is loaded). Works unchanged under
    `accelerate launch` / `torchrun` (one process per GPU) and with a DeepSpeed config.
    """
    from transformers import Trainer, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    stage = resolve_stage(cfg.task, cfg.stage)
    started = time.perf_counter()
    set_seed(cfg.seed)
    from_disk = model is None
    if model is None:
        model, tokenizer = load_model_and_tokenizer(cfg.model)
        history = _previous_history(cfg.model)
    else:
        history = []
    if cfg.name:
        model.config.name = cfg.name
    if cfg.task not in model.config.tasks:
        raise ValueError(f"model {model.config.name!r} has no task {cfg.task!r}")
    processor = LoveProcessor(tokenizer, model.config)
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    cuda = torch.cuda.is_available()
    # one process per GPU under torchrun / accelerate: each precomputes on its own device
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    model.to(device)
    cache = VideoCache(model.config.sampler_config, cfg.cache_dir or output_dir / "video_cache", cfg.decode_workers)
    train_records = _records(cfg, stage, "train", cfg.data)
    if stage == "vision" and not all(r.scene for r in train_records):  # before any video is decoded
        raise AnnotationError(cfg.data, "the vision stage learns each frame's true scene attributes, which these "
                                        "annotations do not carry (a `love-eval synth` manifest does)")
    if cfg.max_train_samples:
        train_records = train_records[: cfg.max_train_samples]
    eval_records = _records(cfg, stage, "test", cfg.eval_data or cfg.data)
    if cfg.augment_scenes and stage == "stage0":
        train_set = SceneAugmentedDataset(train_records, cache, seed=cfg.seed, caption_share=cfg.caption_share,
                                          open_share=cfg.open_share, progress=True,
                                          motion_weight=cfg.motion_question_weight)
    elif stage == "motion" and cfg.fragment_draws > 1:
        train_set = FragmentResampledDataset(train_records, cache, cfg.fragment_draws, seed=cfg.seed, progress=True)
    else:
        train_set = LoveDataset(train_records, cache, progress=True)
    eval_set = LoveDataset(eval_records, cache, progress=True) if eval_records else None
    share_cache([d for d in (train_set, eval_set) if d is not None])
    statistics_scale = None
    if stage == "motion" and cfg.distill_weight:  # the distillation targets, standardised over the training clips
        statistics = train_set.precompute_fragment_statistics(progress=True).flatten(0, 1)
        statistics_scale = (statistics.mean(0), statistics.std(0))
        if eval_set is not None:
            eval_set.precompute_fragment_statistics(progress=True)
    wrapper = LoveForTraining(model, processor, stage, cfg.task, l1_weight=cfg.l1_weight, aux_weight=cfg.aux_weight,
                              train_motion_encoder=cfg.train_motion_encoder, match_weight=cfg.match_weight,
                              match_layer=cfg.match_layer, motion_aux_weight=cfg.motion_aux_weight,
                              train_vision_tower=cfg.train_vision_tower, distill_weight=cfg.distill_weight,
                              statistics_scale=statistics_scale, match_span_weight=cfg.match_span_weight,
                              frame_motion_weight=cfg.frame_motion_weight,
                              frame_scene_weight=cfg.frame_scene_weight,
                              frame_scene_attributes=cfg.frame_scene_attributes)
    if not wrapper.train_motion_encoder and stage != "vision":  # the vision stage never reads motion
        train_set.precompute_motion(model)  # frozen: once per video, never again per step
        if eval_set is not None:
            eval_set.precompute_motion(model)
    model.cpu()
    evaluate = eval_set is not None and cfg.eval_strategy != "no"
    args = TrainingArguments(
        output_dir=str(output_dir / CHECKPOINTS),
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        bf16=bool(cfg.bf16 and cuda and torch.cuda.is_bf16_supported()),
        **_checkpointing_arguments(TrainingArguments, cfg.gradient_checkpointing),
        seed=cfg.seed,
        eval_strategy=cfg.eval_strategy if evaluate else "no",
        eval_steps=cfg.eval_steps,
        save_strategy=cfg.eval_strategy if evaluate else ("steps" if cfg.save_steps else "epoch"),
        save_steps=cfg.eval_steps if evaluate and cfg.eval_strategy == "steps" else (cfg.save_steps or 500),
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=evaluate,
        metric_for_best_model="combined" if evaluate else None,
        greater_is_better=True if evaluate else None,
        label_names=["targets", "task_ids"],
        remove_unused_columns=False,
        logging_steps=cfg.logging_steps,
        report_to="none",
        deepspeed=cfg.deepspeed,
        dataloader_num_workers=cfg.dataloader_num_workers,
        dataloader_pin_memory=cuda,
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=wrapper,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set if evaluate else None,
        # the batches carry the true scenes only where the wrapper learns from them (pre-training)
        data_collator=LoveCollator(processor, scene_targets=wrapper.needs_scene_targets,
                                   word_matches=bool(wrapper.match_weight)),
        compute_metrics=_compute_metrics_for(stage) if evaluate else None,
        callbacks=callbacks,
    )
    resume = None
    if cfg.resume == "auto":
        checkpoints = output_dir / CHECKPOINTS
        resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    elif cfg.resume:
        resume = cfg.resume
    if resume:
        logger.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    final_eval = trainer.evaluate() if evaluate else {}

    seconds = time.perf_counter() - started
    run = {
        "task": cfg.task,
        "stage": stage,
        "config": {**dataclasses.asdict(cfg), **({} if from_disk else {"model": "<in memory>"})},
        "resumed_from": resume,
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "final_eval": final_eval,
        "log_history": trainer.state.log_history,
        "trainable_parameters": wrapper.num_trainable,
        "num_train": len(train_set),
        "num_eval": len(eval_set) if eval_set is not None else 0,
        "seconds": round(seconds, 1),
        "device": str(trainer.args.device),
        "world_size": trainer.args.world_size,
        "versions": _versions(),
    }
    info = {"name": model.config.name, "history": history + [run]}
    if trainer.is_world_process_zero():
        model.save_pretrained(output_dir, tokenizer, extra=_json_safe(info))
        if not cfg.keep_checkpoints:
            shutil.rmtree(output_dir / CHECKPOINTS, ignore_errors=True)
    set_adapters_enabled(model, True)
    model.eval()
    return info


def _checkpointing_arguments(arguments_class, enabled: bool) -> dict:
    """transformers ≥ 5.18 names it `activation_checkpointing`, earlier releases `gradient_checkpointing`."""
    fields = getattr(arguments_class, "__dataclass_fields__", {})
    name = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return {name: enabled, f"{name}_kwargs": {"use_reentrant": False}}


def _versions() -> dict:
    import transformers

    from .. import __version__

    return {"love_plugins": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def read_training_info(bundle: str | Path) -> dict:
    path = Path(bundle) / INFO_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


__all__ = ["STAGES", "TrainConfig", "evaluation_metrics", "read_training_info", "resolve_stage", "train"]
