"""Place a text-to-video model on the AIGVE-60K leaderboard from videos it generated.

Generate videos for the prompts of --prompts (AIGVE-60K's prompt list or any list with yes/no QA
pairs and dimension labels; .jsonl/.json/.csv with prompt, question, answer, dimension and
optionally id or video columns, or .txt with one prompt per line), put them in --videos named by
the `video` column, `{id}.mp4` or `{prompt}.mp4` / `{prompt}-N.mp4`, then run this command. LOVE
predicts each video's perception and correspondence MOS and answers its questions; the model's row
(means overall and per dimension) is ranked among the 30 models of the AIGVE-60K leaderboard and
among the other models already scored into the same --out folder.

Writes to --out: `<name>.suite.json` (row, per-dimension table, per-video results, run info),
`leaderboard.csv` and `ranking.png`. Exit code 1 if some videos could not be scored, 2 on bad input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import sys
from pathlib import Path

from ..errors import LoveError
from . import options

logger = logging.getLogger(__name__)


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompts", type=_prompt_source, required=True,
                        help="'aigve60k' (AIGVE-60K's test prompts with their QA pairs, read from $AIGVE60K_ROOT) "
                             "or a prompt file with QA pairs and dimensions")
    parser.add_argument("--videos", type=options.existing_dir, required=True, help="folder of the model's generated videos")
    parser.add_argument("--name", required=True, help="name of the text-to-video model (its leaderboard row)")
    parser.add_argument("--model", default="love-nano",
                        help="LOVE bundle directory, 'love-nano', 'tiny-random', or 'package.module:factory' "
                             "returning any scorer object (default: %(default)s)")
    parser.add_argument("--out", type=options.output_dir, default=Path("suite_results"),
                        help="results folder, shared by the models to compare (default: %(default)s)")
    parser.add_argument("--no-reference", action="store_true",
                        help="rank only the models in --out, without the 30 AIGVE-60K reference models")
    parser.add_argument("--no-plot", action="store_true", help="skip ranking.png")
    parser.add_argument("--batch-size", type=options.batch_size, default=8, help="videos per model batch (default: %(default)s)")
    parser.add_argument("--device", type=options.device, default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                        help="weights dtype (default: bfloat16 on GPU, float32 on CPU)")


@options._kind("text_file")
def _prompt_source(text: str):
    """'aigve60k', or an existing UTF-8 prompt file."""
    return text if text == "aigve60k" else options.utf8_text_file(text)


def _is_demonstration(description: dict) -> bool:
    model = str(description.get("model", ""))
    return "demonstration" in model or model.startswith(("love-nano", "tiny-random"))


def load_scorer(model: str, device=None, dtype=None, batch_size: int = 8):
    """A LOVE scorer, or any object a `module:factory` reference returns (called without arguments)."""
    if ":" in model and not Path(model).exists() and re.fullmatch(r"[\w.]+:\w+", model):
        module_name, factory = model.split(":")
        return getattr(importlib.import_module(module_name), factory)()
    from ..scorer import load

    return load(model, device=device, dtype=dtype, batch_size=batch_size)


def _describe(scorer) -> dict:
    describe = getattr(scorer, "describe", None)
    return describe() if callable(describe) else {"scorer": type(scorer).__name__}


def run(args: argparse.Namespace) -> int:
    from .. import suite

    if not re.fullmatch(r"[\w.+-][\w .+-]*", args.name):
        print(f"error: --name {args.name!r} must be usable as a file name (letters, digits, . _ + - space)",
              file=sys.stderr)
        return 2
    try:
        prompts = suite.read_aigve60k_prompts() if args.prompts == "aigve60k" else suite.read_prompts(args.prompts)
        pairs, missing = suite.find_videos(prompts, args.videos)
        if not pairs:
            raise LoveError(f"{args.videos}: no video matches any of the {len(prompts)} prompts of {args.prompts} "
                            "(name them by the `video` column, `{id}.mp4`, or `{prompt}.mp4` / `{prompt}-N.mp4`)")
        scorer = load_scorer(args.model, device=args.device, dtype=args.dtype, batch_size=args.batch_size)
        result = suite.evaluate_model(pairs, scorer, args.name)
    except LoveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if missing:
        logger.warning("%d of %d prompts have no video in %s; the row covers the other %d",
                       len(missing), len(prompts), args.videos, len(prompts) - len(missing))
    result["run"] = {"scorer": _describe(scorer), "prompts": str(args.prompts), "videos": str(args.videos),
                     "num_prompts": len(prompts), "num_prompts_without_video": len(missing)}
    result["demonstration_model"] = _is_demonstration(result["run"]["scorer"])
    result.update(suite.bootstrap_row(result, reference=[] if args.no_reference else None))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.suite.json").write_text(json.dumps(result, indent=2), encoding="utf-8")

    rows = []
    for path in sorted(args.out.glob("*.suite.json")):
        rows.append(json.loads(path.read_text(encoding="utf-8")))
    table = suite.leaderboard(rows, reference=[] if args.no_reference else None)
    suite.write_leaderboard_csv(table, args.out / "leaderboard.csv")
    ours = {r["model"] for r in rows}
    if not args.no_plot:
        suite.plot_ranking(table, args.out / "ranking.png", highlight=ours)
        suite.plot_radar(rows, args.out / "radar.png", highlight={args.name})

    place = next(r["overall_rank"] for r in table if r["model"] == args.name)
    print(suite.format_leaderboard(table, highlight=ours))
    print()
    spread = result.get("rank_range")
    print(f"{args.name}: overall rank {place} of {len(table)}"
          + (f" (95 % of {result['resamples']} prompt resamples: ranks {spread[0]}-{spread[1]})" if spread else "")
          + f"; {result['num_videos'] - result['num_failed']}/{result['num_videos']} videos scored, "
          f"{result['num_questions']} questions")
    for metric, interval in (result.get("intervals") or {}).items():
        if interval and result.get(metric) is not None:
            print(f"  {metric}: {result[metric]:.2f} [{interval[0]:.2f}, {interval[1]:.2f}]")
    if result["demonstration_model"]:
        print(f"NOTE: {args.name} was scored by a demonstration model ({result['run']['scorer'].get('model')}): "
              "its row is not comparable with the human-judged reference rows (marked in leaderboard.csv).")
    print(f"{'dimension':<20} {'videos':>6} {'perception':>10} {'corresp.':>9} {'task acc %':>10}")
    for dim, row in result["per_dimension"].items():
        cells = [("-" if row[m] is None else f"{row[m]:.2f}") for m in suite.METRICS]
        print(f"{dim:<20} {row['num_videos']:>6} {cells[0]:>10} {cells[1]:>9} {cells[2]:>10}")
    print(f"results in {args.out}/")
    failed = [r for r in result["videos"] if r["error"]]
    for r in failed[:10]:
        print(f"  failed: {r['error']}", file=sys.stderr)
    return 1 if failed else 0
