"""Reading the annotation files of AIGVE-60K, T2VQA-DB and AIGVQA-DB into lmms-eval documents.

Pure Python (json/csv/os), so the task `utils.py` files can import it without pulling in torch.
Every document has the same keys, whatever the dataset:

    video       absolute path of the mp4
    video_id    the path as written in the annotation (relative to the data root)
    love_task   "perception" | "correspondence" | "qa"   (which LOVE question it is)
    question    the question asked (LOVE's wording for the rating tasks)
    answer      the reference answer ("yes"/"no" for QA, LOVE's level sentence or "" otherwise)
    prompt      the text prompt of the video ("" if unknown)
    mos         the MOS (float, NaN for QA)
    model       the T2V model that made the video ("" if unknown)
    dimension   the task dimension (QA) or rated aspect label
    dataset     "aigve60k" | "aigve60k_sample" | "t2vqa_db" | "aigvqa_db"

Where the data root comes from (first that is set): the task argument ``metadata: {data_root: DIR}``
in a task YAML / task dict, then the environment variable named by the dataset (``AIGVE60K_ROOT``,
``T2VQA_DB_ROOT``, ``AIGVQA_DB_ROOT``). Missing data raises `DatasetNotFound`, whose message says
what to download and where to put it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

PERCEPTION_QUESTION = "How is the quality of the video?"
CORRESPONDENCE_QUESTION = "How would you rate the correspondence of this video and its prompt? prompt:{prompt}"
SAMPLE_ROOT = Path(__file__).resolve().parent / "sample_data" / "aigve60k_sample"
SPLITS = ("test", "train")


class DatasetNotFound(FileNotFoundError):
    """The data root of a benchmark is not set, or does not hold the expected annotation file."""


_DOWNLOAD = {
    "aigve60k": (
        "AIGVE60K_ROOT",
        "AIGVE-60K: download data.zip from the Hugging Face dataset `anonymousdb/AIGVE-60K` "
        "(mirror `IntMeGroup/AIGVE-60K`) and unzip it",
        "annotations/{task}_{split}.jsonl (or {task}_{split}.jsonl, or a LOVE meta file meta_{task}.json "
        "naming `root` and `annotation_{split}`), with the `video` paths of its lines relative to the root",
    ),
    "t2vqa_db": (
        "T2VQA_DB_ROOT",
        "T2VQA-DB: download the videos and MOS file of T2VQA-DB (Kou et al., 'Subjective-aligned dataset "
        "and metric for text-to-video quality assessment')",
        "a text file `filename|prompt|MOS` per line (test.txt, or set T2VQA_DB_ANNOTATION to its path) and "
        "the videos in videos/ or beside it",
    ),
    "aigvqa_db": (
        "AIGVQA_DB_ROOT",
        "AIGVQA-DB: download the videos and LOVE-style annotation JSONL files of AIGVQA-DB (AIGV-Assessor)",
        "{task}_{split}.jsonl or annotations/{task}_{split}.jsonl per dimension (task = static, temporal, "
        "dynamic, correspondence; MOS packed in `id` as `<file>.mp4-><MOS>`), videos relative to the root",
    ),
}


def _missing(dataset: str, reason: str, looked: list[Path] | None = None) -> DatasetNotFound:
    env, what, layout = _DOWNLOAD[dataset]
    lines = [
        f"{dataset}: {reason}.",
        f"  What to get: {what}.",
        f"  Then point the task at the folder: `export {env}=/path/to/folder` (or the task argument "
        f"`metadata: {{data_root: /path/to/folder}}` in a task YAML / task dict).",
        f"  Expected in that folder: {layout}.",
    ]
    if looked:
        lines.append("  Looked for: " + ", ".join(str(p) for p in looked))
    lines.append("  To try the tasks without any download, run `--tasks aigve60k_sample`.")
    return DatasetNotFound("\n".join(lines))


# ----------------------------------------------------------------------------------- data root


def task_argument_root() -> str | None:
    """`metadata.data_root` of the lmms-eval task now loading its data, if the caller set one.

    lmms-eval hands `process_docs` the dataset only, so we look one or two frames up for the task
    object (`ConfigurableTask.download` calls `process_docs`). Returns None when not found.
    """
    frame = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            break
        owner = frame.f_locals.get("self")
        config = getattr(owner, "config", None)
        metadata = getattr(config, "metadata", None)
        if isinstance(metadata, dict) and metadata.get("data_root"):
            return str(metadata["data_root"])
        frame = frame.f_back
    return None


def resolve_root(dataset: str, explicit: str | os.PathLike | None = None) -> Path:
    """Data root from the argument, else the task argument, else the environment; checked to exist."""
    env = _DOWNLOAD[dataset][0]
    value = explicit or task_argument_root() or os.environ.get(env)
    if not value:
        raise _missing(dataset, f"no data root given (environment variable {env} is not set)")
    root = Path(value).expanduser()
    if not root.is_dir():
        raise _missing(dataset, f"data root {root} is not a directory")
    return root.resolve()


# ----------------------------------------------------------------------------------- file reading


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            rows.append(row)
    return rows


def conversation(row: dict) -> tuple[str, str]:
    """(question, answer) of a LOVE-style `conversations` list; "" where absent."""
    question = answer = ""
    for turn in row.get("conversations") or []:
        if not isinstance(turn, dict):
            continue
        if turn.get("from") == "human" and not question:
            question = str(turn.get("value", ""))
        elif turn.get("from") == "gpt" and not answer:
            answer = str(turn.get("value", ""))
    return question.replace("<video>", "").replace("<image>", "").strip(), answer.strip()


def prompt_from_question(question: str) -> str:
    """The prompt in LOVE's correspondence question ("... prompt:<text>")."""
    marker = "prompt:"
    index = question.rfind(marker)
    return question[index + len(marker):].strip() if index >= 0 else ""


def _model_from_path(video_id: str) -> str:
    parts = Path(video_id).parts
    return parts[-2] if len(parts) >= 2 else ""


def _float(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _resolve_video(root: Path, video_id: str, extra_dirs: tuple[str, ...] = ()) -> str:
    path = Path(video_id)
    if path.is_absolute():
        return str(path)
    for base in (root, *(root / d for d in extra_dirs)):
        candidate = base / path
        if candidate.exists():
            return str(candidate)
    return str(root / path)


def _find_annotation(root: Path, task: str, split: str, prefixes: tuple[str, ...]) -> tuple[Path, Path]:
    """(annotation file, video root) for a LOVE-style task/split, or raise with what was looked for."""
    looked = []
    for prefix in prefixes:
        candidate = root / prefix / f"{task}_{split}.jsonl" if prefix else root / f"{task}_{split}.jsonl"
        looked.append(candidate)
        if candidate.is_file():
            return candidate, root
    for meta in sorted(root.glob(f"meta*{task}*.json")):
        looked.append(meta)
        try:
            entries = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for entry in entries.values() if isinstance(entries, dict) else []:
            if not isinstance(entry, dict) or f"annotation_{split}" not in entry:
                continue
            ann = Path(entry[f"annotation_{split}"])
            ann = ann if ann.is_absolute() else meta.parent / ann
            video_root = Path(entry.get("root") or meta.parent)
            video_root = video_root if video_root.is_absolute() else meta.parent / video_root
            if ann.is_file():
                return ann, video_root
            looked.append(ann)
    raise FileNotFoundError(looked)


# ----------------------------------------------------------------------------------- datasets


def love_docs(rows: list[dict], task: str, video_root: Path, dataset: str) -> list[dict]:
    """LOVE-format annotation lines (AIGVE-60K, the synthetic suite) -> documents."""
    docs = []
    for row in rows:
        video_id = str(row.get("video") or row.get("image") or "")
        question, answer = conversation(row)
        prompt = str(row.get("prompt") or prompt_from_question(question) or "")
        if task == "perception":
            question = question or PERCEPTION_QUESTION
        elif task == "correspondence":
            question = question or CORRESPONDENCE_QUESTION.format(prompt=prompt)
        docs.append(
            {
                "video": _resolve_video(video_root, video_id),
                "video_id": video_id,
                "love_task": task,
                "question": question,
                "answer": answer,
                "prompt": prompt,
                "mos": _float(row.get("mos")) if task != "qa" else math.nan,
                "model": str(row.get("model") or _model_from_path(video_id)),
                "dimension": str(row.get("dimension") or task),
                "dataset": dataset,
            }
        )
    return docs


def load_aigve60k(task: str, split: str = "test", root: str | os.PathLike | None = None,
                  dataset: str = "aigve60k") -> list[dict]:
    """Documents of one AIGVE-60K task ("perception", "correspondence", "qa") and split."""
    base = SAMPLE_ROOT if dataset == "aigve60k_sample" and root is None else resolve_root("aigve60k", root)
    try:
        ann, video_root = _find_annotation(base, task, split, ("annotations", "", "data", "annotation"))
    except FileNotFoundError as exc:
        raise _missing("aigve60k", f"no {task} annotations for the {split} split under {base}", exc.args[0]) from None
    docs = love_docs(read_jsonl(ann), task, video_root, dataset)
    if not docs:
        raise _missing("aigve60k", f"{ann} holds no annotation lines")
    return docs


AIGVQA_DIMENSIONS = {
    "static": "static quality",
    "temporal": "temporal smoothness",
    "dynamic": "dynamic degree",
    "correspondence": "correspondence",
}


def parse_packed_id(value: str) -> tuple[str, float]:
    """AIGVQA-DB's `id` field ``"<file>.mp4-><MOS>"`` -> (file, MOS)."""
    name, sep, mos = str(value).rpartition("->")
    if not sep:
        return str(value), math.nan
    return name.strip(), _float(mos)


def load_aigvqa_db(task: str, split: str = "test", root: str | os.PathLike | None = None) -> list[dict]:
    """Documents of one AIGVQA-DB dimension (static, temporal, dynamic, correspondence)."""
    base = resolve_root("aigvqa_db", root)
    try:
        ann, video_root = _find_annotation(base, task, split, ("annotations", "", "data"))
    except FileNotFoundError as exc:
        raise _missing("aigvqa_db", f"no {task} annotations for the {split} split under {base}", exc.args[0]) from None
    docs = []
    for row in read_jsonl(ann):
        question, answer = conversation(row)
        name, mos = parse_packed_id(row.get("id", ""))
        video_id = str(row.get("video") or name)
        if "mos" in row:
            mos = _float(row["mos"])
        prompt = str(row.get("prompt") or prompt_from_question(question) or "")
        love_task = "correspondence" if task == "correspondence" else "perception"
        if not question:
            question = (CORRESPONDENCE_QUESTION.format(prompt=prompt) if love_task == "correspondence"
                        else PERCEPTION_QUESTION)
        docs.append(
            {
                "video": _resolve_video(video_root, video_id, ("videos",)),
                "video_id": video_id,
                "love_task": love_task,
                "question": question,
                "answer": answer,
                "prompt": prompt,
                "mos": mos,
                "model": str(row.get("model") or _model_from_path(video_id)),
                "dimension": AIGVQA_DIMENSIONS.get(task, task),
                "dataset": "aigvqa_db",
            }
        )
    if not docs:
        raise _missing("aigvqa_db", f"{ann} holds no annotation lines")
    return docs


def read_t2vqa_lines(path: Path) -> list[tuple[str, str, float]]:
    """T2VQA-DB lines ``filename|prompt|MOS`` (no header; `.mp4` appended when missing)."""
    out = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, fields in enumerate(csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE), 1):
            if not fields or not "".join(fields).strip():
                continue
            if len(fields) < 3:
                raise ValueError(f"{path}:{number}: expected `filename|prompt|MOS`")
            name, prompt, mos = fields[0].strip(), "|".join(fields[1:-1]).strip(), fields[-1].strip()
            if not name.lower().endswith(".mp4"):
                name += ".mp4"
            out.append((name, prompt, _float(mos)))
    return out


def load_t2vqa_db(split: str = "test", root: str | os.PathLike | None = None) -> list[dict]:
    """Documents of T2VQA-DB (one MOS per video; rated with LOVE's perception question)."""
    base = resolve_root("t2vqa_db", root)
    explicit = os.environ.get("T2VQA_DB_ANNOTATION")
    candidates = [Path(explicit)] if explicit else [
        base / f"{split}.txt", base / f"{split}_info.txt", base / f"info_{split}.txt",
        base / "annotations" / f"{split}.txt", base / "mos.txt", base / "MOS.txt",
    ]
    ann = next((c for c in candidates if c.is_file()), None)
    if ann is None:
        raise _missing("t2vqa_db", f"no annotation file for the {split} split under {base}", candidates)
    docs = []
    for name, prompt, mos in read_t2vqa_lines(ann):
        docs.append(
            {
                "video": _resolve_video(base, name, ("videos", "Videos")),
                "video_id": name,
                "love_task": "perception",
                "question": PERCEPTION_QUESTION,
                "answer": "",
                "prompt": prompt,
                "mos": mos,
                "model": _model_from_path(name),
                "dimension": "overall quality",
                "dataset": "t2vqa_db",
            }
        )
    if not docs:
        raise _missing("t2vqa_db", f"{ann} holds no annotation lines")
    return docs
