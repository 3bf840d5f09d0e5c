"""LOVE as VBench dimensions: `love_perception`, `love_correspondence`, `love_task_accuracy`.

    from integrations.vbench import LoveVBench          # needs: pip install --no-deps vbench==0.1.5
    LoveVBench(device, full_info_json, out_dir, love_model="love-nano").evaluate(
        videos_path, name, dimension_list=["temporal_flickering", "love_perception",
                                           "love_correspondence", "love_task_accuracy"])

Registration without editing vbench: `LoveVBench` subclasses `vbench.VBench` and sends `love_*`
dimensions to `compute_love_*` (VBench's contract: `(json_dir, device, submodules, **kw)` ->
`(overall, per_video)`), every other dimension to vbench. For VBench-2.0, which imports
`vbench2.<name.lower()>`, `install_module_route()` aliases our modules under that package and
`love_evaluator_class(VBench2, "vbench2")` adds the dispatch to its evaluator class.

vbench is optional: importing this package never imports it; only `LoveVBench` does, on first access.
"""

from __future__ import annotations

import importlib

__all__ = [
    "LOVE_DIMENSIONS",
    "LoveDimensionsMixin",
    "LoveVBench",
    "QUESTION_TEMPLATES",
    "compute_love_correspondence",
    "compute_love_perception",
    "compute_love_task_accuracy",
    "format_report",
    "install_module_route",
    "love_evaluator_class",
    "questions_for_entry",
    "vbench_scores",
]

_EXPORTS = {
    "LOVE_DIMENSIONS": "dimensions",
    "compute_love_perception": "dimensions",
    "compute_love_correspondence": "dimensions",
    "compute_love_task_accuracy": "dimensions",
    "LoveDimensionsMixin": "mixin",
    "love_evaluator_class": "mixin",
    "LoveVBench": "evaluator",
    "QUESTION_TEMPLATES": "questions",
    "questions_for_entry": "questions",
    "format_report": "report",
    "vbench_scores": "report",
    "install_module_route": "route",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
