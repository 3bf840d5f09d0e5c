"""`love-eval demo` with the packaged love-nano, and the shipped bundle's recorded provenance."""

from __future__ import annotations

import dataclasses
import json

import pytest

from love_plugins.cli import main as cli_main
from love_plugins.nano.recipe import NanoRecipe
from love_plugins.scorer import PACKAGED_MODELS

NANO = PACKAGED_MODELS["love-nano"]
pytestmark = pytest.mark.skipif(not (NANO / "model.safetensors").is_file(), reason="love-nano not bundled")


def test_love_nano_is_small_labelled_and_documented():
    config = json.loads((NANO / "love_config.json").read_text())
    assert "demonstration model" in config["name"]
    assert (NANO / "model.safetensors").stat().st_size < 10 * 2**20
    info = json.loads((NANO / "training_info.json").read_text())
    assert [(h["task"], h["stage"]) for h in info["history"]][-1] == ("qa", "qa")
    assert {"perception", "correspondence", "qa"} <= set(info["heldout"])
    assert 0 < info["total_seconds"] < 30 * 60
    # the bundle is what `scripts/train_love_nano.py` makes with the recipe's defaults; options added to
    # the recipe since it was made are not in its record, and their defaults leave the recipe as it was
    recorded = info["recipe"]
    assert set(recorded) <= set(dataclasses.asdict(NanoRecipe()))
    assert NanoRecipe(**recorded) == NanoRecipe()


def test_demo_writes_report_scores_and_plots(tmp_path):
    out = tmp_path / "demo"
    assert cli_main(["demo", "--out", str(out), "--videos", "15", "--seed", "5"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert "demonstration model" in report["model"]["model"]
    metrics = report["metrics"]
    assert metrics["scored"] == 15 and metrics["failed"] == 0
    for task in ("perception", "correspondence"):
        assert -1 <= metrics[task]["srcc"] <= 1
        assert metrics[task]["model_level"]["n_models"] == 5
        low, high = metrics[task]["srcc_ci"]  # 15 clips: a wide interval around the figure
        assert -1 <= low <= metrics[task]["srcc"] <= high <= 1 and high - low > 0.1
    assert 0 <= metrics["qa"]["accuracy"] <= 1 and metrics["qa"]["per_dimension"]
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert len(rows) == 15 and all(r["error"] is None for r in rows)
    for plot in ("scatter.png", "qa_per_dimension.png", "model_ranking.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "Model level" in md and "plots/scatter.png" in md and "SRCC 95 % CI" in md


def _scored(n: int, seed: int, noise: float):
    """Rows and results of a fake scored suite: predictions are the targets plus Gaussian noise."""
    from types import SimpleNamespace

    import numpy as np

    rng = np.random.default_rng(seed)
    rows, results = [], []
    for i in range(n):
        mos = float(rng.uniform(10, 90))
        answer = "Yes" if i % 2 else "No"
        rows.append({"perception_mos": mos, "correspondence_mos": mos, "answer": answer, "model": f"m{i % 5}",
                     "dimension": "color"})
        right = rng.random() < 0.75
        results.append(
            SimpleNamespace(
                ok=True,
                perception=mos + float(rng.normal(0, noise)),
                correspondence=None,
                qa_answer=answer if right else ("No" if answer == "Yes" else "Yes"),
            )
        )
    return rows, results


def test_confidence_intervals_bracket_the_figure_and_narrow_with_more_clips():
    from love_plugins.metrics import srcc
    from love_plugins.nano.suite_eval import suite_metrics

    widths = []
    for n in (50, 800):
        rows, results = _scored(n, seed=n, noise=25.0)
        assert "srcc_ci" not in suite_metrics(rows, results)["perception"]  # only when asked for
        cis = suite_metrics(rows, results, n_resamples=300)
        low, high = cis["perception"]["srcc_ci"]
        assert low < srcc([r.perception for r in results], [r["perception_mos"] for r in rows]) < high
        qa_low, qa_high = cis["qa"]["accuracy_ci"]
        assert qa_low < 0.75 < qa_high
        assert "correspondence" not in cis  # not scored
        assert cis == suite_metrics(rows, results, n_resamples=300)  # seeded
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # 16x the clips: about a quarter of the width
    rows, results = _scored(40, seed=1, noise=1.0)
    for row, res in zip(rows, results):
        res.qa_answer = row["answer"]
    assert suite_metrics(rows, results, n_resamples=100)["qa"]["accuracy_ci"] == [1.0, 1.0]  # all right
