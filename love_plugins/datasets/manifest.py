"""Generic manifest (CSV or JSONL) for any other dataset: LGVQ, a user's own videos, the synthetic suite.

The root is a manifest file, or a folder holding ``manifest.jsonl`` / ``manifest.csv``. Columns:
``video`` (required, relative to the manifest's folder), optional ``id``, ``prompt``, ``question``,
``answer``, ``dimension``, ``model``, ``split``, and label columns. Labels are the columns named in
the ``labels`` option — ``"spatial,temporal:1:5"`` (``name[:low:high]``) or a dict ``{name: (low,
high)}`` — or, by default, every other column whose values are numbers (``scene`` and unknown text
columns are ignored). A label cell left empty means "no label" for that video; a non-numeric one is
an error. The LOVE output each label is compared with is guessed from its name (alignment-like ->
correspondence, else perception) unless the ``outputs`` option (``{label: output}``) says otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .base import Adapter, ErrorReport, LabelSpec, Record, guess_output, iter_csv, iter_jsonl

FIELDS = ("id", "video", "prompt", "question", "answer", "dimension", "model", "split")
IGNORED = {"scene", "source", "line", "extra", "frames", "labels"}


def parse_label_option(value: Any) -> dict[str, tuple[float | None, float | None]]:
    """``"a,b:0:100"`` / ``["a", "b"]`` / ``{"a": (lo, hi)}`` -> {name: (low, high)}."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): (tuple(v) if v is not None else (None, None)) for k, v in value.items()}
    items = value.split(",") if isinstance(value, str) else list(value)
    out: dict[str, tuple[float | None, float | None]] = {}
    for item in items:
        parts = [p.strip() for p in str(item).split(":")]
        if not parts[0]:
            continue
        if len(parts) == 3:
            out[parts[0]] = (float(parts[1]) if parts[1] else None, float(parts[2]) if parts[2] else None)
        elif len(parts) == 1:
            out[parts[0]] = (None, None)
        else:
            raise ValueError(f"label option {item!r}: expected name or name:low:high")
    return out


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str) and value.strip():
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


class Manifest(Adapter):
    name = "manifest"
    description = "generic CSV/JSONL manifest: video, prompt, labels by column, optional QA/model/split"
    reads = "manifest.jsonl / manifest.csv (or the given file): video + label columns"
    labels: dict[str, LabelSpec] = {}

    def __init__(self, labels: Any = None, outputs: dict[str, str] | None = None, **options: Any):
        super().__init__(**options)
        self.label_ranges = parse_label_option(labels)
        self.outputs = dict(outputs or {})
        self._found: list[str] = list(self.label_ranges)

    def _file(self, root: Path) -> Path | None:
        if root.is_file():
            return root
        for name in ("manifest.jsonl", "manifest.csv"):
            if (root / name).is_file():
                return root / name
        return None

    def video_root(self, root: Path) -> Path:
        return root.parent if root.is_file() else root

    def label_specs(self) -> dict[str, LabelSpec]:
        return {n: LabelSpec(n, *self.label_ranges.get(n, (None, None)), self.outputs.get(n) or guess_output(n))
                for n in self._found}

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        path = self._file(root)
        if path is None:
            report(root, "no manifest.jsonl or manifest.csv")
            return []
        rows = list(iter_csv(path, report) if path.suffix.lower() == ".csv" else iter_jsonl(path, report))
        if not self.label_ranges:  # default: the numeric columns of the first row that has them
            found: list[str] = []
            for _, row in rows:
                if isinstance(row, dict):
                    found += [k for k, v in row.items()
                              if k not in FIELDS and k not in IGNORED and k not in found and _numeric(v)]
            self._found = found
            if not found:
                report(path, "no label columns: name them with labels=... or give numeric columns")
        records = []
        for number, row in rows:
            if not isinstance(row, dict):
                report(path, "row is not an object", number)
                continue
            video = row.get("video")
            if not video or not str(video).strip():
                report(path, "missing field 'video'", number)
                continue
            missing = [n for n in self.label_ranges if n not in row]
            if missing:
                report(path, f"missing label column(s) {missing}", number)
                continue
            labels = {n: row[n] for n in self._found if row.get(n) not in (None, "")}

            def text(key: str, row: dict = row) -> str | None:
                value = row.get(key)
                return None if value in (None, "") else str(value)

            records.append(Record(
                id=text("id") or str(video), video=str(video), labels=labels, prompt=text("prompt"),
                question=text("question"), answer=text("answer"), dimension=text("dimension"),
                model=text("model"), split=text("split"), source=str(path), line=number,
            ))
        return records
