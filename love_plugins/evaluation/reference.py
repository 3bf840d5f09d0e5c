"""Published figures, shipped as package data, to print beside our numbers (always labelled as such).

- ``reference/v2t_instance_level.csv`` / ``v2t_model_level.csv``: the 48 evaluators of the LOVE paper on
  the AIGVE-60K test split (perception / correspondence SRCC, QA accuracy — in % at instance level, as
  a 0-1 correlation at model level);
- ``reference/t2v_leaderboard.csv``: the 30 T2V models' human results on AIGVE-60K;
- `OTHER_PUBLISHED`: best published same-dataset-trained results on other datasets (SPEC §4).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
SOURCE = "LOVE paper (arXiv 2505.12098), AIGVE-60K test split"

# Our scorer -> the row of the paper's table measuring the same thing.
COMPARABLE = {"flicker": "V-Temporal Flickering", "niqe": "NIQE", "love": "LOVE (Ours)"}
# Rows always shown for context: LOVE, the best non-LOVE per column, the classical baselines.
CONTEXT_ROWS = ("LOVE (Ours)", "Grok2 Vision", "InternVL2.5 (38B)", "NIQE", "BRISQUE", "DOVER",
                "V-Temporal Flickering")

OTHER_PUBLISHED = {
    "aigvqa-db": [{"method": "AIGV-Assessor", "label": "static_quality", "srcc": 0.9162, "plcc": 0.9190,
                   "note": "same-dataset training"}],
    "t2vqa-db": [{"method": "AIGV-Assessor", "label": "mos", "srcc": 0.8131, "plcc": 0.8222,
                  "note": "same-dataset training"}],
    "videofeedback": [{"method": "VideoScore", "label": "average of 5 aspects", "srcc": 0.771, "plcc": None,
                       "note": "VideoFeedback-test, same-dataset training (published as 77.1)"}],
}


@cache
def load_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a packaged reference CSV (``v2t_instance_level``, ``v2t_model_level``, ``t2v_leaderboard``)."""
    path = REFERENCE_DIR / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def comparable_method(scorer_name: str) -> str | None:
    low = scorer_name.lower()
    for key, method in COMPARABLE.items():
        if key in low:
            return method
    return None


def v2t_rows(scorer_names: list[str] | None = None) -> list[dict]:
    """Published AIGVE-60K rows (instance and model level side by side) for context and our scorers."""
    wanted = list(CONTEXT_ROWS)
    for name in scorer_names or []:
        method = comparable_method(name)
        if method and method not in wanted:
            wanted.append(method)
    inst = {r["method"]: r for r in load_table("v2t_instance_level")}
    model = {r["method"]: r for r in load_table("v2t_model_level")}
    rows = []
    for method in wanted:
        if method not in inst:
            continue
        i, m = inst[method], model.get(method, {})
        rows.append({
            "method": method,
            "perception_srcc": float(i["perception_srcc"]),
            "correspondence_srcc": float(i["correspondence_srcc"]),
            "qa_accuracy_pct": float(i["qa"]),
            "model_perception_srcc": float(m["perception_srcc"]) if m else None,
            "model_correspondence_srcc": float(m["correspondence_srcc"]) if m else None,
            "model_qa": float(m["qa"]) if m else None,
            "ours": [n for n in scorer_names or [] if comparable_method(n) == method],
        })
    return rows


def leaderboard() -> list[dict]:
    return [dict(r) for r in load_table("t2v_leaderboard")]


def published_for(dataset_adapter: str) -> list[dict]:
    """Published rows for a dataset other than AIGVE-60K (may be empty)."""
    return list(OTHER_PUBLISHED.get(dataset_adapter, []))
