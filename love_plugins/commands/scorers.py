"""List the scorers `love-eval evaluate` and `love-eval generalize --model NAME` can run: LOVE models, the
baselines shipped here, and scorers other packages install (entry-point group `love_plugins.scorers`), with
what each outputs, whether it needs a GPU or a prompt, and whether its weights are found."""

from __future__ import annotations

import argparse
import json


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per scorer instead of a table")


def run(args: argparse.Namespace) -> int:
    from love_plugins.scorers import available

    rows = available()
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict()))
        return 0
    header = ("name", "source", "outputs", "GPU", "prompt", "weights")
    table = [header] + [(r.name, r.source, ",".join(r.outputs), "yes" if r.needs_gpu else "no",
                         "yes" if r.needs_prompt else "no", r.weights) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0
