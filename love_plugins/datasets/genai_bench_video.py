"""GenAI-Bench-Video: ``genai_video.json`` with per-prompt, per-model alignment ratings (1-5).

The JSON maps a prompt id to ``{"prompt": text, "models": {model: [ratings]}}``; each (prompt,
model) pair is one video whose label ``alignment`` is the mean of its ratings. Videos are looked
up as ``videos/<model>/<id>.mp4``, ``<model>/<id>.mp4``, then ``videos/<model>_<id>.mp4``.
"""

from __future__ import annotations

from pathlib import Path

from .base import Adapter, ErrorReport, LabelSpec, Record, first_existing, parse_label, read_json


class GenAIBenchVideo(Adapter):
    name = "genai-bench-video"
    description = "GenAI-Bench-Video: text-video alignment (1-5, mean of raters), 4 T2V models"
    reads = "genai_video.json {id: {prompt, models: {model: [ratings]}}}"
    labels = {"alignment": LabelSpec("alignment", 1.0, 5.0, "correspondence")}

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        path = root / "genai_video.json" if root.is_dir() else root
        if not path.is_file():
            report(root, "genai_video.json not found")
            return []
        data = read_json(path, report)
        if data is None:
            return []
        if not isinstance(data, dict):
            report(path, "expected a JSON object keyed by prompt id")
            return []
        records = []
        for number, (pid, entry) in enumerate(data.items(), 1):
            if not isinstance(entry, dict) or not isinstance(entry.get("models"), dict):
                report(path, f"prompt {pid!r}: missing field 'models' (an object model -> ratings)", number)
                continue
            for model, ratings in entry["models"].items():
                if not isinstance(ratings, list) or not ratings:
                    report(path, f"prompt {pid!r}, model {model!r}: ratings must be a non-empty list", number)
                    continue
                try:
                    values = [parse_label(r, self.labels["alignment"]) for r in ratings]
                except ValueError as exc:
                    report(path, f"prompt {pid!r}, model {model!r}: {exc}", number)
                    continue
                video = first_existing(root, [f"videos/{model}/{pid}.mp4", f"{model}/{pid}.mp4",
                                              f"videos/{model}_{pid}.mp4"])
                records.append(Record(
                    id=f"{model}/{pid}", video=video, labels={"alignment": sum(values) / len(values)},
                    prompt=entry.get("prompt"), model=str(model), source=str(path), line=number,
                    extra={"raters": len(values)},
                ))
        return records
