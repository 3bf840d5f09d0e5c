"""Zero-shot matrix: scorers × datasets × labels, each label compared with its default LOVE output.

`--datasets` lists NAME=DIR pairs; NAME is a dataset adapter (aigve60k, aigvqa-db, t2vqa-db, gaia,
fetv, videofeedback, genai-bench-video, manifest) or ALIAS:ADAPTER to evaluate two folders of one
format (e.g. lgvq:manifest=/data/lgvq). Default label -> output mapping per dataset (documented in
the report's run table): quality-like labels -> perception, alignment-like labels -> correspondence;
override with `--map NAME.LABEL=OUTPUT,...`. Same outputs as `love-eval evaluate`, plus the matrix.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import LoveError


def add_parser(parser: argparse.ArgumentParser) -> None:
    from ..evaluation.runner import add_common_options

    parser.add_argument("--datasets", required=True, metavar="NAME=DIR,...",
                        help="datasets to evaluate: adapter=DIR or alias:adapter=DIR, comma-separated")
    parser.add_argument("--map", default=None, metavar="NAME.LABEL=OUTPUT,...",
                        help="override the label -> output mapping of a dataset (output: perception, "
                             "correspondence or none)")
    add_common_options(parser, "love_generalize_results")


def parse_datasets(text: str) -> list[tuple[str, str, str]]:
    """'a=DIR,lgvq:manifest=DIR' -> [(name, adapter, dir)]."""
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise LoveError(f"--datasets: expected NAME=DIR, got {item!r}")
        name, root = (s.strip() for s in item.split("=", 1))
        alias, _, adapter = name.partition(":")
        out.append((alias, adapter or alias, root))
    if not out:
        raise LoveError("--datasets: no dataset given")
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise LoveError(f"--datasets: names must be unique, got {names} (use alias:adapter=DIR)")
    return out


def parse_dataset_mapping(text: str | None) -> dict[str, dict[str, str]]:
    from ..evaluation.harness import parse_mapping

    out: dict[str, dict[str, str]] = {}
    for key, output in parse_mapping(text).items():
        if "." not in key:
            raise LoveError(f"--map: expected NAME.LABEL=OUTPUT, got {key}={output}")
        name, label = key.split(".", 1)
        out.setdefault(name, {})[label] = output
    return out


def run(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset
    from ..evaluation.harness import evaluate
    from ..evaluation.runner import build_scorers, finish, settings_from, split_arg

    try:
        specs = parse_datasets(args.datasets)
        mappings = parse_dataset_mapping(args.map)
        unknown = set(mappings) - {n for n, _, _ in specs}
        if unknown:
            raise LoveError(f"--map names unknown dataset(s) {sorted(unknown)}")
        datasets = []
        for name, adapter, root in specs:
            ds = load_dataset(adapter, root, split=split_arg(args), on_error=args.on_error)
            ds.name = name
            datasets.append(ds)
        scorers = build_scorers(args)
        settings = settings_from(args)
        results = [evaluate(s, d, mappings.get(d.name), settings) for s in scorers for d in datasets]
        return finish(results, args, title="LOVE zero-shot generalization")
    except (LoveError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
