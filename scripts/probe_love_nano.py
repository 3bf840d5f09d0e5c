#!/usr/bin/env python
"""Linear probes of a bundle's visual features on love-nano's suites (seed 0 fit, seed 1 held out):
which scene attributes, and how much of the perception MOS, the LLM's visual input carries.

    python scripts/probe_love_nano.py                                  # the shipped love-nano
    python scripts/probe_love_nano.py --bundle /tmp/nano/stage0 --task qa --out probe.json

High attribute accuracy with chance-level QA / correspondence means the LLM does not use what it
is shown; low accuracy means the vision side has not learnt it. Suites are written on first use
into --work-dir (the same folder `train_love_nano.py` uses, so they are shared).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    from love_plugins.nano.probe import probe_bundle
    from love_plugins.nano.recipe import DEFAULT_WORK_DIR, nano_suites

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default="love-nano", help="bundle folder or love-nano (default: %(default)s)")
    parser.add_argument("--task", default="perception", choices=("perception", "correspondence", "qa"),
                        help="whose frame projector to probe (default: %(default)s)")
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR),
                        help="suites and decoded-video cache (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_suite, heldout_suite = nano_suites(args.work_dir)
    report = probe_bundle(args.bundle, train_suite, heldout_suite, task=args.task,
                          cache_dir=Path(args.work_dir) / "video_cache", progress=True)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
