"""The three LOVE dimensions with VBench's dimension contract, free of any vbench import.

`compute_<dimension>(json_dir, device, submodules_list, **kwargs) -> (overall, per_video, problems)` where
`json_dir` is the evaluation's full-info JSON (a list of entries with `prompt_en`, `dimension`,
`video_list` and optional `auxiliary_info` / `love_qa`), `per_video` is a list of
`{"video_path": ..., "video_results": float in [0, 1], ...}`, `overall` is the mean of the per-video values,
and `problems` is `{"failed_videos": [{"video_path", "error"}, ...]}`: the videos LOVE could not score, which
are in no mean. VBench stores the tuple as it is (`{dimension: [overall, per_video, problems]}`); its readers
take the first two. Extra keys in a per-video entry are LOVE's raw outputs.

| dimension | per video (VBench 0-1 scale) |
|---|---|
| love_perception | LOVE perception MOS / 100, clipped to [0, 1] (raw MOS kept as `love_mos`) |
| love_correspondence | LOVE correspondence MOS / 100 for the entry's prompt, clipped likewise |
| love_task_accuracy | share of the video's yes/no questions LOVE answers as expected (see `questions`) |

Keyword options, read from `**kwargs` (VBench passes `evaluate(**kwargs)` to every dimension, and
its own dimensions ignore keys they do not know):
  `love_scorer`   any object with LOVE's `score(videos, prompts=, questions=, tasks=)` protocol;
  `love_model`    else the model to load: "love-nano" (default), "tiny-random" or a bundle directory;
  `love_batch_size` (default 8); `love_fallback_question` (default True: prompts without auxiliary
  info are asked "Does the video show {prompt}?").
Under `torch.distributed` the video list is split across ranks and the results gathered, like
VBench's own dimensions.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Sequence
from pathlib import Path

from love_plugins.errors import LoveError

from .questions import questions_for_entry

logger = logging.getLogger(__name__)

LOVE_DIMENSIONS: tuple[str, ...] = ("love_perception", "love_correspondence", "love_task_accuracy")
DEFAULT_MODEL = "love-nano"

__all__ = [
    "LOVE_DIMENSIONS",
    "compute_love_correspondence",
    "compute_love_perception",
    "compute_love_task_accuracy",
    "get_scorer",
    "is_love_dimension",
    "load_entries",
]

_SCORERS: dict[tuple[str, str, int], object] = {}


def is_love_dimension(name: str) -> bool:
    """True for our dimensions, in any letter case (VBench-2.0 lower-cases the names it imports)."""
    return str(name).lower() in LOVE_DIMENSIONS


def get_scorer(device=None, love_scorer=None, love_model: str = DEFAULT_MODEL, love_batch_size: int = 8,
               **_ignored):
    """The scorer given, or one loaded once per (model, device, batch size) and reused."""
    if love_scorer is not None:
        return love_scorer
    key = (str(love_model), str(device), int(love_batch_size))
    if key not in _SCORERS:
        from love_plugins.scorer import load

        _SCORERS[key] = load(love_model, device=device, batch_size=love_batch_size)
    return _SCORERS[key]


def load_entries(json_dir: str | Path, dimension: str) -> list[dict]:
    """Entries of the full-info JSON that list `dimension` (any case) and have videos."""
    with open(json_dir, encoding="utf-8") as handle:
        entries = json.load(handle)
    wanted = dimension.lower()
    out = []
    for entry in entries:
        dims = entry.get("dimension") or []
        dims = [dims] if isinstance(dims, str) else dims
        if wanted in {str(d).lower() for d in dims} and entry.get("video_list"):
            videos = entry["video_list"]
            out.append({**entry, "video_list": [videos] if isinstance(videos, str) else list(videos)})
    return out


# -- torch.distributed, as VBench's dimensions do it (one process per GPU) --------------------------
def _world() -> tuple[int, int]:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a core dependency
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather(items: list) -> list:
    rank, world = _world()
    if world == 1:
        return items
    import torch.distributed as dist

    parts: list = [None] * world
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def _shard(items: list) -> list:
    rank, world = _world()
    return items[rank::world]


def _overall(per_video: list[dict], dimension: str) -> float:
    values = [r["video_results"] for r in per_video]
    if not values:
        raise LoveError(f"{dimension}: no video could be scored (see the warnings above)")
    return float(statistics.fmean(values))


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


# -- perception and correspondence ------------------------------------------------------------------
def _score_dimension(task: str, dimension: str, json_dir, device, kwargs: dict) -> tuple[float, list[dict], dict]:
    pairs = []
    for entry in load_entries(json_dir, dimension):
        prompt = entry.get("prompt_en") or entry.get("prompt") or ""
        for video in entry["video_list"]:
            if task == "correspondence" and not prompt.strip():
                logger.warning("%s: %s has no prompt; skipped", dimension, video)
                continue
            pairs.append((str(video), prompt))
    pairs = _shard(list(dict.fromkeys(pairs)))
    per_video: list[dict] = []
    failed: list[dict] = []
    if pairs:
        scorer = get_scorer(device, **kwargs)
        prompts = [p for _, p in pairs] if task == "correspondence" else None
        results = scorer.score([v for v, _ in pairs], prompts=prompts, tasks=(task,))
        for (video, prompt), result in zip(pairs, results):
            if getattr(result, "error", None):
                logger.warning("%s: %s", dimension, result.error)
                failed.append({"video_path": video, "error": result.error})
                continue
            mos = float(getattr(result, task))
            row = {"video_path": video, "video_results": _clip01(mos / 100.0), "love_mos": mos}
            if task == "correspondence":
                row["prompt"] = prompt
            per_video.append(row)
    per_video, failed = _gather(per_video), _gather(failed)
    return _overall(per_video, dimension), per_video, {"failed_videos": failed}


def compute_love_perception(json_dir, device, submodules_list=None, **kwargs):
    """LOVE perception per video, MOS / 100; overall = mean."""
    return _score_dimension("perception", "love_perception", json_dir, device, kwargs)


def compute_love_correspondence(json_dir, device, submodules_list=None, **kwargs):
    """LOVE text-video correspondence per video for its prompt, MOS / 100; overall = mean."""
    return _score_dimension("correspondence", "love_correspondence", json_dir, device, kwargs)


# -- task accuracy ----------------------------------------------------------------------------------
def compute_love_task_accuracy(json_dir, device, submodules_list=None, **kwargs):
    """Share of each video's yes/no questions LOVE answers as expected; overall = mean over videos."""
    fallback = bool(kwargs.get("love_fallback_question", True))
    asks: list[tuple[str, dict]] = []
    for entry in load_entries(json_dir, "love_task_accuracy"):
        questions = questions_for_entry(entry, fallback=fallback)
        if not questions:
            logger.warning("love_task_accuracy: no question for prompt %r; its videos are skipped",
                           entry.get("prompt_en"))
        for video in entry["video_list"]:
            asks += [(str(video), qa) for qa in questions]
    videos = _shard(list(dict.fromkeys(v for v, _ in asks)))
    mine = set(videos)
    asks = [(v, qa) for v, qa in asks if v in mine]
    per_video: list[dict] = []
    failed: dict[str, str] = {}
    if asks:
        scorer = get_scorer(device, **kwargs)
        results = scorer.score([v for v, _ in asks], questions=[qa["question"] for _, qa in asks], tasks=("qa",))
        by_video: dict[str, list[dict]] = {v: [] for v in videos}
        for (video, qa), result in zip(asks, results):
            if getattr(result, "error", None):
                failed[video] = result.error
                continue
            predicted = str(result.qa_answer).strip().lower()
            by_video[video].append({
                "question": qa["question"],
                "answer": qa["answer"],
                "dimension": qa["dimension"],
                "predicted": predicted,
                "p_yes": getattr(result, "qa_p_yes", None),
                "correct": predicted == qa["answer"],
            })
        for video, answers in by_video.items():
            if video in failed:
                logger.warning("love_task_accuracy: %s", failed[video])
                continue
            per_video.append({
                "video_path": video,
                "video_results": statistics.fmean(float(a["correct"]) for a in answers),
                "questions": answers,
            })
    per_video = _gather(per_video)
    failures = _gather([{"video_path": v, "error": e} for v, e in failed.items()])
    return _overall(per_video, "love_task_accuracy"), per_video, {"failed_videos": failures}


COMPUTE_FUNCTIONS = {
    "love_perception": compute_love_perception,
    "love_correspondence": compute_love_correspondence,
    "love_task_accuracy": compute_love_task_accuracy,
}


def compute(dimension: str, json_dir, device, submodules_list: Sequence | None = None, **kwargs):
    """Dispatch by name (any case) to the matching `compute_love_*`."""
    try:
        func = COMPUTE_FUNCTIONS[dimension.lower()]
    except KeyError:
        raise LoveError(f"{dimension!r} is not a LOVE dimension; they are {', '.join(LOVE_DIMENSIONS)}") from None
    return func(json_dir, device, submodules_list, **kwargs)
