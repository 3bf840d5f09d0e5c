"""`love-eval demo` with the packaged love-nano, and the shipped bundle's recorded provenance."""

from __future__ import annotations

import json

import pytest

from love_plugins.cli import main as cli_main
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
    assert info["total_seconds"] > 0


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
    assert 0 <= metrics["qa"]["accuracy"] <= 1 and metrics["qa"]["per_dimension"]
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert len(rows) == 15 and all(r["error"] is None for r in rows)
    for plot in ("scatter.png", "qa_per_dimension.png", "model_ranking.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "Model level" in md and "plots/scatter.png" in md
