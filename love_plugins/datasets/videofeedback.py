"""VideoFeedback (TIGER-Lab, VideoScore's data): frame folders instead of videos, 5 aspects 1-4.

Reads every ``*.json`` (a list of records) and ``*.jsonl`` in the root and in ``annotations/``;
split from ``train``/``test`` in the file name. A record: ``{"id", "images": [frame files],
"text prompt", "visual quality", "temporal consistency", "dynamic degree", "text-to-video
alignment", "factual consistency"}`` (aspect columns also accepted with underscores). Frame paths
are relative to the root, or to ``frames/``/``images/`` below it; the video of a record is the
folder of its frames (the evaluation harness encodes the frames into a clip for scorers that read
video files).
"""

from __future__ import annotations

from pathlib import Path

from .base import Adapter, ErrorReport, LabelSpec, Record, iter_jsonl, parse_label, read_json, split_from_name

ASPECTS = {
    "visual quality": "visual_quality",
    "temporal consistency": "temporal_consistency",
    "dynamic degree": "dynamic_degree",
    "text-to-video alignment": "text_to_video_alignment",
    "factual consistency": "factual_consistency",
}
OUTPUTS = {
    "visual_quality": "perception",
    "temporal_consistency": "perception",
    "dynamic_degree": "perception",
    "text_to_video_alignment": "correspondence",
    "factual_consistency": "correspondence",
}


class VideoFeedback(Adapter):
    name = "videofeedback"
    description = "VideoFeedback: 5 aspects rated 1-4, frames instead of mp4"
    reads = "*.json / *.jsonl records {id, images, 'text prompt', 5 aspect columns}"
    labels = {v: LabelSpec(v, 1.0, 4.0, OUTPUTS[v], k) for k, v in ASPECTS.items()}

    def _items(self, path: Path, report: ErrorReport):
        if path.suffix == ".jsonl":
            yield from iter_jsonl(path, report)
            return
        data = read_json(path, report)
        if data is None:
            return
        if not isinstance(data, list):
            report(path, "expected a JSON list of records")
            return
        yield from ((i + 1, item) for i, item in enumerate(data))  # "line" = record number

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        files = [p for d in (root, root / "annotations") for ext in ("*.json", "*.jsonl") for p in sorted(d.glob(ext))]
        if not files:
            report(root, "no *.json / *.jsonl annotation files")
        records = []
        for path in files:
            split = split_from_name(path.stem)
            for number, item in self._items(path, report):
                if not isinstance(item, dict):
                    report(path, "record is not a JSON object", number)
                    continue
                rid, images = item.get("id"), item.get("images")
                if rid is None or str(rid).strip() == "":
                    report(path, "missing field 'id'", number)
                    continue
                if not isinstance(images, list) or not images or not all(isinstance(i, str) for i in images):
                    report(path, f"record {rid!r}: 'images' must be a non-empty list of frame files", number)
                    continue
                labels = {}
                try:
                    for col, label in ASPECTS.items():
                        value = item.get(col, item.get(label, item.get(col.replace(" ", "_"))))
                        labels[label] = parse_label(value, self.labels[label])
                except ValueError as exc:
                    report(path, f"record {rid!r}: {exc}", number)
                    continue
                prefix = next((p for p in ("", "frames/", "images/") if (root / p / images[0]).is_file()), "")
                frames = [prefix + i for i in images]
                records.append(Record(
                    id=str(rid), video=str(Path(frames[0]).parent), frames=frames, labels=labels,
                    prompt=item.get("text prompt") or item.get("prompt"), split=split,
                    source=str(path), line=number,
                ))
        return records
