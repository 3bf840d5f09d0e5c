"""Training LOVE with its paper recipe on transformers' Trainer: data, batches, stages, `train`.

    from love_plugins.training import TrainConfig, train
    train(TrainConfig(task="perception", stage="2", data="suite/meta_perception.json", output_dir="out"))

See `love-eval train --help` and the README's "Training" section (multi-GPU, DeepSpeed, resume).
"""

from .collator import LoveCollator
from .data import LoveDataset, Record, VideoCache, level_index, level_word_for, load_records
from .module import STAGES, LoveForTraining, configure_trainable, copy_projectors, trainable_parameter_names
from .trainer import TrainConfig, evaluation_metrics, read_training_info, resolve_stage, train

__all__ = [
    "STAGES",
    "LoveCollator",
    "LoveDataset",
    "LoveForTraining",
    "Record",
    "TrainConfig",
    "VideoCache",
    "configure_trainable",
    "copy_projectors",
    "evaluation_metrics",
    "level_index",
    "level_word_for",
    "load_records",
    "read_training_info",
    "resolve_stage",
    "train",
    "trainable_parameter_names",
]
