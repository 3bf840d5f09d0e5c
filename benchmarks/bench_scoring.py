"""Throughput of the scoring core, as ratios against named baselines measured in the same run.

    pytest benchmarks/bench_scoring.py --benchmark-enable -s

Baselines (all on the tiny LOVE configuration, CPU):
* batching      — batch size 1 (LOVE's public inference) vs batch size 8;
* three tasks   — three single-task runs (each decodes and encodes motion again) vs one run of all three;
* pipeline      — decode-then-infer in one process vs decoding in 2 DataLoader workers ahead of the model;
* memory        — one single-task model vs one base with three tasks (parameter + buffer bytes);
* views         — eight single-view perception runs vs one run over 8 test-time views.
Each test prints the ratio and asserts the issue's target.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from love_plugins.modeling import LoveModel
from love_plugins.modeling.tiny import build_tokenizer, tiny_config
from love_plugins.scorer import Scorer
from love_plugins.synth import generate_suite
from love_plugins.video import read_video

RESULTS: dict[str, float] = {}


def _scorer(batch_size: int = 8, num_workers: int = 0, tasks=("perception", "correspondence", "qa"), **cfg):
    tokenizer = build_tokenizer()
    config = tiny_config(vocab_size=len(tokenizer), **cfg)
    config.tasks = tuple(tasks)
    torch.manual_seed(0)
    return Scorer(LoveModel(config), tokenizer, batch_size=batch_size, num_workers=num_workers)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_suite")
    generate_suite(root, num_videos=16, seed=0)
    import json

    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    return [str(root / r["video"]) for r in rows], [r["prompt"] for r in rows], [r["question"] for r in rows]


def _paired_rates(baseline, candidate, videos: int, rounds: int = 5) -> tuple[float, float, float]:
    """Videos per second of two runs alternated round by round (A B A B ...), after one warm-up each.

    Returns the median rate of each and the median of the per-round ratios candidate/baseline.
    Pairing each candidate run with the baseline run beside it keeps a drift of the machine's speed (a
    shared VM's is large) out of the ratio, and the median ignores a round hit by a stall.
    """
    baseline(), candidate()
    rates: list[tuple[float, float]] = []
    for _ in range(rounds):
        pair = []
        for fn in (baseline, candidate):
            start = time.perf_counter()
            fn()
            pair.append(videos / (time.perf_counter() - start))
        rates.append((pair[0], pair[1]))
    base = statistics.median(r[0] for r in rates)
    fast = statistics.median(r[1] for r in rates)
    return base, fast, statistics.median(r[1] / r[0] for r in rates)


def test_batching_speedup(benchmark, clips):
    videos, prompts, _ = clips
    one, eight = _scorer(batch_size=1), _scorer(batch_size=8)
    # Decoded once up front: decoding costs the same per video at any batch size, the model does not.
    samples = [read_video(v, one.sampler) for v in videos]
    base, fast, ratio = _paired_rates(lambda: one.score_samples(samples, tasks=["perception"]),
                                      lambda: eight.score_samples(samples, tasks=["perception"]), len(videos))
    benchmark.pedantic(lambda: eight.score_samples(samples, tasks=["perception"]), rounds=1, iterations=1)
    print(f"\nbatching: batch 8 = {fast:.2f} videos/s, batch 1 = {base:.2f} videos/s, median per-round ratio {ratio:.2f} (target >= 2.5)")
    RESULTS["batching"] = ratio
    assert ratio >= 2.5


def test_three_tasks_share_decoding_and_motion(benchmark, clips):
    videos, prompts, questions = clips
    combined = _scorer()
    singles = {t: _scorer(tasks=(t,)) for t in ("perception", "correspondence", "qa")}

    def three_runs():
        for task, scorer in singles.items():
            scorer.score(videos, prompts=prompts, questions=questions, tasks=[task])

    def one_run():
        combined.score(videos, prompts=prompts, questions=questions, tasks=list(singles))

    rate_three, rate_one, speedup = _paired_rates(three_runs, one_run, len(videos), rounds=3)
    t_three, t_one = len(videos) / rate_three, len(videos) / rate_one
    benchmark.pedantic(one_run, rounds=1, iterations=1)
    ratio = 1 / speedup  # time of one run over time of three: the median of the per-round ratios
    print(f"\nthree tasks: one run {t_one:.2f}s vs three single-task runs {t_three:.2f}s, ratio {ratio:.2f} "
          "(target <= 0.6)")
    RESULTS["three_tasks_time"] = ratio
    assert ratio <= 0.6


def _model_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


def test_three_tasks_memory(clips):
    """Weights resident for three outputs: one base + three tasks vs one single-task model (the tiny
    configuration; the 9B layout is 9.48 B vs 9.25 B parameters, ratio 1.025, see README)."""
    cfg = dict(hidden_size=128, num_layers=4, vision_hidden=64)
    combined = _scorer(**cfg).model
    single = _scorer(tasks=("perception",), **cfg).model
    ratio = _model_bytes(combined) / _model_bytes(single)
    print(f"\nmemory: three tasks {_model_bytes(combined) / 2**20:.1f} MiB vs one task "
          f"{_model_bytes(single) / 2**20:.1f} MiB, ratio {ratio:.2f} (target <= 1.25; three checkpoints = 3.0)")
    RESULTS["three_tasks_memory"] = ratio
    assert ratio <= 1.25


def test_decoding_pipeline(benchmark, clips):
    videos = clips[0] * 24  # 384 videos: long enough that starting the worker processes (~0.2 s) is amortised
    # The scorer's default batch size (8) and a model whose step costs about what decoding costs, so
    # overlap is what is measured.
    sequential = _scorer(batch_size=8, num_workers=0, num_frames=4, frame_size=64)
    pipelined = _scorer(batch_size=8, num_workers=2, num_frames=4, frame_size=64)
    base, fast, ratio = _paired_rates(lambda: sequential.score(videos, tasks=["perception"]),
                                      lambda: pipelined.score(videos, tasks=["perception"]), len(videos))
    benchmark.pedantic(lambda: pipelined.score(videos, tasks=["perception"]), rounds=1, iterations=1)
    print(f"\npipeline: 2 decoding workers {fast:.2f} videos/s vs sequential {base:.2f} videos/s, median per-round ratio {ratio:.2f} "
          "(target >= 1.6)")
    RESULTS["pipeline"] = ratio
    assert ratio >= 1.6


def test_perception_views_share_decoding(benchmark, clips):
    """Perception over 8 test-time views (love-nano's default) in one run vs 8 single-view runs of the same
    views (each decodes its video again): the views share decoding but not the model's forward passes."""
    videos = clips[0]
    single = _scorer(tasks=("perception",), num_frames=4, frame_size=64)
    multi = Scorer(single.model, single.tokenizer, batch_size=8, perception_views=8)

    def eight_runs():
        for _ in range(8):
            single.score(videos, tasks=["perception"])  # a view costs what one single-view run costs

    def one_run():
        multi.score(videos, tasks=["perception"])

    rate_eight, rate_one, speedup = _paired_rates(eight_runs, one_run, len(videos), rounds=3)
    benchmark.pedantic(one_run, rounds=1, iterations=1)
    ratio = 1 / speedup
    print(f"\nperception views: one 8-view run {len(videos) / rate_one:.2f}s vs eight single-view runs "
          f"{len(videos) / rate_eight:.2f}s, ratio {ratio:.2f} (target <= 0.8)")
    RESULTS["perception_views_time"] = ratio
    assert ratio <= 0.8
