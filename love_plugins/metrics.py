"""Agreement metrics between LOVE's predictions and human labels.

LOVE (arXiv 2505.12098) predicts MOS (0-100) for perception and text-video
correspondence, and yes/no answers for question answering. Its evaluations report
SRCC, PLCC and KRCC on the raw predictions (scipy ``spearmanr``/``pearsonr``/
``kendalltau``), while the video-quality literature also reports PLCC after a
4-parameter logistic fit. Both PLCC flavours are offered here, under distinct names,
so a report never mixes them up.

Every function accepts lists, numpy arrays or 1-D torch tensors, and rejects bad input
(NaN/inf, mismatched lengths, too few pairs, constant input) with :class:`MetricError`
instead of returning NaN, because a NaN correlation in a results table is easy to miss.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

from love_plugins.errors import LoveError

__all__ = [
    "CorrelationAccumulator",
    "MetricError",
    "accuracy_ci",
    "bootstrap_ci",
    "bootstrap_ci_or_none",
    "correlations",
    "krcc",
    "logistic4",
    "model_level",
    "model_level_accuracy",
    "normalize_answer",
    "plcc",
    "plcc_logistic",
    "qa_accuracy",
    "rmse",
    "srcc",
]

MIN_PAIRS = 3
MIN_MODELS = 3
MIN_LOGISTIC_PAIRS = 10  # a 4-parameter fit on fewer points says little


class MetricError(LoveError, ValueError):
    """Input on which a metric is undefined or meaningless (NaN/inf, too few pairs, constant...)."""


# --------------------------------------------------------------------------- input checks


def _to_numpy(x: Any) -> np.ndarray:
    """Torch tensors go through ``.cpu().double()`` first: numpy cannot hold bfloat16 or CUDA memory."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().double().numpy()
    return np.asarray(x)


def _as_array(x: Any, name: str) -> np.ndarray:
    """A finite, non-empty, 1-D float64 array, or a MetricError naming ``name``."""
    try:
        arr = np.asarray(_to_numpy(x), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricError(f"{name}: not numeric ({exc})") from exc
    if arr.ndim != 1:
        raise MetricError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise MetricError(f"{name}: empty input")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise MetricError(f"{name}: non-finite value {arr[i]} at index {i}")
    return arr


def _pair(pred: Any, target: Any, min_pairs: int = MIN_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (pred, target) pair: both clean, same length, at least ``min_pairs`` long."""
    p, t = _as_array(pred, "pred"), _as_array(target, "target")
    if p.size != t.size:
        raise MetricError(f"length mismatch: pred has {p.size} values, target has {t.size}")
    if p.size < min_pairs:
        raise MetricError(f"need at least {min_pairs} pairs, got {p.size}")
    return p, t


def _correlation_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`_pair`, and also reject constant input, where scipy would return NaN with a warning."""
    p, t = _pair(pred, target)
    for name, arr in (("pred", p), ("target", t)):
        if np.all(arr == arr[0]):
            raise MetricError(f"constant input: correlation is undefined ({name} has a single value)")
    return p, t


def _labels(x: Any, name: str) -> list:
    """A list of per-item labels/answers; a bare string is refused since it would split into characters."""
    if isinstance(x, str | bytes):
        raise MetricError(f"{name}: expected a sequence, got a single string")
    if hasattr(x, "tolist"):  # numpy arrays and torch tensors -> Python scalars
        x = x.tolist()
    items = list(x)
    if not items:
        raise MetricError(f"{name}: empty input")
    return items


def _same_length(a: Sequence, b: Sequence, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise MetricError(f"length mismatch: {name_a} has {len(a)} values, {name_b} has {len(b)}")


# --------------------------------------------------------------------------- correlations


def srcc(pred: Any, target: Any) -> float:
    """Spearman rank correlation on raw predictions (ties get average ranks, as in scipy)."""
    p, t = _correlation_pair(pred, target)
    return float(stats.spearmanr(p, t).statistic)


def krcc(pred: Any, target: Any) -> float:
    """Kendall rank correlation, scipy's default tau-b (corrects for ties)."""
    p, t = _correlation_pair(pred, target)
    return float(stats.kendalltau(p, t).statistic)


def plcc(pred: Any, target: Any) -> float:
    """Pearson correlation on raw predictions, as the LOVE evaluation code reports it."""
    p, t = _correlation_pair(pred, target)
    return float(stats.pearsonr(p, t).statistic)


def rmse(pred: Any, target: Any) -> float:
    """Root mean squared error on raw predictions; only meaningful when both are on the same scale."""
    p, t = _pair(pred, target, min_pairs=1)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def logistic4(x: Any, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``, written with ``expit`` so large |x| cannot overflow."""
    return (b1 - b2) * expit((np.asarray(x, dtype=np.float64) - b3) / np.abs(b4)) + b2


def plcc_logistic(pred: Any, target: Any, *, maxfev: int = 10_000) -> float:
    """PLCC after mapping ``pred`` onto ``target`` with a fitted :func:`logistic4` (VQA convention); see
    :func:`fit_logistic` for the fit."""
    p, t = _correlation_pair(pred, target)
    return float(stats.pearsonr(logistic4(p, *fit_logistic(p, t, maxfev=maxfev)), t).statistic)


def rmse_logistic(pred: Any, target: Any) -> float:
    """RMSE on the label's scale after the :func:`logistic4` mapping: comparable across scorers whatever the
    scale of their outputs (raw RMSE is only meaningful when prediction and label share a scale)."""
    p, t = _correlation_pair(pred, target)
    return float(np.sqrt(np.mean((logistic4(p, *fit_logistic(p, t)) - t) ** 2)))


def fit_logistic(pred: Any, target: Any, *, maxfev: int = 10_000) -> np.ndarray:
    """The parameters (b1, b2, b3, b4) of :func:`logistic4` mapping ``pred`` onto ``target``.

    The map is fitted as a monotonically *increasing* curve (``b1 >= b2``, fitted as ``b2`` plus a
    non-negative rise): a decreasing one would turn an anti-correlated predictor into a good one, so such a
    predictor's fit is flat or nearly so and its PLCC stays at or below zero. Needs at least
    ``MIN_LOGISTIC_PAIRS`` pairs (four parameters are fitted). The 'trf' solver is used: MINPACK's default
    ('lm') takes finite-difference steps relative to each parameter, so it never moves b3 when ``mean(pred)``
    is a tiny non-zero number (e.g. standardised scores). A fit that fails or degenerates raises MetricError
    rather than silently falling back to raw PLCC, which would be mislabelled.
    """
    p, t = _correlation_pair(pred, target)
    if p.size < MIN_LOGISTIC_PAIRS:
        raise MetricError(f"{p.size} pairs: the 4-parameter logistic fit needs at least {MIN_LOGISTIC_PAIRS}")
    std = float(np.std(p))
    span = float(t.max() - t.min())

    def rising(x, b2, rise, b3, b4):
        return logistic4(x, b2 + rise, b2, b3, b4)

    p0 = [float(t.min()), span if span > 0 else 1.0, float(p.mean()), std if std > 0 else 1.0]
    bounds = ([-np.inf, 0.0, -np.inf, -np.inf], [np.inf, np.inf, np.inf, np.inf])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # Parameter covariance is irrelevant here; its "could not be estimated" warning is noise.
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(rising, p, t, p0=p0, bounds=bounds, method="trf", maxfev=maxfev)
    except (RuntimeError, ValueError) as exc:
        raise MetricError(f"logistic fit failed: {exc}") from exc
    fitted = rising(p, *params)
    if not np.all(np.isfinite(fitted)) or np.ptp(fitted) <= 1e-12 * max(1.0, abs(float(fitted[0]))):
        raise MetricError("logistic fit failed: the best increasing curve is flat (predictions do not rise with "
                          "the labels)")
    b2, rise, b3, b4 = params
    return np.array([b2 + rise, b2, b3, b4])


def correlations(pred: Any, target: Any) -> dict[str, Any]:
    """All scalar agreement metrics in one dict, the form reports use.

    Keys: ``srcc``, ``plcc``, ``krcc`` (raw predictions), ``plcc_logistic`` and ``rmse_logistic`` (after the
    4-parameter fit; ``None`` if that fit fails, so one failed fit does not sink a report), ``rmse`` (raw:
    meaningful only where prediction and label share a scale) and ``n``.
    """
    p, t = _correlation_pair(pred, target)
    try:
        mapped: np.ndarray | None = logistic4(p, *fit_logistic(p, t))
    except MetricError:
        mapped = None
    return {
        "srcc": srcc(p, t),
        "plcc": plcc(p, t),
        "krcc": krcc(p, t),
        "plcc_logistic": None if mapped is None else float(stats.pearsonr(mapped, t).statistic),
        "rmse": rmse(p, t),
        "rmse_logistic": None if mapped is None else float(np.sqrt(np.mean((mapped - t) ** 2))),
        "n": int(p.size),
    }


# --------------------------------------------------------------------------- yes/no answers

_TRAILING = " \t\r\n.!?,;:"


def normalize_answer(answer: Any) -> str | None:
    """``"yes"``/``"no"`` for bools and strings like ``"Yes"``, ``" no. "``; ``None`` for anything else."""
    if isinstance(answer, bool | np.bool_):
        return "yes" if answer else "no"
    if isinstance(answer, str):
        word = answer.strip().lower().rstrip(_TRAILING)
        if word in ("yes", "no"):
            return word
    return None


def _accuracy_table(pred_answers: Any, ref_answers: Any, groups: Any, groups_name: str) -> dict[str, Any]:
    """Shared core of :func:`qa_accuracy` and :func:`model_level_accuracy`: overall and per-group counts."""
    preds = _labels(pred_answers, "pred_answers")
    refs = _labels(ref_answers, "ref_answers")
    _same_length(preds, refs, "pred_answers", "ref_answers")
    ref_norm = [normalize_answer(r) for r in refs]
    if None in ref_norm:
        i = ref_norm.index(None)
        raise MetricError(f"ref_answers: not a yes/no answer at index {i}: {refs[i]!r}")
    pred_norm = [normalize_answer(p) for p in preds]
    correct = [p == r for p, r in zip(pred_norm, ref_norm)]

    per_group: dict[Hashable, dict[str, Any]] = {}
    if groups is not None:
        keys = _labels(groups, groups_name)
        _same_length(preds, keys, "pred_answers", groups_name)
        hits: dict[Hashable, list[bool]] = {}
        for key, ok in zip(keys, correct):
            hits.setdefault(key, []).append(ok)
        per_group = {k: {"accuracy": sum(v) / len(v), "n": len(v)} for k, v in hits.items()}
    return {
        "accuracy": sum(correct) / len(correct),
        "n": len(correct),
        "invalid": pred_norm.count(None),
        "per_group": per_group,
    }


def qa_accuracy(pred_answers: Any, ref_answers: Any, dimensions: Any = None) -> dict[str, Any]:
    """Yes/no accuracy, overall and per question dimension.

    Predictions that do not normalise to yes/no count as wrong and are tallied under
    ``invalid`` (a model that rambles should not get a free pass); reference answers must
    all be yes/no. Returns ``{"accuracy", "n", "invalid", "per_dimension": {dim: {"accuracy", "n"}}}``.
    """
    table = _accuracy_table(pred_answers, ref_answers, dimensions, "dimensions")
    table["per_dimension"] = table.pop("per_group")
    return table


# --------------------------------------------------------------------------- model level


def _group_means(values: np.ndarray, models: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted model names, per-model counts and per-model means of each row of ``values``."""
    names = [str(m) for m in _labels(models, "models")]
    if len(names) != n:
        raise MetricError(f"length mismatch: pred has {n} values, models has {len(names)}")
    uniq, inverse, counts = np.unique(np.asarray(names), return_inverse=True, return_counts=True)
    if uniq.size < MIN_MODELS:
        raise MetricError(f"need at least {MIN_MODELS} models, got {uniq.size}")
    means = np.stack([np.bincount(inverse, weights=row) / counts for row in values])
    return uniq, counts, means


def model_level(pred: Any, target: Any, models: Any) -> dict[str, Any]:
    """Correlation between per-generator means of ``pred`` and ``target`` (ranking of T2V models).

    Model names are compared as strings and listed in sorted order, so the result does
    not depend on the order of the samples. Returns ``{"models": [{"model", "pred_mean",
    "target_mean", "n"}], "srcc", "plcc", "krcc", "n_models"}``.
    """
    p, t = _pair(pred, target, min_pairs=1)
    names, counts, (pred_means, target_means) = _group_means(np.stack([p, t]), models, p.size)
    rows = [
        {"model": str(m), "pred_mean": float(pm), "target_mean": float(tm), "n": int(c)}
        for m, pm, tm, c in zip(names, pred_means, target_means, counts)
    ]
    return {
        "models": rows,
        "srcc": srcc(pred_means, target_means),
        "plcc": plcc(pred_means, target_means),
        "krcc": krcc(pred_means, target_means),
        "n_models": len(rows),
    }


def model_level_accuracy(
    pred_answers: Any,
    ref_answers: Any,
    models: Any,
    reference: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Per-generator yes/no accuracy, and its SRCC against a human per-model ``reference`` if given.

    Returns ``{"models": [{"model", "accuracy", "n"}], "accuracy", "n", "invalid", "srcc"}``
    with models in sorted order; ``srcc`` is ``None`` without a reference. Every model must
    appear in ``reference``: silently dropping one would change the ranking being scored.
    """
    table = _accuracy_table(pred_answers, ref_answers, [str(m) for m in _labels(models, "models")], "models")
    per_model = table.pop("per_group")
    rows = [{"model": m, **per_model[m]} for m in sorted(per_model)]
    table["models"] = rows
    table["srcc"] = None
    if reference is not None:
        if len(rows) < MIN_MODELS:
            raise MetricError(f"need at least {MIN_MODELS} models, got {len(rows)}")
        missing = [r["model"] for r in rows if r["model"] not in reference]
        if missing:
            raise MetricError(f"reference: no value for models {missing}")
        table["srcc"] = srcc([r["accuracy"] for r in rows], [reference[r["model"]] for r in rows])
    return table


# --------------------------------------------------------------------------- bootstrap

# scipy 1.15 renamed bootstrap's ``random_state`` to ``rng``; the project allows scipy>=1.11.
_RNG_ARG = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """BCa confidence interval of ``metric(*arrays)``, resampling the arrays' items jointly (paired).

    Deterministic for a given ``seed``. If ``metric`` is undefined on a resample (e.g. a
    constant resample of a tiny data set) the MetricError is re-raised with that context.
    """
    if not arrays:
        raise MetricError("bootstrap_ci: no arrays given")
    data = [_as_array(a, f"arrays[{i}]") for i, a in enumerate(arrays)]
    for i, a in enumerate(data[1:], start=1):
        _same_length(data[0], a, "arrays[0]", f"arrays[{i}]")
    try:
        res = stats.bootstrap(
            data,
            metric,
            n_resamples=n_resamples,
            confidence_level=confidence_level,
            paired=True,
            vectorized=False,
            **{_RNG_ARG: np.random.default_rng(seed)},
        )
    except MetricError as exc:
        raise MetricError(f"bootstrap_ci: metric undefined on a resample: {exc}") from exc
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def bootstrap_ci_or_none(
    metric: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> list[float] | None:
    """`bootstrap_ci` as ``[low, high]`` for reports: None where it is switched off (``n_resamples``
    <= 0), undefined (the metric fails on a resample) or not finite, so a report says "n/a" instead
    of failing."""
    if n_resamples <= 0:
        return None
    try:
        low, high = bootstrap_ci(metric, *arrays, n_resamples=n_resamples, confidence_level=confidence_level,
                                 seed=seed)
    except (MetricError, ValueError):
        return None
    return [low, high] if np.isfinite(low) and np.isfinite(high) else None


def accuracy_ci(pred_answers: Any, ref_answers: Any, n_resamples: int = 1000, confidence_level: float = 0.95,
                seed: int = 0) -> list[float] | None:
    """Bootstrap interval of :func:`qa_accuracy`'s accuracy (an answer that is not yes/no counts as
    wrong). All right or all wrong leaves nothing to resample: the interval is that share on both ends."""
    preds, refs = _labels(pred_answers, "pred_answers"), _labels(ref_answers, "ref_answers")
    _same_length(preds, refs, "pred_answers", "ref_answers")
    correct = np.array([normalize_answer(p) == normalize_answer(r) for p, r in zip(preds, refs)], dtype=float)
    if correct.min() == correct.max():
        return [float(correct[0]), float(correct[0])]
    return bootstrap_ci_or_none(np.mean, correct, n_resamples=n_resamples, confidence_level=confidence_level,
                                seed=seed)


# --------------------------------------------------------------------------- streaming


class CorrelationAccumulator:
    """Collects (pred, target[, model]) batches during evaluation and computes metrics at the end.

    It keeps every pair rather than running sums, because rank correlations and the
    logistic fit need all the data; that is also what makes merging exact. States are
    plain Python lists, so they travel through ``torch.distributed.all_gather_object``
    or JSON unchanged.
    """

    def __init__(self) -> None:
        self._pred: list[float] = []
        self._target: list[float] = []
        self._models: list[str] | None = None  # None until the first update decides

    def __len__(self) -> int:
        return len(self._pred)

    def _check_models(self, has_models: bool) -> None:
        """Refuse mixing batches with and without model names: model_level would be wrong."""
        if self._pred and (self._models is not None) != has_models:
            raise MetricError("models were given for some batches but not others")

    def update(self, pred: Any, target: Any, model: Any = None) -> None:
        """Add a batch; ``model`` is one name for the whole batch, or one name per item."""
        p, t = _pair(pred, target, min_pairs=1)
        names: list[str] | None = None
        if model is not None:
            names = (
                [str(model)] * p.size if isinstance(model, str) else [str(m) for m in _labels(model, "model")]
            )
            _same_length(p, names, "pred", "model")
        self._check_models(names is not None)
        self._pred.extend(p.tolist())
        self._target.extend(t.tolist())
        if names is not None:
            self._models = (self._models or []) + names

    def compute(self) -> dict[str, Any]:
        """:func:`correlations` over everything seen, plus ``model_level`` when model names were given."""
        if not self._pred:
            raise MetricError("CorrelationAccumulator: empty input (no update() before compute())")
        result = correlations(self._pred, self._target)
        if self._models is not None:
            result["model_level"] = model_level(self._pred, self._target, self._models)
        return result

    def merge(self, other: CorrelationAccumulator) -> CorrelationAccumulator:
        """Append ``other``'s pairs after this one's (in place) and return ``self``."""
        if other._pred:
            self._check_models(other._models is not None)
            if other._models is not None:
                self._models = (self._models or []) + other._models
            self._pred.extend(other._pred)
            self._target.extend(other._target)
        return self

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python copy of the state: ``{"pred": [...], "target": [...], "models": [...] | None}``."""
        models = None if self._models is None else list(self._models)
        return {"pred": list(self._pred), "target": list(self._target), "models": models}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> CorrelationAccumulator:
        """Rebuild an accumulator from :meth:`state_dict` output (validated like an update)."""
        acc = cls()
        if state["pred"] or state["target"]:
            acc.update(state["pred"], state["target"], state.get("models"))
        return acc

    def sync(self) -> CorrelationAccumulator:
        """A new accumulator holding every rank's pairs, in rank order; ``self`` is left unchanged.

        Returns a copy when torch.distributed is not initialised. Torch is imported here,
        not at module import, so the metrics stay usable without it.
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return CorrelationAccumulator().merge(self)
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, self.state_dict())
        merged = CorrelationAccumulator()
        for state in gathered:
            merged.merge(CorrelationAccumulator.from_state_dict(state))
        return merged
