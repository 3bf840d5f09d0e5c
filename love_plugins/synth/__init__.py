"""Deterministic synthetic AIGV suite: real mp4 clips with known content and known LOVE targets.

It stands in for AIGVE-60K where that cannot be downloaded: test data, demo data and the training
data of the tiny demonstration model. See `generate_suite`.

Names are loaded on first use (PEP 562) so that importing the light `config` submodule, e.g. for
`love-eval --help`, does not pull in PyAV, SciPy and PIL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "GENERATOR_MODELS": "config",
    "SuiteConfig": "config",
    "DEGRADATIONS": "degrade",
    "combined_severity": "degrade",
    "level_word": "degrade",
    "perception_mos": "degrade",
    "ATTRIBUTES": "prompts",
    "DIMENSIONS": "prompts",
    "correspondence_mos": "prompts",
    "Scene": "scene",
    "ClipPlan": "suite",
    "SuiteInfo": "suite",
    "generate_suite": "suite",
    "plan_clip": "suite",
    "render_clip": "suite",
    "read_frames": "video",
    "write_mp4": "video",
    "read_manifest": "writer",
}

__all__ = [
    "ATTRIBUTES",
    "ClipPlan",
    "DEGRADATIONS",
    "DIMENSIONS",
    "GENERATOR_MODELS",
    "Scene",
    "SuiteConfig",
    "SuiteInfo",
    "combined_severity",
    "correspondence_mos",
    "generate_suite",
    "level_word",
    "perception_mos",
    "plan_clip",
    "read_frames",
    "read_manifest",
    "render_clip",
    "write_mp4",
]

if TYPE_CHECKING:
    from love_plugins.synth.config import GENERATOR_MODELS, SuiteConfig
    from love_plugins.synth.degrade import DEGRADATIONS, combined_severity, level_word, perception_mos
    from love_plugins.synth.prompts import ATTRIBUTES, DIMENSIONS, correspondence_mos
    from love_plugins.synth.scene import Scene
    from love_plugins.synth.suite import ClipPlan, SuiteInfo, generate_suite, plan_clip, render_clip
    from love_plugins.synth.video import read_frames, write_mp4
    from love_plugins.synth.writer import read_manifest


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
