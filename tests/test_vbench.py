"""LOVE dimensions in VBench: the real `vbench` package runs them beside `temporal_flickering`.

`evaluate` runs on synthetic mp4 files laid out in both of VBench's modes (`vbench_standard`:
`{prompt}-{i}.mp4` + a full-info JSON; `custom_input`: prompts from file names or a dict), with
love-nano when it is bundled and the tiny random model otherwise.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

import love_plugins
from integrations.vbench import dimensions, questions, report
from integrations.vbench.mixin import love_evaluator_class
from integrations.vbench.route import install_module_route, remove_module_route
from love_plugins.scorer import PACKAGED_MODELS
from love_plugins.synth import generate_suite

REPO = Path(__file__).resolve().parents[1]
LOVE = ["love_perception", "love_correspondence", "love_task_accuracy"]
ALL_DIMS = ["temporal_flickering", *LOVE]


class StubScorer:
    """Deterministic stand-in with LOVE's `score` protocol (values from the file name's length)."""

    tasks = ("perception", "correspondence", "qa")

    def __init__(self):
        self.calls = []

    def score(self, videos, prompts=None, questions=None, tasks=None):
        self.calls.append(tuple(tasks))
        out = []
        for i, video in enumerate(videos):
            if "broken" in video:
                out.append(SimpleNamespace(video=video, error=f"{video}: cannot decode"))
                continue
            n = len(Path(video).name)
            out.append(SimpleNamespace(
                video=video, error=None, perception=float(n * 10), correspondence=float(n),
                qa_answer="yes" if questions and "yes" in questions[i] else "no", qa_p_yes=0.5,
            ))
        return out


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    info = generate_suite(root, num_videos=4, seed=21)
    rows = [json.loads(line) for line in info.manifest_jsonl.read_text().splitlines()]
    return root, rows


@pytest.fixture(scope="module")
def love_scorer():
    name = "love-nano" if PACKAGED_MODELS["love-nano"].is_dir() else "tiny-random"
    return love_plugins.load(name, device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def vbench():
    return pytest.importorskip("vbench")


def _full_info_entry(row: dict, dims: list[str]) -> dict:
    """A VBench full-info entry for a synthetic clip: VBench-style auxiliary info plus attributes."""
    described = row["scene"]["prompt_described"]
    return {
        "prompt_en": row["prompt"],
        "dimension": dims,
        "auxiliary_info": {"object_class": {"object": described["shape"]}},
        "attributes": described,
    }


def _check_results(path: Path, expected_videos: set[str]) -> dict:
    results = json.loads(path.read_text())
    assert list(results) == ALL_DIMS
    for dim, (overall, per_video, *problems) in results.items():
        assert not problems or problems == [{"failed_videos": []}], (dim, problems)  # nothing failed here
        videos = {r["video_path"] for r in per_video}
        assert videos == expected_videos, dim
        values = [r["video_results"] for r in per_video]
        assert all(0.0 <= v <= 1.0 for v in values), dim
        assert math.isclose(overall, sum(values) / len(values), rel_tol=1e-9), dim
    for r in results["love_task_accuracy"][1]:
        assert r["questions"] and all(q["predicted"] in ("yes", "no") for q in r["questions"])
        assert r["video_results"] == pytest.approx(sum(q["correct"] for q in r["questions"]) / len(r["questions"]))
    return results


# -- vbench stays optional ---------------------------------------------------------------------------
BLOCK_VBENCH = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("vbench", "vbench2", "lmms_eval"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
import integrations.vbench as iv
from integrations.vbench import LOVE_DIMENSIONS, compute_love_perception, questions_for_entry, vbench_scores
from integrations.vbench import install_module_route, love_evaluator_class
import love_plugins.suite, love_plugins.commands.suite, love_plugins.cli
love_plugins.cli.build_parser()
assert not any(m.split(".")[0] in ("vbench", "lmms_eval") for m in sys.modules), "vbench was imported"
try:
    iv.LoveVBench
except ImportError as exc:
    assert "pip install --no-deps vbench==0.1.5" in str(exc), exc
    print("OK")
"""


def test_package_imports_without_vbench():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", BLOCK_VBENCH], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"


# -- question templates ------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt, aux, dims, expected", [
    ("a person", {"object_class": {"object": "person"}}, ["object_class"], ["Is there a person in the video?"]),
    ("an elephant and a bear", {"multiple_objects": {"object": "elephant and bear"}}, ["multiple_objects"],
     ["Is there an elephant in the video?", "Is there a bear in the video?"]),
    ("a red bicycle", {"color": {"color": "red"}}, ["color"], ["Is there a red bicycle in the video?"]),
    ("alley", {"scene": {"scene": {"scene": "alley"}}}, ["scene"], ["Does the video take place in an alley?"]),
    ("a bicycle on the left of a car, front view",
     {"spatial_relationship": {"spatial_relationship": {"object_a": "bicycle", "object_b": "car",
                                                        "relationship": "on the left of"}}},
     ["spatial_relationship"], ["Is the bicycle on the left of the car?"]),
    ("A beautiful coastal beach in spring, waves lapping on sand, oil painting",
     {"appearance_style": {"appearance_style": "oil painting"}}, ["appearance_style"],
     ['Is the video in the style "oil painting"?']),
    ("A person is archery", {}, ["human_action"], ['Does the video show a person doing "archery"?']),
    ("A beautiful coastal beach in spring, waves lapping on sand, zoom in", {}, ["temporal_style"],
     ['Does the video show the camera or motion effect "zoom in"?']),
    ("Close up of grapes on a rotating table.", {}, ["overall_consistency"],
     ['Does the video match the description "Close up of grapes on a rotating table"?']),
    ("In a still frame, a stop sign", {}, ["temporal_flickering"],
     ['Does the video match the description "In a still frame, a stop sign"?']),
    ("scissors", {"object_class": {"object": "scissors"}}, ["object_class"], ["Are there scissors in the video?"]),
])
def test_vbench_question_templates(prompt, aux, dims, expected):
    entry = {"prompt_en": prompt, "dimension": dims, "auxiliary_info": aux}
    qa = questions.questions_for_entry(entry)
    assert [q["question"] for q in qa] == expected
    assert {q["answer"] for q in qa} == {"yes"}


def test_attribute_templates_use_the_synthetic_wording():
    import numpy as np

    from love_plugins.synth.prompts import sample_question
    from love_plugins.synth.scene import sample_scene

    asked = questions.questions_from_attributes(
        {"count": 2, "color": "red", "shape": "circle", "motion": "left", "background": "dark green"})
    assert [q["question"] for q in asked] == [
        "Are there exactly two objects in the video?", "Is there a red object in the video?",
        "Is there a circle in the video?", "Are the objects moving left?", "Is the background dark green?"]
    # every yes-question the synthetic suite asks (love-nano's training data) is worded as ours
    assert questions.questions_from_attributes({"count": 3, "object": "dog"})[0]["question"] == (
        "Are there exactly three dogs in the video?")
    for i in range(40):
        scene = sample_scene(np.random.default_rng(i), 128, 96)
        q = sample_question(np.random.default_rng(1000 + i), scene, answer_yes=True)
        attrs = {k: getattr(scene, k) for k in ("count", "color", "shape", "motion", "background")}
        ours = {x["question"] for x in questions.questions_from_attributes(attrs)}
        assert q["question"] in ours, q


def test_own_qa_pairs_take_precedence_and_fallback_can_be_off():
    entry = {"prompt_en": "a cat", "auxiliary_info": {"object_class": {"object": "cat"}},
             "love_qa": [{"question": "Is the cat drinking?", "answer": "No.", "dimension": "action"}]}
    assert questions.questions_for_entry(entry) == [
        {"question": "Is the cat drinking?", "answer": "no", "dimension": "action"}]
    with pytest.raises(ValueError, match="yes or no"):
        questions.questions_for_entry({"prompt_en": "x", "love_qa": [{"question": "Q?", "answer": "maybe"}]})
    assert questions.questions_for_entry({"prompt_en": "TV on a table.", "dimension": []})[0][
        "question"] == 'Does the video match the description "TV on a table"?'
    assert questions.questions_for_entry({"prompt_en": "a cat", "dimension": []}, fallback=False) == []


def _is_well_formed_yes_no_question(question: str) -> bool:
    """A yes/no question (Is/Are/Does/Do ... ?), quotes balanced, no empty slot or doubled space, 'a'/'an'
    agreeing with the next word outside quotes, no 'a' before a plural-only noun, and no unquoted clause
    after 'show' (a prompt such as 'In a still frame, a stop sign' or 'A raccoon is playing')."""
    import re

    if not re.fullmatch(r"(Is|Are|Does|Do) [^?]*\S\?", question) or "  " in question or question.count('"') % 2:
        return False
    unquoted = re.sub(r'"[^"]*"', '"Q"', question)
    if re.search(r"\ba [aeiouAEIOU]", unquoted) or re.search(r"\ban [^aeiouAEIOU\W]", unquoted):
        return False
    if re.search(r"\ba (" + "|".join(questions.PLURAL_ONLY) + r")\b", unquoted) or "{" in question:
        return False
    shown = re.search(r"\bshow (.+)\?$", unquoted)
    return not (shown and re.search(r"(^in\b|,|\b(is|are|was)\b)", shown.group(1), re.IGNORECASE)
                and '"' not in shown.group(1))


def test_every_question_of_the_vbench_full_info_reads_as_english(vbench):
    """All questions `love_task_accuracy` asks of VBench's standard prompt suite (every auxiliary-info type,
    the prompt-borne human actions and camera motions, and the fallback) are well-formed yes/no questions."""
    entries = json.loads((Path(vbench.__file__).parent / "VBench_full_info.json").read_text())
    asked = [q["question"] for entry in entries for q in questions.questions_for_entry(entry)]
    assert len(asked) >= len(entries)
    bad = [q for q in asked if not _is_well_formed_yes_no_question(q)]
    assert bad == [], bad[:10]
    for malformed in ("Does the video show in a still frame, a stop sign?", "Is there a scissors in the video?",
                      "Is there an bicycle in the video?", "Is the person archery", "Is the video in {style}?"):
        assert not _is_well_formed_yes_no_question(malformed), malformed


def test_every_vbench_prompt_with_auxiliary_info_gets_a_question(vbench):
    entries = json.loads((Path(vbench.__file__).parent / "VBench_full_info.json").read_text())
    for entry in entries:
        asked = questions.questions_for_entry(entry, fallback=False)
        if entry.get("auxiliary_info") or {"human_action", "temporal_style"} & set(entry["dimension"]):
            assert asked, entry
        for q in asked:
            assert q["question"].endswith("?") and "{" not in q["question"]


def test_dimension_names_do_not_overlap_vbench_names(vbench):
    """VBench-2.0 finds entries by substring: no LOVE name may contain or be contained in another."""
    from vbench import VBench

    original = next(c for c in VBench.__mro__ if c.__module__ == "vbench")  # the hook's subclass is VBench here
    names = list(original.build_full_dimension_list(None)) + LOVE
    for a in LOVE:
        for b in names:
            if a != b:
                assert a not in b and b not in a, (a, b)


# -- the compute_<dim> contract ---------------------------------------------------------------------
def test_compute_functions_follow_vbench_contract(tmp_path):
    info = [
        {"prompt_en": "a red bicycle", "dimension": ["love_perception", "love_correspondence", "love_task_accuracy"],
         "auxiliary_info": {"color": {"color": "red"}}, "video_list": [str(tmp_path / "ab.mp4"), str(tmp_path / "abcd.mp4")]},
        {"prompt_en": "a dog", "dimension": ["LOVE_Perception", "love_task_accuracy"],
         "love_qa": [{"question": "yes?", "answer": "yes"}, {"question": "no?", "answer": "yes"}],
         "video_list": str(tmp_path / "abcdefghijklmnop.mp4")},
        {"prompt_en": "a cat", "dimension": ["love_perception"], "video_list": [str(tmp_path / "broken.mp4")]},
        {"prompt_en": "not ours", "dimension": ["color"], "video_list": [str(tmp_path / "zz.mp4")]},
    ]
    json_dir = tmp_path / "full_info.json"
    json_dir.write_text(json.dumps(info))
    stub = StubScorer()

    overall, per_video, problems = dimensions.compute_love_perception(json_dir, "cpu", [], love_scorer=stub)
    assert [Path(r["video_path"]).name for r in per_video] == ["ab.mp4", "abcd.mp4", "abcdefghijklmnop.mp4"]
    assert [(Path(f["video_path"]).name, f["error"]) for f in problems["failed_videos"]] == [
        ("broken.mp4", f"{tmp_path / 'broken.mp4'}: cannot decode")]  # listed, in no mean
    assert [r["love_mos"] for r in per_video] == [60.0, 80.0, 200.0]
    assert [r["video_results"] for r in per_video] == [0.6, 0.8, 1.0]  # MOS / 100, clipped to [0, 1]
    assert overall == pytest.approx(0.8)

    overall, per_video, _ = dimensions.compute_love_correspondence(json_dir, "cpu", [], love_scorer=stub)
    assert [r["prompt"] for r in per_video] == ["a red bicycle", "a red bicycle"]
    assert overall == pytest.approx((0.06 + 0.08) / 2)

    overall, per_video, _ = dimensions.compute_love_task_accuracy(json_dir, "cpu", [], love_scorer=stub)
    by_name = {Path(r["video_path"]).name: r for r in per_video}
    assert by_name["abcdefghijklmnop.mp4"]["video_results"] == 0.5  # own QA pairs: one of two right
    assert by_name["ab.mp4"]["questions"][0]["question"] == "Is there a red bicycle in the video?"
    assert overall == pytest.approx(sum(r["video_results"] for r in per_video) / 3)
    assert dimensions.compute("LOVE_Task_Accuracy", json_dir, "cpu", [], love_scorer=stub)[0] == overall


def test_module_route_for_vbench2_lower_cased_names():
    names = install_module_route()
    try:
        assert "vbench2.love_perception" in names
        for dim in LOVE:
            module = importlib.import_module(f"vbench2.{dim}")  # what VBench-2.0 does with dim.lower()
            assert getattr(module, f"compute_{dim}") is getattr(dimensions, f"compute_{dim}")
    finally:
        remove_module_route()
    assert "vbench2.love_perception" not in sys.modules


def test_mixin_dispatches_any_case_on_a_vbench2_like_class(tmp_path, monkeypatch):
    """A stand-in for VBench-2.0: lower-cased module names, its own package and init_submodules."""
    package = types.ModuleType("fakebench2")
    utils = types.ModuleType("fakebench2.utils")
    utils.init_submodules = lambda dims, local=False, read_frame=False: {d: ["sub"] for d in dims}
    dim_module = types.ModuleType("fakebench2.human_anatomy")
    dim_module.compute_human_anatomy = lambda json_dir, device, sub, **kw: (0.25, [{"video_path": "v", "video_results": 0.25}])
    for module in (package, utils, dim_module):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    video = tmp_path / "videos" / "abc.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")

    class FakeVBench2:
        def __init__(self, device, full_info_dir, output_path):
            self.device, self.full_info_dir, self.output_path = device, full_info_dir, output_path

        def build_full_dimension_list(self):
            return ["Human_Anatomy"]

        def build_full_info_json(self, videos_path, name, dimension_list, prompt_list=[], **kwargs):  # noqa: B006
            path = os.path.join(self.output_path, f"{name}_full_info.json")
            Path(path).write_text(json.dumps([{"prompt_en": "a dog", "dimension": dimension_list,
                                               "video_list": [str(video)]}]))
            return path

    cls = love_evaluator_class(FakeVBench2, "fakebench2", lower_case_modules=True)
    bench = cls("cpu", None, str(tmp_path), love_scorer=StubScorer())
    assert bench.build_full_dimension_list() == ["Human_Anatomy", *LOVE]
    results = bench.evaluate(str(video.parent), "m", dimension_list=["Human_Anatomy", "LOVE_Perception"],
                             mode="custom_input")
    assert results["Human_Anatomy"][0] == 0.25
    assert results["LOVE_Perception"][0] == pytest.approx(0.7)  # "abc.mp4": 7 characters -> MOS 70
    saved = json.loads((tmp_path / "m_eval_results.json").read_text())
    assert list(saved) == ["Human_Anatomy", "LOVE_Perception"]


# -- real vbench, both modes -------------------------------------------------------------------------
def test_evaluate_vbench_standard_mode(synth, love_scorer, vbench, tmp_path):
    from integrations.vbench import LoveVBench

    root, rows = synth
    videos = tmp_path / "videos"
    videos.mkdir()
    full_info = []
    expected = set()
    for k, row in enumerate(rows):
        flickering = k < 3  # the fourth prompt is not a temporal_flickering prompt
        full_info.append(_full_info_entry(row, ["temporal_flickering"] if flickering else ["color"]))
        for i in range(2 if flickering else 1):
            target = videos / f"{row['prompt']}-{i}.mp4"
            shutil.copy(root / row["video"], target)
            if flickering:
                expected.add(str(target))
    info_path = tmp_path / "full_info.json"
    info_path.write_text(json.dumps(full_info))
    out = tmp_path / "results"
    bench = LoveVBench("cpu", str(info_path), str(out), love_scorer=love_scorer)
    assert isinstance(bench, vbench.VBench)
    bench.evaluate(videos_path=str(videos), name="synthetic", dimension_list=ALL_DIMS)
    results = _check_results(out / "synthetic_eval_results.json", expected)
    asked = {q["question"] for r in results["love_task_accuracy"][1] for q in r["questions"]}
    assert any(q.startswith("Is there a ") for q in asked)  # object_class template
    assert any(q.startswith("Is the background ") for q in asked)  # attribute template

    # love_scope="all": the LOVE dimensions also score the prompt no VBench dimension asked for
    out_all = tmp_path / "results_all"
    LoveVBench("cpu", str(info_path), str(out_all), love_scorer=love_scorer, love_scope="all").evaluate(
        videos_path=str(videos), name="synthetic", dimension_list=LOVE)
    saved = json.loads((out_all / "synthetic_eval_results.json").read_text())
    assert len(saved["love_perception"][1]) == len(expected) + 1

    text = report.format_report({"synthetic": report.vbench_scores(out / "synthetic_eval_results.json")})
    assert "love_task_accuracy" in text and "n/a (1 of 7 dimensions)" in text and "n/a (1 of 16 dimensions)" in text


def test_evaluate_custom_input_mode(synth, love_scorer, vbench, tmp_path):
    from integrations.vbench import LoveVBench

    root, rows = synth
    by_name = tmp_path / "named"
    by_name.mkdir()
    for row in rows[:3]:
        shutil.copy(root / row["video"], by_name / f"{row['prompt']}.mp4")
    # a prompt VBench's full info knows lends its auxiliary info to custom input
    info_path = tmp_path / "full_info.json"
    info_path.write_text(json.dumps([_full_info_entry(rows[0], ["object_class"])]))
    own = {f"{rows[1]['prompt']}.mp4": [{"question": "Is the video a cartoon?", "answer": "no"}]}
    out = tmp_path / "results"
    bench = LoveVBench("cpu", str(info_path), str(out), love_scorer=love_scorer, love_qa=own)
    bench.evaluate(videos_path=str(by_name), name="named", dimension_list=ALL_DIMS, mode="custom_input")
    results = _check_results(out / "named_eval_results.json", {str(p) for p in by_name.iterdir()})
    prompts = {Path(r["video_path"]).stem: r["prompt"] for r in results["love_correspondence"][1]}
    assert all(stem == prompt for stem, prompt in prompts.items())  # prompts from the file names
    tasks = {Path(r["video_path"]).stem: [q["question"] for q in r["questions"]]
             for r in results["love_task_accuracy"][1]}
    shape = rows[0]["scene"]["prompt_described"]["shape"]
    assert f"Is there a {shape} in the video?" in tasks[rows[0]["prompt"]]
    assert tasks[rows[1]["prompt"]] == ["Is the video a cartoon?"]
    assert tasks[rows[2]["prompt"]] == [f'Does the video match the description "{rows[2]["prompt"]}"?']

    # prompts from a dict {file name: prompt}
    by_index = tmp_path / "indexed"
    by_index.mkdir()
    prompt_list = {}
    for i, row in enumerate(rows[:2]):
        shutil.copy(root / row["video"], by_index / f"clip_{i}.mp4")
        prompt_list[f"clip_{i}.mp4"] = row["prompt"]
    out2 = tmp_path / "results2"
    LoveVBench("cpu", str(info_path), str(out2), love_scorer=love_scorer).evaluate(
        videos_path=str(by_index), name="indexed", prompt_list=prompt_list, dimension_list=ALL_DIMS,
        mode="custom_input")
    results = _check_results(out2 / "indexed_eval_results.json", {str(p) for p in by_index.iterdir()})
    assert {Path(r["video_path"]).name: r["prompt"] for r in results["love_correspondence"][1]} == prompt_list


# -- the report -------------------------------------------------------------------------------------
def test_report_matches_vbench_scoring():
    raw = {d: 0.5 for d in report.NORMALIZATION}
    raw["temporal_flickering"] = 0.9
    results = {d: [v, []] for d, v in raw.items()} | {"love_perception": [0.7, []], "love_task_accuracy": [0.4, []]}
    scores = report.vbench_scores(results)

    def norm(d):
        lo, hi = report.NORMALIZATION[d]
        return (raw[d] - lo) / (hi - lo) * report.WEIGHTS[d]

    quality = sum(norm(d) for d in report.QUALITY_DIMENSIONS) / 6.5  # dynamic_degree weighs 0.5 (in norm)
    semantic = sum(norm(d) for d in report.SEMANTIC_DIMENSIONS) / 9
    assert scores["quality"] == pytest.approx(quality)
    assert scores["semantic"] == pytest.approx(semantic)
    assert scores["total"] == pytest.approx((4 * quality + semantic) / 5)
    assert scores["love"] == {"love_perception": 0.7, "love_task_accuracy": 0.4}
    assert scores["missing"] == [] and "total_with_love" not in scores

    folded = report.vbench_scores(results, fold_love=True)
    assert folded["total"] == scores["total"]  # VBench's own numbers never change
    assert folded["quality_with_love"] == pytest.approx((quality * 6.5 + 0.7) / 7.5)
    assert folded["semantic_with_love"] == pytest.approx((semantic * 9 + 0.4) / 10)
    text = report.format_report({"m": folded}, fold_love=True)
    assert text.splitlines()[0].startswith("| model | Quality | Semantic | Total | love_perception")
    assert "Total + LOVE" in text


def test_a_partial_run_shows_what_was_computed_and_no_made_up_totals():
    """Once printed Quality -30.68 %, Total -24.55 % (missing dimensions counted as 0) and left out the one
    VBench dimension computed; now every computed dimension is listed, raw and normalised, and the totals
    are n/a with their coverage."""
    scores = report.vbench_scores({"temporal_flickering": [0.983, []], "love_perception": [0.71, [], {}]})
    assert scores["quality"] is scores["semantic"] is scores["total"] is None
    assert scores["coverage"] == {"quality": (1, 7), "semantic": (0, 9), "total": (1, 16)}
    flicker = scores["dimensions"]["temporal_flickering"]
    assert flicker["raw"] == 0.983 and flicker["normalized"] == pytest.approx((0.983 - 0.6293) / (1 - 0.6293))
    text = report.format_report({"partial": scores})
    assert "| partial | n/a (1 of 7 dimensions) | n/a (0 of 9 dimensions) | n/a (1 of 16 dimensions) | 71.00% |" in text
    assert "| temporal_flickering | quality | 98.30% | 95.41% |" in text
    assert "| love_perception | LOVE | 71.00% | 71.00% |" in text
    assert not __import__("re").search(r"-\d+(\.\d+)?%", text)  # no negative percentage anywhere


def test_report_cli(tmp_path, capsys):
    path = tmp_path / "abc_eval_results.json"
    path.write_text(json.dumps({"temporal_flickering": [0.95, []], "love_perception": [0.5, []]}))
    assert report.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "| abc |" in out and "50.00%" in out and "temporal_flickering" not in out.splitlines()[0]
