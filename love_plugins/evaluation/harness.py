"""Score a dataset with any scorer and compute the agreement metrics, with bootstrap CIs.

The scorer protocol (LOVE's `Scorer`, the baselines, or your own object)::

    class MyScorer:
        tasks: tuple[str, ...]            # subset of ("perception", "correspondence", "qa")
        def describe(self) -> dict: ...   # {"model": NAME, "sampler": {...}, "versions": {...}, ...}
        def score(self, videos, prompts=None, questions=None, tasks=None) -> list:
            # one result per video, in order, with attributes (or keys) `perception`,
            # `correspondence` (floats, None when not computed), `qa_answer` ("yes"/"no"), `error`
            # (None, or why this video failed). Results may be objects or dicts.
        # Optional: iter_scores(videos, prompts, questions, tasks=..., progress=bool) yielding the
        # same results one by one (LOVE's Scorer has it; results then stream into the cache).

Which LOVE output a label is compared with ("label mapping") defaults per dataset (each adapter's
`LabelSpec.output`, e.g. AIGVQA-DB static_quality -> perception, FETV alignment -> correspondence)
and can be overridden with `mapping={label: output}` (`--map label=output` on the command line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from love_plugins import metrics
from love_plugins.datasets import LOVE_OUTPUTS, Dataset, Record
from love_plugins.errors import LoveError

SCORE_FIELDS = ("video", "perception", "correspondence", "qa_answer", "qa_p_yes", "error")


@runtime_checkable
class ScorerProtocol(Protocol):
    tasks: Sequence[str]

    def describe(self) -> dict: ...

    def score(self, videos, prompts=None, questions=None, tasks=None) -> list: ...


@dataclasses.dataclass
class EvalSettings:
    """Knobs of one evaluation; recorded in every output."""

    n_resamples: int = 1000
    confidence_level: float = 0.95
    seed: int = 0
    limit: int | None = None  # evaluate only the first N records (quick looks, tests)
    cache_dir: str | None = None  # resumable per-video score cache (JSONL), reused across runs
    progress: bool = False
    frame_fps: int = 8  # frame rate used to encode frame-folder videos (VideoFeedback)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- scorers


def resolve_scorer(name: str, **load_options: Any) -> Any:
    """A scorer by name: a baseline ("niqe", "brisque", "fast-vqa", ...), a scorer another package installs
    (entry-point group `love_plugins.scorers`), or a LOVE model for `scorer.load` (see `love_plugins.scorers`)."""
    from love_plugins.scorers import resolve

    return resolve(name, **load_options)


def scorer_name(scorer: Any) -> str:
    try:
        return str(scorer.describe().get("model") or type(scorer).__name__)
    except Exception:  # noqa: BLE001 - a third-party scorer without describe()
        return type(scorer).__name__


def _as_dict(result: Any) -> dict:
    if isinstance(result, dict):
        return result
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    return {k: getattr(result, k, None) for k in SCORE_FIELDS}


# --------------------------------------------------------------------------- mapping


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"label=output,label2=output"`` -> dict; outputs must be LOVE outputs (or "none" to drop a label)."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise LoveError(f"--map: expected label=output, got {item!r}")
        label, output = (s.strip() for s in item.split("=", 1))
        if output not in (*LOVE_OUTPUTS, "none"):
            raise LoveError(f"--map {item!r}: output must be one of {', '.join(LOVE_OUTPUTS)} or none")
        out[label] = output
    return out


def resolve_mapping(dataset: Dataset, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The dataset's default label -> output mapping with `overrides` applied ("none" drops a label)."""
    mapping = dataset.default_mapping()
    for label, output in (overrides or {}).items():
        if label not in mapping:
            raise LoveError(f"label mapping: dataset {dataset.name} has no label {label!r} "
                            f"(it has {', '.join(mapping) or 'none'})")
        mapping[label] = output
    return {k: v for k, v in mapping.items() if v != "none"}


# --------------------------------------------------------------------------- frames -> video


def materialize_frames(record: Record, cache_dir: Path, fps: int = 8) -> str:
    """Encode a frame-folder record (VideoFeedback) into an mp4 once; return its path."""
    import av
    from PIL import Image

    key = hashlib.sha1("\n".join(record.frames or []).encode()).hexdigest()[:16]
    out = cache_dir / "frames_as_video" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', record.id)[:80]}_{key}.mp4"
    if out.is_file() and out.stat().st_size > 0:
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    images = [np.asarray(Image.open(f).convert("RGB")) for f in record.frames or []]
    h, w = images[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    tmp = out.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "17"}
        for img in images:
            if img.shape[:2] != images[0].shape[:2]:
                img = np.asarray(Image.fromarray(img).resize((images[0].shape[1], images[0].shape[0])))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:h, :w]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(out)
    return str(out)


# --------------------------------------------------------------------------- scoring


def _cache_path(cache_dir: Path, scorer: Any, dataset: Dataset) -> Path:
    info = scorer.describe()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(info.get("model", "scorer")))[:60]
    digest = hashlib.sha1(repr(sorted((k, str(v)) for k, v in info.items() if k != "versions")).encode())
    return cache_dir / f"{slug}_{digest.hexdigest()[:8]}__{dataset.name}.jsonl"


def score_dataset(scorer: Any, dataset: Dataset, mapping: dict[str, str], settings: EvalSettings,
                  records: list[Record] | None = None) -> list[dict]:
    """One result dict per record (same order): the scorer's outputs, or `error`.

    Records are grouped by what they can be asked (a record without a prompt gets no correspondence
    task, one without a question no QA) so that one missing field never costs the other scores. With
    `settings.cache_dir`, results are appended to a resumable JSONL cache keyed by the scorer's
    description, and videos already there are not scored again.
    """
    records = list(dataset.records if records is None else records)
    have = set(getattr(scorer, "tasks", LOVE_OUTPUTS))
    wanted = [t for t in LOVE_OUTPUTS if t in set(mapping.values()) and t in have]
    if dataset.has_qa and "qa" in have:
        wanted.append("qa")
    cache_root = Path(settings.cache_dir) if settings.cache_dir else None
    frames_root = cache_root or Path(tempfile.gettempdir()) / "love_plugins_frames"
    videos = [materialize_frames(rec, frames_root, settings.frame_fps) if rec.frames is not None else rec.video
              for rec in records]

    from love_plugins.results import ResultsWriter, row_key

    writer = None
    done: dict[tuple, dict] = {}
    if cache_root is not None:
        info = {**scorer.describe(), "tasks": wanted}
        writer = ResultsWriter(_cache_path(cache_root, scorer, dataset), info)
        done = dict(writer.done)

    def tasks_for(rec: Record) -> tuple[str, ...]:
        return tuple(t for t in wanted if (t != "correspondence" or rec.prompt) and (t != "qa" or rec.question))

    def asked(i: int) -> dict:
        """What record i asks the scorer (a video may be asked several questions: each is its own row)."""
        tasks = tasks_for(records[i])
        return {"video": videos[i], "prompt": records[i].prompt if "correspondence" in tasks else None,
                "question": records[i].question if "qa" in tasks else None}

    groups: dict[tuple[str, ...], list[int]] = {}
    for i, rec in enumerate(records):
        if row_key(asked(i)) not in done:
            groups.setdefault(tasks_for(rec), []).append(i)
    results: dict[int, dict] = {}
    try:
        for tasks, idx in groups.items():
            if not tasks:
                continue
            args = ([videos[i] for i in idx],
                    [records[i].prompt for i in idx] if "correspondence" in tasks else None,
                    [records[i].question for i in idx] if "qa" in tasks else None)
            if hasattr(scorer, "iter_scores"):
                stream = scorer.iter_scores(*args, tasks=tasks, progress=settings.progress)
            else:
                stream = scorer.score(*args, tasks=tasks)
            for i, res in zip(idx, stream):
                row = {**_as_dict(res), **asked(i)}
                results[i] = row
                if writer is not None:
                    writer.write(row)
    finally:
        if writer is not None:
            writer.close()
    out = []
    for i in range(len(records)):
        row = results.get(i) or done.get(row_key(asked(i)))
        if row is None:
            row = {"video": videos[i], "not_applicable": True,
                   "error": "not scored: the scorer offers none of this record's tasks"}
        out.append(row)
    return out


# --------------------------------------------------------------------------- metrics


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def _ci(metric, *arrays, settings: EvalSettings) -> list[float] | None:
    return metrics.bootstrap_ci_or_none(metric, *arrays, n_resamples=settings.n_resamples,
                                        confidence_level=settings.confidence_level, seed=settings.seed)


def label_metrics(pred: list[float], target: list[float], models: list[str | None],
                  settings: EvalSettings, same_scale: bool = True) -> dict[str, Any]:
    """Instance-level correlations with CIs, and model-level correlation where models are known. Raw RMSE
    is kept only when the predictions are on the label's scale (`same_scale`); `rmse_logistic` always."""
    out: dict[str, Any] = {"n": len(pred), "instance": None, "model_level": None, "error": None}
    try:
        inst = metrics.correlations(pred, target)
    except metrics.MetricError as exc:
        out["error"] = str(exc)
        return out
    if not same_scale:
        inst["rmse"] = None
    inst["srcc_ci"] = _ci(metrics.srcc, pred, target, settings=settings)
    inst["plcc_ci"] = _ci(metrics.plcc, pred, target, settings=settings)
    inst["krcc_ci"] = _ci(metrics.krcc, pred, target, settings=settings)
    out["instance"] = inst
    if all(models) and len(set(models)) >= metrics.MIN_MODELS:
        try:
            out["model_level"] = metrics.model_level(pred, target, models)
        except metrics.MetricError as exc:
            out["model_level"] = {"error": str(exc)}
    return out


def _same_scale(scorer: Any, target: list[float]) -> bool:
    """LOVE's scores are MOS on 0-100: raw RMSE means something against labels on that scale; a baseline's
    score (or any other scorer's) is on a scale of its own."""
    try:
        kind = str(scorer.describe().get("kind", ""))
    except Exception:  # noqa: BLE001 - a third-party scorer without describe()
        return False
    is_love = "baseline" not in kind and hasattr(scorer, "model")
    return is_love and bool(target) and 0 <= min(target) and max(target) <= 100


def qa_metrics(pred: list[Any], ref: list[str], dims: list[str | None], models: list[str | None],
               settings: EvalSettings) -> dict[str, Any]:
    """QA accuracy overall / per dimension (with a bootstrap CI) and model-level task accuracy."""
    table = metrics.qa_accuracy(pred, ref, dims if all(dims) else None)
    table["accuracy_ci"] = metrics.accuracy_ci(pred, ref, n_resamples=settings.n_resamples,
                                               confidence_level=settings.confidence_level, seed=settings.seed)
    table["model_level"] = None
    if all(models) and len(set(models)) >= metrics.MIN_MODELS:
        # Task accuracy of a T2V model = share of its videos whose task is done ("yes"); correlate the
        # scorer's per-model yes-rate with the humans' (as LOVE's model-level QA column does).
        pred_yes = [1.0 if metrics.normalize_answer(p) == "yes" else 0.0 for p in pred]
        ref_yes = [1.0 if metrics.normalize_answer(r) == "yes" else 0.0 for r in ref]
        try:
            level = metrics.model_level(pred_yes, ref_yes, models)
            level["per_model_accuracy"] = metrics.model_level_accuracy(pred, ref, models)["models"]
            table["model_level"] = level
        except metrics.MetricError as exc:
            table["model_level"] = {"error": str(exc)}
    return table


def evaluate(scorer: Any, dataset: Dataset, mapping: dict[str, str] | None = None,
             settings: EvalSettings | None = None) -> dict[str, Any]:
    """Score `dataset` with `scorer` and compute every metric; returns one JSON-ready result."""
    settings = settings or EvalSettings()
    mapping = resolve_mapping(dataset, mapping)
    records = dataset.records[: settings.limit] if settings.limit else dataset.records
    started = time.perf_counter()
    rows = score_dataset(scorer, dataset, mapping, settings, records)
    seconds = time.perf_counter() - started
    failures = [{"video": r.get("video"), "error": r.get("error")} for r in rows
                if r.get("error") and not r.get("not_applicable")]
    not_applicable = sum(bool(r.get("not_applicable")) for r in rows)
    result: dict[str, Any] = {
        "scorer": scorer.describe(),
        "scorer_name": scorer_name(scorer),
        "dataset": {**dataset.summary(), "evaluated_records": len(records)},
        "mapping": mapping,
        "settings": settings.to_dict(),
        "counts": {"records": len(records), "scored": len(records) - len(failures) - not_applicable,
                   "failed": len(failures), "not_applicable": not_applicable, "seconds": round(seconds, 3)},
        "failures": failures[:50],
        "dataset_errors": [str(e) for e in dataset.errors[:50]],
        "labels": {},
        "qa": None,
        "points": {},
    }
    for label, output in mapping.items():
        pred, target, models = [], [], []
        for rec, row in zip(records, rows):
            p, t = _number(row.get(output)), rec.labels.get(label)
            if row.get("error") or p is None or t is None:
                continue
            pred.append(p)
            target.append(float(t))
            models.append(rec.model)
        entry = {"output": output}
        if output not in set(getattr(scorer, "tasks", LOVE_OUTPUTS)):
            entry.update(n=0, instance=None, model_level=None, skipped=True,
                         error=f"scorer has no {output} output")
        elif not pred:
            entry.update(n=0, instance=None, model_level=None,
                         error=f"no {output} predictions for label {label!r} (scorer tasks: "
                               f"{', '.join(getattr(scorer, 'tasks', []))})")
        else:
            entry.update(label_metrics(pred, target, models, settings, same_scale=_same_scale(scorer, target)))
        result["labels"][label] = entry
        result["points"][label] = {"pred": pred, "target": target, "model": models}
    qa = [(row.get("qa_answer"), rec.answer, rec.dimension, rec.model) for rec, row in zip(records, rows)
          if rec.question and rec.answer and not row.get("error") and row.get("qa_answer") is not None]
    if qa:
        pred, ref, dims, models = (list(x) for x in zip(*qa))
        try:
            result["qa"] = qa_metrics(pred, ref, dims, models, settings)
        except metrics.MetricError as exc:
            result["qa"] = {"error": str(exc)}
    return result


def evaluate_many(scorers: Sequence[Any], datasets: Sequence[Dataset],
                  mappings: dict[str, dict[str, str]] | None = None,
                  settings: EvalSettings | None = None) -> list[dict[str, Any]]:
    """The zero-shot matrix: every scorer on every dataset (mappings keyed by dataset name)."""
    mappings = mappings or {}
    return [evaluate(s, d, mappings.get(d.name), settings) for s in scorers for d in datasets]
