"""AIGVE-60K in the layout the LOVE code reads (SPEC §3), and the synthetic suite that mimics it.

Reads every meta JSON in the root: ``{"<name>": {"root": DIR, "annotation_train": FILE.jsonl,
"annotation_test": FILE.jsonl, ...}}``. The task of a meta (perception, correspondence or QA) comes
from its file or key name; failing that, from each line (a line with ``mos`` whose question mentions
"correspondence" is correspondence, other ``mos`` lines perception, lines without ``mos`` QA).
JSONL lines: ``{"video": "Videos300/<Model>/<id>.mp4", "mos": 0-100, "conversations": [{"from":
"human", "value": Q}, {"from": "gpt", "value": A}]}`` (+ optional ``prompt``, ``model``,
``dimension``). The three tasks are merged into one record per video; generator model = the video's
parent folder (or ``model``); split = the annotation file (train/test); prompt = ``prompt`` or the
text after "prompt:" in the correspondence question. Relative paths in a meta are read from the
meta's folder; a meta root that no longer exists (data moved) falls back to the dataset root.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .base import (
    Adapter,
    ErrorReport,
    LabelSpec,
    Record,
    conversation_pair,
    iter_jsonl,
    parse_label,
    prompt_from_question,
    read_json,
    strip_image_tags,
)

logger = logging.getLogger(__name__)

TASKS = ("perception", "correspondence", "qa")


def _task_from_name(name: str) -> str | None:
    low = name.lower()
    if "correspond" in low:
        return "correspondence"
    if "percept" in low or "quality" in low:
        return "perception"
    if re.search(r"(^|[^a-z])qa([^a-z]|$)", low) or "question" in low:
        return "qa"
    return None


class AIGVE60K(Adapter):
    name = "aigve60k"
    description = "AIGVE-60K (LOVE): perception + correspondence MOS (0-100) and yes/no QA, 30 T2V models"
    reads = "meta_*.json (LOVE meta) -> annotation_{train,test} JSONL with video/mos/conversations"
    labels = {
        "perception": LabelSpec("perception", 0.0, 100.0, "perception", "perceptual quality MOS"),
        "correspondence": LabelSpec("correspondence", 0.0, 100.0, "correspondence", "text-video correspondence MOS"),
    }

    def _metas(self, root: Path, report: ErrorReport) -> list[tuple[Path, str, dict]]:
        folder = root if root.is_dir() else root.parent
        candidates = [root] if root.is_file() else sorted(folder.glob("*.json"))
        metas = []
        for path in candidates:
            data = read_json(path, report) if path.is_file() else None
            if not isinstance(data, dict):
                continue
            for key, entry in data.items():
                if isinstance(entry, dict) and ("annotation_train" in entry or "annotation_test" in entry):
                    metas.append((path, key, entry))
        if not metas:
            report(root, "no LOVE meta JSON found (a .json file mapping a name to "
                         "{'root', 'annotation_train', 'annotation_test'})")
        return metas

    def _video_root(self, meta_path: Path, entry: dict, dataset_root: Path) -> Path:
        value = entry.get("root")
        if not value:
            return dataset_root
        path = Path(value)
        path = path if path.is_absolute() else meta_path.parent / path
        if not path.is_dir():
            logger.warning("%s: meta root %s does not exist; reading videos from %s", meta_path, path, dataset_root)
            return dataset_root
        return path

    def video_root(self, root: Path) -> Path:
        metas = self._metas(root, ErrorReport("skip"))
        roots = {self._video_root(p, e, root if root.is_dir() else root.parent).resolve() for p, _, e in metas}
        if len(roots) == 1:
            return roots.pop()
        return root if root.is_dir() else root.parent

    @staticmethod
    def _annotation_path(meta_path: Path, value: str) -> Path | None:
        path = Path(value)
        folder = meta_path.parent
        for cand in (path if path.is_absolute() else folder / path, folder / path.name,
                     folder / "annotations" / path.name):
            if cand.is_file():
                return cand
        return None

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        dataset_root = root if root.is_dir() else root.parent
        metas = self._metas(root, report)
        roots = {self._video_root(p, e, dataset_root).resolve() for p, _, e in metas}
        if len(roots) > 1:
            report(root, f"meta files name different video roots {sorted(map(str, roots))}; "
                         "load them as separate datasets")
        by_video: dict[str, Record] = {}
        for meta_path, key, entry in metas:
            meta_task = _task_from_name(key) or _task_from_name(meta_path.stem)
            for split in ("train", "test"):
                value = entry.get(f"annotation_{split}")
                if not value:
                    continue
                path = self._annotation_path(meta_path, str(value))
                if path is None:
                    report(meta_path, f"annotation_{split} file {value!r} not found")
                    continue
                self._read_annotation(path, meta_task, split, by_video, report)
        return list(by_video.values())

    def _read_annotation(self, path: Path, meta_task: str | None, split: str,
                         by_video: dict[str, Record], report: ErrorReport) -> None:
        seen_here: set[str] = set()
        for number, obj in iter_jsonl(path, report):
            if not isinstance(obj, dict):
                report(path, "line is not a JSON object", number)
                continue
            video = obj.get("video")
            if not isinstance(video, str) or not video.strip():
                report(path, "missing field 'video'", number)
                continue
            try:
                question, answer = conversation_pair(obj.get("conversations"))
            except ValueError as exc:
                report(path, f"video {video!r}: {exc}", number)
                continue
            question = strip_image_tags(question)
            task = meta_task
            if task is None:
                task = ("correspondence" if "correspondence" in question.lower() else "perception") \
                    if "mos" in obj else "qa"
            if video in seen_here:
                report(path, f"duplicate id {video!r} in this {task} file", number)
                continue
            label = None
            if task != "qa":
                try:
                    label = parse_label(obj.get("mos"), self.labels[task])
                except ValueError as exc:
                    report(path, f"video {video!r}: {exc}", number)
                    continue
            seen_here.add(video)
            rec = by_video.get(video)
            if rec is None:
                parts = Path(video).parts
                rec = Record(id=video, video=video, split=split, source=str(path), line=number,
                             model=obj.get("model") or (parts[-2] if len(parts) >= 2 else None))
                by_video[video] = rec
            elif rec.split != split:
                report(path, f"video {video!r} is in both the {rec.split} and the {split} split", number)
                continue
            if obj.get("prompt"):
                rec.prompt = str(obj["prompt"])
            if task == "qa":
                rec.question, rec.answer = question, answer
                if obj.get("dimension") is not None:
                    rec.dimension = str(obj["dimension"])
            else:
                rec.labels[task] = label
                if task == "correspondence" and rec.prompt is None:
                    rec.prompt = prompt_from_question(question)
