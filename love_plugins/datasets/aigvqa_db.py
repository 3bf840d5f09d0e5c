"""AIGVQA-DB (AIGV-Assessor): one LOVE-style JSONL per dimension, MOS packed into ``id``.

Reads every ``*.jsonl`` in the root and in ``annotations/``. Lines: ``{"id": "<file>.mp4-><MOS>",
"conversations": [...], "video"?: path, "prompt"?, "model"?}``. The dimension of a file comes from
its name: ``static`` -> static_quality, ``temporal``/``smooth`` -> temporal_smoothness,
``dynamic`` -> dynamic_degree, ``correspond``/``align`` -> correspondence; its split from
``train``/``test`` in the name. Records are merged per video. Videos are looked up as given, then
under ``videos/``. Generator model = ``model`` field or the video's parent folder. MOS range
accepted: 0-100.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    Adapter,
    ErrorReport,
    LabelSpec,
    Record,
    conversation_pair,
    first_existing,
    iter_jsonl,
    parse_label,
    prompt_from_question,
    split_from_name,
    strip_image_tags,
)

DIMENSIONS = {
    "static": "static_quality",
    "temporal": "temporal_smoothness",
    "smooth": "temporal_smoothness",
    "dynamic": "dynamic_degree",
    "correspond": "correspondence",
    "align": "correspondence",
}


def dimension_of(name: str) -> str | None:
    low = name.lower()
    for word, label in DIMENSIONS.items():
        if word in low:
            return label
    return None


class AIGVQADB(Adapter):
    name = "aigvqa-db"
    description = "AIGVQA-DB: static quality, temporal smoothness, dynamic degree, correspondence MOS, 15 models"
    reads = "*.jsonl per dimension (LOVE-style conversations), MOS in id as '<file>.mp4-><MOS>'"
    labels = {
        "static_quality": LabelSpec("static_quality", 0.0, 100.0, "perception"),
        "temporal_smoothness": LabelSpec("temporal_smoothness", 0.0, 100.0, "perception"),
        "dynamic_degree": LabelSpec("dynamic_degree", 0.0, 100.0, "perception"),
        "correspondence": LabelSpec("correspondence", 0.0, 100.0, "correspondence"),
    }

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        files = sorted(root.glob("*.jsonl")) + sorted((root / "annotations").glob("*.jsonl"))
        if not files:
            report(root, "no *.jsonl annotation files (one per dimension)")
        by_video: dict[str, Record] = {}
        for path in files:
            dim = dimension_of(path.stem)
            if dim is None:
                report(path, "cannot tell the dimension from the file name "
                             "(expected static / temporal / dynamic / correspondence in it)")
                continue
            split = split_from_name(path.stem)
            seen: set[str] = set()
            for number, obj in iter_jsonl(path, report):
                if not isinstance(obj, dict):
                    report(path, "line is not a JSON object", number)
                    continue
                packed = obj.get("id")
                if not isinstance(packed, str) or "->" not in packed:
                    report(path, f"field 'id' must look like '<file>.mp4-><MOS>', got {packed!r}", number)
                    continue
                name, _, mos = packed.rpartition("->")
                name = name.strip()
                try:
                    value = parse_label(mos.strip(), self.labels[dim])
                except ValueError as exc:
                    report(path, f"video {name!r}: {exc}", number)
                    continue
                video = str(obj.get("video") or name)
                if video in seen:
                    report(path, f"duplicate id {video!r} in this {dim} file", number)
                    continue
                seen.add(video)
                rec = by_video.get(video)
                if rec is None:
                    parts = Path(video).parts
                    rec = Record(id=video, video=first_existing(root, [video, f"videos/{video}"]), split=split,
                                 model=obj.get("model") or (parts[-2] if len(parts) >= 2 else None),
                                 source=str(path), line=number)
                    by_video[video] = rec
                rec.labels[dim] = value
                if obj.get("prompt"):
                    rec.prompt = str(obj["prompt"])
                elif rec.prompt is None and obj.get("conversations") is not None:
                    try:
                        question, _ = conversation_pair(obj["conversations"])
                        rec.prompt = prompt_from_question(strip_image_tags(question))
                    except ValueError as exc:
                        report(path, f"video {video!r}: {exc}", number)
        return list(by_video.values())
