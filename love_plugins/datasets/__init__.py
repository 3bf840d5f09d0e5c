"""Dataset adapters: published AIGV annotation formats read into one common `Record`.

    from love_plugins.datasets import load_dataset, list_adapters
    ds = load_dataset("aigve60k", "/data/AIGVE-60K", split="test", on_error="skip")
    for rec in ds:                     # Record(id, video, labels, prompt, question, answer, dimension,
        rec.video, rec.labels          #        model, split, frames, source, line, extra)
    ds.errors                          # AnnotationErrors of the records skipped

Adapters (``list_adapters()``): aigve60k, aigvqa-db, t2vqa-db, gaia, fetv, videofeedback,
genai-bench-video, manifest. Names are matched without case, ``-`` or ``_`` (``AIGVE-60K`` works).
Importing this package loads only the standard library (no torch, numpy or video decoders).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from .base import (
    LOVE_OUTPUTS,
    Adapter,
    Dataset,
    ErrorReport,
    LabelSpec,
    Record,
    guess_output,
    parse_label,
    validate,
)

__all__ = [
    "LOVE_OUTPUTS",
    "Adapter",
    "Dataset",
    "ErrorReport",
    "LabelSpec",
    "Record",
    "get_adapter",
    "guess_output",
    "list_adapters",
    "load_dataset",
    "parse_label",
    "validate",
]

_REGISTRY: dict[str, str] = {
    "aigve60k": "aigve60k:AIGVE60K",
    "aigvqa-db": "aigvqa_db:AIGVQADB",
    "t2vqa-db": "t2vqa_db:T2VQADB",
    "gaia": "gaia:GAIA",
    "fetv": "fetv:FETV",
    "videofeedback": "videofeedback:VideoFeedback",
    "genai-bench-video": "genai_bench_video:GenAIBenchVideo",
    "manifest": "manifest:Manifest",
}
_ALIASES = {"lgvq": "manifest", "synthetic": "manifest", "genaibench": "genai-bench-video"}


def _key(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


def canonical_name(name: str) -> str:
    """The registry name of an adapter (``"AIGVE-60K"`` -> ``"aigve60k"``); KeyError if unknown."""
    wanted = _key(name)
    for registered in _REGISTRY:
        if _key(registered) == wanted:
            return registered
    for alias, target in _ALIASES.items():
        if _key(alias) == wanted:
            return target
    raise KeyError(f"unknown dataset adapter {name!r}; known: {', '.join(list_adapters())}")


def list_adapters() -> list[str]:
    return list(_REGISTRY)


def adapter_class(name: str) -> type[Adapter]:
    module, cls = _REGISTRY[canonical_name(name)].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def get_adapter(name: str, **options: Any) -> Adapter:
    """An adapter instance; `options` go to its constructor (only `manifest` takes any: labels, outputs)."""
    return adapter_class(name)(**options)


def load_dataset(
    name: str,
    root: str | Path,
    split: str | None = None,
    on_error: str = "raise",
    check_videos: bool = True,
    **options: Any,
) -> Dataset:
    """Parse and validate one dataset; see `Adapter.load`."""
    return get_adapter(name, **options).load(root, split=split, on_error=on_error, check_videos=check_videos)
