"""Run a function right after a module is imported, whoever imports it: the way a plugin extends a package
that has no plugin mechanism for what it needs (VBench's evaluator, lmms-eval's task index)."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable


class _Loader(importlib.abc.Loader):
    def __init__(self, inner, callback: Callable):
        self.inner, self.callback = inner, callback

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        self.callback(module)  # the callback catches its own errors: it must never break the import


class AfterImport(importlib.abc.MetaPathFinder):
    """A finder that leaves finding to the others and wraps the loader of `names` so `callback(module)` runs
    once the module has executed. `install` puts it first on `sys.meta_path` (once per `key`)."""

    def __init__(self, names, callback: Callable, key: str):
        self.names, self.callback, self.key = frozenset(names), callback, key

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self.callback)
                return spec
        return None

    @classmethod
    def installed(cls, key: str) -> bool:
        return any(isinstance(f, cls) and f.key == key for f in sys.meta_path)

    def install(self) -> None:
        if not self.installed(self.key):
            sys.meta_path.insert(0, self)
