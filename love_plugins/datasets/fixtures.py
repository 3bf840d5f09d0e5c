"""Re-publish a synthetic suite (``love-eval synth``) in each supported dataset's own format.

Used by the tests (every adapter parses a fixture in its exact format) and handy for trying the
adapters and the evaluation commands without the real data::

    from love_plugins.datasets.fixtures import write_format
    root = write_format("fetv", "/tmp/suite", "/tmp/fetv_like")

Labels are derived from the suite's targets (perception / correspondence MOS, 0-100), mapped onto
each dataset's native scale; video files are hard-linked (or copied) into the new root so that
every path stays inside it — replace a file (unlink, then write) rather than writing into it, or
the suite's copy changes too.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

FORMATS = ("aigve60k", "aigvqa-db", "t2vqa-db", "gaia", "fetv", "videofeedback", "genai-bench-video", "manifest")


def _rows(suite_root: Path) -> list[dict]:
    rows = []
    with (suite_root / "manifest.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _scale(mos: float, low: float, high: float, offset: float = 0.0, integer: bool = False) -> float:
    value = low + (high - low) * float(mos) / 100.0 + offset
    value = min(high, max(low, value))
    return float(round(value)) if integer else round(value, 4)


def _jsonl(path: Path, lines: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")


def write_format(fmt: str, suite_root: str | Path, out_dir: str | Path, max_frames: int = 8) -> Path:
    """Write the suite at `suite_root` in dataset format `fmt` under `out_dir`; return the dataset root."""
    suite, out = Path(suite_root).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = _rows(suite)
    writer = {
        "aigve60k": _aigve60k, "aigvqa-db": _aigvqa, "t2vqa-db": _t2vqa, "gaia": _gaia, "fetv": _fetv,
        "videofeedback": lambda s, o, r: _videofeedback(s, o, r, max_frames),
        "genai-bench-video": _genai, "manifest": _manifest,
    }.get(fmt)
    if writer is None:
        raise KeyError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    writer(suite, out, rows)
    return out


def _aigve60k(suite: Path, out: Path, rows: list[dict]) -> None:
    for r in rows:  # LOVE layout: Videos300/<Model>/<id>.mp4
        _place(suite / r["video"], out / "Videos300" / r["model"] / Path(r["video"]).name)
    for task in ("perception", "correspondence", "qa"):
        for split in ("train", "test"):
            lines = []
            for line in (suite / "annotations" / f"{task}_{split}.jsonl").read_text(encoding="utf-8").splitlines():
                obj = json.loads(line)
                obj["video"] = f"Videos300/{obj['model']}/{Path(obj['video']).name}"
                lines.append(obj)
            _jsonl(out / "annotations" / f"{task}_{split}.jsonl", lines)
        meta = {f"AIGVE60K_{task}": {"root": str(out), "annotation_train": f"annotations/{task}_train.jsonl",
                                     "annotation_test": f"annotations/{task}_test.jsonl",
                                     "data_augment": False, "repeat_time": 1}}
        (out / f"meta_{task}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _aigvqa(suite: Path, out: Path, rows: list[dict]) -> None:
    dims = {"static_quality": "perception_mos", "temporal_smoothness": "perception_mos",
            "dynamic_degree": "perception_mos", "correspondence": "correspondence_mos"}
    for r in rows:
        _place(suite / r["video"], out / "videos" / Path(r["video"]).name)
    for dim, key in dims.items():
        for split in ("train", "test"):
            lines = []
            for r in rows:
                if r["split"] != split:
                    continue
                name = Path(r["video"]).name
                question = ("How would you rate the correspondence of this video and its prompt? "
                            f"prompt:{r['prompt']}" if dim == "correspondence"
                            else f"How would you rate the {dim.replace('_', ' ')} of this video?")
                lines.append({"id": f"{name}->{r[key]}", "conversations": [
                    {"from": "human", "value": "<image>\n" + question},
                    {"from": "gpt", "value": f"The {dim.replace('_', ' ')} of the video is good."}]})
            _jsonl(out / f"{dim}_{split}.jsonl", lines)


def _t2vqa(suite: Path, out: Path, rows: list[dict]) -> None:
    for split in ("train", "test"):
        lines = []
        for r in rows:
            if r["split"] == split:
                stem = Path(r["video"]).stem
                _place(suite / r["video"], out / "videos" / f"{stem}.mp4")
                lines.append(f"{stem}|{r['prompt']}|{r['perception_mos']}")
        (out / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _gaia(suite: Path, out: Path, rows: list[dict]) -> None:
    with (out / "MOS.csv").open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["filename", "final action subject", "final action completeness", "final action interaction"])
        for i, r in enumerate(rows):
            name = f"{r['model']}_{i}.mp4"
            _place(suite / r["video"], out / "videos" / name)
            w.writerow([name, r["correspondence_mos"], r["perception_mos"],
                        round((r["correspondence_mos"] + r["perception_mos"]) / 2, 4)])
    (out / "prompts_all.csv").write_text("action;prompt\n" + "".join(f"{i};{r['prompt']}\n" for i, r in enumerate(rows)),
                                         encoding="utf-8")


def _fetv(suite: Path, out: Path, rows: list[dict]) -> None:
    models = sorted({r["model"] for r in rows})
    for model in models:
        for k, offset in enumerate((-0.5, 0.0, 0.5), start=1):
            lines = []
            for i, r in enumerate(rows):
                if r["model"] != model:
                    continue
                rating = {"video_id": str(i),
                          "static_quality": _scale(r["perception_mos"], 1, 5, offset, integer=True),
                          "temporal_quality": _scale(r["perception_mos"], 1, 5, -offset, integer=True),
                          "alignment": _scale(r["correspondence_mos"], 1, 5, offset, integer=True),
                          "fine-grained_alignment": _scale(r["correspondence_mos"], 1, 5, 0.0, integer=True)}
                lines.append({str(len(lines)): rating})
            _jsonl(out / "ratings" / model / f"rater{k}.jsonl", lines)
    for i, r in enumerate(rows):
        _place(suite / r["video"], out / "videos" / r["model"] / f"{i}.mp4")
    data = [{"video_id": str(i), "prompt": r["prompt"]} for i, r in enumerate(rows)]
    (out / "fetv_data.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _videofeedback(suite: Path, out: Path, rows: list[dict], max_frames: int) -> None:
    import av
    from PIL import Image

    for split in ("train", "test"):
        records = []
        for i, r in enumerate(rows):
            if r["split"] != split:
                continue
            images = []
            with av.open(str(suite / r["video"])) as container:
                for n, frame in enumerate(container.decode(video=0)):
                    if n >= max_frames:
                        break
                    rel = f"frames/{i:05d}/{n:03d}.jpg"
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(frame.to_ndarray(format="rgb24")).save(out / rel, quality=95)
                    images.append(rel)
            p, c = r["perception_mos"], r["correspondence_mos"]
            records.append({"id": f"{i:05d}", "images": images, "text prompt": r["prompt"],
                            "visual quality": _scale(p, 1, 4, integer=True),
                            "temporal consistency": _scale(p, 1, 4, 0.3, integer=True),
                            "dynamic degree": _scale(p, 1, 4, -0.3, integer=True),
                            "text-to-video alignment": _scale(c, 1, 4, integer=True),
                            "factual consistency": _scale((p + c) / 2, 1, 4, integer=True)})
        (out / f"{split}.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


def _genai(suite: Path, out: Path, rows: list[dict]) -> None:
    data = {}
    for i, r in enumerate(rows):
        _place(suite / r["video"], out / "videos" / r["model"] / f"{i}.mp4")
        c = r["correspondence_mos"]
        data[str(i)] = {"prompt": r["prompt"], "models": {r["model"]: [_scale(c, 1, 5, o, integer=True)
                                                                      for o in (-0.5, 0.0, 0.5)]}}
    (out / "genai_video.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _manifest(suite: Path, out: Path, rows: list[dict]) -> None:
    for r in rows:
        _place(suite / r["video"], out / r["video"])
    _jsonl(out / "manifest.jsonl", [{k: v for k, v in r.items() if k != "scene"} for r in rows])
