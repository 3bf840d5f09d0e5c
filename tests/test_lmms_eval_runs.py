"""The real `lmms_eval` command, end to end, with models no one here wrote and with LOVE where it must fail.

- `--model hf_video_ll` (this package's class for any transformers video LMM) on tiny Qwen2.5-VL and
  LLaVA-OneVision models built from config, through the likelihood (`*_ll`) tasks;
- lmms-eval's own `qwen2_5_vl` class on the tiny Qwen2.5-VL, through a generate task;
- `--model love --force_simple` on the `*_ll` tasks: the likelihoods are LOVE's own next-token ones;
- unreadable videos under `--model love`: counted in n_failed, never scored;
- exit codes: a missing data root and a model that cannot load exit 1 with the reason on the last line;
- two processes under torchrun (gloo, CPU).

The runs start together in a fixture (two at a time: the machine has two cores) and the tests read them.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("lmms_eval")
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:An input array is nearly constant")]

from tiny_vlms import save_tiny_llava_onevision, save_tiny_qwen2_5_vl  # noqa: E402

from integrations.lmms_eval import taskdata, taskutils  # noqa: E402
from integrations.lmms_eval.answers import FAILURE_PREFIX  # noqa: E402

BIN = Path(sys.executable).parent
LL_TASKS = "aigve60k_sample_qa_ll,aigve60k_sample_perception_ll"


def _corrupted_root(root: Path) -> Path:
    """The bundled sample in AIGVE-60K's layout, with the videos of its first three perception documents made
    unreadable (two not videos at all, one truncated inside its header)."""
    shutil.copytree(taskdata.SAMPLE_ROOT, root)
    lines = (root / "annotations" / "perception_test.jsonl").read_text().splitlines()
    videos = [root / json.loads(line)["video"] for line in lines[:3]]
    for path in videos[:2]:
        path.write_bytes(b"not a video at all")
    videos[2].write_bytes(videos[2].read_bytes()[:200])
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("lmms_runs")
    qwen = save_tiny_qwen2_5_vl(base / "tiny-qwen2_5_vl")
    llava = save_tiny_llava_onevision(base / "tiny-llava-onevision")
    root = _corrupted_root(base / "aigve60k_root")
    env = {k: v for k, v in os.environ.items() if k != "AIGVE60K_ROOT"}
    env["OMP_NUM_THREADS"] = "1"
    lmms_eval = [str(BIN / "lmms_eval")]
    commands = {
        "hf_qwen": lmms_eval + ["--tasks", LL_TASKS, "--model", "hf_video_ll", "--model_args",
                                f"pretrained={qwen},device=cpu", "--limit", "4"],
        "hf_llava": lmms_eval + ["--tasks", LL_TASKS, "--model", "hf_video_ll", "--model_args",
                                 f"pretrained={llava},device=cpu", "--limit", "4"],
        "builtin_qwen": lmms_eval + ["--tasks", "aigve60k_sample_qa", "--model", "qwen2_5_vl", "--model_args",
                                     f"pretrained={qwen},device=cpu,device_map=cpu,max_pixels=12544,min_pixels=3136",
                                     "--limit", "4"],
        "love_ll": lmms_eval + ["--tasks", LL_TASKS, "--model", "love", "--force_simple", "--limit", "6"],
        "love_unreadable": lmms_eval + ["--tasks", "aigve60k_perception", "--model", "love", "--limit", "6"],
        "missing_root": lmms_eval + ["--tasks", "aigve60k_qa", "--model", "love", "--limit", "2"],
        "bad_model": lmms_eval + ["--tasks", "aigve60k_sample_qa", "--model", "love", "--model_args",
                                  "checkpoint=/nonexistent/bundle", "--limit", "2"],
        "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                     "-m", "integrations.lmms_eval.cli", "--tasks", "aigve60k_sample_qa", "--model", "love",
                     "--limit", "6"],
    }

    def run(name: str):
        out = base / name
        cmd_env = {**env, "AIGVE60K_ROOT": str(root)} if name == "love_unreadable" else env
        proc = subprocess.run([*commands[name], "--output_path", str(out), "--log_samples"], cwd=base, env=cmd_env,
                              capture_output=True, text=True, timeout=900)
        return name, (proc, out)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, commands))


def _read(run):
    proc, out = run
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-3000:]
    results = glob.glob(str(out / "**" / "*results*.json"), recursive=True)
    assert results, text[-3000:]
    samples = {Path(p).name.split("_samples_")[-1].removesuffix(".jsonl"):
               [json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
               for p in glob.glob(str(out / "**" / "*samples*.jsonl"), recursive=True)}
    return json.loads(Path(results[0]).read_text())["results"], samples


def _response(sample) -> str:
    value = sample["filtered_resps"]
    return value[0] if isinstance(value, list) else value


def _lls(sample) -> list[float]:
    return [taskutils._ll(r) for r in sample["filtered_resps"]]


@pytest.mark.parametrize("name", ["hf_qwen", "hf_llava"])
def test_hf_video_ll_scores_likelihoods_with_third_party_architectures(runs, name):
    results, samples = _read(runs[name])
    assert results["aigve60k_sample_qa_ll"]["n_failed,none"] == 0
    assert results["aigve60k_sample_perception_ll"]["parse_rate,none"] == 1.0
    qa, perception = samples["aigve60k_sample_qa_ll"], samples["aigve60k_sample_perception_ll"]
    assert len(qa) == 4 and len(perception) == 4
    for sample in qa + perception:
        lls = _lls(sample)
        assert all(math.isfinite(v) and v < 0 for v in lls)  # real log-probabilities of the continuations
        assert len(set(lls)) == len(lls)  # each choice its own likelihood
    assert 0.0 <= results["aigve60k_sample_qa_ll"]["qa_accuracy,none"] <= 1.0


def test_lmms_eval_builtin_model_class_runs_the_generate_task(runs):
    results, samples = _read(runs["builtin_qwen"])
    assert len(samples["aigve60k_sample_qa"]) == 4
    assert results["aigve60k_sample_qa"]["n_failed,none"] == 0  # random weights: answers unparsed, not failed


def test_love_likelihoods_are_its_next_token_log_probabilities(runs):
    """The `_ll` answers of `--model love` equal LOVE's log P(Yes) / log P(No) and log P(level word) read
    from the same model directly (not a distribution made up around the regression score)."""
    import love_plugins

    results, samples = _read(runs["love_ll"])
    scorer = love_plugins.load("love-nano", device="cpu")
    qa_docs = taskdata.load_aigve60k("qa", dataset="aigve60k_sample")
    for sample in samples["aigve60k_sample_qa_ll"]:
        doc = qa_docs[sample["doc_id"]]
        direct = scorer.score(doc["video"], questions=[doc["question"]], tasks=["qa"])[0].qa_logprobs
        assert _lls(sample) == pytest.approx([direct["yes"], direct["no"]], abs=1e-4)
        assert math.exp(direct["yes"]) + math.exp(direct["no"]) <= 1.0 + 1e-6  # over the whole vocabulary
    perception_docs = taskdata.load_aigve60k("perception", dataset="aigve60k_sample")
    for sample in samples["aigve60k_sample_perception_ll"][:3]:
        doc = perception_docs[sample["doc_id"]]
        direct = scorer.score(doc["video"], tasks=["perception"])[0].perception_logprobs
        assert _lls(sample) == pytest.approx([direct[w] for w in ("bad", "poor", "fair", "good", "excellent")],
                                             abs=1e-4)
    assert results["aigve60k_sample_perception_ll"]["n_failed,none"] == 0


def test_unreadable_videos_are_counted_never_scored(runs):
    from love_plugins import metrics

    results, samples = _read(runs["love_unreadable"])
    rows = samples["aigve60k_perception"]
    failed = [s for s in rows if s["instance_srcc"]["failed"]]
    assert len(rows) == 6 and len(failed) == 3 and results["aigve60k_perception"]["n_failed,none"] == 3
    assert all(_response(s).startswith(FAILURE_PREFIX) for s in failed)  # the reason, in the samples
    answered = [s["instance_srcc"] for s in rows if not s["instance_srcc"]["failed"]]
    expected = metrics.srcc([a["prediction"] for a in answered], [a["mos"] for a in answered])
    assert results["aigve60k_perception"]["instance_srcc,none"] == pytest.approx(expected)
    assert results["aigve60k_perception"]["parse_rate,none"] == 1.0
    assert all("/100" in _response(s) for s in rows if not s["instance_srcc"]["failed"])  # LOVE's answers


@pytest.mark.parametrize("name, reason", [
    ("missing_root", "DatasetNotFound: aigve60k: no data root given"),
    ("bad_model", "/nonexistent/bundle: no such bundle directory"),
])
def test_failed_evaluations_exit_non_zero_with_the_reason_last(runs, name, reason):
    proc, _ = runs[name]
    assert proc.returncode == 1, (proc.stdout + proc.stderr)[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("lmms_eval: evaluation failed:") and reason in last


def test_two_processes_under_torchrun(runs):
    """lmms-eval's multi-process evaluator reads the model's device, rank and world size (an AttributeError
    on `device`, once); each rank scores its share and rank 0 gathers all six answers."""
    results, samples = _read(runs["torchrun"])
    assert len(samples["aigve60k_sample_qa"]) == 6
    assert results["aigve60k_sample_qa"]["n_failed,none"] == 0
