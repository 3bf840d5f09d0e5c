"""The common record every dataset adapter produces, and the checks every record goes through.

One `Record` per video: its path, its prompt, its human labels by name on the dataset's native scale,
and optionally one yes/no question with its reference answer, a question dimension, the generator
(T2V) model and the split. Adapters only parse; `validate` (shared by all) then refuses what a
metric must not see: missing or non-numeric labels, labels outside the native range, duplicate ids,
video paths that escape the dataset root, and missing video files.

Every problem becomes an `AnnotationError(path, reason, line)`. With ``on_error="raise"`` the first
one stops loading; with ``on_error="skip"`` the bad record is dropped, the error is kept in
`Dataset.errors`, and loading goes on. This module imports only the standard library.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from love_plugins.errors import AnnotationError
from love_plugins.textfiles import read_utf8

__all__ = [
    "LOVE_OUTPUTS",
    "Adapter",
    "Dataset",
    "ErrorReport",
    "LabelSpec",
    "Record",
    "guess_output",
    "parse_label",
    "validate",
]

LOVE_OUTPUTS = ("perception", "correspondence")
ON_ERROR = ("raise", "skip")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif")


@dataclass
class Record:
    """One video of a dataset with its human labels.

    Attributes:
        id: unique within the dataset (usually the video path relative to the root).
        video: path of the video file — after `validate`, absolute and inside the dataset root. For
            datasets that ship frames instead of videos, the folder of the frames (see `frames`).
        labels: human labels by name, on the dataset's native scale (e.g. ``{"perception": 63.2}``).
        prompt: the text prompt the video was generated from, if known.
        question / answer: one yes/no question about the video and its reference answer ("yes"/"no").
        dimension: free label grouping questions (AIGVE-60K's task dimension), if any.
        model: name of the T2V generator, if known (enables model-level correlation).
        split: "train", "test", ... if the dataset has splits.
        frames: absolute paths of the frame images when the video is a folder of frames.
        source / line: where the record was read (for error messages).
        extra: anything else an adapter wants to keep (e.g. number of raters).
    """

    id: str
    video: str
    labels: dict[str, float] = field(default_factory=dict)
    prompt: str | None = None
    question: str | None = None
    answer: str | None = None
    dimension: str | None = None
    model: str | None = None
    split: str | None = None
    frames: list[str] | None = None
    source: str | None = None
    line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LabelSpec:
    """A label of a dataset: its name, native range (inclusive, None = open) and default LOVE output."""

    name: str
    low: float | None = None
    high: float | None = None
    output: str | None = None  # "perception" or "correspondence": which LOVE score it is compared with
    description: str = ""

    @property
    def range_text(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}]"


class ErrorReport:
    """Collects `AnnotationError`s (``on_error="skip"``) or raises the first one (``"raise"``)."""

    def __init__(self, on_error: str = "raise"):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.on_error = on_error
        self.errors: list[AnnotationError] = []

    def __call__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        error = AnnotationError(path, reason, line)
        if self.on_error == "raise":
            raise error
        self.errors.append(error)


@dataclass
class Dataset:
    """Validated records of one dataset (one split), plus the errors skipped while loading."""

    name: str
    root: Path
    records: list[Record]
    labels: dict[str, LabelSpec]
    split: str | None = None
    errors: list[AnnotationError] = field(default_factory=list)
    adapter: str | None = None  # registry name of the adapter that read it (name may be an alias)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    @property
    def label_names(self) -> list[str]:
        """Labels present in at least one record, in the adapter's order."""
        present = {k for r in self.records for k in r.labels}
        return [n for n in self.labels if n in present] + sorted(present - set(self.labels))

    @property
    def has_qa(self) -> bool:
        return any(r.question and r.answer for r in self.records)

    @property
    def models(self) -> list[str]:
        return sorted({r.model for r in self.records if r.model})

    def default_mapping(self) -> dict[str, str]:
        """label -> LOVE output ("perception"/"correspondence") used when the caller gives none."""
        out = {}
        for name in self.label_names:
            spec = self.labels.get(name)
            out[name] = spec.output if spec and spec.output else guess_output(name)
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "adapter": self.adapter or self.name,
            "root": str(self.root),
            "split": self.split,
            "records": len(self.records),
            "labels": {n: self.labels[n].range_text if n in self.labels else "?" for n in self.label_names},
            "qa": sum(bool(r.question and r.answer) for r in self.records),
            "models": self.models,
            "skipped_errors": len(self.errors),
        }


def guess_output(label: str) -> str:
    """Default LOVE output for a label known only by name: alignment-like names -> correspondence."""
    name = label.lower()
    if any(w in name for w in ("correspond", "align", "prompt", "text", "semantic", "factual")):
        return "correspondence"
    return "perception"


# --------------------------------------------------------------------------- value checks


def parse_label(value: Any, spec: LabelSpec | None = None, name: str = "label") -> float:
    """A label as float; ValueError with a readable reason if missing, non-numeric, NaN or out of range."""
    label = spec.name if spec else name
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"label {label!r} is missing")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"label {label!r} is not numeric: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"label {label!r} is not numeric: {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"label {label!r} is not finite: {value!r}")
    if spec is not None:
        if (spec.low is not None and number < spec.low) or (spec.high is not None and number > spec.high):
            raise ValueError(f"label {label!r} = {number:g} is outside its range {spec.range_text}")
    return number


def normalize_answer(value: Any) -> str | None:
    """"yes"/"no" from "Yes", " no.", True...; None for anything else."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        word = value.strip().lower().rstrip(" .!?,;:")
        if word in ("yes", "no"):
            return word
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def validate(
    records: list[Record],
    root: str | Path,
    labels: dict[str, LabelSpec] | None = None,
    on_error: str | ErrorReport = "raise",
    check_videos: bool = True,
) -> list[Record]:
    """Check records and return the good ones, with `video` (and `frames`) made absolute.

    Refused: empty id or video, labels that are missing/non-numeric/non-finite/out of their `labels`
    range, a record with neither labels nor a question, a question without a yes/no answer, duplicate
    ids, paths that resolve outside `root` (``..``, absolute paths elsewhere, symlinks out), and — when
    `check_videos` — missing video files or frame folders. `on_error` as in `ErrorReport`.
    """
    report = on_error if isinstance(on_error, ErrorReport) else ErrorReport(on_error)
    labels = labels or {}
    base = Path(root).resolve()
    seen: dict[str, Record] = {}
    good: list[Record] = []
    for rec in records:
        where = rec.source or str(base)
        tag = f"record {rec.id!r}" if rec.id else "record"
        if not rec.id or not str(rec.id).strip():
            report(where, "record has no id", rec.line)
            continue
        if not rec.video or not str(rec.video).strip():
            report(where, f"{tag}: missing video path", rec.line)
            continue
        try:
            rec.labels = {k: parse_label(v, labels.get(k), k) for k, v in rec.labels.items()}
        except ValueError as exc:
            report(where, f"{tag}: {exc}", rec.line)
            continue
        if rec.question is not None or rec.answer is not None:
            answer = normalize_answer(rec.answer)
            if not rec.question or answer is None:
                report(where, f"{tag}: QA needs a question and a yes/no answer, got "
                              f"question={rec.question!r}, answer={rec.answer!r}", rec.line)
                continue
            rec.answer = answer
        if not rec.labels and not rec.question:
            report(where, f"{tag}: no labels and no question", rec.line)
            continue
        if rec.id in seen:
            first = seen[rec.id]
            at = f" (first at {first.source}:{first.line})" if first.source else ""
            report(where, f"duplicate id {rec.id!r}{at}", rec.line)
            continue
        paths = [rec.video] + list(rec.frames or [])
        resolved = []
        for p in paths:
            if "\x00" in p:  # no file system accepts it; os.path would raise a bare ValueError
                report(where, f"{tag}: path {p!r} contains a NUL byte", rec.line)
                break
            full = Path(p) if Path(p).is_absolute() else base / p
            full = full.resolve()
            if not _inside(full, base):
                report(where, f"{tag}: path {p!r} escapes the dataset root {base}", rec.line)
                break
            resolved.append(full)
        else:
            video, frames = resolved[0], resolved[1:]
            if check_videos:
                if rec.frames is not None:
                    missing = [str(f) for f in frames if not f.is_file()]
                    if not video.is_dir() or missing or not frames:
                        what = missing[0] if missing else video
                        report(where, f"{tag}: missing frame file or folder {what}", rec.line)
                        continue
                elif not video.is_file():
                    report(where, f"{tag}: missing video file {video}", rec.line)
                    continue
            rec.video = str(video)
            if rec.frames is not None:
                rec.frames = [str(f) for f in frames]
            seen[rec.id] = rec
            good.append(rec)
    return good


# --------------------------------------------------------------------------- file helpers for adapters


def read_text(path: Path, report: ErrorReport) -> str | None:
    try:
        return read_utf8(path)
    except AnnotationError as exc:
        report(path, exc.reason, exc.line)
    return None


def read_json(path: Path, report: ErrorReport) -> Any:
    text = read_text(path, report)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        report(path, f"invalid JSON: {exc.msg}", exc.lineno)
        return None


def iter_jsonl(path: Path, report: ErrorReport) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for every non-empty line; bad JSON lines are reported."""
    text = read_text(path, report)
    if text is None:
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            report(path, f"invalid JSON: {exc.msg}", number)


def iter_csv(path: Path, report: ErrorReport, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV with a header; keys are stripped of spaces."""
    text = read_text(path, report)
    if text is None:
        return
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if reader.fieldnames is None:
        report(path, "CSV file is empty")
        return
    reader.fieldnames = [f.strip() for f in reader.fieldnames]
    for row in reader:
        yield reader.line_num, {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}


def conversation_pair(conversations: Any) -> tuple[str, str]:
    """(question, answer) of a LOVE-style `conversations` list; ValueError if it is not one."""
    if not isinstance(conversations, list) or not conversations:
        raise ValueError("'conversations' must be a non-empty list")
    question = answer = None
    for turn in conversations:
        if not isinstance(turn, dict) or "value" not in turn:
            raise ValueError("each conversation turn needs 'from' and 'value'")
        who = str(turn.get("from", "")).lower()
        if who in ("human", "user") and question is None:
            question = str(turn["value"])
        elif who in ("gpt", "assistant") and answer is None:
            answer = str(turn["value"])
    if question is None or answer is None:
        raise ValueError("'conversations' needs a human turn and a gpt turn")
    return question, answer


def strip_image_tags(text: str) -> str:
    return re.sub(r"<image>\s*", "", text).strip()


def prompt_from_question(question: str) -> str | None:
    """The prompt of a LOVE correspondence question ("... prompt:{prompt}"), if it has one."""
    match = re.search(r"prompt\s*:\s*(.+)$", question, flags=re.IGNORECASE | re.DOTALL)
    return match.group(1).strip() if match else None


def split_from_name(name: str) -> str | None:
    """"train"/"test"/"val" when a file name says so (e.g. `perception_test.jsonl`)."""
    tokens = re.split(r"[^a-z]+", name.lower())
    for split, words in (("train", ("train",)), ("test", ("test",)), ("val", ("val", "valid", "validation"))):
        if any(w in tokens for w in words):
            return split
    return None


def with_suffix(name: str, suffix: str = ".mp4") -> str:
    return name if Path(name).suffix.lower() in VIDEO_SUFFIXES else name + suffix


def first_existing(root: Path, candidates: list[str]) -> str:
    """The first candidate path (relative to root) that exists; else the first one (reported missing later)."""
    for c in candidates:
        if (root / c).exists():
            return c
    return candidates[0]


class Adapter:
    """One annotation format. Subclasses set `name`, `description`, `labels` and implement `parse`.

    `parse(root, report)` returns raw records (video paths relative to `video_root(root)` or
    absolute) with labels as read; `load` then filters the split and runs `validate`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    labels: ClassVar[dict[str, LabelSpec]] = {}
    reads: ClassVar[str] = ""  # one line: which files it reads

    def __init__(self, **options: Any):
        if options:
            raise TypeError(f"{self.name}: unexpected options {sorted(options)}")

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:  # pragma: no cover - abstract
        raise NotImplementedError

    def video_root(self, root: Path) -> Path:
        return root

    def label_specs(self) -> dict[str, LabelSpec]:
        return dict(self.labels)

    def load(
        self,
        root: str | Path,
        split: str | None = None,
        on_error: str = "raise",
        check_videos: bool = True,
    ) -> Dataset:
        """Parse and validate the dataset under `root`; keep records of `split` (None = all)."""
        root = Path(root)
        report = ErrorReport(on_error)
        if not root.exists():
            raise AnnotationError(root, f"{self.name}: dataset root does not exist")
        records = self.parse(root, report)
        if split is not None:
            splits = {r.split for r in records}
            if splits - {None}:
                records = [r for r in records if r.split == split]
        specs = self.label_specs()
        records = validate(records, self.video_root(root), specs, report, check_videos)
        if not records:
            reasons = "; ".join(str(e) for e in report.errors[:3])
            raise AnnotationError(root, f"{self.name}: no usable records" + (f" ({reasons})" if reasons else "")
                                  + (f" in split {split!r}" if split else ""))
        return Dataset(self.name, root, records, specs, split, report.errors, adapter=self.name)
