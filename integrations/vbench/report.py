"""VBench's Quality / Semantic / Total scores, with the LOVE columns beside them (not folded in).

VBench's published scoring (its `scripts/cal_final_score.py` and `scripts/constant.py`): each of the
16 dimensions is min-max normalised with fixed bounds and weighted (dynamic_degree 0.5, others 1);
Quality = weighted mean of 7 dimensions, Semantic = weighted mean of 9, Total = (4 Quality +
Semantic) / 5. A dimension missing from the results counts as a raw score of 0, as in VBench's
script; the report lists such dimensions so a partial run is never mistaken for a full one.

LOVE's dimensions are shown raw (0-1) beside VBench's. Only with `fold_love=True` are they also
folded into extra columns ("... + LOVE"): love_perception joins Quality, love_correspondence and
love_task_accuracy join Semantic, each with weight 1 and bounds [0, 1]; VBench's own three numbers
are unchanged either way.

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
    return sum(normalized[d] for d in dims) / sum(weights[d] for d in dims)


def vbench_scores(results: Mapping | str | Path, fold_love: bool = False) -> dict:
    """Quality, Semantic, Total as VBench computes them, plus the LOVE columns.

    `results`: a `{name}_eval_results.json` path or its loaded dict (`{dimension: [overall, ...]}`).
    """
    raw = _overall_scores(results)
    scores = {d: raw.get(d, 0.0) for d in NORMALIZATION}
    normalized = {d: (scores[d] - lo) / (hi - lo) * WEIGHTS[d] for d, (lo, hi) in NORMALIZATION.items()}
    quality = _weighted(normalized, QUALITY_DIMENSIONS, WEIGHTS)
    semantic = _weighted(normalized, SEMANTIC_DIMENSIONS, WEIGHTS)
    total = (QUALITY_WEIGHT * quality + SEMANTIC_WEIGHT * semantic) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT)
    out = {
        "quality": quality,
        "semantic": semantic,
        "total": total,
        "missing": [d for d in NORMALIZATION if d not in raw],
        "dimensions": {d: raw[d] for d in raw if d in NORMALIZATION},
        "love": {d: raw[d] for d in LOVE_DIMENSIONS if d in raw},
    }
    if fold_love:
        love = out["love"]
        weights = dict(WEIGHTS) | {d: 1.0 for d in love}
        folded = dict(normalized) | {d: float(v) for d, v in love.items()}
        q_dims = list(QUALITY_DIMENSIONS) + [d for d in love if LOVE_GROUPS[d] == "quality"]
        s_dims = list(SEMANTIC_DIMENSIONS) + [d for d in love if LOVE_GROUPS[d] == "semantic"]
        q, s = _weighted(folded, q_dims, weights), _weighted(folded, s_dims, weights)
        out["quality_with_love"] = q
        out["semantic_with_love"] = s
        out["total_with_love"] = (QUALITY_WEIGHT * q + SEMANTIC_WEIGHT * s) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT)
    return out


def format_report(scores_by_model: Mapping[str, Mapping], fold_love: bool = False) -> str:
    """A Markdown table: one row per model, VBench's three scores then the LOVE columns."""
    columns = ["Quality", "Semantic", "Total", *LOVE_DIMENSIONS]
    if fold_love:
        columns += ["Quality + LOVE", "Semantic + LOVE", "Total + LOVE"]
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    notes = []
    for model, s in scores_by_model.items():
        cells = [f"{s['quality']:.2%}", f"{s['semantic']:.2%}", f"{s['total']:.2%}"]
        cells += [f"{s['love'][d]:.2%}" if d in s["love"] else "-" for d in LOVE_DIMENSIONS]
        if fold_love:
            cells += [f"{s[k]:.2%}" for k in ("quality_with_love", "semantic_with_love", "total_with_love")]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
        if s["missing"]:
            notes.append(f"{model}: {len(s['missing'])} of 16 VBench dimensions missing, counted as 0 as "
                         f"VBench does ({', '.join(s['missing'])})")
    text = "\n".join(lines)
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text + "\n"


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
