"""Training data: LOVE meta JSON or a flat manifest → decoded, cached samples.

Two input layouts are read:

* LOVE's meta JSON (what the authors' training code reads, and what `love-eval synth` writes as
  `meta_<task>.json`): `{"<dataset>": {"root", "annotation_train", "annotation_test", ...}}`, each
  annotation a JSONL of `{"video", "mos", "conversations": [{"from": "human"}, {"from": "gpt"}]}`;
* a flat manifest (`manifest.jsonl` / `.csv`, or a suite folder) with columns video, prompt,
  perception_mos, correspondence_mos, question, answer, dimension, model, split.

Each video is decoded once (both streams, as uint8) and kept in memory; with a cache folder the
tensors are also written to disk, so a second run (or the next stage) skips decoding altogether.
The frozen motion encoder's features can be precomputed once per video as well (`precompute_motion`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import AnnotationError
from ..modeling.configuration_love import LEVEL_WORDS, SCORE_TASKS, TASKS
from ..video import SamplerConfig, normalize_fragments, read_video

logger = logging.getLogger(__name__)

_PROMPT_IN_QUESTION = re.compile(r"prompt:\s*(.*)$", re.S)


def level_index(mos: float) -> int:
    """Index of LOVE's level word for a 0–100 MOS (equal bins of 20), shared with the synthetic suite."""
    from ..synth.degrade import LEVELS, level_word  # one definition of the bins for data and training

    return LEVELS.index(level_word(float(mos)))


def level_word_for(mos: float, words: Sequence[str] = LEVEL_WORDS) -> str:
    """The model's own level word (config.level_words) for a MOS."""
    return tuple(words)[level_index(mos)]


@dataclass
class Record:
    """One training/evaluation example of one task. `mos` on 0–100 (score tasks), `answer` Yes/No (QA)."""

    task: str
    video: str  # absolute path
    prompt: str | None = None
    question: str | None = None
    answer: str | None = None
    mos: float | None = None
    dimension: str | None = None
    model: str | None = None
    split: str = "train"
    scene: dict | None = None  # the synthetic suite's true scene (manifest only): stage-0 auxiliary targets


# -- reading annotations ------------------------------------------------------------------------------
def _resolve(root: Path, video: str) -> str:
    path = Path(video)
    return str(path if path.is_absolute() else (root / path))


def _strip_image_tags(text: str) -> str:
    return re.sub(r"<image>\s*", "", text or "").strip()


def _record_from_annotation(line: dict, task: str, root: Path, split: str, path: Path, number: int) -> Record:
    try:
        convs = line["conversations"]
        human = next(c["value"] for c in convs if c.get("from") == "human")
        gpt = next(c["value"] for c in convs if c.get("from") == "gpt")
        video = _resolve(root, line["video"])
    except (KeyError, StopIteration, TypeError) as exc:
        raise AnnotationError(path, f"bad annotation line: {exc!r}", line=number) from exc
    human = _strip_image_tags(human)
    rec = Record(task=task, video=video, model=line.get("model"), split=split, dimension=line.get("dimension"))
    if task in SCORE_TASKS:
        if "mos" not in line:
            raise AnnotationError(path, "score annotation without 'mos'", line=number)
        rec.mos = float(line["mos"])
        rec.prompt = line.get("prompt")
        if task == "correspondence" and not rec.prompt:
            match = _PROMPT_IN_QUESTION.search(human)
            if not match:
                raise AnnotationError(path, "correspondence line without a prompt", line=number)
            rec.prompt = match.group(1).strip()
    else:
        rec.question = human
        rec.answer = gpt.strip().rstrip(".")
        rec.prompt = line.get("prompt")
    return rec


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise AnnotationError(path, "annotation file not found")
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                try:
                    out.append((number, json.loads(text)))
                except json.JSONDecodeError as exc:
                    raise AnnotationError(path, f"not JSON: {exc}", line=number) from exc
    return out


def _records_from_meta(meta_path: Path, task: str, split: str) -> list[Record]:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnnotationError(meta_path, f"not JSON: {exc}") from exc
    records: list[Record] = []
    for name, entry in meta.items():
        key = f"annotation_{split}"
        if key not in entry:
            raise AnnotationError(meta_path, f"dataset {name!r} has no {key}")
        root = Path(entry.get("root", meta_path.parent))
        ann = Path(entry[key])
        if not ann.is_absolute():
            ann = meta_path.parent / ann
        repeat = int(entry.get("repeat_time", 1) or 1) if split == "train" else 1
        lines = _read_jsonl(ann)
        for _ in range(max(1, repeat)):
            records += [_record_from_annotation(line, task, root, split, ann, n) for n, line in lines]
    return records


def _manifest_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    return [row for _, row in _read_jsonl(path)]


def _records_from_manifest(path: Path, task: str, split: str) -> list[Record]:
    records = []
    for number, row in enumerate(_manifest_rows(path), start=1):
        if row.get("split", "train") != split:
            continue
        try:
            scene = row.get("scene")
            rec = Record(task=task, video=_resolve(path.parent, row["video"]), prompt=row.get("prompt"),
                         model=row.get("model"), dimension=row.get("dimension"), split=split,
                         scene=json.loads(scene) if isinstance(scene, str) and scene else scene)
            if task in SCORE_TASKS:
                rec.mos = float(row[f"{task}_mos"])
            else:
                rec.question, rec.answer = row["question"], row["answer"]
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(path, f"bad manifest row: {exc!r}", line=number) from exc
        records.append(rec)
    return records


def load_records(data: str | Path, task: str, split: str = "train") -> list[Record]:
    """Records of one task and split from a LOVE meta JSON, a manifest file, or a suite folder.

    A suite folder prefers its `meta_<task>.json` (LOVE's layout) and falls back to `manifest.jsonl`.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {TASKS}")
    path = Path(data)
    if path.is_dir():
        meta = path / f"meta_{task}.json"
        path = meta if meta.is_file() else path / "manifest.jsonl"
    if not path.exists():
        raise AnnotationError(path, "no such annotation / manifest file")
    if path.suffix == ".json":
        records = _records_from_meta(path, task, split)
    else:
        records = _records_from_manifest(path, task, split)
    for rec in records:
        if rec.task == "qa" and rec.answer not in ("Yes", "No", "yes", "no"):
            raise AnnotationError(path, f"QA answer must be yes or no, got {rec.answer!r}")
        if rec.task == "qa":
            rec.answer = rec.answer.capitalize()
    return records


# -- decoding and caching -----------------------------------------------------------------------------
class VideoCache:
    """Decoded uint8 streams per video path: decoded once, kept in memory and optionally on disk."""

    def __init__(self, sampler: SamplerConfig, cache_dir: str | Path | None = None, num_workers: int = 0):
        self.sampler = sampler
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.num_workers = num_workers
        self.memory: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _disk_path(self, video: str) -> Path | None:
        if self.cache_dir is None:
            return None
        p = Path(video)
        stat = p.stat()
        key = json.dumps([str(p.resolve()), stat.st_size, stat.st_mtime_ns, self.sampler.to_dict()], sort_keys=True)
        return self.cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.pt"

    def load(self, videos: Sequence[str], progress: bool = False) -> None:
        """Decode every not-yet-cached video (in `num_workers` processes when > 0)."""
        todo = []
        for video in dict.fromkeys(videos):
            if video in self.memory:
                continue
            disk = self._disk_path(video)
            if disk is not None and disk.is_file():
                data = torch.load(disk, weights_only=True)
                self.memory[video] = (data["frames"], data["fragments"])
            else:
                todo.append(video)
        if not todo:
            return
        # A private generator: a DataLoader draws its workers' base seed from the global RNG otherwise,
        # so a run that decodes its videos would train differently from a rerun that finds them cached.
        loader = DataLoader(_Decode(todo, self.sampler), batch_size=None, num_workers=self.num_workers,
                            generator=torch.Generator())
        if progress:
            from tqdm.auto import tqdm

            loader = tqdm(loader, total=len(todo), desc="decode", unit="video")
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        for video, frames, fragments in loader:
            self.memory[video] = (frames, fragments)
            disk = self._disk_path(video)
            if disk is not None:  # write-then-rename: ranks sharing a cache never see half a file
                partial = disk.with_suffix(f".{os.getpid()}.tmp")
                torch.save({"frames": frames, "fragments": fragments}, partial)
                os.replace(partial, disk)

    def __getitem__(self, video: str) -> tuple[torch.Tensor, torch.Tensor]:
        if video not in self.memory:
            self.load([video])
        return self.memory[video]


class _Decode(Dataset):
    def __init__(self, videos: list[str], sampler: SamplerConfig):
        self.videos, self.sampler = videos, sampler

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int):
        sample = read_video(self.videos[i], self.sampler)
        return self.videos[i], sample.frames, sample.fragments


class LoveDataset(Dataset):
    """Records + cached video tensors. Items are dicts the `LoveCollator` turns into batches."""

    def __init__(self, records: list[Record], cache: VideoCache, progress: bool = False):
        if not records:
            raise ValueError("no training/evaluation records")
        self.records = records
        self.cache = cache
        self.motion: dict[str, torch.Tensor] = {}
        cache.load([r.video for r in records], progress=progress)

    def __len__(self) -> int:
        return len(self.records)

    @torch.no_grad()
    def precompute_motion(self, model, batch_size: int = 16) -> None:
        """Run the frozen motion encoder once per video; items then carry features, not fragments."""
        videos = [v for v in dict.fromkeys(r.video for r in self.records) if v not in self.motion]
        for start in range(0, len(videos), batch_size):
            chunk = videos[start : start + batch_size]
            frags = torch.stack([self.cache[v][1] for v in chunk]).to(model.device)
            with torch.no_grad():
                feats = model.encode_motion(normalize_fragments(frags).to(model.dtype)).float().cpu()
            for v, f in zip(chunk, feats):
                self.motion[v] = f

    def __getitem__(self, i: int) -> dict:
        rec = self.records[i]
        frames, fragments = self.cache[rec.video]
        item = {"record": rec, "frames": frames}
        if rec.video in self.motion:
            item["motion_features"] = self.motion[rec.video]
        else:
            item["fragments"] = fragments
        return item


def share_cache(datasets: Sequence[LoveDataset]) -> None:
    """Make datasets over the same videos share one motion-feature table (computed once)."""
    table: dict[str, torch.Tensor] = {}
    for ds in datasets:
        table.update(ds.motion)
        ds.motion = table
