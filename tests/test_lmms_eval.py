"""The lmms-eval integration, against the real lmms-eval (in-process and through its CLI).

Pure helpers (answer parsing, annotation readers, metrics) are tested without importing lmms-eval.
The end-to-end part imports lmms-eval once (slow on a small machine) and starts the CLI runs in
subprocesses at the beginning, so they overlap with the in-process tests.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lmms_eval")
# tiny-random scores are nearly constant; scipy says so, which is expected here
pytestmark = pytest.mark.filterwarnings("ignore:An input array is nearly constant")

from integrations.lmms_eval import answers, taskdata, taskutils  # noqa: E402
from integrations.lmms_eval.plugin import TASKS_DIR  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE_TASKS = ("aigve60k_sample_perception", "aigve60k_sample_correspondence", "aigve60k_sample_qa")
RATING_METRICS = ("instance_srcc", "instance_plcc", "instance_krcc", "instance_plcc_logistic",
                  "model_srcc", "model_plcc", "parse_rate")


def _checkpoint() -> str:
    from love_plugins.scorer import PACKAGED_MODELS

    return "love-nano" if PACKAGED_MODELS["love-nano"].is_dir() else "tiny-random"


# ----------------------------------------------------------------------------- CLI runs (started early)

# `lmms-eval` (lmms-eval's console script) runs the same function as `python -m lmms_eval`
# (checked in test_entry_points_are_installed), so one subprocess covers both; `lmms_eval` is ours.
CLI_FORMS = {
    "lmms_eval": [str(BIN / "lmms_eval")],
    "python -m lmms_eval": [sys.executable, "-m", "lmms_eval"],
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Start the README command (and the other two spellings, with the dummy model) concurrently."""
    base = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if k != "AIGVE60K_ROOT"}
    runs = {}
    for name, prefix in CLI_FORMS.items():
        out = base / name.replace(" ", "_")
        if name == "lmms_eval":  # the literal README command, plus output flags
            args = ["--tasks", "aigve60k_sample", "--model", "love", "--limit", "8"]
        else:
            args = ["--tasks", "aigve60k_sample_qa", "--model", "dummy", "--model_args", "response=Yes", "--limit", "4"]
        cmd = [*prefix, *args, "--output_path", str(out), "--log_samples"]
        log = open(base / f"{out.name}.log", "w")
        runs[name] = (subprocess.Popen(cmd, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT), out, log)
    yield runs
    for proc, _, log in runs.values():
        if proc.poll() is None:
            proc.kill()
        log.close()


def _finish(run, timeout=240):
    proc, out, log = run
    proc.wait(timeout=timeout)
    log.flush()
    text = Path(log.name).read_text()
    results = glob.glob(str(out / "**" / "*results*.json"), recursive=True)
    assert proc.returncode == 0, text[-3000:]
    assert results, f"no results file under {out}; log tail:\n{text[-3000:]}"
    data = json.loads(Path(results[0]).read_text())
    samples = {
        Path(p).name: [json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
        for p in glob.glob(str(out / "**" / "*samples*.jsonl"), recursive=True)
    }
    return data, samples, text


# ----------------------------------------------------------------------------- answer -> score rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The quality of the video is good.", 70.0),
        ("excellent", 90.0),
        ("BAD", 10.0),
        ("not bad, rather good", 70.0),
        ("The quality of the video is good. Score: 72.41/100", 72.41),
        ("4/5", 80.0),
        ("I'd say 7 out of 10", 70.0),
        ("3", 50.0),
        ("4.5", 80.0),
        ("0", 10.0),
        ("8", 80.0),
        ("65", 65.0),
        ("A", None),
        ("", None),
        (None, None),
        ("1080p, 500 frames", None),
    ],
)
def test_parse_rating(text, expected):
    got = answers.parse_rating(text)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_levels_and_yes_no():
    assert [answers.level_to_score(i) for i in range(1, 6)] == [10, 30, 50, 70, 90]
    assert [answers.score_to_level(s) for s in (0, 19.9, 20, 55, 99, 100)] == ["bad", "bad", "poor", "fair", "excellent", "excellent"]
    assert answers.parse_yes_no("Yes.") == "yes"
    assert answers.parse_yes_no(" no, it is not") == "no"
    assert answers.parse_yes_no("A") is None
    assert answers.parse_yes_no("Maybe") is None


# ----------------------------------------------------------------------------- annotation readers


def test_sample_docs_have_the_common_schema():
    for task in ("perception", "correspondence", "qa"):
        docs = taskdata.load_aigve60k(task, dataset="aigve60k_sample")
        assert len(docs) == 12
        for doc in docs:
            assert Path(doc["video"]).is_file()
            assert doc["love_task"] == task and doc["model"] and doc["question"]
            assert (math.isnan(doc["mos"]) if task == "qa" else 0 <= doc["mos"] <= 100)
        if task == "correspondence":
            assert all(doc["prompt"] and doc["prompt"] in doc["question"] for doc in docs)
        if task == "qa":
            assert {answers.parse_yes_no(d["answer"]) for d in docs} == {"yes", "no"}
    assert len({d["model"] for d in docs}) >= 3


def test_missing_data_root_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("AIGVE60K_ROOT", raising=False)
    with pytest.raises(taskdata.DatasetNotFound) as info:
        taskdata.load_aigve60k("perception")
    message = str(info.value)
    assert "AIGVE60K_ROOT" in message and "anonymousdb/AIGVE-60K" in message and "data_root" in message
    monkeypatch.setenv("AIGVE60K_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(taskdata.DatasetNotFound, match="not a directory"):
        taskdata.load_aigve60k("qa")
    monkeypatch.setenv("AIGVE60K_ROOT", str(tmp_path))
    with pytest.raises(taskdata.DatasetNotFound, match="qa_test.jsonl"):
        taskdata.load_aigve60k("qa")


def test_malformed_annotations_fail_with_the_line(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "qa_test.jsonl").write_text('{"video": "a.mp4"}\nnot json\n')
    process = taskutils.make_process_docs(taskdata.load_aigve60k, "qa", root=tmp_path)
    (doc,) = process(None)  # deferred: lmms-eval retries (and hides) errors raised in process_docs
    with pytest.raises(ValueError, match="qa_test.jsonl:2: not JSON"):
        taskutils.doc_to_text(doc)
    process = taskutils.make_process_docs(taskdata.load_aigve60k, "qa", root=tmp_path / "missing")
    with pytest.raises(taskdata.DatasetNotFound):
        taskutils.doc_to_messages(process(None)[0])


def test_data_root_from_environment_and_meta_file(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGVE60K_ROOT", str(taskdata.SAMPLE_ROOT))
    docs = taskdata.load_aigve60k("perception")
    assert len(docs) == 12 and docs[0]["dataset"] == "aigve60k"
    # a LOVE meta file with the annotation elsewhere and videos under `root`
    (tmp_path / "ann").mkdir()
    shutil.copy(taskdata.SAMPLE_ROOT / "annotations" / "qa_test.jsonl", tmp_path / "ann" / "qa.jsonl")
    meta = {"aigve_qa": {"root": str(taskdata.SAMPLE_ROOT), "annotation_test": "ann/qa.jsonl"}}
    (tmp_path / "meta_qa.json").write_text(json.dumps(meta))
    docs = taskdata.load_aigve60k("qa", root=tmp_path)
    assert len(docs) == 12 and all(Path(d["video"]).is_file() for d in docs)


def test_t2vqa_and_aigvqa_readers(monkeypatch, tmp_path):
    video = next(taskdata.SAMPLE_ROOT.glob("videos/*/*.mp4"))
    (tmp_path / "videos").mkdir()
    for i in range(4):
        shutil.copy(video, tmp_path / "videos" / f"clip{i}.mp4")
    (tmp_path / "test.txt").write_text("clip0|a cat | on a mat|55.5\nclip1.mp4|a dog|70\n\nclip2|x|10\n")
    monkeypatch.setenv("T2VQA_DB_ROOT", str(tmp_path))
    docs = taskdata.load_t2vqa_db()
    assert [d["mos"] for d in docs] == [55.5, 70.0, 10.0]
    assert docs[0]["prompt"] == "a cat | on a mat" and Path(docs[0]["video"]).is_file()

    assert taskdata.parse_packed_id("v/a.mp4->63.2") == ("v/a.mp4", 63.2)
    rows = [
        {"id": f"clip{i}.mp4->{10 * i}", "conversations": [
            {"from": "human", "value": "<video>How would you rate the correspondence of this video and its prompt? prompt:a cat"},
            {"from": "gpt", "value": "The correspondence of the video and its prompt is good."}]}
        for i in range(4)
    ]
    (tmp_path / "correspondence_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("AIGVQA_DB_ROOT", str(tmp_path))
    docs = taskdata.load_aigvqa_db("correspondence")
    assert [d["mos"] for d in docs] == [0, 10, 20, 30]
    assert docs[0]["prompt"] == "a cat" and docs[0]["love_task"] == "correspondence"
    assert Path(docs[0]["video"]).is_file()
    monkeypatch.delenv("AIGVQA_DB_ROOT")
    with pytest.raises(taskdata.DatasetNotFound, match="AIGVQA_DB_ROOT"):
        taskdata.load_aigvqa_db("static")


# ----------------------------------------------------------------------------- metrics


def test_aggregations():
    docs = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")
    perfect = [taskutils.rating_process_results(d, [f"{d['mos']}/100"])["instance_srcc"] for d in docs]
    assert taskutils.instance_srcc(perfect) == pytest.approx(1.0)
    assert taskutils.instance_plcc(perfect) == pytest.approx(1.0)
    assert taskutils.model_srcc(perfect) == pytest.approx(1.0)
    assert taskutils.parse_rate(perfect) == 1.0
    junk = [taskutils.rating_process_results(d, ["A"])["instance_srcc"] for d in docs]
    assert math.isnan(taskutils.instance_srcc(junk)) and taskutils.parse_rate(junk) == 0.0

    qa = taskdata.load_aigve60k("qa", dataset="aigve60k_sample")
    right = [taskutils.qa_process_results(d, [d["answer"]])["qa_accuracy"] for d in qa]
    assert taskutils.qa_accuracy(right) == 1.0
    by_dim = taskutils.qa_accuracy_by_dimension(right)
    assert set(by_dim) == {d["dimension"] for d in qa} and set(by_dim.values()) == {1.0}
    yes = [taskutils.qa_process_results(d, ["Yes"])["qa_accuracy"] for d in qa]
    refs = [answers.parse_yes_no(d["answer"]) for d in qa]
    assert taskutils.qa_accuracy(yes) == pytest.approx(refs.count("yes") / len(refs))


def test_failed_requests_are_counted_and_never_scored():
    """Unreadable videos (the model's "[failed] ..." answers) are left out of every metric and counted: on the
    sample, 3 answered and 3 failed videos give the 3 answered ones' correlation, not one with 50s in it."""
    docs = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")[:6]
    answers_given = [f"{d['mos']:.1f}/100" for d in docs[:3]]
    items = [taskutils.rating_process_results(d, [a])["instance_srcc"] for d, a in zip(docs, answers_given)]
    items += [taskutils.rating_process_results(d, [f"{answers.FAILURE_PREFIX}{d['video']}: no decodable frames"])
              ["instance_srcc"] for d in docs[3:]]
    alone = [taskutils.rating_process_results(d, [a])["instance_srcc"] for d, a in zip(docs[:3], answers_given)]
    assert taskutils.instance_srcc(items) == taskutils.instance_srcc(alone) == pytest.approx(1.0)
    assert taskutils.n_failed(items) == 3 and taskutils.parse_rate(items) == 1.0
    assert all(i["prediction"] is None for i in items[3:])
    all_failed = items[3:]
    assert math.isnan(taskutils.instance_srcc(all_failed)) and math.isnan(taskutils.parse_rate(all_failed))
    assert taskutils.nan_reasons(all_failed)["instance_srcc"] == "no answered requests (3 failed)"
    qa = taskdata.load_aigve60k("qa", dataset="aigve60k_sample")[:4]
    qa_items = [taskutils.qa_process_results(d, [d["answer"]])["qa_accuracy"] for d in qa[:2]]
    qa_items += [taskutils.qa_process_results(d, [f"{answers.FAILURE_PREFIX}x.mp4: file does not exist"])
                 ["qa_accuracy"] for d in qa[2:]]
    assert taskutils.qa_accuracy(qa_items) == 1.0 and taskutils.n_failed(qa_items) == 2


def test_nan_metrics_say_why():
    docs = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")
    constant = [taskutils.rating_process_results(d, ["good"])["instance_srcc"] for d in docs]
    reasons = taskutils.nan_reasons(constant)
    assert math.isnan(taskutils.instance_srcc(constant)) and "constant" in reasons["instance_srcc"]
    few = [taskutils.rating_process_results(d, [f"{d['mos']}/100"])["instance_srcc"] for d in docs[:5]]
    assert "the 4-parameter logistic fit needs at least 10" in taskutils.nan_reasons(few)["instance_plcc_logistic"]
    assert "instance_srcc" not in taskutils.nan_reasons(few)


def test_likelihood_variant_scoring():
    assert taskutils.expected_level_score([0.0, -50, -50, -50, -50]) == pytest.approx(10.0)
    assert taskutils.expected_level_score([0.0] * 5) == pytest.approx(50.0)
    assert taskutils.expected_level_score([-math.inf] * 5) is None
    doc = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")[0]
    item = taskutils.rating_ll_process_results(doc, [(-9.0, False), (-9.0, False), (-9.0, False), (-0.1, True), (-9.0, False)])
    assert item["instance_srcc"]["prediction"] == pytest.approx(70.0, abs=0.1) and item["parse_rate"]["parsed"]
    flat = taskutils.rating_ll_process_results(doc, [(0.0, False)] * 5)  # e.g. the dummy model
    assert not flat["parse_rate"]["parsed"]
    qa = taskdata.load_aigve60k("qa", dataset="aigve60k_sample")[0]
    assert taskutils.qa_ll_process_results(qa, [(-0.1, True), (-3.0, False)])["qa_accuracy"]["prediction"] == "yes"
    assert taskutils._lls(doc, ["(-0.5, True)", "(-inf, False)", (-2.0, False), "junk"]) == (
        [-0.5, -math.inf, -2.0, -math.inf], None)
    failed = taskutils.rating_ll_process_results(doc, [(-1.0, False)] * 4 + ["(nan, False)"])["instance_srcc"]
    assert failed["failed"] and failed["prediction"] is None  # a NaN likelihood is a failure, not a score
    assert taskutils.qa_ll_process_results(qa, [(math.nan, False), (-1.0, False)])["qa_accuracy"]["failed"]
    assert taskutils.doc_to_choice(qa) == ["yes", "no"] and taskutils.doc_to_choice(doc) == list(answers.LEVELS)


def test_prompts_for_chat_and_simple_models():
    doc = taskdata.load_aigve60k("correspondence", dataset="aigve60k_sample")[0]
    text = taskutils.doc_to_text(doc, {"pre_prompt": "", "post_prompt": "\nRate."})
    assert text.startswith("How would you rate the correspondence") and text.endswith("\nRate.")
    messages = taskutils.doc_to_messages(doc, None)
    assert messages[0]["content"][0] == {"type": "video", "url": doc["video"]}
    assert taskutils.doc_to_visual(doc) == [doc["video"]]


# ----------------------------------------------------------------------------- the love model, offline


def test_route_reads_our_docs_and_foreign_questions():
    from integrations.lmms_eval.models.love import rating_answer, route

    doc = taskdata.load_aigve60k("correspondence", dataset="aigve60k_sample")[0]
    assert route(doc, "ignored") == ("correspondence", doc["prompt"], None)
    q = "How would you rate the correspondence of this video and its prompt? prompt:a red fox\nAnswer with one word"
    assert route(None, q) == ("correspondence", "a red fox", None)
    assert route(None, "How is the quality of the video?\nAnswer ...")[0] == "perception"
    assert route({}, "Is the cat drinking?\nAnswer yes or no.") == ("qa", None, "Is the cat drinking?")
    assert answers.parse_rating(rating_answer("perception", 63.25)) == pytest.approx(63.25)
    assert rating_answer("perception", 63.25).startswith("The quality of the video is good.")


def test_model_args_win_over_lmms_eval_defaults(monkeypatch):
    from integrations.lmms_eval.models import love

    seen = {}
    monkeypatch.setattr(love._LoveBase, "__init__", lambda self, **kw: seen.update(kw))
    love.LoveChat.create_from_arg_string("batch_size=2,checkpoint=tiny-random", {"batch_size": "4", "device": None})
    assert str(seen.pop("batch_size")) == "2" and seen == {"checkpoint": "tiny-random"}
    love.LoveChat.create_from_arg_string("", {"batch_size": "1", "device": "cpu", "max_batch_size": None})
    assert seen == {"checkpoint": "tiny-random", "device": "cpu"}  # CLI default batch 1 -> LOVE's default


def test_perception_views_model_arg_reaches_the_scorer():
    from integrations.lmms_eval.models import love

    model = love.LoveChat.create_from_arg_string("checkpoint=tiny-random,perception_views=5", {"device": "cpu"})
    assert model.scorer.perception_views == 5 and model.scorer.describe()["perception_views"] == 5
    assert love.LoveChat.create_from_arg_string("checkpoint=tiny-random", {"device": "cpu"}).scorer.perception_views == 1
    for bad in ("0", "many"):  # refused, not clamped to one view
        with pytest.raises(ValueError, match="perception.views must be an integer >= 1"):
            love.LoveChat.create_from_arg_string(f"checkpoint=tiny-random,perception_views={bad}", {"device": "cpu"})


def test_plugin_patch_is_idempotent_and_can_be_switched_off(monkeypatch):
    from integrations.lmms_eval import plugin

    class FakeManager:
        def initialize_tasks(self, include_path=None, include_defaults=True):
            return {"builtin": {"type": "task"}}

        def _get_task_and_group(self, path):
            return {"aigve60k": {"type": "group", "path": path}, "builtin": {"type": "task", "ours": True}}

    plugin._wrap_initialize_tasks(FakeManager)
    plugin._wrap_initialize_tasks(FakeManager)
    index = FakeManager().initialize_tasks()
    assert index["aigve60k"]["path"] == TASKS_DIR and "ours" not in index["builtin"]  # built-ins win
    assert "aigve60k" not in FakeManager().initialize_tasks(include_path=[TASKS_DIR + "/"])  # no double index
    monkeypatch.setenv("LOVE_LMMS_EVAL_NO_TASKS", "1")
    assert "aigve60k" not in FakeManager().initialize_tasks()


# ----------------------------------------------------------------------------- packaging


def test_every_task_yaml_parses():
    from lmms_eval import utils

    yamls = sorted(glob.glob(os.path.join(TASKS_DIR, "**", "*.yaml"), recursive=True))
    assert len(yamls) >= 15
    for path in yamls:
        config = utils.load_yaml_config(path, mode="full")
        if "task" in config and isinstance(config["task"], str):
            assert config["dataset_path"] == "json" and "video" not in config.get("dataset_kwargs", {})
            assert callable(config["process_docs"]) and callable(config["process_results"])
            if config["output_type"] == "generate_until":  # chat models get explicit messages
                assert callable(config["doc_to_messages"])
            else:
                assert config["output_type"] == "multiple_choice" and config["task"].endswith("_ll")
            assert all(callable(m["aggregation"]) for m in config["metric_list"])


def test_entry_points_are_installed():
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="lmms_eval.models") if ep.name == "love"]
    assert eps and eps[0].value == "integrations.lmms_eval.plugin:manifests"
    scripts = [ep for ep in entry_points(group="console_scripts") if ep.name == "lmms_eval"]
    assert scripts and scripts[0].value == "integrations.lmms_eval.cli:main"
    theirs = [ep for ep in entry_points(group="console_scripts") if ep.name == "lmms-eval"]
    assert theirs and theirs[0].value == "lmms_eval.cli.dispatch:main"  # what `python -m lmms_eval` runs
    love, hf_video = eps[0].load()()
    assert love.model_id == "love" and love.chat_class_path and love.simple_class_path
    assert hf_video.model_id == "hf_video_ll" and hf_video.simple_class_path.endswith("hf_video.HFVideoLL")


def test_sample_data_is_small_and_relative():
    files = [p for p in taskdata.SAMPLE_ROOT.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    assert len([p for p in files if p.suffix == ".mp4"]) == 12
    assert {p.suffix for p in files} <= {".mp4", ".jsonl", ".json"}  # what package-data ships
    for path in files:
        if path.suffix in (".json", ".jsonl"):
            assert str(REPO) not in path.read_text(), f"{path} holds an absolute path of this machine"


# ----------------------------------------------------------------------------- lmms-eval in-process


@pytest.fixture(scope="module")
def lmms(cli_runs):
    from lmms_eval import evaluator, models
    from lmms_eval.tasks import TaskManager

    return evaluator, models, TaskManager


def _evaluate(lmms, model, tasks, model_args="", limit=None, **kw):
    evaluator, _, task_manager_cls = lmms
    return evaluator.simple_evaluate(
        model=model, model_args=model_args, tasks=tasks, limit=limit, log_samples=True, bootstrap_iters=0,
        task_manager=task_manager_cls(include_defaults=False), **kw,
    )


def test_registry_resolves_love(lmms):
    _, models, task_manager_cls = lmms
    assert models.get_model("love").__name__ == "LoveChat"
    assert models.get_model("love", force_simple=True).__name__ == "LoveSimple"
    manager = task_manager_cls(include_defaults=False)  # our folder is indexed without --include_path
    for name in ("aigve60k", "aigve60k_perception", "aigve60k_correspondence", "aigve60k_qa", "aigve60k_sample",
                 "aigve60k_ll", "aigve60k_perception_ll", "aigve60k_sample_ll",
                 *SAMPLE_TASKS, "t2vqa_db_mos", "aigvqa_db_mos", "aigvqa_db_static"):
        assert name in manager.all_tasks, name
    assert manager.task_index["aigve60k"]["type"] == "group"


def test_simple_evaluate_love_on_sample(lmms):
    out = _evaluate(lmms, "love", ["aigve60k_sample"], f"checkpoint={_checkpoint()},batch_size=8", limit=8)
    results = out["results"]
    for task in SAMPLE_TASKS[:2]:
        assert set(RATING_METRICS) <= {k.split(",")[0] for k in results[task]}
        assert results[task]["parse_rate,none"] == 1.0
        assert -1 <= results[task]["instance_srcc,none"] <= 1
    qa = results["aigve60k_sample_qa"]
    assert 0 <= qa["qa_accuracy,none"] <= 1 and qa["parse_rate,none"] == 1.0
    assert isinstance(qa["qa_accuracy_by_dimension,none"], dict)
    sample = out["samples"]["aigve60k_sample_perception"][0]
    assert "Score:" in sample["resps"][0][0] and sample["doc"]["love_task"] == "perception"
    assert len(out["samples"]["aigve60k_sample_qa"]) == 8
    assert out["samples"]["aigve60k_sample_qa"][0]["resps"][0][0] in ("Yes", "No")


def test_simple_evaluate_love_simple_model_and_loglikelihood(lmms):
    out = _evaluate(lmms, "love", ["aigve60k_sample_correspondence", "aigve60k_sample_ll"], "checkpoint=tiny-random",
                    limit=3, force_simple=True)
    results = out["results"]
    assert results["aigve60k_sample_correspondence"]["parse_rate,none"] == 1.0
    for task in ("aigve60k_sample_perception_ll", "aigve60k_sample_correspondence_ll", "aigve60k_sample_qa_ll"):
        assert results[task]["parse_rate,none"] == 1.0, task
    sample = out["samples"]["aigve60k_sample_perception_ll"][0]
    assert len(sample["resps"]) == 5  # one log-likelihood per level word

    from lmms_eval.api.instance import Instance

    from integrations.lmms_eval.models.love import LoveSimple

    model = LoveSimple(checkpoint="tiny-random", batch_size=2)
    qa_doc = taskdata.load_aigve60k("qa", dataset="aigve60k_sample")[0]
    rating_doc = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")[0]
    model.task_dict = {"t_qa": {"test": [qa_doc]}, "t_rate": {"test": [rating_doc]}}

    def req(task, cont):
        return Instance(request_type="loglikelihood", arguments=("ctx", cont, taskutils.doc_to_visual, 0, task, "test"),
                        idx=0, metadata={"task": task, "doc_id": 0, "repeats": 1})

    # LOVE's next-token log-probabilities over the whole vocabulary, as the scorer reads them
    (ll_yes, _), (ll_no, _) = model.loglikelihood([req("t_qa", " yes"), req("t_qa", " no")])
    direct = model.scorer.score(qa_doc["video"], questions=[qa_doc["question"]], tasks=["qa"])[0]
    assert (ll_yes, ll_no) == pytest.approx((direct.qa_logprobs["yes"], direct.qa_logprobs["no"]))
    assert math.exp(ll_yes) + math.exp(ll_no) <= 1.0 + 1e-6
    levels = model.loglikelihood([req("t_rate", f" {w}") for w in answers.LEVELS])
    direct = model.scorer.score(rating_doc["video"], tasks=["perception"])[0].perception_logprobs
    assert [ll for ll, _ in levels] == pytest.approx([direct[w] for w in answers.LEVELS])
    assert sum(math.exp(ll) for ll, _ in levels) <= 1.0 + 1e-6
    assert sum(greedy for _, greedy in levels) <= 1
    with pytest.raises(NotImplementedError):
        model.loglikelihood([req("t_rate", " purple")])


def test_simple_evaluate_dummy_on_sample(lmms):
    out = _evaluate(lmms, "dummy", ["aigve60k_sample"], "response=Yes")
    results = out["results"]
    refs = [answers.parse_yes_no(d["answer"]) for d in taskdata.load_aigve60k("qa", dataset="aigve60k_sample")]
    assert results["aigve60k_sample_qa"]["qa_accuracy,none"] == pytest.approx(refs.count("yes") / len(refs))
    assert results["aigve60k_sample_perception"]["parse_rate,none"] == 0.0
    assert math.isnan(results["aigve60k_sample_perception"]["instance_srcc,none"])


def test_simple_evaluate_missing_root_and_task_argument(lmms, monkeypatch):
    monkeypatch.delenv("AIGVE60K_ROOT", raising=False)
    with pytest.raises(taskdata.DatasetNotFound, match="anonymousdb/AIGVE-60K"):
        _evaluate(lmms, "dummy", ["aigve60k_perception"], limit=2)
    # the task argument: metadata.data_root in a task dict (the sample folder has AIGVE-60K's layout)
    task = {"task": "aigve60k_perception", "metadata": {"version": 0.1, "data_root": str(taskdata.SAMPLE_ROOT)}}
    out = _evaluate(lmms, "dummy", [task], "response=good")
    assert len(out["samples"]["aigve60k_perception"]) == 12
    assert out["results"]["aigve60k_perception"]["parse_rate,none"] == 1.0


# ----------------------------------------------------------------------------- the CLI (subprocesses)


def test_cli_readme_command(cli_runs):
    data, samples, log = _finish(cli_runs["lmms_eval"])
    for task in SAMPLE_TASKS:
        assert task in data["results"], log[-2000:]
    assert data["results"]["aigve60k_sample_perception"]["parse_rate,none"] == 1.0
    assert "instance_srcc,none" in data["results"]["aigve60k_sample_correspondence"]
    assert "qa_accuracy_by_dimension,none" in data["results"]["aigve60k_sample_qa"]
    qa_samples = [rows for name, rows in samples.items() if "aigve60k_sample_qa" in name]
    assert qa_samples and len(qa_samples[0]) == 8


def test_cli_without_our_wrapper_uses_the_entry_point(cli_runs):
    data, samples, log = _finish(cli_runs["python -m lmms_eval"])
    refs = [answers.parse_yes_no(d["answer"]) for d in taskdata.load_aigve60k("qa", dataset="aigve60k_sample")[:4]]
    assert data["results"]["aigve60k_sample_qa"]["qa_accuracy,none"] == pytest.approx(refs.count("yes") / 4), log[-2000:]
    assert any("aigve60k_sample_qa" in name for name in samples)
