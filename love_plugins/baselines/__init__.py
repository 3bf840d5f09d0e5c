"""Training-free baseline scorers that plug into the evaluation harness like LOVE does.

    from love_plugins.baselines import get_baseline
    scorer = get_baseline("niqe")          # or "flicker"
    scorer.score(["a.mp4"])                # -> [BaselineScore(video, perception, ..., raw={"niqe": ...})]

- ``flicker``: mean absolute difference of consecutive frames (VBench-style temporal flickering);
- ``niqe``: NIQE with the published pristine model, mean over 8 frames;
- ``brisque``: BRISQUE with LIVE's published SVR model, mean over 8 frames;
- ``fast-vqa``: FAST-VQA-B with its released weights (a file the user downloads; see `fastvqa`);
- ``dover``: DOVER's fused technical + aesthetic quality with its released weights (see `dover`).
Each gives a perception-like score only (higher = better); FAST-VQA and DOVER need weights, none a GPU.
"""

from __future__ import annotations

from typing import Any

from .base import BaselineScore, FrameBaseline

__all__ = ["BASELINES", "BaselineScore", "FrameBaseline", "baseline_info", "get_baseline", "is_baseline",
           "list_baselines", "ready_baselines"]

BASELINES = {"flicker": "flicker:FlickerScorer", "niqe": "niqe:NIQEScorer", "brisque": "brisque:BRISQUEScorer",
             "fast-vqa": "fastvqa:FastVQAScorer", "dover": "dover:DoverScorer"}
ALIASES = {"fastvqa": "fast-vqa", "fast-vqa-b": "fast-vqa"}


def baseline_info(name: str) -> dict:
    """For `love-eval scorers`: what a baseline outputs and needs, without building it. A baseline with released
    weights names its file in its module's `WEIGHTS_FILE` (looked for in `fastvqa.weights_dir()`)."""
    import importlib

    key = _name(name).lower()
    module = importlib.import_module(f"{__name__}.{BASELINES[key].split(':')[0]}")
    file = getattr(module, "WEIGHTS_FILE", None)
    if file is None:
        weights = "packaged" if key in ("niqe", "brisque") else "none needed"
    else:
        from .fastvqa import weights_dir

        path = weights_dir() / file
        weights = "found" if path.is_file() else f"missing ({path})"
    return {"outputs": ("perception",), "needs_gpu": False, "needs_prompt": False, "weights": weights}


def ready_baselines() -> list[str]:
    """The baselines that can run now: every one whose weights, if it needs any, are in place."""
    return [name for name in BASELINES if not baseline_info(name)["weights"].startswith("missing")]


def list_baselines() -> list[str]:
    return list(BASELINES)


def _name(name: str) -> str:
    name = name.split(":", 1)[1] if name.startswith("baseline:") else name
    return ALIASES.get(name.lower(), name)


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
