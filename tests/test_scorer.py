"""Scorer API and `love-eval score` end to end on real mp4 files from the synthetic suite."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil

import pytest
import torch

import love_plugins
from love_plugins.cli import main as cli_main
from love_plugins.errors import LoveError
from love_plugins.results import read_rows, run_info_path
from love_plugins.synth import generate_suite


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, num_videos=6, seed=3)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    return root, rows


@pytest.fixture(scope="module")
def scorer():
    return love_plugins.load("tiny-random", batch_size=4)


def test_score_all_tasks_in_input_order(suite, scorer):
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows]
    results = scorer.score(videos, prompts=[r["prompt"] for r in rows], questions=[r["question"] for r in rows])
    assert [r.video for r in results] == videos
    for r in results:
        assert r.ok
        assert r.perception is not None and r.correspondence is not None
        assert r.perception_level in love_plugins.scorer.LoveModel(scorer.model.config).config.level_words
        assert r.qa_answer in ("yes", "no") and abs(r.qa_p_yes + r.qa_p_no - 1) < 1e-5


def test_batching_and_workers_do_not_change_results(suite, scorer):
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows]
    prompts = [r["prompt"] for r in rows]
    batched = scorer.score(videos, prompts=prompts)
    one_by_one = love_plugins.load("tiny-random", batch_size=1, num_workers=2).score(videos, prompts=prompts)
    for a, b in zip(batched, one_by_one):
        assert a.perception == pytest.approx(b.perception, rel=1e-4, abs=1e-4)
        assert a.correspondence == pytest.approx(b.correspondence, rel=1e-4, abs=1e-4)


def test_deterministic(suite, scorer):
    root, rows = suite
    video = str(root / rows[0]["video"])
    assert scorer.score(video)[0].perception == scorer.score(video)[0].perception


def test_scoring_leaves_the_global_rng_alone(suite, scorer):
    root, rows = suite
    state = torch.get_rng_state()
    scorer.score([str(root / r["video"]) for r in rows[:2]])
    assert torch.equal(torch.get_rng_state(), state)


def test_bad_video_is_recorded_and_others_scored(suite, scorer, tmp_path):
    root, rows = suite
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    results = scorer.score([str(root / rows[0]["video"]), str(empty), str(tmp_path / "missing.mp4")])
    assert results[0].ok
    assert "empty" in results[1].error and str(empty) in results[1].error
    assert "does not exist" in results[2].error


def test_task_without_text_is_an_error_per_video(suite, scorer):
    root, rows = suite
    results = scorer.score([str(root / rows[0]["video"])] * 2, prompts=["a red circle", ""],
                           tasks=["perception", "correspondence"])
    assert results[0].ok and not results[1].ok and "prompt" in results[1].error
    with pytest.raises(LoveError, match="prompts"):
        scorer.score([str(root / rows[0]["video"])], prompts=["a", "b"])


def test_cli_scores_folder_and_manifest(suite, tmp_path, capsys):
    root, rows = suite
    out = tmp_path / "folder.jsonl"
    assert cli_main(["score", str(root / "videos"), "--model", "tiny-random", "--out", str(out), "--no-progress"]) == 0
    scored = read_rows(out)
    assert len(scored) == len(rows) and all(r["perception"] is not None for r in scored)
    info = json.loads(run_info_path(out).read_text())
    assert info["sampler"]["seed"] == 0 and "versions" in info
    assert "6/6 videos scored" in capsys.readouterr().out

    out_csv = tmp_path / "manifest.csv"
    code = cli_main(["score", str(root / "manifest.jsonl"), "--model", "tiny-random", "--out", str(out_csv),
                     "--no-progress"])
    assert code == 0
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows)
    assert all(r["correspondence"] and r["qa_answer"] in ("yes", "no") for r in table)


def test_cli_failure_exit_code_and_resume(suite, tmp_path):
    root, rows = suite
    videos = tmp_path / "videos"
    videos.mkdir()
    for r in rows[:3]:
        shutil.copy(root / r["video"], videos / (r["video"].split("/")[-1]))
    (videos / "broken.mp4").write_text("this is not a video")
    out = tmp_path / "out.jsonl"
    args = ["score", str(videos), "--model", "tiny-random", "--out", str(out), "--no-progress"]
    assert cli_main(args) == 1  # one failure
    first = read_rows(out)
    assert len(first) == 4 and sum(bool(r["error"]) for r in first) == 1
    # A torn last line (as left by kill -9) is dropped; the rerun completes without duplicates.
    text = out.read_text().splitlines(keepends=True)
    out.write_text("".join(text[:2]) + text[2][:10])
    assert cli_main(args) == 1
    again = read_rows(out)
    assert len(again) == 4 and len({r["video"] for r in again}) == 4
    ok_first = {r["video"]: r["perception"] for r in first if not r["error"]}
    ok_again = {r["video"]: r["perception"] for r in again if not r["error"]}
    assert ok_first.keys() == ok_again.keys()
    for video, value in ok_first.items():  # rescored in a smaller batch: equal to float tolerance
        assert ok_again[video] == pytest.approx(value, rel=1e-5)


def test_score_cache_skips_decoding_and_keys_on_content(suite, tmp_path, monkeypatch):
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows[:3]]
    prompts = [r["prompt"] for r in rows[:3]]
    cached = love_plugins.load("tiny-random", cache_dir=tmp_path / "cache")
    first = cached.score(videos, prompts=prompts)
    import love_plugins.scorer as scorer_module

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached video was decoded again")

    monkeypatch.setattr(scorer_module, "read_video", no_decoding)
    again = cached.score(videos, prompts=prompts)
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    monkeypatch.undo()
    # a different prompt is a different key: that task is recomputed (needs decoding again)
    changed = cached.score(videos[:1], prompts=["something else entirely"])[0]
    assert changed.perception == pytest.approx(first[0].perception, rel=1e-5)
    assert changed.prompt == "something else entirely"
    # the same bytes under another name hit the cache (content hash, not path)
    copy = tmp_path / "renamed.mp4"
    shutil.copy(videos[0], copy)
    monkeypatch.setattr(scorer_module, "read_video", no_decoding)
    assert cached.score([str(copy)], prompts=prompts[:1])[0].correspondence == first[0].correspondence


def test_qa_reports_whether_the_vocabulary_argmax_is_an_answer_token(suite, scorer, monkeypatch):
    """The project decides QA over the two answer tokens; the authors' eval_qa.py decodes the argmax over the
    whole vocabulary. Each result says whether that argmax was the yes or the no token."""
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows[:4]]
    questions = [r["question"] for r in rows[:4]]
    model = scorer.model
    processor = scorer.processor
    real_forward = type(model).forward
    bias = {"i": 0}

    def forward(self, task, *args, **kwargs):  # make the argmax land on yes, on no, and elsewhere
        out = real_forward(self, task, *args, **kwargs)
        if task == "qa":
            logits = out.word_logits
            for row in range(logits.shape[0]):
                target = [processor.yes_token_id, processor.no_token_id, 5, 6][(bias["i"] + row) % 4]
                logits[row, target] = logits[row].max() + 5.0
            bias["i"] += logits.shape[0]
        return out

    monkeypatch.setattr(type(model), "forward", forward)
    results = scorer.score(videos, questions=questions, tasks=["qa"])
    assert [r.qa_argmax_is_yes_no for r in results] == [True, True, False, False]
    assert [r.qa_answer for r in results[:2]] == ["yes", "no"]
    assert scorer.describe()["qa_prompt"] == "inference"


def test_qa_prompt_option_changes_the_prompt_and_is_recorded(suite, tmp_path):
    root, rows = suite
    video, question = str(root / rows[0]["video"]), rows[0]["question"]
    inference = love_plugins.load("tiny-random")
    training = love_plugins.load("tiny-random", qa_prompt="training")
    assert training.describe()["qa_prompt"] == "training" and inference.describe()["qa_prompt"] == "inference"
    a = inference.score(video, questions=[question], tasks=["qa"])[0]
    b = training.score(video, questions=[question], tasks=["qa"])[0]
    assert a.qa_p_yes != b.qa_p_yes  # another prompt, another answer distribution
    with pytest.raises(ValueError, match="qa prompt must be one of"):
        love_plugins.load("tiny-random", qa_prompt="eval")
    out = tmp_path / "qa.jsonl"
    base = ["score", video, "--model", "tiny-random", "--question", question, "--out", str(out), "--no-progress"]
    assert cli_main(base) == 0
    assert cli_main([*base, "--qa-prompt", "training"]) == 2  # a resume must not mix the two prompts


def test_decoded_batches_are_pinned_once_and_sliced_without_a_copy(suite, monkeypatch):
    """The DataLoader's pinning reaches the decoded streams (a batch object with `pin_memory`, not items it
    cannot pin), pins the two stacked tensors once, and the model step slices them: no second copy."""
    from torch.utils.data._utils.pin_memory import pin_memory

    from love_plugins.scorer import _collate, _streams, _VideoFiles

    root, rows = suite
    sampler = love_plugins.load("tiny-random").sampler
    dataset = _VideoFiles([str(root / r["video"]) for r in rows[:3]] + [str(root / "missing.mp4")], sampler, None)
    pinned = []
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self, *a: pinned.append(self.clone()) or pinned[-1])
    batch = pin_memory(_collate([dataset[i] for i in range(4)]))  # what the DataLoader's pin loop does
    assert len(pinned) == 2 and batch.frames is pinned[0] and batch.fragments is pinned[1]
    decoded = [it for it in batch.items if it.sample is not None]
    assert len(decoded) == 3 and batch.items[3].error
    frames, fragments = _streams(decoded)
    assert frames.data_ptr() == pinned[0].data_ptr() and fragments.data_ptr() == pinned[1].data_ptr()
    frames, _ = _streams(decoded[1:])  # a tail (after an out-of-memory split): still a slice
    assert frames.data_ptr() == pinned[0][1].data_ptr()
    frames, _ = _streams([decoded[0], decoded[2]])  # not consecutive: a fresh stack
    assert frames.data_ptr() not in (pinned[0].data_ptr(), pinned[0][0].data_ptr())
    torch.testing.assert_close(frames, torch.stack([pinned[0][0], pinned[0][2]]))


def test_default_workers_and_dtype_per_device(monkeypatch, caplog):
    from love_plugins import scorer as scorer_module

    cpu = torch.device("cpu")
    assert scorer_module.default_num_workers(cpu) == 0
    assert scorer_module.default_dtype(cpu) == torch.float32
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(scorer_module.os, "cpu_count", lambda: 16)
    assert scorer_module.default_num_workers(cuda) == 4
    monkeypatch.setattr(scorer_module.os, "cpu_count", lambda: 4)
    assert scorer_module.default_num_workers(cuda) == 2
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert scorer_module.default_dtype(cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100")
    with caplog.at_level("WARNING"):
        assert scorer_module.default_dtype(cuda) == torch.float32
    assert "Tesla V100 does not support bfloat16" in caplog.text
    assert scorer_module.default_dtype(cuda, "float16") == torch.float16


def test_the_llm_pass_builds_no_kv_cache(scorer, suite, monkeypatch):
    root, rows = suite
    seen = []
    llm = scorer.model.language_model.model
    real = type(llm).forward
    monkeypatch.setattr(type(llm), "forward", lambda self, *a, **kw: seen.append(kw.get("use_cache")) or real(self, *a, **kw))
    scorer.score(str(root / rows[0]["video"]))
    assert seen and all(flag is False for flag in seen)


def test_bad_input_never_costs_earlier_results(suite, tmp_path, capsys):
    """`--overwrite` keeps the old results until the new run has validated its inputs and loaded its model; a
    resume with another batch size (scores differ in the last digits) is refused like a changed model."""
    root, rows = suite
    video = str(root / rows[0]["video"])
    out = tmp_path / "scores.jsonl"
    assert cli_main(["score", video, "--model", "tiny-random", "--batch-size", "2", "--out", str(out),
                     "--no-progress"]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert cli_main(["score", video, "--model", str(tmp_path / "no-bundle"), "--out", str(out), "--overwrite",
                     "--no-progress"]) == 2
    assert out.read_bytes() == before and "no-bundle: no such bundle directory" in capsys.readouterr().err
    assert cli_main(["score", video, "--model", "tiny-random", "--batch-size", "1", "--out", str(out),
                     "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "batch_size 2 -> 1" in err[0] and "--overwrite" in err[0]
    assert out.read_bytes() == before
    # parsed before anything: the file is not emptied
    assert cli_main(["score", video, "--model", "tiny-random", "--batch-size", "0", "--out", str(out), "--overwrite"]) == 2
    assert out.read_bytes() == before


def test_one_pass_scores_every_task_as_one_pass_per_task_does(suite, scorer, tmp_path):
    """`one_pass` / `--one-pass` (issue 45): the three tasks in one forward with per-row adapters give the
    same results as three passes, on real files, with perception's test-time views; it is recorded, and a
    resume does not mix the two."""
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows]
    prompts, questions = [r["prompt"] for r in rows], [r["question"] for r in rows]
    one = love_plugins.load("tiny-random", batch_size=4, one_pass=True, perception_views=2)
    per_task = love_plugins.load("tiny-random", batch_size=4, perception_views=2)
    assert one.describe()["one_pass"] and not per_task.describe()["one_pass"]
    for a, b in zip(one.score(videos, prompts, questions), per_task.score(videos, prompts, questions)):
        assert a.ok and b.ok
        for name in ("perception", "correspondence", "qa_p_yes"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-4, abs=1e-4), name
        assert (a.qa_answer, a.perception_level, a.correspondence_level) == (
            b.qa_answer, b.perception_level, b.correspondence_level)
        assert a.qa_logprobs == pytest.approx(b.qa_logprobs, rel=1e-4, abs=1e-4)
    out = tmp_path / "one.jsonl"
    base = ["score", *videos[:2], "--model", "tiny-random", "--prompt", "a red circle", "--out", str(out),
            "--no-progress"]
    assert cli_main([*base, "--one-pass"]) == 0
    assert json.loads(run_info_path(out).read_text())["one_pass"] is True
    assert cli_main(base) == 2  # a resume must not mix the two ways


def test_packed_prefill_and_attention_choice_score_as_the_default(suite, tmp_path, capsys):
    """`packed` / `--packed` and `attention` / `--attention` (issue 45): the rows of a batch packed without
    padding, and another attention implementation, score real files as the default path does; both are
    recorded, a resume does not mix them, and an implementation that cannot run here is refused in one line
    before anything is written."""
    root, rows = suite
    videos = [str(root / r["video"]) for r in rows]
    prompts, questions = [r["prompt"] for r in rows], [r["question"] for r in rows]
    default = love_plugins.load("tiny-random", batch_size=4, perception_views=2)
    reference = default.score(videos, prompts, questions)
    for options in ({"packed": True}, {"attention": "eager"}, {"packed": True, "attention": "eager"}):
        scorer = love_plugins.load("tiny-random", batch_size=4, perception_views=2, **options)
        assert scorer.describe()["packed"] is options.get("packed", False)
        assert scorer.describe()["attention"] == options.get("attention", "sdpa")
        for a, b in zip(scorer.score(videos, prompts, questions), reference):
            assert a.ok and b.ok
            for name in ("perception", "correspondence", "qa_p_yes"):
                assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-4, abs=1e-4), (options, name)
            assert (a.qa_answer, a.perception_level, a.correspondence_level) == (
                b.qa_answer, b.perception_level, b.correspondence_level)
    with pytest.raises(ValueError, match="packed and one_pass cannot be combined"):
        love_plugins.load("tiny-random", packed=True, one_pass=True)
    out = tmp_path / "packed.jsonl"
    base = ["score", *videos[:2], "--model", "tiny-random", "--prompt", "a red circle", "--out", str(out),
            "--no-progress"]
    assert cli_main([*base, "--packed"]) == 0
    assert json.loads(run_info_path(out).read_text())["packed"] is True
    before = out.read_bytes()
    capsys.readouterr()
    assert cli_main(base) == 2  # a resume must not mix the two ways
    assert "packed True -> False" in capsys.readouterr().err
    if importlib.util.find_spec("flash_attn") is None:  # not installable on a CPU-only machine
        assert cli_main([*base, "--attention", "flash_attention_2", "--overwrite"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "attention 'flash_attention_2'" in err[0] and "flash" in err[0].lower()
    assert cli_main([*base, "--attention", "flash-attention", "--overwrite"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert out.read_bytes() == before
