"""`LoveVBench`: vbench 0.1.5's `VBench` with the three LOVE dimensions (vbench itself unchanged).

    from integrations.vbench import LoveVBench
    bench = LoveVBench("cuda", "VBench_full_info.json", "evaluation_results", love_model="love-nano")
    bench.evaluate(videos_path="videos/", name="my_model",
                   dimension_list=["temporal_flickering", "love_perception", "love_correspondence",
                                   "love_task_accuracy"])

This module imports vbench when it is imported itself; `integrations.vbench` imports it only on
first access to `LoveVBench`, so the rest of the package works without vbench.
"""

from __future__ import annotations

from .mixin import LoveDimensionsMixin, love_evaluator_class

__all__ = ["LoveVBench"]

try:
    import vbench as _vbench
except ImportError as _exc:  # pragma: no cover - exercised by the no-vbench subprocess test
    raise ImportError(
        "LoveVBench needs the optional vbench package: pip install --no-deps vbench==0.1.5 "
        f"(import failed: {_exc})"
    ) from _exc

# With the import hook (integrations.vbench.hook), `vbench.VBench` already is this class.
LoveVBench = (_vbench.VBench if issubclass(_vbench.VBench, LoveDimensionsMixin)
              else love_evaluator_class(_vbench.VBench, "vbench"))
LoveVBench.__doc__ = "VBench 0.1.5 plus `love_perception`, `love_correspondence`, `love_task_accuracy`."
