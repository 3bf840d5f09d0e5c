"""Write a deterministic synthetic AIGV suite: real mp4 clips of simple scenes from fictitious T2V
generators, with known perception MOS, correspondence MOS and yes/no QA targets in LOVE's
annotation format (annotations/*.jsonl, meta_*.json), plus manifest.jsonl/csv and suite.json."""

from __future__ import annotations

import argparse
import sys

from love_plugins.commands import options
from love_plugins.synth.config import GENERATOR_MODELS, SuiteConfig


def _model_spec(text: str) -> tuple[str, float]:
    """`NAME` (a built-in generator) or `NAME=Q` (a new one of quality Q in (0, 1))."""
    name, sep, quality = text.partition("=")
    if not sep:
        if name not in GENERATOR_MODELS:
            known = ", ".join(GENERATOR_MODELS)
            raise argparse.ArgumentTypeError(f"unknown model {name!r} (known: {known}; or give NAME=Q)")
        return name, GENERATOR_MODELS[name]
    try:
        value = float(quality)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quality of {name!r} must be a number, got {quality!r}") from None
    if not name or not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected NAME=Q with Q in (0, 1), got {text!r}")
    return name, value


def add_parser(parser: argparse.ArgumentParser) -> None:
    defaults = SuiteConfig()
    parser.add_argument("out_dir", type=options.output_dir, metavar="OUT_DIR", help="folder to write the suite into (created)")
    parser.add_argument("--videos", type=options.clip_count, default=100, help="number of clips (default: %(default)s)")
    parser.add_argument(
        "--seed", type=options.seed, default=0, help="random seed; same seed, same suite (default: %(default)s)"
    )
    parser.add_argument(
        "--test-fraction",
        type=options.float_in(0.0, 1.0),
        default=defaults.test_fraction,
        help="share of clips in the test split (default: %(default)s)",
    )
    parser.add_argument(
        "--width", type=options.even_int_at_least(16, 7680), default=defaults.width, help="frame width, even (default: %(default)s)"
    )
    parser.add_argument(
        "--height", type=options.even_int_at_least(16, 4320), default=defaults.height, help="frame height, even (default: %(default)s)"
    )
    parser.add_argument(
        "--fps", type=options.int_at_least(1, 240), default=defaults.fps, help="frames per second (default: %(default)s)"
    )
    parser.add_argument(
        "--seconds", type=options.float_in(0.0, 600.0, low_open=True), default=defaults.seconds, help="clip length (default: %(default)s)"
    )
    parser.add_argument(
        "--workers", type=options.workers, default=0,
        help="processes writing clips; the files are the same for any count (default: %(default)s, in-process)",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        type=_model_spec,
        metavar="MODEL",
        help="generators, clips assigned round-robin: built-in names or NAME=QUALITY "
        f"(default: all of {', '.join(GENERATOR_MODELS)})",
    )


def run(args: argparse.Namespace) -> int:
    from love_plugins.synth.suite import generate_suite  # heavy (PyAV, SciPy): only when running

    try:
        config = SuiteConfig(
            width=args.width,
            height=args.height,
            fps=args.fps,
            seconds=args.seconds,
            test_fraction=args.test_fraction,
            models=dict(args.models) if args.models else dict(GENERATOR_MODELS),
        )
        info = generate_suite(args.out_dir, args.videos, args.seed, config, progress=True, workers=args.workers)
    except ValueError as exc:
        print(f"love-eval synth: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {info.num_videos} clips ({info.num_train} train, {info.num_test} test) from "
        f"{len(config.models)} models to {info.root} in {info.seconds:.1f} s"
    )
    return 0
