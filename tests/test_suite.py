"""The AIGVE-60K T2V suite: prompt files, video matching, model rows, leaderboard, `love-eval suite`.

The ranking test scores five synthetic "generator models" of known quality with an oracle scorer
that implements LOVE's `score(...)` protocol from the suite's known targets: it checks the harness
and the ranking logic exactly. How well a learned model ranks them is a property of that model
(love-nano's held-out figures are in its training_info.json), not of the suite command.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest

from integrations.vbench.questions import questions_from_attributes
from love_plugins import suite
from love_plugins.cli import main
from love_plugins.errors import AnnotationError, LoveError
from love_plugins.synth import GENERATOR_MODELS, generate_suite

SEED, N = 6, 30  # 6 clips per generator; with this seed every column's truth is in quality order
ATTRIBUTES = ("count", "color", "shape", "motion", "background")


class OracleScorer:
    """LOVE's `score` protocol answered from the synthetic suite's known truth (deterministic)."""

    tasks = ("perception", "correspondence", "qa")

    def __init__(self, truth: dict[str, dict]):
        self.truth = truth

    def describe(self) -> dict:
        return {"model": "oracle-stub"}

    def score(self, videos, prompts=None, questions=None, tasks=None):
        out = []
        for i, video in enumerate(videos):
            t = self.truth[str(Path(video).resolve())]
            r = SimpleNamespace(video=video, error=None, perception=None, correspondence=None, qa_answer=None,
                                qa_p_yes=None)
            if "perception" in tasks:
                r.perception = t["perception_mos"]
            if "correspondence" in tasks:
                assert prompts[i] == t["prompt"]
                r.correspondence = t["correspondence_mos"]
            if "qa" in tasks:
                r.qa_answer = "yes" if questions[i] in t["true_questions"] else "no"
                r.qa_p_yes = 1.0 if r.qa_answer == "yes" else 0.0
            out.append(r)
        return out


def _true_questions(scene: dict) -> set[str]:
    return {q["question"] for q in questions_from_attributes({k: scene[k] for k in ATTRIBUTES})}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Synthetic suite + one prompt file per generator (QA pairs asked of what the prompt says)."""
    root = tmp_path_factory.mktemp("t2v")
    info = generate_suite(root / "suite", num_videos=N, seed=SEED)
    rows = [json.loads(line) for line in info.manifest_jsonl.read_text().splitlines()]
    truth, prompt_files = {}, {}
    for model in GENERATOR_MODELS:
        lines = []
        for row in (r for r in rows if r["model"] == model):
            described = row["scene"]["prompt_described"]
            qa = [dict(q, answer="yes") for q in questions_from_attributes(described)]
            lines.append(json.dumps({"video": Path(row["video"]).name, "prompt": row["prompt"],
                                     "dimension": row["dimension"], "qa": qa}))
            truth[str((info.root / row["video"]).resolve())] = {**row, "true_questions": _true_questions(row["scene"])}
        prompt_files[model] = root / f"{model}.jsonl"
        prompt_files[model].write_text("\n".join(lines) + "\n")
    return SimpleNamespace(root=info.root, rows=rows, truth=truth, prompt_files=prompt_files)


def _truth_row(synthetic, model: str) -> dict:
    mine = [t for t in synthetic.truth.values() if t["model"] == model]
    accuracy = [statistics.fmean(q["question"] in t["true_questions"]
                                 for q in questions_from_attributes(t["scene"]["prompt_described"])) for t in mine]
    return {"model": model, "perception_mos": statistics.fmean(t["perception_mos"] for t in mine),
            "correspondence_mos": statistics.fmean(t["correspondence_mos"] for t in mine),
            "task_acc_pct": 100 * statistics.fmean(accuracy)}


# -- prompt files and videos --------------------------------------------------------------------------
def test_read_prompts_formats_and_grouping(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        '{"id": "7", "prompt": "a cat drinking", "question": "Is the cat drinking?", "answer": "Yes", "dimension": "action"}\n'
        '{"id": "7", "prompt": "a cat drinking", "question": "Is there a dog?", "answer": "no", "dimension": "object"}\n'
        '{"prompt": "two red balls", "dimension": "count", "qa": [{"question": "Are there two balls?", "answer": "yes"}]}\n'
    )
    prompts = suite.read_prompts(jsonl)
    assert [p.key for p in prompts] == ["7", "two red balls"]
    assert prompts[0].qa == [{"question": "Is the cat drinking?", "answer": "yes", "dimension": "action"},
                             {"question": "Is there a dog?", "answer": "no", "dimension": "object"}]
    assert prompts[1].qa[0]["dimension"] == "count"  # a question's label defaults to its prompt's

    table = tmp_path / "p.csv"
    table.write_text("prompt,question,answer,dimension,video\na cat,Is there a cat?,yes,object,cat.mp4\n")
    (item,) = suite.read_prompts(table)
    assert item.video == "cat.mp4" and item.qa[0]["answer"] == "yes"
    text = tmp_path / "p.txt"
    text.write_text("a cat\n\na dog\n")
    assert [p.prompt for p in suite.read_prompts(text)] == ["a cat", "a dog"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "question": "Q?", "answer": "maybe"}\n')
    with pytest.raises(AnnotationError, match="yes or no"):
        suite.read_prompts(bad)
    bad.write_text('{"question": "Q?"}\n')
    with pytest.raises(AnnotationError, match=":1: row has no prompt"):
        suite.read_prompts(bad)


def test_find_videos_by_column_id_and_prompt(tmp_path):
    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    for name in ("sub/x.mp4", "7.mp4", "a dog-0.mp4", "a dog-1.mp4", "a cow.mp4", "notes.txt"):
        (videos / name).write_bytes(b"")
    prompts = [suite.SuitePrompt("p", video="sub/x.mp4"), suite.SuitePrompt("q", id="7"),
               suite.SuitePrompt("a dog"), suite.SuitePrompt("a cow"), suite.SuitePrompt("a cat")]
    found, missing = suite.find_videos(prompts, videos)
    assert [(p.prompt, v.relative_to(videos).as_posix()) for p, v in found] == [
        ("p", "sub/x.mp4"), ("q", "7.mp4"), ("a dog", "a dog-0.mp4"), ("a dog", "a dog-1.mp4"), ("a cow", "a cow.mp4")]
    assert [p.prompt for p in missing] == ["a cat"]
    with pytest.raises(LoveError, match="does not exist"):
        suite.find_videos(prompts, tmp_path / "nowhere")


# -- one model's row ----------------------------------------------------------------------------------
def test_evaluate_model_columns_equal_the_truth_with_a_perfect_scorer(synthetic):
    model = "pixelforge"
    pairs, missing = suite.find_videos(suite.read_prompts(synthetic.prompt_files[model]), synthetic.root / "videos" / model)
    assert not missing and len(pairs) == N // len(GENERATOR_MODELS)
    row = suite.evaluate_model(pairs, OracleScorer(synthetic.truth), model)
    expected = _truth_row(synthetic, model)
    for metric in suite.METRICS:
        assert row[metric] == pytest.approx(expected[metric])
    assert row["num_videos"] == len(pairs) and row["num_failed"] == 0 and row["num_questions"] == 5 * len(pairs)
    assert set(row["per_dimension"]) >= {"count", "color", "object", "motion", "scene"}
    for dim, cells in row["per_dimension"].items():
        answers = [a["correct"] for v in row["videos"] for a in v["qa"] if a["dimension"] == dim]
        assert cells["task_acc_pct"] == pytest.approx(100 * statistics.fmean(answers))


def test_evaluate_model_reports_failures_and_needs_videos(synthetic):
    pairs, _ = suite.find_videos(suite.read_prompts(synthetic.prompt_files["dreamreel"]), synthetic.root / "videos" / "dreamreel")
    broken = str(pairs[0][1])

    class Failing(OracleScorer):
        def score(self, videos, prompts=None, questions=None, tasks=None):
            out = super().score(videos, prompts, questions, tasks)
            return [SimpleNamespace(video=v, error=f"{v}: cannot decode") if v == broken else r
                    for v, r in zip(videos, out)]

    row = suite.evaluate_model(pairs, Failing(synthetic.truth), "dreamreel")
    assert row["num_failed"] == 1 and row["videos"][0]["error"].endswith("cannot decode")
    assert row["videos"][0]["qa"] == []  # a failed video is not asked its questions
    with pytest.raises(LoveError, match="no videos"):
        suite.evaluate_model([], OracleScorer({}), "empty")


# -- leaderboard --------------------------------------------------------------------------------------
def test_reference_table_and_its_ranks():
    reference = suite.load_reference()
    assert len(reference) == 30 and reference[0]["model"] == "Pixverse"
    table = suite.leaderboard([])
    with open(suite.REFERENCE_CSV, newline="") as handle:
        published = {r["model"]: r for r in csv.DictReader(handle)}
    for row in table:  # per-column ranks are exactly the published ones
        for rank in ("perception_rank", "correspondence_rank", "task_acc_rank"):
            assert row[rank] == int(published[row["model"]][rank]), (row["model"], rank)
    moved = {r["model"] for r in table if r["overall_rank"] != r["published_rank"]}
    assert moved == {"NOVA", "Latte", "VideoCrafter1", "Text2Video-Zero"}  # the documented exception

    best = {"model": "mine", "perception_mos": 99.0, "correspondence_mos": 99.0, "task_acc_pct": 99.0}
    none = {"model": "no-qa", "perception_mos": 50.0, "correspondence_mos": 50.0, "task_acc_pct": None}
    table = suite.leaderboard([best, none])
    assert table[0]["model"] == "mine" and table[0]["source"] == suite.PREDICTED_SOURCE and len(table) == 32
    assert next(r for r in table if r["model"] == "no-qa")["task_acc_rank"] == 32
    with pytest.raises(LoveError, match="unique"):
        suite.leaderboard([dict(best, model="Sora")])


def test_suite_command_ranks_synthetic_generators(synthetic, tmp_path, monkeypatch):
    """`love-eval suite` once per generator into one --out: their rows come out in quality order."""
    from love_plugins.commands import suite as command

    truth_rows = [_truth_row(synthetic, m) for m in GENERATOR_MODELS]
    for metric in suite.METRICS:  # precondition: the generated videos' truth is in quality order
        values = [r[metric] for r in truth_rows]
        assert values == sorted(values, reverse=True), metric
    scorer = OracleScorer(synthetic.truth)  # one scorer for the five runs
    monkeypatch.setattr(command, "load_scorer", lambda *a, **k: scorer)
    model_arg = "love-nano"
    out = tmp_path / "board"
    for model in GENERATOR_MODELS:
        plot = [] if model == list(GENERATOR_MODELS)[-1] else ["--no-plot"]  # one plot is enough
        code = main(["suite", "--prompts", str(synthetic.prompt_files[model]), "--videos",
                     str(synthetic.root / "videos" / model), "--name", model, "--model", model_arg,
                     "--out", str(out), *plot])
        assert code == 0
    with open(out / "leaderboard.csv", newline="") as handle:
        board = list(csv.DictReader(handle))
    assert len(board) == 30 + len(GENERATOR_MODELS)
    ours = [r["model"] for r in board if r["source"] == suite.PREDICTED_SOURCE]
    assert (out / "ranking.png").stat().st_size > 10_000
    saved = json.loads((out / "aurora-v2.suite.json").read_text())
    assert saved["run"]["num_prompts"] == N // len(GENERATOR_MODELS) and saved["per_dimension"]
    assert ours == list(GENERATOR_MODELS)
    for metric in suite.METRICS:
        got = {r["model"]: float(r[metric]) for r in board if r["source"] == suite.PREDICTED_SOURCE}
        assert got == pytest.approx({r["model"]: round(r[metric], 2) for r in truth_rows}, abs=0.006)
    ranked_alone = suite.leaderboard([json.loads((out / f"{m}.suite.json").read_text()) for m in GENERATOR_MODELS],
                                     reference=[])
    assert [r["overall_rank"] for r in ranked_alone] == [1, 2, 3, 4, 5]


def test_suite_command_with_a_real_model(synthetic, tmp_path, capsys):
    """The real loading path (tiny random weights: plumbing only, its numbers mean nothing)."""
    model = "lumen-1.5"
    out = tmp_path / "tiny"
    code = main(["suite", "--prompts", str(synthetic.prompt_files[model]), "--videos",
                 str(synthetic.root / "videos" / model), "--name", "tiny", "--model", "tiny-random",
                 "--out", str(out), "--no-plot", "--device", "cpu"])
    assert code == 0
    assert "tiny: overall rank" in capsys.readouterr().out
    saved = json.loads((out / "tiny.suite.json").read_text())
    assert saved["run"]["scorer"]["model"] and saved["num_failed"] == 0
    assert all(v["perception"] is not None and len(v["qa"]) == 5 for v in saved["videos"])
    assert not (out / "ranking.png").exists()


def test_suite_command_input_errors(synthetic, tmp_path, capsys):
    prompts = str(synthetic.prompt_files["aurora-v2"])
    assert main(["suite", "--prompts", prompts, "--videos", str(tmp_path), "--name", "m", "--out", str(tmp_path)]) == 2
    assert "no video matches" in capsys.readouterr().err
    assert main(["suite", "--prompts", prompts, "--videos", str(tmp_path), "--name", "../x"]) == 2
    assert main(["suite", "--prompts", str(tmp_path / "none.jsonl"), "--videos", str(tmp_path), "--name", "m"]) == 2


def test_scorer_factory_reference():
    """`--model package.module:factory` plugs in any scorer object (the factory is called bare)."""
    from collections import OrderedDict

    from love_plugins.commands import suite as command

    assert isinstance(command.load_scorer("collections:OrderedDict"), OrderedDict)
