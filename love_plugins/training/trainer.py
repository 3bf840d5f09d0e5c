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

from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.modeling_love import LoveModel
from ..modeling.prompting import LoveProcessor
from .data import VideoCache, load_records, share_cache
from .module import set_adapters_enabled
from .stages import LOVE_STAGES, Stage, build_stage, resolve_stage

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
INFO_NAME = "training_info.json"


@dataclass
class TrainConfig:
    """Everything a run needs; recorded verbatim in the bundle's training_info.json."""

    task: str
    stage: str  # "1", "2", "qa" (or "stage1", ...), or a stage another package registered (`stages.py`)
    data: str  # LOVE meta JSON, manifest (.jsonl/.csv) or suite folder
    output_dir: str
    model: str = "love-nano"  # bundle directory, "love-nano" or "tiny-random"
    eval_data: str | None = None  # default: the test split of `data`
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
    resume: str | None = None  # None, "auto" (last checkpoint if any) or a checkpoint directory
    deepspeed: str | None = None  # DeepSpeed JSON config (ZeRO-1/2), passed to TrainingArguments
    cache_dir: str | None = None  # decoded-video cache (default: <output_dir>/video_cache)
    decode_workers: int = 0
    dataloader_num_workers: int = 0
    keep_checkpoints: bool = True
    max_train_samples: int | None = None
    name: str | None = None  # new config.name of the model (e.g. the love-nano label)
    stage_options: dict | None = None  # a registered stage's own options (LOVE's stages take none)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; known: {TASKS}")
        self.stage = resolve_stage(self.task, self.stage)
        if self.max_grad_norm < 0:  # a negative bound would flip the gradients it clips
            raise ValueError(f"max_grad_norm must be >= 0 (0 = no clipping), got {self.max_grad_norm}")
        self.training_stage().check(self)  # a stage's own checks, before any video is read

    def training_stage(self) -> Stage:
        """The `Stage` this configuration runs, built with its options."""
        return build_stage(self.stage, self.stage_options)


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


def _compute_metrics_for(stage: Stage):
    def compute(eval_pred) -> dict:
        preds = eval_pred.predictions
        preds = preds[0] if isinstance(preds, tuple) else preds
        targets, task_ids = eval_pred.label_ids
        return stage.metrics(np.asarray(preds, dtype=np.float64), np.asarray(targets, dtype=np.float64),
                             np.asarray(task_ids))

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
def _records(cfg: TrainConfig, stage: Stage, split: str, data: str) -> list:
    records = []
    for task in stage.record_tasks(cfg):
        records += load_records(data, task, split)
    return records


def train(cfg: TrainConfig, model: LoveModel | None = None, tokenizer=None, callbacks=None) -> dict:
    """Run one stage of LOVE's recipe; returns the training info written into the bundle.

    `model`/`tokenizer` may be passed in memory (else `cfg.model` is loaded). Works unchanged under
    `accelerate launch` / `torchrun` (one process per GPU) and with a DeepSpeed config.
    """
    from transformers import Trainer, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    stage = cfg.training_stage()
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
    if cfg.max_train_samples:
        train_records = train_records[: cfg.max_train_samples]
    eval_records = _records(cfg, stage, "test", cfg.eval_data or cfg.data)
    train_set, eval_set = stage.datasets(cfg, train_records, eval_records, cache)
    share_cache([d for d in (train_set, eval_set) if d is not None])
    wrapper = stage.build_module(cfg, model, processor, train_set, eval_set)
    if not wrapper.train_motion_encoder and wrapper.reads_motion:
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
        data_collator=stage.collator(wrapper, processor),
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
        "stage": stage.name,
        "config": {**dataclasses.asdict(cfg), **({} if from_disk else {"model": "<in memory>"})},
        "stage_options": stage.options(),
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


__all__ = ["LOVE_STAGES", "TrainConfig", "evaluation_metrics", "read_training_info", "resolve_stage", "train"]
