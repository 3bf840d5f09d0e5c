"""Training-free baseline scorers that plug into the evaluation harness like LOVE does.

    from love_plugins.baselines import get_baseline
    scorer = get_baseline("niqe")          # or "flicker"
    scorer.score(["a.mp4"])                # -> [BaselineScore(video, perception, ..., raw={"niqe": ...})]

- ``flicker``: mean absolute difference of consecutive frames (VBench-style temporal flickering);
- ``niqe``: NIQE with the published pristine model, mean over 8 frames.
Both give a perception-like score only (higher = better); they need no weights and no GPU.
"""

from __future__ import annotations

from typing import Any

from .base import BaselineScore, FrameBaseline

__all__ = ["BASELINES", "BaselineScore", "FrameBaseline", "get_baseline", "is_baseline", "list_baselines"]

BASELINES = {"flicker": "flicker:FlickerScorer", "niqe": "niqe:NIQEScorer"}


def list_baselines() -> list[str]:
    return list(BASELINES)


def _name(name: str) -> str:
    return name.split(":", 1)[1] if name.startswith("baseline:") else name


def is_baseline(name: str) -> bool:
    return _name(str(name)).lower() in BASELINES


def get_baseline(name: str, **options: Any) -> FrameBaseline:
    """A baseline scorer by name (``"flicker"``, ``"niqe"``, optionally prefixed ``baseline:``)."""
    import importlib

    key = _name(name).lower()
    if key not in BASELINES:
        raise KeyError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    module, cls = BASELINES[key].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(**options)
