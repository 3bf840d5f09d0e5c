"""The LOVE dimensions for any VBench-like evaluator class, without importing vbench.

`LoveDimensionsMixin` adds them to a class with VBench's `evaluate` / `build_full_info_json`
contract; `evaluator.LoveVBench` is it applied to vbench 0.1.5's `VBench`, and
`love_evaluator_class(base, package)` applies it to another class (e.g. VBench-2.0's, `package=
"vbench2"`, which imports lower-cased dimension modules).

    from integrations.vbench import LoveVBench
    bench = LoveVBench("cuda", "VBench_full_info.json", "evaluation_results", love_model="love-nano")
    bench.evaluate(videos_path="videos/", name="my_model",
                   dimension_list=["temporal_flickering", "love_perception", "love_correspondence",
                                   "love_task_accuracy"])

`evaluate` keeps VBench's signature and output file (`{name}_eval_results.json` =
`{dimension: [overall, per_video]}`); `love_*` dimensions go to `compute_love_*`, every other
dimension to the base package's own module, called as `VBench.evaluate` calls it. What could not be
scored is listed beside each dimension's numbers, as a third element `{"failed_videos": [...],
"skipped_files": [...]}`: videos LOVE failed on, and (custom-input mode) files of the videos folder that
VBench's own filter leaves out (it reads only .mp4, .gif, .jpg and .png; .avi, .webm, .mov, ... are
skipped, which VBench does silently).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from .dimensions import LOVE_DIMENSIONS, _world, compute, is_love_dimension

__all__ = ["LoveDimensionsMixin", "love_evaluator_class"]

logger = logging.getLogger(__name__)

SCOPES = ("auto", "all")
# What VBench's custom-input mode reads from a folder (its build_full_info_json filter).
VBENCH_CUSTOM_SUFFIXES = (".mp4", ".gif", ".jpg", ".png")


class LoveDimensionsMixin:
    """Adds `love_perception`, `love_correspondence` and `love_task_accuracy` to a VBench class.

    Extra constructor arguments (all keyword):
      love_model   "love-nano" (default), "tiny-random" or a bundle directory; loaded on first use.
      love_scorer  an already loaded scorer (anything with LOVE's `score(...)` protocol) instead.
      love_scope   which prompts the LOVE dimensions score in `vbench_standard` mode: "auto" (those
                   of the other requested dimensions, or every prompt when only LOVE ones are
                   requested) or "all" (every prompt of the full-info JSON).
      love_qa      {prompt or video file name: [{"question", "answer", "dimension"?}, ...]}: own QA
                   pairs for `love_task_accuracy`, used instead of the auxiliary-info templates.
      love_batch_size, love_fallback_question: see `integrations.vbench.dimensions`.
    """

    vbench_package = "vbench"
    lower_case_modules = False

    def __init__(self, device, full_info_dir, output_path, *args, love_model: str = "love-nano",
                 love_scorer=None, love_scope: str = "auto", love_qa: Mapping | None = None,
                 love_batch_size: int = 8, love_fallback_question: bool = True, **kwargs):
        if love_scope not in SCOPES:
            raise ValueError(f"love_scope must be one of {SCOPES}, got {love_scope!r}")
        super().__init__(device, full_info_dir, output_path, *args, **kwargs)
        self.love_scope = love_scope
        self.love_qa = dict(love_qa or {})
        self.love_options = {
            "love_model": love_model,
            "love_scorer": love_scorer,
            "love_batch_size": love_batch_size,
            "love_fallback_question": love_fallback_question,
        }

    # -- dimension list ------------------------------------------------------------------------------
    def build_full_dimension_list(self):
        return list(super().build_full_dimension_list()) + list(LOVE_DIMENSIONS)

    # -- full-info JSON ------------------------------------------------------------------------------
    def _full_info(self) -> list[dict]:
        path = self.full_info_dir
        if not path or not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def _augmented_full_info(self, dimension_list: list[str]) -> list[dict]:
        """VBench's full info with our dimensions added to the entries they should score."""
        love = [d for d in dimension_list if is_love_dimension(d)]
        others = {d for d in dimension_list if not is_love_dimension(d)}
        entries = []
        for entry in self._full_info():
            entry = dict(entry)
            dims = list(entry.get("dimension") or [])
            listed = any(is_love_dimension(d) for d in dims)
            if self.love_scope == "all" or not others or listed or others & set(dims):
                dims += [d for d in love if d not in dims]
            entry["dimension"] = dims
            entries.append(self._with_own_qa(entry))
        return entries

    def _with_own_qa(self, entry: dict, video: str | None = None) -> dict:
        prompt = entry.get("prompt_en")
        for key in (video and os.path.basename(video), video, prompt):
            if key and key in self.love_qa:
                return {**entry, "love_qa": list(self.love_qa[key])}
        return entry

    def skipped_files(self, videos_path, mode: str) -> list[str]:
        """Files of a custom-input folder that VBench's filter leaves out (logged: VBench says nothing)."""
        if mode != "custom_input" or not os.path.isdir(videos_path):
            return []
        skipped = sorted(os.path.join(videos_path, f) for f in os.listdir(videos_path)
                         if os.path.isfile(os.path.join(videos_path, f)) and not f.startswith(".")
                         and os.path.splitext(f)[1].lower() not in VBENCH_CUSTOM_SUFFIXES)
        if skipped:
            logger.warning("VBench's custom-input mode reads only %s files: %d file(s) of %s skipped: %s",
                           "/".join(VBENCH_CUSTOM_SUFFIXES), len(skipped), videos_path,
                           ", ".join(os.path.basename(f) for f in skipped[:10]))
        return skipped

    def build_full_info_json(self, videos_path, name, dimension_list, prompt_list=[], *args, **kwargs):  # noqa: B006 - VBench's signature
        love = [d for d in dimension_list if is_love_dimension(d)]
        mode = kwargs.get("mode", "vbench_standard")
        if not love:
            return super().build_full_info_json(videos_path, name, dimension_list, prompt_list, *args, **kwargs)
        if mode == "vbench_standard":
            source = os.path.join(self.output_path, f"{name}_love_full_info_source.json")
            _save(self._augmented_full_info(dimension_list), source)
            original, self.full_info_dir = self.full_info_dir, source
            try:
                return super().build_full_info_json(videos_path, name, dimension_list, prompt_list, *args, **kwargs)
            finally:
                self.full_info_dir = original
        path = super().build_full_info_json(videos_path, name, dimension_list, prompt_list, *args, **kwargs)
        # custom input: borrow auxiliary info from the full-info JSON for prompts it knows.
        known = {e.get("prompt_en"): e for e in self._full_info()}
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
        for i, entry in enumerate(entries):
            reference = known.get(entry.get("prompt_en"))
            if reference and "auxiliary_info" in reference and "auxiliary_info" not in entry:
                entry["auxiliary_info"] = reference["auxiliary_info"]
                entry["love_reference_dimension"] = reference.get("dimension", [])
            videos = entry.get("video_list") or []
            entries[i] = self._with_own_qa(entry, videos[0] if videos else None)
        _save(entries, path)
        return path

    # -- evaluation ----------------------------------------------------------------------------------
    def _dimension_function(self, dimension: str):
        module_name = dimension.lower() if self.lower_case_modules else dimension
        try:
            module = importlib.import_module(f"{self.vbench_package}.{module_name}")
            return getattr(module, f"compute_{module_name}")
        except Exception as exc:
            raise NotImplementedError(f"UnImplemented dimension {dimension}!, {exc}") from exc

    def evaluate(self, videos_path, name, prompt_list=[], dimension_list=None, local=False,  # noqa: B006
                 read_frame=False, mode="vbench_standard", **kwargs):
        """VBench's `evaluate`, with `love_*` dimensions dispatched to LOVE. Returns the results dict."""
        dimension_list = list(dimension_list or self.build_full_dimension_list())
        others = [d for d in dimension_list if not is_love_dimension(d)]
        submodules = {}
        if others:
            utils = importlib.import_module(f"{self.vbench_package}.utils")
            submodules = utils.init_submodules(others, local=local, read_frame=read_frame)
        info_path = self.build_full_info_json(videos_path, name, dimension_list, prompt_list, mode=mode, **kwargs)
        skipped = self.skipped_files(videos_path, mode)
        love_kwargs = {**self.love_options, **{k: v for k, v in kwargs.items() if k.startswith("love_")}}
        results = {}
        for dimension in dimension_list:
            if is_love_dimension(dimension):
                result = compute(dimension, info_path, self.device, [], **love_kwargs)
            else:
                func = self._dimension_function(dimension)
                result = func(info_path, self.device, submodules.get(dimension, []), **kwargs)
            results[dimension] = _with_problems(result, skipped)
        if _world()[0] == 0:
            output = os.path.join(self.output_path, f"{name}_eval_results.json")
            _save(results, output)
            print(f"Evaluation results saved to {output}")
        return results


def _with_problems(result, skipped: list[str]):
    """A dimension's result with what could not be scored beside its numbers (see the module docstring)."""
    if not isinstance(result, (list, tuple)) or len(result) not in (2, 3):
        return result
    problems = dict(result[2]) if len(result) == 3 and isinstance(result[2], dict) else {}
    if skipped:
        problems["skipped_files"] = skipped
    return [result[0], result[1], problems] if problems or len(result) == 3 else list(result)


def _save(data, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=4)


def love_evaluator_class(base: type, package: str = "vbench", lower_case_modules: bool | None = None) -> type:
    """`base` (a VBench-like evaluator class) with the LOVE dimensions added.

    `package` is where `base` imports its own dimension modules from ("vbench" or "vbench2");
    VBench-2.0 lower-cases module names, which is the default for "vbench2".
    """
    lower = package == "vbench2" if lower_case_modules is None else lower_case_modules
    return type(f"Love{base.__name__}", (LoveDimensionsMixin, base),
                {"vbench_package": package, "lower_case_modules": lower, "__module__": __name__})
