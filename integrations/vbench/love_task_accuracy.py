"""VBench dimension module `love_task_accuracy`: the module route for dispatchers that import `<package>.<name>`.

`route.install_module_route()` makes `vbench2.love_task_accuracy` (VBench-2.0 imports the lower-cased
dimension name) resolve to this module, whose `compute_love_task_accuracy` follows VBench's contract.
"""

from __future__ import annotations

from .dimensions import compute_love_task_accuracy

__all__ = ["compute_love_task_accuracy"]
