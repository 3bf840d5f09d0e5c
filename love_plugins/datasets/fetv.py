"""FETV: per-rater JSONL ratings (1-5), averaged over the raters; prompts in ``fetv_data.json``.

Reads every ``*.jsonl`` under the root (recursively); each is one rater's ratings. A line is
``{"<idx>": {"video_id": ..., "static_quality": 1-5, "temporal_quality": 1-5, "alignment": 1-5,
"fine-grained_alignment"?: 1-5}}``. The generator model is the rater file's folder below the root
(``<root>/<model>/<rater>.jsonl``) or a ``model`` field. Each label of a (model, video_id) is the
mean over the raters that gave it (``extra["raters"]`` counts them); a rater rating the same video
twice is a duplicate. ``fetv_data.json`` (a list of objects, or a dict keyed by id) gives the
prompt: keys ``video_id``/``id`` and ``prompt``/``text``. Videos: ``videos/<model>/<video_id>.mp4``,
``<model>/<video_id>.mp4`` or ``videos/<video_id>.mp4``.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    Adapter,
    ErrorReport,
    LabelSpec,
    Record,
    first_existing,
    iter_jsonl,
    parse_label,
    read_json,
    with_suffix,
)

FIELDS = {
    "static_quality": "static_quality",
    "temporal_quality": "temporal_quality",
    "alignment": "alignment",
    "fine-grained_alignment": "fine_grained_alignment",
}
REQUIRED = ("static_quality", "temporal_quality", "alignment")


class FETV(Adapter):
    name = "fetv"
    description = "FETV: static / temporal quality, alignment, fine-grained alignment (1-5, mean of 3 raters)"
    reads = "per-rater *.jsonl {idx: {video_id, static_quality, ...}} + fetv_data.json prompts"
    labels = {
        "static_quality": LabelSpec("static_quality", 1.0, 5.0, "perception"),
        "temporal_quality": LabelSpec("temporal_quality", 1.0, 5.0, "perception"),
        "alignment": LabelSpec("alignment", 1.0, 5.0, "correspondence"),
        "fine_grained_alignment": LabelSpec("fine_grained_alignment", 1.0, 5.0, "correspondence"),
    }

    def _prompts(self, root: Path, report: ErrorReport) -> dict[str, str]:
        path = next(iter(sorted(root.rglob("fetv_data.json"))), None)
        if path is None:
            return {}
        data = read_json(path, report)
        items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
        prompts = {}
        for i, item in enumerate(items):
            if isinstance(item, dict):
                key = item.get("video_id", item.get("id", i))
                text = item.get("prompt", item.get("text"))
                if text:
                    prompts[str(key)] = str(text)
        return prompts

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        files = sorted(root.rglob("*.jsonl"))
        if not files:
            report(root, "no per-rater *.jsonl rating files")
        prompts = self._prompts(root, report)
        ratings: dict[tuple[str | None, str], dict] = {}
        for path in files:
            rel = path.relative_to(root)
            folder_model = rel.parts[-2] if len(rel.parts) >= 2 else None
            seen: set[tuple] = set()
            for number, obj in iter_jsonl(path, report):
                if not isinstance(obj, dict) or len(obj) != 1 or not isinstance(next(iter(obj.values())), dict):
                    report(path, "expected one object per line: {\"<idx>\": {\"video_id\": ..., ...}}", number)
                    continue
                entry = next(iter(obj.values()))
                vid = entry.get("video_id")
                if vid is None or str(vid).strip() == "":
                    report(path, "missing field 'video_id'", number)
                    continue
                model = entry.get("model") or folder_model
                key = (model, str(vid))
                if key in seen:
                    report(path, f"duplicate id {key[1]!r} from the same rater", number)
                    continue
                try:
                    missing = [f for f in REQUIRED if f not in entry]
                    if missing:
                        raise ValueError(f"missing field(s) {missing}")
                    values = {label: parse_label(entry[f], self.labels[label])
                              for f, label in FIELDS.items() if f in entry and entry[f] is not None}
                except ValueError as exc:
                    report(path, f"video {vid!r}: {exc}", number)
                    continue
                seen.add(key)
                slot = ratings.setdefault(key, {"values": {}, "raters": 0, "source": str(path), "line": number})
                slot["raters"] += 1
                for label, v in values.items():
                    slot["values"].setdefault(label, []).append(v)
        records = []
        for (model, vid), slot in ratings.items():
            name = with_suffix(vid)
            cands = ([f"videos/{model}/{name}", f"{model}/{name}"] if model else []) + [f"videos/{name}", name]
            records.append(Record(
                id=f"{model}/{vid}" if model else vid, video=first_existing(root, cands),
                labels={k: sum(v) / len(v) for k, v in slot["values"].items()},
                prompt=prompts.get(vid), model=model, source=slot["source"], line=slot["line"],
                extra={"raters": slot["raters"]},
            ))
        return records
