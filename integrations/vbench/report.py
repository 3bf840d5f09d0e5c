"""VBench's Quality / Semantic / Total scores, with the LOVE columns beside them (not folded in).

VBench's published scoring (its `scripts/cal_final_score.py` and `scripts/constant.py`): each of the
16 dimensions is min-max normalised with fixed bounds and weighted (dynamic_degree 0.5, others 1);
Quality = weighted mean of 7 dimensions, Semantic = weighted mean of 9, Total = (4 Quality +
Semantic) / 5. VBench's script counts a missing dimension as a raw score of 0, which turns a partial run
into nonsense (a Total of -24 %); here Quality, Semantic and Total are given only when all of their
dimensions are present, else "n/a (k of m dimensions)". Every computed dimension, VBench's own and LOVE's,
is listed with its raw and its normalised value.

LOVE's dimensions are on 0-1 (normalised = raw). Only with `fold_love=True` are they also folded into
extra columns ("... + LOVE"): love_perception joins Quality, love_correspondence and love_task_accuracy
join Semantic, each with weight 1 and bounds [0, 1]; VBench's own three numbers are unchanged either way.

    python -m integrations.vbench.report evaluation_results/*_eval_results.json [--fold-love]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from .dimensions import LOVE_DIMENSIONS

__all__ = ["QUALITY_DIMENSIONS", "SEMANTIC_DIMENSIONS", "format_report", "vbench_scores"]

QUALITY_DIMENSIONS: tuple[str, ...] = (
    "subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
    "aesthetic_quality", "imaging_quality", "dynamic_degree",
)
SEMANTIC_DIMENSIONS: tuple[str, ...] = (
    "object_class", "multiple_objects", "human_action", "color", "spatial_relationship", "scene",
    "appearance_style", "temporal_style", "overall_consistency",
)
# (min, max) of VBench's normalisation.
NORMALIZATION: dict[str, tuple[float, float]] = {
    "subject_consistency": (0.1462, 1.0),
    "background_consistency": (0.2615, 1.0),
    "temporal_flickering": (0.6293, 1.0),
    "motion_smoothness": (0.706, 0.9975),
    "dynamic_degree": (0.0, 1.0),
    "aesthetic_quality": (0.0, 1.0),
    "imaging_quality": (0.0, 1.0),
    "object_class": (0.0, 1.0),
    "multiple_objects": (0.0, 1.0),
    "human_action": (0.0, 1.0),
    "color": (0.0, 1.0),
    "spatial_relationship": (0.0, 1.0),
    "scene": (0.0, 0.8222),
    "appearance_style": (0.0009, 0.2855),
    "temporal_style": (0.0, 0.364),
    "overall_consistency": (0.0, 0.364),
}
WEIGHTS: dict[str, float] = {d: 1.0 for d in NORMALIZATION} | {"dynamic_degree": 0.5}
QUALITY_WEIGHT = 4.0
SEMANTIC_WEIGHT = 1.0
LOVE_GROUPS = {"love_perception": "quality", "love_correspondence": "semantic", "love_task_accuracy": "semantic"}


def _overall_scores(results: Mapping | str | Path) -> dict[str, float]:
    if not isinstance(results, Mapping):
        results = json.loads(Path(results).read_text(encoding="utf-8"))
    out = {}
    for dimension, value in results.items():
        overall = value[0] if isinstance(value, (list, tuple)) else value
        out[dimension.lower().replace(" ", "_")] = float(overall)
    return out


def _weighted(normalized: dict[str, float], dims, weights) -> float:
    return sum(normalized[d] * weights[d] for d in dims) / sum(weights[d] for d in dims)


def normalize(dimension: str, raw: float) -> float:
    """VBench's min-max normalisation (LOVE's dimensions are already on 0-1)."""
    lo, hi = NORMALIZATION.get(dimension, (0.0, 1.0))
    return (raw - lo) / (hi - lo)


def _group_score(normalized: dict[str, float], dims: tuple[str, ...]) -> tuple[float | None, int]:
    present = [d for d in dims if d in normalized]
    return (_weighted(normalized, dims, WEIGHTS) if len(present) == len(dims) else None), len(present)


def vbench_scores(results: Mapping | str | Path, fold_love: bool = False) -> dict:
    """Every computed dimension (raw and normalised), and Quality, Semantic, Total as VBench computes them
    when all of their dimensions are present (None otherwise, with the count in `coverage`).

    `results`: a `{name}_eval_results.json` path or its loaded dict (`{dimension: [overall, ...]}`).
    """
    raw = _overall_scores(results)
    known = [d for d in raw if d in NORMALIZATION or d in LOVE_DIMENSIONS]
    dimensions = {d: {"raw": raw[d], "normalized": normalize(d, raw[d]),
                      "group": "quality" if d in QUALITY_DIMENSIONS else "semantic" if d in SEMANTIC_DIMENSIONS
                      else "LOVE"} for d in known}
    normalized = {d: v["normalized"] for d, v in dimensions.items() if d in NORMALIZATION}
    quality, q_found = _group_score(normalized, QUALITY_DIMENSIONS)
    semantic, s_found = _group_score(normalized, SEMANTIC_DIMENSIONS)
    total = (None if quality is None or semantic is None else
             (QUALITY_WEIGHT * quality + SEMANTIC_WEIGHT * semantic) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT))
    out = {
        "quality": quality,
        "semantic": semantic,
        "total": total,
        "coverage": {"quality": (q_found, len(QUALITY_DIMENSIONS)), "semantic": (s_found, len(SEMANTIC_DIMENSIONS)),
                     "total": (q_found + s_found, len(NORMALIZATION))},
        "missing": [d for d in NORMALIZATION if d not in raw],
        "dimensions": dimensions,
        "love": {d: raw[d] for d in LOVE_DIMENSIONS if d in raw},
    }
    if fold_love:
        love = out["love"]
        weights = dict(WEIGHTS) | {d: 1.0 for d in love}
        folded = dict(normalized) | {d: float(v) for d, v in love.items()}
        q_dims = list(QUALITY_DIMENSIONS) + [d for d in love if LOVE_GROUPS[d] == "quality"]
        s_dims = list(SEMANTIC_DIMENSIONS) + [d for d in love if LOVE_GROUPS[d] == "semantic"]
        q = _weighted(folded, q_dims, weights) if quality is not None else None
        s_ = _weighted(folded, s_dims, weights) if semantic is not None else None
        out["quality_with_love"] = q
        out["semantic_with_love"] = s_
        out["total_with_love"] = (None if q is None or s_ is None else
                                  (QUALITY_WEIGHT * q + SEMANTIC_WEIGHT * s_) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT))
    return out


def _cell(scores: Mapping, key: str) -> str:
    value = scores[key]
    if value is not None:
        return f"{value:.2%}"
    found, total = scores["coverage"][key.removesuffix("_with_love")]
    return f"n/a ({found} of {total} dimensions)"


def format_report(scores_by_model: Mapping[str, Mapping], fold_love: bool = False) -> str:
    """Markdown: one summary row per model (VBench's three scores, then the LOVE columns), then each model's
    computed dimensions with their raw and normalised values."""
    columns = ["Quality", "Semantic", "Total", *LOVE_DIMENSIONS]
    keys = ["quality", "semantic", "total"]
    if fold_love:
        columns += ["Quality + LOVE", "Semantic + LOVE", "Total + LOVE"]
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for model, s in scores_by_model.items():
        cells = [_cell(s, k) for k in keys]
        cells += [f"{s['love'][d]:.2%}" if d in s["love"] else "-" for d in LOVE_DIMENSIONS]
        if fold_love:
            cells += [_cell(s, f"{k}_with_love") for k in keys]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    for model, s in scores_by_model.items():
        lines += ["", f"{model}: computed dimensions", "", "| dimension | group | raw | normalised |",
                  "|---|---|---|---|"]
        lines += [f"| {d} | {v['group']} | {v['raw']:.2%} | {v['normalized']:.2%} |" for d, v in s["dimensions"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.vbench.report",
                                     description="VBench Quality/Semantic/Total with LOVE columns beside them.")
    parser.add_argument("results", nargs="+", type=Path, help="{name}_eval_results.json files")
    parser.add_argument("--fold-love", action="store_true", help="also fold LOVE into extra total columns")
    args = parser.parse_args(argv)
    table = {}
    for path in args.results:
        name = path.name.removesuffix("_eval_results.json")
        table[name] = vbench_scores(path, fold_love=args.fold_love)
    sys.stdout.write(format_report(table, fold_love=args.fold_love))
    return 0


if __name__ == "__main__":
    sys.exit(main())
