#!/usr/bin/env python
"""Regenerate love-nano from scratch: synthetic suites (seed 0 train, seed 1 held out), the motion
stage (the motion encoder's quality pre-training), stage 0 (tiny-base pretraining), LOVE stage 1 →
stage 2 per score task, QA LoRA, held-out evaluation.

    python scripts/train_love_nano.py                       # writes love_plugins/assets/love-nano
    python scripts/train_love_nano.py --out /tmp/nano --work-dir /tmp/nano-work

Everything runs on the CPU; the wall time and the held-out figures land in the bundle's
training_info.json. love-nano is a demonstration model (synthetic clips only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from love_plugins.nano.recipe import DEFAULT_WORK_DIR, NanoRecipe, build_love_nano

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "love_plugins" / "assets" / "love-nano"), help="bundle folder")
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR),
                        help="suites, video cache, stage bundles (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch CPU threads of the LOVE stages and the held-out evaluation; the pre-training "
                             "stages use --motion-threads and --stage0-threads (default: %(default)s, as the "
                             "shipped bundle was made)")
    for f in dataclasses.fields(NanoRecipe):
        kind = (lambda text: text.lower() in ("1", "true", "yes")) if isinstance(f.default, bool) else type(f.default)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default,
                            help="(default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    recipe = NanoRecipe(**{f.name: getattr(args, f.name) for f in dataclasses.fields(NanoRecipe)})
    started = time.perf_counter()
    info = build_love_nano(args.work_dir, args.out, recipe)
    print(json.dumps({"heldout": {t: {k: v for k, v in info["heldout"][t].items() if k != "model_level"}
                                  for t in ("perception", "correspondence")}
                      | {"qa_accuracy": info["heldout"]["qa"].get("accuracy"),
                         "perception_single_view_srcc": info["heldout_single_view"]["perception"].get("srcc")},
                      "timings_seconds": info["timings_seconds"],
                      "total_seconds": round(time.perf_counter() - started, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
