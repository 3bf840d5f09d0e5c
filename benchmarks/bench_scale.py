"""Scale: videos/s from 100 to 2,000 videos stays within 15 %, and memory does not grow with the
number of videos (results stream to disk as they are scored).

    pytest benchmarks/bench_scale.py --benchmark-enable -s -p no:cacheprovider

Baseline: the same scorer on 100 videos in the same run. One synthetic clip is listed repeatedly, so
every video costs the same and only the run length changes.
"""

from __future__ import annotations

import resource
import time

import love_plugins
from love_plugins.results import ResultsWriter
from love_plugins.synth import generate_suite


def _run(scorer, videos, out):
    start = time.perf_counter()
    with ResultsWriter(out, scorer.describe(), overwrite=True) as writer:
        for i, result in enumerate(scorer.iter_scores(videos, tasks=["perception"])):
            row = result.to_dict()
            row["video"] = f"{row['video']}#{i}"  # distinct rows although the file repeats
            writer.write(row)
    return len(videos) / (time.perf_counter() - start)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_rate_and_memory_flat_from_100_to_2000(benchmark, tmp_path):
    generate_suite(tmp_path / "suite", num_videos=1, seed=0)
    clip = str(next((tmp_path / "suite" / "videos").rglob("*.mp4")))
    scorer = love_plugins.load("tiny-random", batch_size=8)
    _run(scorer, [clip] * 16, tmp_path / "warmup.jsonl")
    small = _run(scorer, [clip] * 100, tmp_path / "small.jsonl")
    rss_small = _peak_rss_mib()
    large = benchmark.pedantic(_run, args=(scorer, [clip] * 2000, tmp_path / "large.jsonl"), rounds=1, iterations=1)
    rss_large = _peak_rss_mib()
    change = large / small - 1
    print(f"\nscale: {small:.2f} videos/s at 100, {large:.2f} videos/s at 2,000 ({change:+.1%}, target within 15 %); "
          f"peak RSS {rss_small:.0f} MiB after 100, {rss_large:.0f} MiB after 2,000")
    assert abs(change) <= 0.15
    assert rss_large - rss_small < 64  # MiB: no per-video growth
