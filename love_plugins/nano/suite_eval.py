"""Score a synthetic suite with a `Scorer` and compare with its known targets (instance and model level).

Used by `love-eval demo` and by the love-nano build (held-out figures).
"""

from __future__ import annotations

from pathlib import Path

from ..metrics import (
    MetricError,
    accuracy_ci,
    bootstrap_ci_or_none,
    correlations,
    model_level,
    model_level_accuracy,
    qa_accuracy,
    srcc,
)

SCORE_TASKS = ("perception", "correspondence")
CI_RESAMPLES = 1000  # bootstrap resamples of the clips for the 95 % intervals (seeded: same suite, same interval)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def suite_metrics(rows: list[dict], results: list, n_resamples: int = 0, seed: int = 0) -> dict:
    """Instance- and model-level agreement of `results` (VideoScore, same order) with the rows' targets.

    With ``n_resamples`` > 0, also 95 % BCa bootstrap intervals over the clips of the instance-level
    SRCC (``srcc_ci``) and the QA accuracy (``accuracy_ci``), as `love-eval evaluate` reports them (None
    where undefined). They say how far a figure could move on another suite of the same size: on 200
    clips love-nano's perception SRCC of 0.65 has an interval of 0.54-0.73, wider than most differences
    between its recipe variants.
    """
    ok = [(row, res) for row, res in zip(rows, results) if res.ok]
    out: dict = {"videos": len(rows), "scored": len(ok), "failed": len(rows) - len(ok)}
    models = [row["model"] for row, _ in ok]
    for task in SCORE_TASKS:
        pairs = [(getattr(res, task), row[f"{task}_mos"]) for row, res in ok if getattr(res, task) is not None]
        if not pairs:
            continue
        pred, target = [p for p, _ in pairs], [t for _, t in pairs]
        try:
            entry = {k: v for k, v in correlations(pred, target).items()}
        except MetricError as exc:
            entry = {"error": str(exc)}
        try:
            entry["model_level"] = model_level(pred, target, models)
        except MetricError as exc:
            entry["model_level"] = {"error": str(exc)}
        if n_resamples > 0:
            entry["srcc_ci"] = bootstrap_ci_or_none(srcc, pred, target, n_resamples=n_resamples, seed=seed)
        out[task] = entry
    answered = [(row, res) for row, res in ok if res.qa_answer is not None]
    if answered:
        answers = [res.qa_answer for _, res in answered]
        refs = [row["answer"] for row, _ in answered]
        out["qa"] = qa_accuracy(answers, refs, [row["dimension"] for row, _ in answered])
        out["qa"]["model_level"] = model_level_accuracy(answers, refs, [row["model"] for row, _ in answered])
        if n_resamples > 0:
            out["qa"]["accuracy_ci"] = accuracy_ci(answers, refs, n_resamples=n_resamples, seed=seed)
    return _plain(out)


def evaluate_suite(scorer, suite: str | Path, progress: bool = False, n_resamples: int = 0,
                   tasks: tuple[str, ...] | None = None) -> tuple[dict, list, list[dict]]:
    """(metrics, results, rows): every clip of the suite scored on `tasks` (default: all the scorer's);
    with ``n_resamples`` > 0 the metrics carry bootstrap intervals (`suite_metrics`)."""
    from ..synth import read_manifest

    suite = Path(suite)
    rows = read_manifest(suite)
    tasks = tuple(t for t in ("perception", "correspondence", "qa") if t in scorer.tasks and t in (tasks or scorer.tasks))
    results = scorer.score([str(suite / r["video"]) for r in rows], prompts=[r["prompt"] for r in rows],
                           questions=[r["question"] for r in rows], tasks=tasks, progress=progress)
    return suite_metrics(rows, results, n_resamples), results, rows
