"""Option types of every `love-eval` subcommand: each value is checked while the command line is parsed,
before a command touches any file, and a bad one is refused in one line naming the option, the value (the
file and line, for text files) and the reason.

Each type carries a `kind` (`tests/test_options.py` generates bad values of that kind for every option of
every subcommand), and a command must not declare a numeric or path option without one of these types
(the same test checks it).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

# The LLM attention implementations `--attention` offers (transformers' names; `LoveModel.set_prefill`).
ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager", "flex_attention", "flash_attention_2")


def _kind(kind: str):
    def mark(fn):
        fn.kind = kind
        return fn

    return mark


def _number(text: str, cast) -> float:
    try:
        value = cast(str(text).strip())
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a {'whole ' if cast is int else ''}number, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_least(low: int, high: int | None = None):
    """A whole number >= low (and <= high)."""

    @_kind("int")
    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}")
        return value

    parse.__name__ = f"int>={low}"
    parse.low, parse.high = low, high
    return parse


def float_in(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False):
    """A finite number in [low, high] (open ends where asked)."""

    @_kind("float")
    def parse(text: str) -> float:
        value = _number(text, float)
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"must be in {left}{low}, {'inf' if high is None else high}{right}, "
                                             f"got {text!r}")
        return value

    parse.__name__ = "number"
    parse.low, parse.high = low, high
    return parse


def even_int_at_least(low: int, high: int | None = None):
    """An even whole number >= low (and <= high): frame sizes for yuv420p."""
    base = int_at_least(low, high)

    @_kind("int")
    def parse(text: str) -> int:
        value = base(text)
        if value % 2:
            raise argparse.ArgumentTypeError(f"must be even, got {text!r}")
        return value

    parse.__name__ = f"even int>={low}"
    parse.low, parse.high = low, high
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)
seed = int_at_least(0, 2**63 - 1)
# Bounded counts: a value beyond these is a typo, and would start a run that never ends.
batch_size = int_at_least(1, 4096)
workers = int_at_least(0, 256)
views = int_at_least(1, 64)
clip_count = int_at_least(1, 1_000_000)


@_kind("device")
def device(text: str) -> str:
    """A torch device string: cpu, cuda, cuda:1, mps, ..."""
    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"not a torch device: {text!r} (cpu, cuda, cuda:1, ...)") from None
    return text


def _path(text: str) -> Path:
    if not str(text).strip():
        raise argparse.ArgumentTypeError("empty path")
    return Path(text)


@_kind("input_file")
def existing_file(text: str) -> Path:
    path = _path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    return path


@_kind("input_dir")
def existing_dir(text: str) -> Path:
    path = _path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a file, not a folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: no such folder")
    return path


@_kind("input_path")
def existing_path(text: str) -> Path:
    path = _path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such file or folder")
    return path


@_kind("text_file")
def utf8_text_file(text: str) -> Path:
    """An existing UTF-8 text file (a prompts file, a manifest): an encoding error names the line."""
    from ..errors import AnnotationError
    from ..textfiles import read_utf8

    path = existing_file(text)
    try:
        read_utf8(path)
    except AnnotationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def _writable_under(path: Path) -> None:
    """The nearest existing folder above `path` must be a writable folder (the rest is created later)."""
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{path}: cannot write in {parent} (permission denied)")


@_kind("output_file")
def output_file(text: str) -> Path:
    path = _path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a folder; give a file name (e.g. {path / 'scores.jsonl'})")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path}: not writable (permission denied)")
    _writable_under(path)
    return path


@_kind("output_dir")
def output_dir(text: str) -> Path:
    path = _path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a file, not a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{path}: cannot write in it (permission denied)")
    else:
        _writable_under(path)
    return path


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line (`love-eval score: error: argument --batch-size: ...`)
    and exit code 2, instead of the usage block and the message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")
