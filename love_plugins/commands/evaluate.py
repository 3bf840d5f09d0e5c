"""Evaluate scorers on one labelled dataset: correlations per label, model level, QA accuracy, CIs.

Scores every video of the dataset (split `--split`, default test) with each `--model` — a LOVE model
or a training-free baseline — reusing a per-video score cache under `--out/cache`, then reports
SRCC / PLCC / KRCC (raw, plus PLCC after a 4-parameter logistic fit) per label at instance level
with bootstrap CIs, model-level correlation where the dataset names the generators, and QA accuracy
overall and per dimension. Writes results.json, results.csv, report.md and a self-contained
report.html into `--out`, with the LOVE paper's published figures printed beside ours.

Datasets: aigve60k, aigvqa-db, t2vqa-db, gaia, fetv, videofeedback, genai-bench-video, manifest.
Which LOVE output each label is compared with has a per-dataset default (`--map` overrides it).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import LoveError
from . import options


def add_parser(parser: argparse.ArgumentParser) -> None:
    from ..evaluation.runner import add_common_options

    parser.add_argument("--dataset", required=True, help="dataset adapter name (see love_plugins.datasets)")
    parser.add_argument("--root", type=options.existing_path, required=True, help="dataset folder (or, for 'manifest', a manifest file)")
    parser.add_argument("--map", default=None, metavar="LABEL=OUTPUT,...",
                        help="override which LOVE output (perception / correspondence / none) each label is "
                             "compared with")
    parser.add_argument("--labels", default=None,
                        help="manifest only: label columns, 'name[:low:high],...' (default: numeric columns)")
    add_common_options(parser, "love_eval_results")


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset
    from ..evaluation.harness import evaluate, parse_mapping
    from ..evaluation.runner import build_scorers, finish, settings_from, split_arg

    try:
        options = {"labels": args.labels} if args.labels else {}
        dataset = load_dataset(args.dataset, args.root, split=split_arg(args), on_error=args.on_error, **options)
        mapping = parse_mapping(args.map)
        scorers = build_scorers(args)
        settings = settings_from(args)
        results = [evaluate(s, dataset, mapping, settings) for s in scorers]
        return finish(results, args, title=f"LOVE evaluation: {dataset.name}")
    except (LoveError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
