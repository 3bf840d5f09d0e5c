"""Training LOVE with its paper recipe on transformers' Trainer: data, batches, stages, `train`.

    from love_plugins.training import TrainConfig, train
    train(TrainConfig(task="perception", stage="2", data="suite/meta_perception.json", output_dir="out"))

LOVE's stages are 1, 2 and QA; other packages add stages through `register_stage` (see `stages.py`
and docs/training.md). See `love-eval train --help` and docs/training.md (multi-GPU,
DeepSpeed, resume).
"""

from .collator import LoveCollator
from .data import LoveDataset, Record, VideoCache, level_index, level_word_for, load_records
from .module import LoveForTraining, configure_trainable, copy_projectors, trainable_parameter_names
from .stages import LOVE_STAGES, LoveStage, Stage, register_stage, registered_stages, resolve_stage
from .trainer import TrainConfig, evaluation_metrics, read_training_info, train

__all__ = [
    "LOVE_STAGES",
    "LoveCollator",
    "LoveDataset",
    "LoveForTraining",
    "LoveStage",
    "Record",
    "Stage",
    "TrainConfig",
    "VideoCache",
    "configure_trainable",
    "copy_projectors",
    "evaluation_metrics",
    "level_index",
    "level_word_for",
    "load_records",
    "read_training_info",
    "register_stage",
    "registered_stages",
    "resolve_stage",
    "train",
    "trainable_parameter_names",
]
