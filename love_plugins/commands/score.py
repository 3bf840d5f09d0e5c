"""Score videos with LOVE: perception and correspondence (0–100 MOS scale) and yes/no QA.

Input is video files, a folder of videos, or a manifest (.jsonl/.csv with a `video` column and
optional `prompt` and `question` columns; relative paths are read from the manifest's folder).
One row per video is appended to --out as soon as it is scored; rerunning the same command resumes
where a killed run stopped. Exit code 1 if any video failed (each failure is in the output with its
reason), 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import statistics
import sys
from pathlib import Path

from ..errors import AnnotationError, LoveError
from . import options

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif"}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="VIDEOS_OR_DIR_OR_MANIFEST",
                        help="video files, a folder of videos, or a manifest .jsonl/.csv")
    parser.add_argument("--model", default="love-nano",
                        help="bundle directory, 'love-nano' (packaged demo model) or 'tiny-random' (default: %(default)s)")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated subset of perception,correspondence,qa "
                             "(default: perception, + correspondence with prompts, + qa with questions)")
    parser.add_argument("--prompt", default=None, help="one text prompt used for every video")
    parser.add_argument("--prompts", type=options.utf8_text_file, default=None,
                        help="file of prompts: one per line in input order, or a JSON object {video: prompt}")
    parser.add_argument("--question", default=None, help="one yes/no question asked of every video")
    parser.add_argument("--out", type=options.output_file, default=Path("love_scores.jsonl"),
                        help="results file, .jsonl or .csv (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming --out")
    parser.add_argument("--batch-size", type=options.batch_size, default=8, help="videos per model batch (default: %(default)s)")
    parser.add_argument("--workers", type=options.workers, default=None,
                        help="decoding worker processes (default: 0 on the CPU, up to 4 per GPU on CUDA)")
    parser.add_argument("--device", type=options.device, default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                        help="weights dtype (default: bfloat16 on GPU, float32 on CPU)")
    parser.add_argument("--backend", default=None, choices=["pyav", "torchcodec", "decord"],
                        help="video decoder (default: pyav; all give identical tensors)")
    parser.add_argument("--cache-dir", type=options.output_dir, default=None,
                        help="score cache keyed by video content, checkpoint, sampler, task and text: "
                             "videos scored before by any run are not decoded again")
    parser.add_argument("--perception-views", type=options.views, default=None,
                        help="test-time views averaged for the perception score: mirror images, reversal, more "
                             "fragment samplings (love_plugins.views; default: the model's own, 1 for LOVE, "
                             "8 for love-nano)")
    parser.add_argument("--qa-prompt", default=None, choices=["inference", "training"],
                        help="the authors' QA prompt to ask with: 'inference' (eval_qa.py's, which gave the "
                             "published accuracy) or 'training' (train_qa.py's; no 'Motion Feature2' line) "
                             "(default: the bundle's own)")
    parser.add_argument("--one-pass", action="store_true",
                        help="all requested tasks in one forward pass (a mixed-adapter batch) instead of one per task")
    parser.add_argument("--attention", default=None, choices=options.ATTENTION_IMPLEMENTATIONS,
                        help="the LLM's attention implementation, as transformers names it (default: sdpa); "
                             "flash_attention_2 needs the flash-attn package and a GPU")
    parser.add_argument("--packed", action="store_true",
                        help="run each batch's prompts packed into one sequence without padding (with "
                             "flash_attention_2 or flex_attention; not with --one-pass)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    engines = _engines()
    parser.add_argument("--engine", default="local", choices=["local", *engines],
                        help="'local': this process (and torchrun ranks); others come from installed plugins, "
                             "e.g. 'ray' (integrations.ray.data: Ray Data on a local instance or a cluster) "
                             "(default: %(default)s)")
    for name, module_name in engines.items():
        module = importlib.import_module(module_name)
        module.add_arguments(parser.add_argument_group(f"--engine {name}"))


def _engines() -> dict[str, str]:
    """Scoring engines other packages add (entry-point group `love_plugins.engines`: name = "module", where the
    module has `add_arguments(group)` and `score_rows(args, scorer, videos, prompts, questions, tasks, progress)`
    yielding result rows). The core knows none of them."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="love_plugins.engines")
            if importlib.util.find_spec(ep.value) is not None}


def collect_inputs(inputs: list[str]) -> list[dict]:
    """Expand files, folders and manifests into rows {video, prompt?, question?}."""
    rows: list[dict] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            if not found:
                raise LoveError(f"{path}: folder holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
            rows += [{"video": str(p)} for p in found]
        elif path.suffix.lower() in (".jsonl", ".csv"):
            rows += read_manifest(path)
        else:
            rows.append({"video": str(path)})
    return rows


def read_manifest(path: Path) -> list[dict]:
    """Rows {video, prompt, question} of a .jsonl/.csv manifest, read with the dataset adapters'
    readers (so encoding, JSON and CSV errors are reported the same way, with line numbers)."""
    from ..datasets.base import ErrorReport, iter_csv, iter_jsonl

    if not path.is_file():
        raise AnnotationError(path, "manifest does not exist")
    reader = iter_csv if path.suffix.lower() == ".csv" else iter_jsonl
    records = list(reader(path, ErrorReport("raise")))
    if not records:
        raise AnnotationError(path, "manifest is empty")
    rows = []
    for number, record in records:
        if not isinstance(record, dict) or not record.get("video"):
            raise AnnotationError(path, "row has no 'video' field", line=number)
        video = Path(record["video"])
        rows.append({
            "video": str(video if video.is_absolute() else path.parent / video),
            "prompt": record.get("prompt") or None,
            "question": record.get("question") or None,
        })
    return rows


def _read_prompts_file(path: Path, videos: list[str]) -> list[str | None]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        mapping = json.loads(text)
        return [mapping.get(v, mapping.get(Path(v).name)) for v in videos]
    lines = [line.rstrip("\n") for line in text.splitlines()]
    if len(lines) != len(videos):
        raise AnnotationError(path, f"{len(lines)} prompts for {len(videos)} videos")
    return lines


def run(args: argparse.Namespace) -> int:
    from .. import scorer as scorer_module
    from ..distributed import init_from_env, rank_path, shutdown
    from ..results import ResultsWriter, partial_files, read_rows, remove_results, row_key, write_rows_atomic

    ctx = init_from_env()  # several processes under torchrun / accelerate launch, else one
    try:
        rows = collect_inputs(args.inputs)
        videos = [r["video"] for r in rows]
        prompts = [r.get("prompt") for r in rows]
        questions = [r.get("question") for r in rows]
        if args.prompt is not None:
            prompts = [args.prompt] * len(rows)
        if args.prompts is not None:
            prompts = _read_prompts_file(args.prompts, videos)
        if args.question is not None:
            questions = [args.question] * len(rows)
        have_prompts = any(p for p in prompts)
        have_questions = any(q for q in questions)
        device = args.device or (ctx.device() if ctx.enabled else None)
        scorer = scorer_module.load(args.model, device=device, dtype=args.dtype, batch_size=args.batch_size,
                                    num_workers=args.workers, backend=args.backend, cache_dir=args.cache_dir,
                                    perception_views=args.perception_views, qa_prompt=args.qa_prompt,
                                    one_pass=args.one_pass, attention=args.attention, packed=args.packed)
        tasks = (tuple(t.strip() for t in args.tasks.split(",") if t.strip()) if args.tasks
                 else scorer.default_tasks(prompts if have_prompts else None, questions if have_questions else None))
        run_info = {**scorer.describe(), "tasks": list(tasks)}
        own = rank_path(args.out, ctx)
        # Work an earlier run left in the merged output or in per-rank files of another number of processes.
        earlier = [p for p in [args.out, *partial_files(args.out)] if p != own]
        writer = ResultsWriter(own, run_info, overwrite=args.overwrite, earlier_files=earlier)
    except (LoveError, ValueError) as exc:  # ValueError: a bad option value, e.g. --perception-views 0
        print(f"error: {exc}", file=sys.stderr)
        shutdown(ctx)
        return 2

    keys = [row_key({"video": v, "prompt": p, "question": q}) for v, p, q in zip(videos, prompts, questions)]
    mine = ctx.shard(len(videos))
    todo = [i for i in mine if keys[i] not in writer.done and keys[i] not in writer.earlier]
    if len(todo) < len(mine):
        logger.info("resuming: %d of %d requests already done", len(mine) - len(todo), len(mine))
    with writer:
        for row in _score(args, scorer, [videos[i] for i in todo], [prompts[i] for i in todo],
                          [questions[i] for i in todo], tasks, progress=not args.no_progress and ctx.is_main):
            if row_key(row) not in writer.done:  # an engine that retried a batch cannot write a video twice
                writer.write(row)
    done = {**writer.earlier, **writer.done}
    if ctx.enabled:
        ctx.barrier()
        if not ctx.is_main:
            shutdown(ctx)
            return 1 if any(done[keys[i]].get("error") for i in mine if keys[i] in done) else 0
        for rank in range(ctx.world_size):  # merge deterministically, in input order
            part = rank_path(args.out, type(ctx)(rank=rank, world_size=ctx.world_size))
            done.update({row_key(row): row for row in read_rows(part)})
    final = [done[k] for k in dict.fromkeys(keys) if k in done]
    if ctx.enabled or writer.earlier or args.engine != "local":  # in input order, as the local engine writes
        write_rows_atomic(args.out, final, {**run_info, "world_size": ctx.world_size})
    if ctx.enabled or writer.earlier or args.overwrite:  # rank files of other runs are merged (or overwritten)
        current = {rank_path(args.out, type(ctx)(rank=r, world_size=ctx.world_size)) for r in range(ctx.world_size)}
        for stale in partial_files(args.out):
            if stale not in current or not ctx.enabled:
                remove_results(stale)
    if ctx.enabled:
        shutdown(ctx)
    failed = [r for r in final if r.get("error")]
    print(summary_line(final, tasks, args.out))
    for r in failed[:10]:
        print(f"  failed: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def _score(args, scorer, videos, prompts, questions, tasks, progress: bool):
    """Result rows of the videos, from this process or from the engine the user chose."""
    if args.engine == "local":
        return (result.to_dict() for result in scorer.iter_scores(videos, prompts, questions, tasks, progress=progress))
    engine = importlib.import_module(_engines()[args.engine])
    return engine.score_rows(args, scorer, videos, prompts, questions, tasks, progress)


def summary_line(rows: list[dict], tasks, out: Path) -> str:
    ok = [r for r in rows if not r.get("error")]
    parts = [f"{len(ok)}/{len(rows)} videos scored"]
    for task in ("perception", "correspondence"):
        values = [float(r[task]) for r in ok if r.get(task) not in (None, "")]
        if task in tasks and values:
            parts.append(f"mean {task} {statistics.fmean(values):.1f}")
    if "qa" in tasks:
        answers = [r["qa_answer"] for r in ok if r.get("qa_answer")]
        if answers:
            parts.append(f"qa yes-rate {answers.count('yes') / len(answers):.0%}")
    failed = len(rows) - len(ok)
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts) + f" -> {out}"
