"""Shared plumbing of `love-eval evaluate` and `love-eval generalize`: options, scorers, outputs."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from love_plugins.commands import options
from love_plugins.errors import LoveError

logger = logging.getLogger(__name__)


def add_common_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--model", required=True,
                        help="scorer(s), comma-separated: a LOVE bundle directory, 'love-nano', 'tiny-random', "
                             "or a training-free baseline ('flicker', 'niqe'; also 'baseline:NAME')")
    parser.add_argument("--baselines", action="store_true", help="also evaluate every training-free baseline")
    parser.add_argument("--split", default="test",
                        help="split to evaluate where the dataset has splits; 'all' for every record "
                             "(default: %(default)s)")
    parser.add_argument("--on-error", choices=["skip", "raise"], default="skip",
                        help="bad annotation records: skip and report them, or stop (default: %(default)s)")
    parser.add_argument("--out", type=options.output_dir, default=Path(default_out),
                        help="output folder: results.json, results.csv, report.md, report.html, plots/, "
                             "cache/ (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="do not reuse or write the per-video score cache")
    parser.add_argument("--bootstrap", type=options.int_at_least(0, 1_000_000), default=1000,
                        help="bootstrap resamples for CIs; 0 to skip CIs (default: %(default)s)")
    parser.add_argument("--seed", type=options.seed, default=0, help="bootstrap seed (default: %(default)s)")
    parser.add_argument("--limit", type=options.positive_int, default=None, help="evaluate only the first N records of each dataset")
    parser.add_argument("--batch-size", type=options.batch_size, default=8, help="LOVE: videos per batch (default: %(default)s)")
    parser.add_argument("--workers", type=options.workers, default=0,
                        help="LOVE: decoding worker processes (default: %(default)s)")
    parser.add_argument("--device", type=options.device, default=None, help="LOVE: torch device (default: cuda if available)")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"], help="LOVE: dtype")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_scorers(args: argparse.Namespace) -> list:
    from love_plugins.baselines import ready_baselines

    from .harness import resolve_scorer

    names = [n.strip() for n in args.model.split(",") if n.strip()]
    if args.baselines:
        names += [b for b in ready_baselines() if b not in names and f"baseline:{b}" not in names]
    if not names:
        raise LoveError("--model: no scorer named")
    return [resolve_scorer(n, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                           num_workers=args.workers) for n in names]


def settings_from(args: argparse.Namespace):
    from .harness import EvalSettings

    return EvalSettings(n_resamples=args.bootstrap, seed=args.seed, limit=args.limit,
                        cache_dir=None if args.no_cache else str(args.out / "cache"),
                        progress=not args.no_progress)


def split_arg(args: argparse.Namespace) -> str | None:
    return None if args.split in ("all", "", None) else args.split


def finish(results: list[dict], args: argparse.Namespace, title: str) -> int:
    from .report import table_rows, write_report

    paths = write_report(results, args.out, title=title, command="love-eval " + shlex.join(sys.argv[1:]),
                         plots=not args.no_plots)
    for row in table_rows(results):
        if row["level"] == "instance" and not row["label"].startswith("qa:"):
            value = row.get("srcc") if row["output"] != "qa" else row.get("accuracy")
            what = "SRCC" if row["output"] != "qa" else "accuracy"
            shown = "–" if value is None else f"{value:.4f}"
            print(f"{row['scorer']:<40} {row['dataset']:<18} {row['label']:<26} {what} {shown}"
                  + (f"  ({row['error']})" if row.get("error") else ""))
    failed = sum(r["counts"]["failed"] for r in results)
    skipped = sum(r["dataset"]["skipped_errors"] for r in results)
    if skipped:
        print(f"{skipped} annotation record(s) skipped; see dataset_errors in {paths['json']}", file=sys.stderr)
    if failed:
        print(f"{failed} video(s) could not be scored; see failures in {paths['json']}", file=sys.stderr)
    print(f"wrote {paths['json']}, {paths['csv']}, {paths['markdown']}, {paths['html']}")
    return 0
