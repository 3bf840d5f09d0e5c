"""Convert the released LOVE checkpoints into one love-plugins bundle (one base, three tasks).

    love-eval convert LOVE-Perception LOVE-Corrrespondence LOVE-QA temporal.pth love-bundle

Each SRC is a checkpoint folder (or a Hugging Face repo id, fetched through the HF cache), optionally
written TASK=PATH (task: perception, correspondence, qa); without TASK= the task is read from the folder
name. A .pth SRC is the motion encoder's temporal.pth. Every tensor is mapped or the command fails
naming the file and key. LoRA merged into the weights needs --base (InternVL3-9B).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import LoveError
from . import options

_TASK_HINTS = (("perception", r"percep"), ("correspondence", r"corr"), ("qa", r"(^|[^a-z])qa([^a-z]|$)"))


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SRC", help="[TASK=]checkpoint folder or repo id, temporal.pth")
    parser.add_argument("out_dir", type=options.output_dir, metavar="OUT_DIR", help="bundle folder to write")
    parser.add_argument("--base", default=None, help="base InternVL3-9B folder or repo id (needed for merged LoRA)")
    parser.add_argument("--tokenizer", type=options.existing_dir, default=None, help="folder to take the tokenizer from")
    parser.add_argument("--config", type=options.utf8_text_file, default=None,
                        help="love_config.json whose sampling, prompts and motion-encoder settings to use "
                             "(default: LOVE's; the architecture always comes from the checkpoints' config.json)")
    parser.add_argument("--lora-weights", choices=["apply", "ignore"], default="apply",
                        help="a checkpoint folder's lora_weights.pth (the LoRA of the authors' best evaluation): "
                             "'apply' loads it over the checkpoint's LoRA as the authors' inference does, "
                             "'ignore' keeps model.safetensors' (default: %(default)s; recorded in "
                             "conversion_report.json)")
    parser.add_argument("--qa-prompt", default=None, choices=["inference", "training"],
                        help="the QA prompt the bundle asks with: the authors' 'inference' prompt (eval_qa.py, "
                             "the published accuracy) or their 'training' prompt (train_qa.py) (default: "
                             "inference, or that of --config)")
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty OUT_DIR")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def guess_task(path: str) -> str | None:
    """Task from a folder name (LOVE-Perception, …), also inside the HF cache (models--owner--LOVE-QA/snapshots/…)."""
    parts = Path(path.rstrip("/")).parts
    names = [parts[-1]] if parts else []
    names += [p for p in parts if p.startswith("models--")]
    for name in names:
        hits = [task for task, pattern in _TASK_HINTS if re.search(pattern, name.lower())]
        if len(hits) == 1:
            return hits[0]
    return None


def _local(source: str) -> Path:
    """A local path, or a repo id resolved through the Hugging Face cache."""
    path = Path(source)
    if path.exists() or not re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        return path
    from ..convert.hub import snapshot

    found = snapshot((source,))
    if found is None:
        raise LoveError(f"{source}: not a local path and not downloadable (offline?): hf download {source}")
    return found


def parse_sources(sources: list[str]) -> tuple[dict[str, Path], Path | None]:
    checkpoints: dict[str, Path] = {}
    temporal = None
    for item in sources:
        task, sep, path = item.partition("=")
        if not sep:
            task, path = None, item
        if path.endswith((".pth", ".pt")) and task is None:
            if temporal is not None:
                raise LoveError(f"two temporal weights given: {temporal} and {path}")
            temporal = Path(path)
            continue
        task = task or guess_task(path)
        if task is None:
            raise LoveError(f"{path}: cannot tell which task this checkpoint is; write perception={path}, "
                            f"correspondence={path} or qa={path}")
        if task not in ("perception", "correspondence", "qa"):
            raise LoveError(f"unknown task {task!r} in {item!r}")
        if task in checkpoints:
            raise LoveError(f"two checkpoints for task {task}: {checkpoints[task]} and {path}")
        checkpoints[task] = _local(path)
    if not checkpoints:
        raise LoveError("no checkpoint folders given")
    return checkpoints, temporal


def run(args: argparse.Namespace) -> int:
    from ..convert import convert

    try:
        checkpoints, temporal = parse_sources(args.sources)
        base = _local(args.base) if args.base else None
        from ..modeling.configuration_love import LoveConfig

        template = LoveConfig()
        if args.config is not None:
            try:
                template = LoveConfig.load(args.config)
            except (OSError, ValueError, TypeError) as exc:
                raise LoveError(f"{args.config}: not a love_config.json: {exc}") from exc
        if args.qa_prompt is not None:
            template.set_qa_prompt(args.qa_prompt)
        report = convert(checkpoints, args.out_dir, temporal=temporal, base=base, template=template,
                         tokenizer_dir=args.tokenizer, overwrite=args.overwrite, progress=not args.no_progress,
                         lora_weights=args.lora_weights)
    except LoveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    modes = ", ".join(f"{t}: {m}" for t, m in report.lora.items())
    print(f"wrote {args.out_dir}: {report.tensors} tensors, {report.bytes / 1e9:.2f} GB; LoRA {modes}; "
          f"{len(report.dropped)} source tensor(s) deliberately dropped (see conversion_report.json)")
    for task, record in report.lora_weights.items():
        if record["mode"] != "absent":
            print(f"{task}: lora_weights.pth {record['mode']} ({record['replaced']} of {record['lora_tensors']} "
                  f"LoRA tensors replaced, largest change {record['max_abs_change']:.3g})")
    for note in report.notes:
        print(f"note: {note}")
    return 0
