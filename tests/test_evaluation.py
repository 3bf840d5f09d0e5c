"""Evaluation harness, reports and the evaluate / generalize commands, end to end on the synthetic suite."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from love_plugins import metrics
from love_plugins.baselines import get_baseline
from love_plugins.datasets import load_dataset
from love_plugins.datasets.fixtures import write_format
from love_plugins.errors import LoveError
from love_plugins.evaluation import (
    EvalSettings,
    evaluate,
    parse_mapping,
    reference,
    resolve_mapping,
    table_rows,
    write_report,
)
from love_plugins.results import read_rows

NUM_VIDEOS = 15
LIMIT = 6  # LOVE scores only a handful of clips


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    from love_plugins.synth import generate_suite

    return generate_suite(tmp_path_factory.mktemp("suite"), NUM_VIDEOS, seed=5).root


@pytest.fixture(scope="module")
def dataset(suite):
    return load_dataset("aigve60k", suite, split=None)


@pytest.fixture(scope="module")
def love_scorer():
    """love-nano when a colleague's trained bundle is installed, else the random tiny model."""
    from love_plugins import scorer as scorer_module

    name = "love-nano" if scorer_module.PACKAGED_MODELS["love-nano"].is_dir() else "tiny-random"
    return scorer_module.load(name, device="cpu", batch_size=4)


class OracleScorer:
    """A third-party scorer: reads the answer key. Proves the harness takes any object of the protocol."""

    tasks = ("perception", "correspondence", "qa")

    def __init__(self, dataset):
        self.by_video = {r.video: r for r in dataset}
        self.calls = 0

    def describe(self):
        return {"model": "oracle", "sampler": {}, "versions": {}}

    def score(self, videos, prompts=None, questions=None, tasks=None):
        self.calls += len(videos)
        out = []
        for v in videos:
            rec = self.by_video[v]
            out.append({"video": v, "perception": rec.labels["perception"],
                        "correspondence": rec.labels["correspondence"] if "correspondence" in tasks else None,
                        "qa_answer": rec.answer if "qa" in tasks else None, "error": None})
        return out


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, dataset, love_scorer):
    out = tmp_path_factory.mktemp("eval")
    settings = EvalSettings(n_resamples=60, limit=LIMIT, cache_dir=str(out / "cache"))
    scorers = [love_scorer, get_baseline("flicker"), get_baseline("niqe", num_frames=1)]
    results = [evaluate(s, dataset, settings=settings) for s in scorers]
    paths = write_report(results, out, title="test report")
    return results, paths, out


# --------------------------------------------------------------------------- harness


def test_oracle_scorer_is_perfect(dataset):
    scorer = OracleScorer(dataset)
    res = evaluate(scorer, dataset, settings=EvalSettings(n_resamples=0))
    for label in ("perception", "correspondence"):
        inst = res["labels"][label]["instance"]
        assert inst["srcc"] == pytest.approx(1.0) and inst["plcc"] == pytest.approx(1.0)
        assert inst["srcc_ci"] is None  # bootstrap disabled
        assert res["labels"][label]["model_level"]["srcc"] == pytest.approx(1.0)
    assert res["qa"]["accuracy"] == 1.0 and res["qa"]["accuracy_ci"] == [1.0, 1.0]
    assert set(res["qa"]["per_dimension"]) == {r.dimension for r in dataset}
    assert res["counts"] == {**res["counts"], "records": NUM_VIDEOS, "scored": NUM_VIDEOS, "failed": 0}


def test_cache_is_reused(dataset, tmp_path):
    scorer = OracleScorer(dataset)
    settings = EvalSettings(n_resamples=0, cache_dir=str(tmp_path))
    first = evaluate(scorer, dataset, settings=settings)
    assert scorer.calls == NUM_VIDEOS
    second = evaluate(scorer, dataset, settings=settings)
    assert scorer.calls == NUM_VIDEOS  # nothing scored again
    assert second["labels"]["perception"]["instance"] == first["labels"]["perception"]["instance"]


def test_mapping_defaults_and_overrides(dataset, suite, tmp_path):
    assert resolve_mapping(dataset) == {"perception": "perception", "correspondence": "correspondence"}
    assert resolve_mapping(dataset, {"perception": "correspondence", "correspondence": "none"}) == {
        "perception": "correspondence"}
    assert parse_mapping("a=perception, b=none") == {"a": "perception", "b": "none"}
    with pytest.raises(LoveError, match="output must be"):
        parse_mapping("a=quality")
    with pytest.raises(LoveError, match="has no label 'nope'"):
        resolve_mapping(dataset, {"nope": "perception"})
    fetv = load_dataset("fetv", write_format("fetv", suite, tmp_path / "fetv"))
    assert resolve_mapping(fetv) == {"static_quality": "perception", "temporal_quality": "perception",
                                     "alignment": "correspondence", "fine_grained_alignment": "correspondence"}


def test_frame_folder_dataset_is_scored(suite, tmp_path):
    ds = load_dataset("videofeedback", write_format("videofeedback", suite, tmp_path / "vf", max_frames=4),
                      split=None)
    res = evaluate(get_baseline("flicker"), ds, settings=EvalSettings(n_resamples=0, limit=5,
                                                                      cache_dir=str(tmp_path / "c")))
    assert res["counts"]["scored"] == 5 and res["counts"]["failed"] == 0
    assert res["labels"]["visual_quality"]["n"] == 5
    assert res["labels"]["text_to_video_alignment"].get("skipped")  # flicker has no correspondence


def test_unreadable_video_is_a_failure_not_a_crash(suite, tmp_path):
    root = write_format("manifest", suite, tmp_path / "m")
    ds = load_dataset("manifest", root)
    broken = Path(ds.records[0].video)
    broken.unlink()  # fixtures hard-link the suite's videos: break the link, do not corrupt the suite
    broken.write_bytes(b"garbage")
    res = evaluate(get_baseline("flicker"), ds, settings=EvalSettings(n_resamples=0))
    assert res["counts"]["failed"] == 1 and res["failures"][0]["video"] == ds.records[0].video
    assert res["labels"]["perception_mos"]["n"] == NUM_VIDEOS - 1


# --------------------------------------------------------------------------- report numbers


def test_report_files_exist(evaluated):
    results, paths, out = evaluated
    for p in paths.values():
        assert p.is_file() and p.stat().st_size > 0
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") >= 2 and "<img" in html and "src='http" not in html
    assert "Published figures" in html and "0.7932" in html  # LOVE's published perception SRCC
    md = paths["markdown"].read_text()
    assert "Published figures" in md and "not computed here" in md and "baseline:niqe" in md
    assert (out / "plots").is_dir() and any((out / "plots").glob("scatter_*.png"))
    payload = json.loads(paths["json"].read_text())
    for res in payload["results"]:
        assert {"model", "sampler", "versions"} <= set(res["scorer"])
    assert payload["results"][0]["scorer"]["sampler"] == results[0]["scorer"]["sampler"]


def test_report_numbers_equal_the_metrics_module(evaluated, dataset):
    results, paths, out = evaluated
    labels = {r.video: r for r in dataset.records[:LIMIT]}
    with paths["csv"].open() as handle:
        csv_rows = list(csv.DictReader(handle))
    md = paths["markdown"].read_text()
    json_results = json.loads(paths["json"].read_text())["results"]
    checked = 0
    for res, jres in zip(results, json_results):
        # Recompute from the per-video score cache and the annotations, independently of the harness.
        cache = next(Path(out / "cache").glob(f"{res['scorer_name'].split(' ')[0].replace(':', '_')}*.jsonl"))
        rows = {r["video"]: r for r in read_rows(cache)}
        assert not any(r.get("error") for r in rows.values())
        for label, entry in res["labels"].items():
            if entry.get("skipped"):
                continue
            pairs = [(float(rows[v][entry["output"]]), rec.labels[label]) for v, rec in labels.items()
                     if rows[v].get(entry["output"]) is not None]
            expected = metrics.correlations([p for p, _ in pairs], [t for _, t in pairs])
            got = jres["labels"][label]["instance"]
            for key in ("srcc", "plcc", "krcc", "n"):
                assert got[key] == pytest.approx(expected[key], abs=1e-12)
            # Raw RMSE only where the output is on the label's scale (LOVE's MOS), after the logistic map always.
            same_scale = not res["scorer_name"].startswith("baseline:")
            assert got["rmse"] == (pytest.approx(expected["rmse"], abs=1e-12) if same_scale else None)
            assert got["rmse_logistic"] == (None if expected["rmse_logistic"] is None
                                            else pytest.approx(expected["rmse_logistic"], abs=1e-9))
            row = next(r for r in csv_rows if r["scorer"] == res["scorer_name"] and r["label"] == label
                       and r["level"] == "instance")
            for key in ("srcc", "plcc", "krcc"):
                assert float(row[key]) == pytest.approx(expected[key], abs=1e-12)
                assert f"{expected[key]:.4f}" in md
            models = [rec.model for v, rec in labels.items() if rows[v].get(entry["output"]) is not None]
            level = metrics.model_level([p for p, _ in pairs], [t for _, t in pairs], models)
            mrow = next(r for r in csv_rows if r["scorer"] == res["scorer_name"] and r["label"] == label
                        and r["level"] == "model")
            assert float(mrow["srcc"]) == pytest.approx(level["srcc"], abs=1e-12)
            try:
                lo, hi = metrics.bootstrap_ci(metrics.srcc, [p for p, _ in pairs], [t for _, t in pairs],
                                              n_resamples=60, seed=0)
            except metrics.MetricError:  # a constant resample of so few clips: the report shows no CI
                assert row["srcc_low"] == row["srcc_high"] == ""
            else:
                assert float(row["srcc_low"]) == pytest.approx(lo) and float(row["srcc_high"]) == pytest.approx(hi)
            checked += 1
        if res["qa"]:
            recs = [rec for v, rec in labels.items()]
            expected = metrics.qa_accuracy([rows[r.video]["qa_answer"] for r in recs], [r.answer for r in recs],
                                           [r.dimension for r in recs])
            assert jres["qa"]["accuracy"] == expected["accuracy"]
            assert jres["qa"]["per_dimension"] == expected["per_dimension"]
            qrow = next(r for r in csv_rows if r["scorer"] == res["scorer_name"] and r["label"] == "qa"
                        and r["level"] == "instance")
            assert float(qrow["accuracy"]) == pytest.approx(expected["accuracy"])
    assert checked >= 4  # LOVE perception + correspondence, flicker, niqe
    assert len(csv_rows) == len(table_rows(results))


def test_published_reference_tables():
    inst = reference.load_table("v2t_instance_level")
    assert len(inst) == 48 and inst[0]["method"] == "LOVE (Ours)"
    rows = {r["method"]: r for r in reference.v2t_rows(["baseline:niqe", "baseline:flicker"])}
    assert rows["NIQE"]["perception_srcc"] == 0.6536 and rows["NIQE"]["ours"] == ["baseline:niqe"]
    assert rows["V-Temporal Flickering"]["ours"] == ["baseline:flicker"]
    assert rows["LOVE (Ours)"]["model_perception_srcc"] == 0.9324
    assert len(reference.leaderboard()) == 30
    assert reference.published_for("t2vqa-db")[0]["srcc"] == 0.8131


# --------------------------------------------------------------------------- commands


def test_evaluate_command(suite, tmp_path, capsys, monkeypatch):
    from love_plugins.cli import main

    monkeypatch.setenv("LOVE_BASELINE_WEIGHTS", str(tmp_path / "no-weights"))  # --baselines: those ready to run

    out = tmp_path / "ev"
    code = main(["evaluate", "--dataset", "AIGVE-60K", "--root", str(suite), "--split", "all", "--model",
                 "tiny-random", "--baselines", "--limit", "3", "--bootstrap", "30", "--out", str(out),
                 "--no-progress", "--no-plots"])
    assert code == 0
    text = capsys.readouterr().out
    assert "baseline:flicker" in text and "baseline:niqe" in text and "love-tiny" in text
    payload = json.loads((out / "results.json").read_text())
    assert {r["scorer_name"] for r in payload["results"]} == {
        "love-tiny (random weights, for tests)", "baseline:flicker", "baseline:niqe", "baseline:brisque"}
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert main(["evaluate", "--dataset", "nope", "--root", str(suite), "--model", "flicker"]) == 2


def test_generalize_command(suite, tmp_path, capsys):
    from love_plugins.cli import main

    fetv = write_format("fetv", suite, tmp_path / "fetv")
    out = tmp_path / "gen"
    code = main(["generalize", "--model", "tiny-random,flicker", "--datasets",
                 f"fetv={fetv},syn:manifest={suite}", "--split", "all",
                 "--map", "fetv.alignment=perception,syn.correspondence_mos=none", "--limit", "4",
                 "--bootstrap", "0", "--out", str(out), "--no-progress", "--no-plots"])
    assert code == 0
    payload = json.loads((out / "results.json").read_text())
    assert len(payload["results"]) == 4  # 2 scorers x 2 datasets
    by_ds = {r["dataset"]["name"]: r for r in payload["results"] if r["scorer_name"] == "baseline:flicker"}
    assert set(by_ds) == {"fetv", "syn"}
    assert by_ds["fetv"]["mapping"]["alignment"] == "perception"
    assert "correspondence_mos" not in by_ds["syn"]["mapping"]
    assert by_ds["fetv"]["labels"]["alignment"]["instance"] is not None
    md = (out / "report.md").read_text()
    assert "Zero-shot matrix" in md
    for ds, label in (("fetv", "alignment"), ("syn", "perception_mos")):
        srcc = by_ds[ds]["labels"][label]["instance"]["srcc"]
        assert f"| {ds} | {label} | " in md and f"| {srcc:.4f} |" in md
    assert main(["generalize", "--model", "flicker", "--datasets", f"a={suite}"]) == 2  # unknown adapter
