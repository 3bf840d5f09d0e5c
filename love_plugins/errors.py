"""Typed errors users meet. Each names the file it is about and the reason, in one line."""

from __future__ import annotations

from pathlib import Path


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LoveError(Exception):
    """Base class of every error this package raises on purpose."""


class VideoDecodeError(LoveError):
    """A video could not be read: missing, empty, truncated, not a video, or without frames."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class AnnotationError(LoveError):
    """An annotation file or manifest is malformed."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class CheckpointError(LoveError):
    """A checkpoint is missing, of the wrong architecture, or has missing/unexpected/mis-shaped tensors."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
