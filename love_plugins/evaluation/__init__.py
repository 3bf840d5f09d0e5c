"""Evaluation harness: any scorer × any dataset → metrics with CIs → JSON, CSV, markdown and HTML reports.

    from love_plugins.datasets import load_dataset
    from love_plugins.evaluation import EvalSettings, evaluate, resolve_scorer, write_report
    ds = load_dataset("aigve60k", root, split="test")
    results = [evaluate(resolve_scorer(m), ds, settings=EvalSettings(cache_dir="cache")) for m in ("love-nano", "niqe")]
    write_report(results, "out/")

See `harness` for the scorer protocol and the label -> output mapping, `report` for the files.
"""

from __future__ import annotations

from .harness import (
    EvalSettings,
    ScorerProtocol,
    evaluate,
    evaluate_many,
    parse_mapping,
    resolve_mapping,
    resolve_scorer,
    score_dataset,
    scorer_name,
)
from .report import table_rows, write_report

__all__ = [
    "EvalSettings",
    "ScorerProtocol",
    "evaluate",
    "evaluate_many",
    "parse_mapping",
    "resolve_mapping",
    "resolve_scorer",
    "score_dataset",
    "scorer_name",
    "table_rows",
    "write_report",
]
