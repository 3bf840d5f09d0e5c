"""Files of a synthetic suite: LOVE-format annotations and meta, flat manifests, suite.json.

The annotation files follow the layout the LOVE training code reads (one meta JSON per task naming
a root and train/test JSONL files of `{"video", "mos", "conversations"}` lines), so the suite can be
used wherever AIGVE-60K would be. The manifests hold the same targets flat, plus the true scene.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
from pathlib import Path

from love_plugins.errors import AnnotationError
from love_plugins.synth.degrade import level_word
from love_plugins.synth.prompts import correspondence_conversation, perception_conversation, qa_conversation

TASKS: tuple[str, ...] = ("perception", "correspondence", "qa")
SPLITS: tuple[str, ...] = ("train", "test")
MANIFEST_COLUMNS: tuple[str, ...] = (
    "video",
    "prompt",
    "perception_mos",
    "correspondence_mos",
    "question",
    "answer",
    "dimension",
    "model",
    "split",
    "scene",
)
FORMULAS = {
    "perception_mos": "92 - 84 * (1 - prod_k (1 - w_k * s_k)), w = "
    "{blur: 0.9, noise: 0.8, blockiness: 0.8, flicker: 0.7, stutter: 0.6, color_shift: 0.5}",
    "correspondence_mos": "10 + 80 * matched_attributes / 5 (count, color, shape, motion, background)",
    "level": "MOS bins of 20: <20 bad, <40 poor, <60 fair, <80 good, else excellent",
}


def package_version() -> str:
    """Installed version of love-plugins, or 'unknown' when running from a bare checkout."""
    try:
        return importlib.metadata.version("love-plugins")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def annotation_line(row: dict, task: str) -> dict:
    """One LOVE-format JSONL line of a manifest row for `task`."""
    if task == "perception":
        line = {
            "video": row["video"],
            "mos": row["perception_mos"],
            "conversations": perception_conversation(row["perception_mos"]),
        }
    elif task == "correspondence":
        line = {
            "video": row["video"],
            "mos": row["correspondence_mos"],
            "conversations": correspondence_conversation(row["prompt"], row["correspondence_mos"]),
        }
    elif task == "qa":
        line = {
            "video": row["video"],
            "conversations": qa_conversation(row["question"], row["answer"]),
            "dimension": row["dimension"],
        }
    else:
        raise ValueError(f"unknown task {task!r}")
    line["prompt"] = row["prompt"]
    line["model"] = row["model"]
    return line


def write_suite_files(root: Path, rows: list[dict], seed: int, config: dict) -> dict:
    """Write annotations, meta, manifests and suite.json under root; return their paths by kind."""
    root = Path(root).resolve()
    ann_dir = root / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    annotations: dict[str, Path] = {}
    meta: dict[str, Path] = {}
    for task in TASKS:
        for split in SPLITS:
            path = ann_dir / f"{task}_{split}.jsonl"
            _write_jsonl(path, [annotation_line(r, task) for r in rows if r["split"] == split])
            annotations[f"{task}_{split}"] = path
        meta[task] = root / f"meta_{task}.json"
        _write_json(
            meta[task],
            {
                f"synthetic_{task}": {
                    "root": str(root),
                    "annotation_train": str(annotations[f"{task}_train"]),
                    "annotation_test": str(annotations[f"{task}_test"]),
                    "data_augment": False,
                    "repeat_time": 1,
                }
            },
        )

    manifest_jsonl = root / "manifest.jsonl"
    _write_jsonl(manifest_jsonl, rows)
    manifest_csv = root / "manifest.csv"
    with manifest_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "scene": json.dumps(row["scene"], sort_keys=True)})

    suite_json = root / "suite.json"
    _write_json(
        suite_json,
        {
            "name": "love-plugins synthetic AIGV suite",
            "seed": seed,
            "config": config,
            "generator_models": [{"name": n, "quality": q} for n, q in config["models"].items()],
            "counts": _counts(rows),
            "targets": FORMULAS,
            "package_version": package_version(),
        },
    )
    return {
        "manifest_jsonl": manifest_jsonl,
        "manifest_csv": manifest_csv,
        "suite_json": suite_json,
        "meta": meta,
        "annotations": annotations,
    }


def _counts(rows: list[dict]) -> dict:
    """Summary counts stored in suite.json (per split, model, answer, dimension, levels)."""

    def tally(values) -> dict:
        out: dict = {}
        for v in values:
            out[v] = out.get(v, 0) + 1
        return dict(sorted(out.items()))

    return {
        "videos": len(rows),
        "split": tally(r["split"] for r in rows),
        "model": tally(r["model"] for r in rows),
        "answer": tally(r["answer"] for r in rows),
        "dimension": tally(r["dimension"] for r in rows),
        "perception_level": tally(level_word(r["perception_mos"]) for r in rows),
        "correspondence_level": tally(level_word(r["correspondence_mos"]) for r in rows),
    }


def _write_jsonl(path: Path, lines: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_manifest(path: str | Path) -> list[dict]:
    """Rows of a suite manifest (`manifest.jsonl`, `manifest.csv`, or the suite folder), typed alike.

    CSV and JSONL give identical rows: MOS as float, `scene` as a dict.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    if not path.exists():
        raise AnnotationError(path, "manifest not found")
    rows: list[dict] = []
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for number, raw in enumerate(csv.DictReader(handle), start=2):
                try:
                    row = dict(raw)
                    row["scene"] = json.loads(row["scene"])
                    row["perception_mos"] = float(row["perception_mos"])
                    row["correspondence_mos"] = float(row["correspondence_mos"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise AnnotationError(path, f"bad manifest row: {exc}", line=number) from exc
                rows.append({k: row[k] for k in MANIFEST_COLUMNS})
        return rows
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
                rows.append({k: row[k] for k in MANIFEST_COLUMNS})
            except (KeyError, json.JSONDecodeError) as exc:
                raise AnnotationError(path, f"bad manifest line: {exc}", line=number) from exc
    return rows
