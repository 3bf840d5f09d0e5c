"""Module route: make `<package>.love_*` importable without writing into that package.

VBench-2.0's `evaluate` imports `vbench2.<dimension.lower()>` and calls `compute_<dimension.lower()>`.
`install_module_route()` puts our three dimension modules into `sys.modules` under those names, so
the import finds them whether or not `vbench2` is installed; nothing on disk changes. (An evaluator
still has to hand our dimensions their submodules: use `love_evaluator_class(VBench2, "vbench2")`.)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

from .dimensions import LOVE_DIMENSIONS

__all__ = ["install_module_route", "remove_module_route"]


def install_module_route(packages: Iterable[str] = ("vbench2",)) -> list[str]:
    """Alias `integrations.vbench.love_<x>` as `<package>.love_<x>` for each package; returns the names."""
    names = []
    for package in packages:
        for dimension in LOVE_DIMENSIONS:
            module = importlib.import_module(f"{__package__}.{dimension}")
            name = f"{package}.{dimension}"
            sys.modules[name] = module
            parent = sys.modules.get(package)
            if parent is not None:
                setattr(parent, dimension, module)
            names.append(name)
    return names


def remove_module_route(packages: Iterable[str] = ("vbench2",)) -> None:
    """Undo `install_module_route`."""
    for package in packages:
        for dimension in LOVE_DIMENSIONS:
            sys.modules.pop(f"{package}.{dimension}", None)
            parent = sys.modules.get(package)
            if parent is not None and hasattr(parent, dimension):
                delattr(parent, dimension)
