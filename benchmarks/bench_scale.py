"""Scale: videos/s from 100 to 2,000 videos stays within 15 %, and memory does not grow with the
number of videos (results stream to disk as they are scored).

    pytest benchmarks/bench_scale.py --benchmark-enable -s -p no:cacheprovider

Baseline: separate 100-video runs of the same scorer in the same session (writer, iterator and all),
five of them, two before and three after the long run; their median is compared with the rate of
one 2,000-video run. A 100-video run lasts about a second and this VM's speed drifts by ±20 % over
seconds, so one short run alone is not a baseline; the long run's rate per window of 100 videos is
printed too (a rate that fell as results accumulate would show in its last windows). One synthetic
clip is listed repeatedly, so every video costs the same and only the run length changes.
"""

from __future__ import annotations

import resource
import statistics
import time

import love_plugins
from love_plugins.results import ResultsWriter
from love_plugins.synth import generate_suite


def _run(scorer, videos, out, window: int = 100) -> tuple[float, list[float]]:
    """Overall videos/s of one streamed run, and the videos/s of each window of `window` videos."""
    start = time.perf_counter()
    stamps = []
    with ResultsWriter(out, scorer.describe(), overwrite=True) as writer:
        for i, result in enumerate(scorer.iter_scores(videos, tasks=["perception"])):
            row = result.to_dict()
            row["video"] = f"{row['video']}#{i}"  # distinct rows although the file repeats
            writer.write(row)
            stamps.append(time.perf_counter())
    edges = [start] + stamps[window - 1 :: window]
    windows = [window / (b - a) for a, b in zip(edges[:-1], edges[1:])]
    return len(videos) / (time.perf_counter() - start), windows


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_rate_and_memory_flat_from_100_to_2000(benchmark, tmp_path):
    generate_suite(tmp_path / "suite", num_videos=1, seed=0)
    clip = str(next((tmp_path / "suite" / "videos").rglob("*.mp4")))
    scorer = love_plugins.load("tiny-random", batch_size=8)
    _run(scorer, [clip] * 16, tmp_path / "warmup.jsonl")
    small = [_run(scorer, [clip] * 100, tmp_path / "small.jsonl")[0] for _ in range(2)]
    rss_small = _peak_rss_mib()
    large, windows = benchmark.pedantic(_run, args=(scorer, [clip] * 2000, tmp_path / "large.jsonl"), rounds=1,
                                        iterations=1)
    rss_large = _peak_rss_mib()
    small += [_run(scorer, [clip] * 100, tmp_path / "small.jsonl")[0] for _ in range(3)]
    baseline = statistics.median(small)
    change = large / baseline - 1
    print(f"\nscale: {baseline:.2f} videos/s for 100-video runs (median of {', '.join(f'{r:.1f}' for r in small)}), "
          f"{large:.2f} videos/s for a 2,000-video run ({change:+.1%}, target within 15 %); its windows of 100: "
          f"first {windows[0]:.1f}, median {statistics.median(windows):.1f}, last {windows[-1]:.1f}; "
          f"peak RSS {rss_small:.0f} MiB after 100, {rss_large:.0f} MiB after 2,000")
    assert abs(change) <= 0.15
    assert rss_large - rss_small < 64  # MiB: no per-video growth
