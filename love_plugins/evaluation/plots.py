"""The figures of an evaluation report (matplotlib, Agg): each as PNG (for the HTML and markdown) and SVG (for a
paper), with the number of axes and the pixel size recorded so a test can check what was drawn.

- prediction vs label: one panel per scorer and label, points coloured by generator model, the identity line
  where prediction and label share a scale, the fitted 4-parameter logistic with its 95 % bootstrap band, and
  SRCC / PLCC / KRCC with their intervals in the title;
- QA accuracy per dimension: sorted bars with 95 % bootstrap intervals and n per bar;
- model level: per generator the predicted mean (bar, 95 % bootstrap interval over its videos) beside the
  label's mean, sorted by the label.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import numpy as np

from .. import metrics

BAND_RESAMPLES = 200
PANEL = (4.6, 4.0)  # inches per panel: readable, not a strip


@dataclass
class Plot:
    name: str  # file stem
    caption: str
    png: bytes
    svg: bytes
    axes: int  # drawn axes (panels), colour bars excluded
    size: tuple[int, int]  # PNG width, height in pixels


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _render(fig, name: str, caption: str) -> Plot:
    plt = _plt()
    axes = sum(1 for ax in fig.axes if ax.get_visible() and ax.axison)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    fig.savefig(svg, format="svg")
    width, height = fig.canvas.get_width_height()
    plt.close(fig)
    return Plot(name, caption, png.getvalue(), svg.getvalue(), axes, (width, height))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80]


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _with_ci(inst: dict, key: str) -> str:
    ci = inst.get(f"{key}_ci")
    return _fmt(inst.get(key)) + (f" [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]" if ci else "")


def logistic_band(pred: np.ndarray, target: np.ndarray, grid: np.ndarray, seed: int = 0):
    """The fitted logistic on `grid` and its 95 % bootstrap band (None where the fit fails)."""
    try:
        curve = metrics.logistic4(grid, *metrics.fit_logistic(pred, target))
    except metrics.MetricError:
        return None, None
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(BAND_RESAMPLES):
        idx = rng.integers(0, pred.size, pred.size)
        try:
            curves.append(metrics.logistic4(grid, *metrics.fit_logistic(pred[idx], target[idx])))
        except metrics.MetricError:
            continue
    band = np.percentile(np.asarray(curves), [2.5, 97.5], axis=0) if len(curves) >= 20 else None
    return curve, band


def _panels(count: int):
    """A figure with `count` readable panels, three to a row."""
    cols = min(3, count)
    rows = math.ceil(count / cols)
    return _plt().subplots(rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False)


def scatter_plot(dataset: str, cells: list[tuple[dict, str]]) -> Plot:
    """Prediction vs label, one panel per (result, label)."""
    fig, axes = _panels(len(cells))
    for ax, (result, label) in zip(axes.flat, cells):
        points = result["points"][label]
        pred, target = np.asarray(points["pred"], float), np.asarray(points["target"], float)
        models = points.get("model") or [None] * len(pred)
        names = sorted({m for m in models if m})
        colours = _plt().get_cmap("tab20" if len(names) > 10 else "tab10")
        for k, name in enumerate(names or [None]):
            mask = np.array([m == name for m in models])
            ax.scatter(target[mask], pred[mask], s=10, alpha=0.7, color=colours(k % colours.N),
                       label=name or "videos")
        lo, hi = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
        same_scale = (result["labels"][label].get("instance") or {}).get("rmse") is not None
        if same_scale:
            ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, ls=":", label="identity")
        grid = np.linspace(pred.min(), pred.max(), 100)
        curve, band = logistic_band(pred, target, grid)
        if curve is not None:  # the logistic maps prediction -> label: drawn with the label on x
            ax.plot(curve, grid, color="black", lw=1.2, label="logistic fit")
            if band is not None:
                ax.fill_betweenx(grid, band[0], band[1], color="black", alpha=0.12, label="95 % band")
        inst = result["labels"][label].get("instance") or {}
        ax.set_title(f"{result['scorer_name'][:40]} — {label}\nSRCC {_with_ci(inst, 'srcc')}  "
                     f"PLCC {_with_ci(inst, 'plcc')}\nKRCC {_with_ci(inst, 'krcc')}  n={len(pred)}", fontsize=8)
        ax.set_xlabel(f"label: {label}", fontsize=8)
        ax.set_ylabel(f"predicted {result['labels'][label]['output']}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best", ncol=2 if len(names) > 6 else 1)
    for ax in list(axes.flat)[len(cells):]:
        ax.axis("off")
    fig.suptitle(f"{dataset}: prediction vs label", fontsize=11)
    fig.tight_layout()
    return _render(fig, f"scatter_{slug(dataset)}", f"{dataset}: prediction vs label")


def accuracy_interval(correct: int, n: int, seed: int = 0, resamples: int = 2000) -> tuple[float, float]:
    """95 % bootstrap interval of an accuracy from its n answers (k right): resampling n answers with replacement
    draws the number right from Binomial(n, k / n)."""
    draws = np.random.default_rng(seed).binomial(n, correct / n, resamples) / n
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def qa_bars(dataset: str, results: list[dict]) -> Plot:
    """QA accuracy per dimension, one panel per scorer, bars sorted, 95 % bootstrap intervals, n per bar."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(results), figsize=(PANEL[0] * len(results), PANEL[1]), squeeze=False)
    for ax, result in zip(axes.flat, results):
        per = sorted(result["qa"]["per_dimension"].items(), key=lambda kv: -kv[1]["accuracy"])
        acc = [d["accuracy"] for _, d in per]
        lows, highs = zip(*(accuracy_interval(round(d["accuracy"] * d["n"]), d["n"]) for _, d in per))
        err = [np.subtract(acc, lows), np.subtract(highs, acc)]
        ax.bar(range(len(per)), acc, yerr=err, capsize=3, color="C0")
        ax.set_xticks(range(len(per)), [f"{k}\nn={d['n']}" for k, d in per], rotation=45, ha="right", fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("QA accuracy (95 % bootstrap interval)", fontsize=8)
        ax.set_title(f"{result['scorer_name'][:40]}: accuracy {_fmt(result['qa'].get('accuracy'))}", fontsize=9)
    fig.suptitle(f"{dataset}: QA accuracy per dimension", fontsize=11)
    fig.tight_layout()
    return _render(fig, f"qa_dimensions_{slug(dataset)}", f"{dataset}: QA accuracy per dimension")


def _mean_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    if values.size < 2:
        return float(values.mean()), float(values.mean())
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (1000, values.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def model_bars(dataset: str, cells: list[tuple[dict, str]]) -> Plot:
    """Per generator: the predicted mean (bar, 95 % bootstrap interval) and the label's mean (dot), sorted."""
    fig, axes = _panels(len(cells))
    for ax, (result, label) in zip(axes.flat, cells):
        points = result["points"][label]
        pred, target, models = np.asarray(points["pred"], float), np.asarray(points["target"], float), points["model"]
        names = sorted(set(models), key=lambda m: -target[[x == m for x in models]].mean())
        means = [pred[[x == m for x in models]].mean() for m in names]
        cis = [_mean_ci(pred[[x == m for x in models]]) for m in names]
        counts = [sum(x == m for x in models) for m in names]
        ax.bar(range(len(names)), means, yerr=[np.subtract(means, [c[0] for c in cis]),
                                              np.subtract([c[1] for c in cis], means)], capsize=3, color="C1",
               label="predicted mean")
        twin = ax.twinx()
        twin.plot(range(len(names)), [target[[x == m for x in models]].mean() for m in names], "ko",
                  label="label mean")
        twin.set_ylabel(f"label: {label}", fontsize=8)
        ax.set_xticks(range(len(names)), [f"{m}\nn={c}" for m, c in zip(names, counts)], rotation=45, ha="right",
                      fontsize=7)
        ml = result["labels"][label].get("model_level") or {}
        ax.set_title(f"{result['scorer_name'][:40]} — {label}\nmodel-level SRCC {_fmt(ml.get('srcc'))}", fontsize=8)
        ax.set_ylabel(f"predicted {result['labels'][label]['output']}", fontsize=8)
    for ax in list(axes.flat)[len(cells):]:
        ax.axis("off")
    fig.suptitle(f"{dataset}: generators, sorted by the label (bars: prediction, dots: label)", fontsize=11)
    fig.tight_layout()
    return _render(fig, f"model_ranking_{slug(dataset)}", f"{dataset}: model level")


def make_plots(results: list[dict]) -> list[Plot]:
    """Every figure of a report, dataset by dataset."""
    plots = []
    for dataset in dict.fromkeys(r["dataset"]["name"] for r in results):
        here = [r for r in results if r["dataset"]["name"] == dataset]
        cells = [(r, label) for r in here for label, pts in r["points"].items() if len(pts["pred"]) >= 2]
        if cells:
            plots.append(scatter_plot(dataset, cells))
        with_qa = [r for r in here if (r.get("qa") or {}).get("per_dimension")]
        if with_qa:
            plots.append(qa_bars(dataset, with_qa))
        ranked = [(r, label) for r, label in cells if all(r["points"][label].get("model") or [None])
                  and len(set(r["points"][label]["model"])) >= 2]
        if ranked:
            plots.append(model_bars(dataset, ranked))
    return plots
