"""Train a LOVE model with the paper's recipe (transformers Trainer + peft LoRA).

Stage 1 trains the task's projectors with cross-entropy on the level sentence; stage 2 trains the
task's LoRA adapters (vision + language) and score head with L1 on MOS/100; QA (`--task qa`, stage 2
or `qa`) trains the QA LoRA with next-token loss on the Yes/No answer. Defaults are the paper's:
lr 4e-5, cosine, 3 % warmup, weight decay 0.01, 10 epochs, batch 4, bf16 on GPU, gradient
checkpointing. The test split is evaluated every epoch and the best checkpoint kept; `--resume`
continues an interrupted run. The output folder is a bundle `love_plugins.load()` reads directly.

Multi-GPU / multi-node: `accelerate launch -m love_plugins.cli train ...` or
`torchrun --nproc_per_node 8 -m love_plugins.cli train ...`; `--deepspeed ds_zero2.json` as in LOVE."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, choices=("perception", "correspondence", "qa"))
    parser.add_argument("--stage", required=True,
                        help="LOVE's 1, 2 or qa (QA: 2 = qa); or a stage an installed package registers, run with "
                             "its default options (love-nano's pre-training: motion, vision, encoders, 0)")
    parser.add_argument("--data", type=options.existing_path, required=True, metavar="META_OR_MANIFEST",
                        help="LOVE meta JSON, manifest.jsonl/.csv, or a `love-eval synth` folder")
    parser.add_argument("--output-dir", "-o", type=options.output_dir, required=True, help="bundle folder to write (checkpoints inside)")
    parser.add_argument("--model", default="love-nano",
                        help="starting bundle: a folder, love-nano or tiny-random (default: %(default)s)")
    parser.add_argument("--eval-data", type=options.existing_path, help="evaluation data (default: the test split of --data)")
    parser.add_argument("--lr", "--learning-rate", dest="learning_rate", type=options.float_in(0.0, low_open=True),
                        default=4e-5)
    parser.add_argument("--scheduler", dest="lr_scheduler_type", default="cosine")
    parser.add_argument("--warmup-ratio", type=options.float_in(0.0, 1.0), default=0.03)
    parser.add_argument("--weight-decay", type=options.float_in(0.0), default=0.01)
    parser.add_argument("--max-grad-norm", type=options.float_in(0.0), default=1.0, help="gradient clipping; 0 = none (default: %(default)s)")
    parser.add_argument("--epochs", dest="num_train_epochs", type=options.float_in(0.0, low_open=True),
                        default=10.0)
    parser.add_argument("--max-steps", type=options.int_at_least(-1), default=-1, help="stop after this many steps (overrides --epochs)")
    parser.add_argument("--batch-size", dest="per_device_train_batch_size", type=options.batch_size, default=4,
                        help="per device (default: %(default)s)")
    parser.add_argument("--eval-batch-size", dest="per_device_eval_batch_size", type=options.batch_size,
                        default=8)
    parser.add_argument("--grad-accum", dest="gradient_accumulation_steps", type=options.positive_int,
                        default=1)
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="fp32 even on a bf16 GPU")
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false")
    parser.add_argument("--seed", type=options.seed, default=42)
    parser.add_argument("--eval-strategy", default="epoch", choices=("epoch", "steps", "no"))
    parser.add_argument("--eval-steps", type=options.positive_int)
    parser.add_argument("--save-steps", type=options.positive_int, help="checkpoint interval when not evaluating")
    parser.add_argument("--save-total-limit", type=options.positive_int, default=2)
    parser.add_argument("--logging-steps", type=options.positive_int, default=10)
    parser.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CHECKPOINT",
                        help="continue from the last checkpoint in OUTPUT_DIR (or from CHECKPOINT)")
    parser.add_argument("--deepspeed", type=options.existing_file, metavar="JSON", help="DeepSpeed config (ZeRO-1/2), as LOVE's scripts use")
    parser.add_argument("--cache-dir", type=options.output_dir, help="decoded-video cache (default: OUTPUT_DIR/video_cache)")
    parser.add_argument("--decode-workers", type=options.workers, default=0, help="processes decoding videos up front")
    parser.add_argument("--dataloader-workers", dest="dataloader_num_workers", type=options.workers,
                        default=0)
    parser.add_argument("--no-checkpoints", dest="keep_checkpoints", action="store_false",
                        help="delete OUTPUT_DIR/checkpoints after a successful run")
    parser.add_argument("--max-train-samples", type=options.positive_int)
    parser.add_argument("--name", help="new model name recorded in the bundle")


def run(args: argparse.Namespace) -> int:
    from love_plugins.errors import LoveError
    from love_plugins.training import TrainConfig, train

    fields = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
              if not k.startswith("_") and k not in ("command", "verbose", "debug")}
    try:
        cfg = TrainConfig(**fields)
        info = train(cfg)
    except (LoveError, ValueError, FileNotFoundError) as exc:
        print(f"love-eval train: error: {exc}", file=sys.stderr)
        return 2
    run_info = info["history"][-1]
    print(json.dumps({"output_dir": cfg.output_dir, "stage": run_info["stage"], "task": run_info["task"],
                      "global_step": run_info["global_step"], "best_metric": run_info["best_metric"],
                      "final_eval": run_info["final_eval"], "seconds": run_info["seconds"]}, indent=2))
    return 0
