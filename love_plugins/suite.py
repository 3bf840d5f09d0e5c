"""The AIGVE-60K text-to-video suite: score one T2V model's videos and place it on the leaderboard.

A user generates one or more videos per prompt of a prompt list (AIGVE-60K's, or any list with
yes/no QA pairs and dimension labels), then `evaluate_model` scores them with LOVE:

  perception_mos      mean predicted perception MOS (0-100) over the model's videos;
  correspondence_mos  mean predicted text-video correspondence MOS (0-100) for each video's prompt;
  task_acc_pct        100 x mean over videos of the share of the video's questions whose LOVE
                      answer equals the reference answer (one question per video: the share of
                      videos whose answer matches, LOVE's task accuracy);
each overall and per dimension (the prompt's dimension label for the MOS columns, the question's
label, defaulting to the prompt's, for task accuracy).

`leaderboard` then places such rows among the 30 models of the AIGVE-60K leaderboard
(`reference/t2v_leaderboard.csv`, human MOS and human-judged task accuracy). Ranking rule: each
column is ranked best-first (ties share the better rank), and models are ordered by the sum of
their three ranks, ties broken by perception rank. On the 30 reference models this reproduces the
published `overall_rank` except around NOVA (rank sum 63, published 24th, placed 21st by the rule,
which moves Latte, VideoCrafter1 and Text2Video-Zero down one); the published rank is kept in
`published_rank`. Rows from LOVE are predictions, the reference rows
human judgements: the `source` column says which.

Any scorer with LOVE's protocol works: `score(videos, prompts=None, questions=None, tasks=None)`
returning objects with `perception`, `correspondence`, `qa_answer`, `qa_p_yes` and `error`.
This module imports neither vbench nor lmms-eval.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .datasets.base import ErrorReport, iter_jsonl
from .errors import AnnotationError, LoveError

logger = logging.getLogger(__name__)

REFERENCE_CSV = Path(__file__).parent / "reference" / "t2v_leaderboard.csv"
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif")
METRICS: tuple[str, ...] = ("perception_mos", "correspondence_mos", "task_acc_pct")
RANKS = {"perception_mos": "perception_rank", "correspondence_mos": "correspondence_rank",
         "task_acc_pct": "task_acc_rank"}
REFERENCE_SOURCE = "AIGVE-60K human"
PREDICTED_SOURCE = "LOVE prediction"

__all__ = [
    "SuitePrompt",
    "evaluate_model",
    "find_videos",
    "format_leaderboard",
    "leaderboard",
    "load_reference",
    "plot_ranking",
    "read_prompts",
    "write_leaderboard_csv",
]


# -- prompts -----------------------------------------------------------------------------------------
@dataclass
class SuitePrompt:
    """One prompt of the suite with its QA pairs; `video`/`id` say which file(s) show it."""

    prompt: str
    dimension: str = ""
    id: str | None = None
    video: str | None = None
    qa: list[dict] = field(default_factory=list)  # {question, answer: yes/no, dimension}

    @property
    def key(self) -> str:
        return self.video or self.id or self.prompt


def _first(record: dict, *names: str):
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return value
    return None


def _answer(value, path: Path, line: int) -> str:
    answer = str(value).strip().lower().rstrip(".")
    if answer not in ("yes", "no"):
        raise AnnotationError(path, f"answer must be yes or no, got {value!r}", line=line)
    return answer


def read_prompts(path: str | Path) -> list[SuitePrompt]:
    """Read a prompt list: .jsonl, .json (a list), .csv, or .txt (one prompt per line, no QA).

    Columns: `prompt` (or `prompt_en`), optional `question` + `answer` (yes/no), `dimension`, `id`,
    `video` (file path relative to the videos folder), or a `qa` list of {question, answer,
    dimension}. Rows with the same video / id / prompt are one prompt with several QA pairs.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "prompt file does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".txt"):  # JSONL, one object per line
        records = [record for _, record in iter_jsonl(path, ErrorReport("raise"))]
    else:
        text = path.read_text(encoding="utf-8")
        if suffix == ".csv":
            records = list(csv.DictReader(text.splitlines()))
        elif suffix == ".json":
            records = json.loads(text)
            if not isinstance(records, list):
                raise AnnotationError(path, "a .json prompt file must hold a list of objects")
        else:
            records = [{"prompt": line.strip()} for line in text.splitlines() if line.strip()]
    prompts: dict[str, SuitePrompt] = {}
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise AnnotationError(path, "row is not an object", line=number)
        prompt = _first(record, "prompt", "prompt_en", "text")
        if not prompt:
            raise AnnotationError(path, "row has no prompt", line=number)
        item = SuitePrompt(
            prompt=str(prompt),
            dimension=str(_first(record, "dimension", "task", "category") or ""),
            id=None if _first(record, "id", "prompt_id") is None else str(_first(record, "id", "prompt_id")),
            video=_first(record, "video", "video_path"),
        )
        item = prompts.setdefault(item.key, item)
        pairs = list(record.get("qa") or [])
        if _first(record, "question"):
            pairs.append({"question": record["question"], "answer": record.get("answer", "yes"),
                          "dimension": record.get("dimension")})
        for qa in pairs:
            item.qa.append({
                "question": str(qa["question"]),
                "answer": _answer(qa.get("answer", "yes"), path, number),
                "dimension": str(qa.get("dimension") or item.dimension or "all"),
            })
    if not prompts:
        raise AnnotationError(path, "prompt file is empty")
    return list(prompts.values())


AIGVE60K_ENV = "AIGVE60K_ROOT"


def read_aigve60k_prompts(root: str | Path | None = None, split: str = "test") -> list[SuitePrompt]:
    """AIGVE-60K's own prompt list with its QA pairs, read from the dataset the user downloaded (the files the
    lmms-eval tasks read: `$AIGVE60K_ROOT`, LOVE's annotation JSONL / meta files), one entry per prompt."""
    import os

    from .datasets import load_dataset

    root = root or os.environ.get(AIGVE60K_ENV)
    if not root:
        raise LoveError(f"--prompts aigve60k reads AIGVE-60K's annotations: set {AIGVE60K_ENV} to the folder of "
                        "the unzipped data.zip of the Hugging Face dataset anonymousdb/AIGVE-60K")
    dataset = load_dataset("aigve60k", root, split=split, check_videos=False)
    prompts: dict[str, SuitePrompt] = {}
    for record in dataset.records:
        if not record.prompt:
            continue
        item = prompts.setdefault(record.prompt, SuitePrompt(prompt=record.prompt, dimension=record.dimension or ""))
        if record.question and record.answer in ("yes", "no"):
            pair = {"question": record.question, "answer": record.answer, "dimension": record.dimension or "all"}
            if pair not in item.qa:
                item.qa.append(pair)
        if record.dimension and not item.dimension:
            item.dimension = record.dimension
    if not prompts:
        raise LoveError(f"{root}: the AIGVE-60K {split} annotations name no prompts")
    return list(prompts.values())


def find_videos(prompts: Sequence[SuitePrompt], videos_dir: str | Path) -> tuple[list[tuple[SuitePrompt, Path]], list[SuitePrompt]]:
    """Match prompts to files: `video` column; else `{id}` / `{id}-N`; else `{prompt}` / `{prompt}-N`
    (VBench's naming, N = sample index). Returns ((prompt, video) pairs, prompts without a video)."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise LoveError(f"{root}: videos folder does not exist")
    by_stem: dict[str, list[Path]] = {}
    for file in sorted(root.rglob("*")):
        if file.is_file() and file.suffix.lower() in VIDEO_SUFFIXES:
            stem = file.stem
            by_stem.setdefault(stem, []).append(file)
            base = re.sub(r"-\d+$", "", stem)
            if base != stem:
                by_stem.setdefault(base + "\0samples", []).append(file)
    found, missing = [], []
    for item in prompts:
        if item.video:
            video = Path(item.video)
            files = [video if video.is_absolute() else root / video]
            files = [f for f in files if f.is_file()]
        else:
            name = item.id if item.id is not None else item.prompt
            files = by_stem.get(name, []) + by_stem.get(name + "\0samples", [])
        if files:
            found += [(item, f) for f in files]
        else:
            missing.append(item)
    return found, missing


# -- scoring -----------------------------------------------------------------------------------------
def _mean(values: Iterable[float | None]) -> float | None:
    values = [float(v) for v in values if v is not None]
    return float(statistics.fmean(values)) if values else None


def _tasks_of(scorer) -> set[str]:
    return set(getattr(scorer, "tasks", ("perception", "correspondence", "qa")))


def evaluate_model(pairs: Sequence[tuple[SuitePrompt, Path]], scorer, name: str) -> dict:
    """Score one T2V model's videos; returns {model, summary columns, per_dimension, videos}."""
    if not pairs:
        raise LoveError(f"{name}: no videos to score")
    tasks = _tasks_of(scorer)
    videos = [str(v) for _, v in pairs]
    records = [{"video": str(v), "prompt": p.prompt, "dimension": p.dimension or "all", "perception": None,
                "correspondence": None, "qa": [], "task_accuracy": None, "error": None} for p, v in pairs]
    mos_tasks = tuple(t for t in ("perception", "correspondence") if t in tasks)
    if mos_tasks:
        prompts = [p.prompt for p, _ in pairs] if "correspondence" in mos_tasks else None
        for record, result in zip(records, scorer.score(videos, prompts=prompts, tasks=mos_tasks)):
            if getattr(result, "error", None):
                record["error"] = result.error
                continue
            for task in mos_tasks:
                record[task] = float(getattr(result, task))
    asks = [(i, qa) for i, (p, _) in enumerate(pairs) for qa in p.qa if records[i]["error"] is None]
    if asks and "qa" in tasks:
        results = scorer.score([videos[i] for i, _ in asks], questions=[qa["question"] for _, qa in asks],
                               tasks=("qa",))
        for (i, qa), result in zip(asks, results):
            if getattr(result, "error", None):
                records[i]["error"] = result.error
                continue
            predicted = str(result.qa_answer).strip().lower()
            records[i]["qa"].append({**qa, "predicted": predicted, "p_yes": getattr(result, "qa_p_yes", None),
                                     "correct": predicted == qa["answer"]})
    for record in records:
        if record["qa"] and record["error"] is None:
            record["task_accuracy"] = statistics.fmean(float(a["correct"]) for a in record["qa"])
    ok = [r for r in records if r["error"] is None]
    return {
        "model": name,
        **_columns(ok),
        "num_videos": len(records),
        "num_failed": len(records) - len(ok),
        "num_questions": sum(len(r["qa"]) for r in ok),
        "per_dimension": _per_dimension(ok),
        "videos": records,
    }


def _columns(records: list[dict]) -> dict:
    task = _mean(r["task_accuracy"] for r in records)
    return {
        "perception_mos": _mean(r["perception"] for r in records),
        "correspondence_mos": _mean(r["correspondence"] for r in records),
        "task_acc_pct": None if task is None else 100.0 * task,
    }


def _per_dimension(records: list[dict]) -> dict[str, dict]:
    dims = sorted({r["dimension"] for r in records} | {a["dimension"] for r in records for a in r["qa"]})
    out = {}
    for dim in dims:
        mine = [r for r in records if r["dimension"] == dim]
        answers = [a["correct"] for r in records for a in r["qa"] if a["dimension"] == dim]
        out[dim] = {
            "num_videos": len(mine),
            "perception_mos": _mean(r["perception"] for r in mine),
            "correspondence_mos": _mean(r["correspondence"] for r in mine),
            "task_acc_pct": 100.0 * statistics.fmean(answers) if answers else None,
            "num_questions": len(answers),
        }
    return out


# -- how stable a row is ----------------------------------------------------------------------------
SUITE_RESAMPLES = 1000


def bootstrap_row(result: dict, reference: Sequence[dict] | None = None, n_resamples: int = SUITE_RESAMPLES,
                  seed: int = 0) -> dict:
    """95 % intervals of the row's three columns over its prompts (resampled with replacement), and the range
    of its overall rank among `reference` (default: the 30 AIGVE-60K models) over the same resamples."""
    import numpy as np

    records = [r for r in result["videos"] if r["error"] is None]
    if len(records) < 2:
        return {"intervals": {m: None for m in METRICS}, "rank_range": None, "resamples": 0}
    reference = load_reference() if reference is None else list(reference)
    rng = np.random.default_rng(seed)
    columns, ranks = {m: [] for m in METRICS}, []
    for _ in range(n_resamples):
        sample = [records[i] for i in rng.integers(0, len(records), len(records))]
        row = {"model": result["model"], **_columns(sample)}
        for m in METRICS:
            if row[m] is not None:
                columns[m].append(row[m])
        ranks.append(next(r["overall_rank"] for r in leaderboard([row], reference) if r["model"] == row["model"]))
    intervals = {m: ([float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None)
                 for m, v in columns.items()}
    return {"intervals": intervals, "rank_range": [int(np.percentile(ranks, 2.5)), int(np.percentile(ranks, 97.5))],
            "resamples": n_resamples}


# -- leaderboard -------------------------------------------------------------------------------------
def load_reference(path: str | Path = REFERENCE_CSV) -> list[dict]:
    """The 30 models of the AIGVE-60K T2V leaderboard (human MOS, task accuracy in %)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append({
                "model": row["model"],
                "source": REFERENCE_SOURCE,
                "url": row.get("url", ""),
                "perception_mos": float(row["perception_mos"]),
                "correspondence_mos": float(row["correspondence_mos"]),
                "task_acc_pct": float(row["task_acc_pct"]),
                "published_rank": int(row["overall_rank"]),
            })
    return rows


def _rank(values: list[float | None]) -> list[int]:
    """Best-first ranks (1 = highest); ties share the better rank; missing values rank last."""
    keyed = [v if v is not None else float("-inf") for v in values]
    return [1 + sum(other > v for other in keyed) for v in keyed]


def leaderboard(rows: Sequence[dict], reference: Sequence[dict] | None = None) -> list[dict]:
    """Rank `rows` (from `evaluate_model`) among `reference` rows (default: the 30 AIGVE-60K models).

    Pass `reference=[]` to rank only the given rows.
    """
    reference = load_reference() if reference is None else list(reference)
    table = [dict(r) for r in reference]
    for row in rows:
        table.append({"model": row["model"], "source": PREDICTED_SOURCE, "url": "",
                      **{m: row.get(m) for m in METRICS}, "published_rank": None,
                      "intervals": row.get("intervals"), "rank_range": row.get("rank_range"),
                      "note": DEMO_NOTE if row.get("demonstration_model") else ""})
    names = [r["model"] for r in table]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise LoveError(f"model names must be unique on a leaderboard: {sorted(duplicates)}")
    for metric, rank_name in RANKS.items():
        for row, rank in zip(table, _rank([r.get(metric) for r in table])):
            row[rank_name] = rank
    for row in table:
        row["rank_sum"] = sum(row[r] for r in RANKS.values())
    table.sort(key=lambda r: (r["rank_sum"], r["perception_rank"], r["model"]))
    for position, row in enumerate(table, 1):
        row["overall_rank"] = position
    return table


LEADERBOARD_COLUMNS = ("overall_rank", "model", "source", "perception_mos", "perception_rank",
                       "correspondence_mos", "correspondence_rank", "task_acc_pct", "task_acc_rank",
                       "rank_sum", "published_rank", "note")
DEMO_NOTE = "scored by a demonstration model: not comparable with the human-judged rows"


def write_leaderboard_csv(table: Sequence[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEADERBOARD_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in table:
            writer.writerow({k: ("" if row.get(k) is None else _fmt(row.get(k))) for k in LEADERBOARD_COLUMNS})
    return path


def _fmt(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def format_leaderboard(table: Sequence[dict], highlight: Iterable[str] = ()) -> str:
    """Plain-text table; highlighted models are marked with '*'."""
    highlight = set(highlight)
    header = f"{'#':>3}  {'model':<24} {'perception':>10} {'corresp.':>9} {'task acc %':>10}  source"
    lines = [header, "-" * len(header)]
    for row in table:
        mark = "*" if row["model"] in highlight else " "
        cells = [("-" if row.get(m) is None else f"{row[m]:.2f}") for m in METRICS]
        lines.append(f"{row['overall_rank']:>3}{mark} {row['model']:<24} {cells[0]:>10} {cells[1]:>9} "
                     f"{cells[2]:>10}  {row['source']}")
    return "\n".join(lines)


def plot_ranking(table: Sequence[dict], path: str | Path, highlight: Iterable[str] = ()) -> Path:
    """Bar chart per column (models in overall order, best on top), highlighted models in orange."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    highlight = set(highlight)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [r["model"] for r in table]
    colors = ["#e8710a" if n in highlight else "#4a77b4" for n in names]
    titles = {"perception_mos": "perception MOS", "correspondence_mos": "correspondence MOS",
              "task_acc_pct": "task accuracy (%)"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.28 * len(names) + 1.6), sharey=True)
    positions = list(range(len(names)))[::-1]
    for ax, metric in zip(axes, METRICS):
        values = [r.get(metric) or 0.0 for r in table]
        ax.barh(positions, values, color=colors)
        # LOVE-predicted rows: their 95 % bootstrap interval over prompts (the human rows have none published).
        for position, row, value in zip(positions, table, values):
            interval = (row.get("intervals") or {}).get(metric)
            if interval:
                ax.errorbar(value, position, xerr=[[value - interval[0]], [interval[1] - value]], fmt="none",
                            ecolor="black", capsize=3, lw=1)
        ax.set_title(titles[metric], fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions)
    axes[0].set_yticklabels([f"{r['overall_rank']}. {r['model']}"
                             + (f" (ranks {r['rank_range'][0]}-{r['rank_range'][1]})" if r.get("rank_range") else "")
                             for r in table], fontsize=8)
    for label, name in zip(axes[0].get_yticklabels(), names):
        if name in highlight:
            label.set_color("#e8710a")
            label.set_fontweight("bold")
    fig.suptitle("AIGVE-60K T2V leaderboard (orange: LOVE-predicted rows, with 95 % bootstrap intervals over "
                 "prompts)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)
    return path


RADAR_TITLES = {"perception_mos": "perception MOS", "correspondence_mos": "correspondence MOS",
                "task_acc_pct": "task accuracy (%)"}


def plot_radar(results: Sequence[dict], path: str | Path, highlight: Iterable[str] = ()) -> Path | None:
    """Spider charts of the per-dimension scores (one panel per column, one polygon per model; highlighted
    models drawn thick), as VBench users compare models; PNG and SVG. None if fewer than 3 dimensions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    dims = sorted({d for r in results for d in r.get("per_dimension", {})})
    if len(dims) < 3:
        return None
    highlight, path = set(highlight), Path(path)
    angles = np.linspace(0, 2 * np.pi, len(dims), endpoint=False).tolist()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), subplot_kw={"projection": "polar"})
    for ax, metric in zip(axes, METRICS):
        for k, result in enumerate(results):
            values = [(result["per_dimension"].get(d) or {}).get(metric) for d in dims]
            values = [0.0 if v is None else v for v in values]
            bold = result["model"] in highlight
            ax.plot(angles + angles[:1], values + values[:1], lw=2.2 if bold else 1.0, color=f"C{k % 10}",
                    label=result["model"])
            ax.fill(angles + angles[:1], values + values[:1], alpha=0.15 if bold else 0.04, color=f"C{k % 10}")
        ax.set_xticks(angles, dims, fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_title(RADAR_TITLES[metric], fontsize=10, pad=14)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=8)
    fig.suptitle("Per-dimension scores (LOVE predictions)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)
    return path
