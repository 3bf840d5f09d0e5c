"""`love-eval`: the command-line front door.

Each sub-command lives in its own module under `love_plugins.commands` and exposes
`add_parser(subparsers)` (declares its flags) and `run(args) -> int` (does the work).
Modules are imported only when their command runs, so `love-eval --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("love_plugins.commands.demo", "generate a synthetic suite, score it with love-nano, report"),
    "synth": ("love_plugins.commands.synth", "write a synthetic AIGV suite of real mp4 files"),
    "score": ("love_plugins.commands.score", "score videos: perception, correspondence, QA"),
    "evaluate": ("love_plugins.commands.evaluate", "score a labelled dataset and report correlations"),
    "generalize": ("love_plugins.commands.generalize", "zero-shot matrix of one model over several datasets"),
    "train": ("love_plugins.commands.train", "train a LOVE model with the paper's recipe"),
    "convert": ("love_plugins.commands.convert", "convert the released LOVE checkpoints into one bundle"),
    "suite": ("love_plugins.commands.suite", "place a T2V model on the AIGVE-60K leaderboard"),
    "scorers": ("love_plugins.commands.scorers", "list the scorers evaluate and generalize can run"),
    "reward-demo": ("love_plugins.commands.reward_demo", "demonstrate LOVE-Reward's gradients on a learnable video"),
}


def _plugin_commands() -> dict[str, tuple[str, str | None]]:
    """Commands other packages add (entry-point group `love_plugins.commands`: name = "module", where the module
    has `add_parser`, `run` and a one-line `HELP`), e.g. `serve` from integrations.ray: the core knows none."""
    from importlib.metadata import entry_points

    return {ep.name: (ep.value, None) for ep in entry_points(group="love_plugins.commands") if ep.name not in COMMANDS}


def _available_commands() -> dict[str, tuple[str, str | None]]:
    """Only commands whose module exists are offered (the package grows command by command)."""
    found = {**COMMANDS, **_plugin_commands()}
    return {name: spec for name, spec in found.items() if importlib.util.find_spec(spec[0]) is not None}


def build_parser() -> argparse.ArgumentParser:
    from .commands.options import OneLineParser

    parser = OneLineParser(
        prog="love-eval",
        description="LOVE metric for AI-generated videos: scoring, evaluation, training, conversion.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name, (module_name, help_text) in _available_commands().items():
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=help_text or getattr(module, "HELP", None),
                                        description=module.__doc__)
        module.add_parser(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done; 1 some videos failed (each recorded with its reason) or an unexpected error; 2 a bad
    option, input file or checkpoint. Errors are one line on stderr; `--debug` shows the traceback of an
    unexpected one."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad option (its one line is printed) or --help: a return code, as below
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"love-eval {args.command}: interrupted (rerun the same command to resume)", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        from .errors import LoveError

        text = str(exc).strip().splitlines()
        reason = text[0] if text else type(exc).__name__
        if isinstance(exc, LoveError):
            print(f"love-eval {args.command}: error: {reason}", file=sys.stderr)
            return 2
        print(f"love-eval {args.command}: error: {type(exc).__name__}: {reason} (--debug shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
