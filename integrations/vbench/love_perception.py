"""VBench dimension module `love_perception`: the module route for dispatchers that import `<package>.<name>`.

`route.install_module_route()` makes `vbench2.love_perception` (VBench-2.0 imports the lower-cased
dimension name) resolve to this module, whose `compute_love_perception` follows VBench's contract.
"""

from __future__ import annotations

from .dimensions import compute_love_perception

__all__ = ["compute_love_perception"]
