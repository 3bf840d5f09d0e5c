"""`love-eval serve`: dynamic batching against the same server with batching off, at 8 concurrent clients.

    pytest benchmarks/bench_serve.py --benchmark-enable -s -p no:cacheprovider

One local Ray instance, one Serve proxy on 127.0.0.1, two applications of the same deployment: `/batched`
(`max_batch_size` 8, 10 ms wait) and `/single` (`max_batch_size` 1), each replica with 2 CPUs (the model's
matrix products then use two threads, which a batch of 8 fills better than a batch of 1). 8 client threads each send single-video
requests (a path under the video root; love-nano, all three tasks, one view, CPU) until 64 videos are done;
the two servers alternate round by round (`_paired_rates`). Target: >= 2.5x the videos/s.
"""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from bench_scoring import _paired_rates

pytest.importorskip("ray.serve")

from love_plugins.client import LoveClient  # noqa: E402
from love_plugins.synth import generate_suite  # noqa: E402

CLIENTS, VIDEOS = 8, 64


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    from ray import serve

    from integrations.ray import init_ray
    from integrations.ray.serve import ServeOptions, build_app

    root = tmp_path_factory.mktemp("serve_bench")
    generate_suite(root, num_videos=16, seed=6)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = init_ray(None, num_cpus=4)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    for name, batch in (("batched", 8), ("single", 1)):
        options = ServeOptions(model="love-nano", device="cpu", perception_views=1, video_root=str(root),
                               max_batch_size=batch, batch_wait_ms=10.0, max_ongoing_requests=16, cpus_per_replica=2)
        serve.run(build_app(options), name=name, route_prefix=f"/{name}")
    yield {name: f"http://127.0.0.1:{port}/{name}" for name in ("batched", "single")}, rows, root
    serve.shutdown()
    ray.shutdown()


def _load(url: str, rows: list[dict]):
    def client(k: int):
        c = LoveClient(url, timeout_s=300)
        for i in range(k, VIDEOS, CLIENTS):
            row = rows[i % len(rows)]
            result = c.score([row["video"]], [row["prompt"]], [row["question"]])[0]
            assert result.error is None, result.error

    def run():
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))

    return run


# Measured 2026-12-07: 1.21x with 1-CPU replicas (9.96 vs 8.26 videos/s, a 2-core AMD EPYC), 1.56x with 2-CPU
# replicas (10.87 vs 7.31 videos/s, a 2-core Intel Xeon). The ceiling of any batching gain here is love-nano's own
# model step: in-process on decoded clips (Intel Xeon), all three tasks at batch 8 against batch 1 run 1.99x faster
# per video on one thread and 2.48x on two; the served ratio stays below that (requests, answers and the proxy
# share the two cores with the model). Decoding included, the Scorer in process runs 2.24x faster per video at
# batch 8 than at batch 1 (`test_in_process_ceiling`, two threads, third session): the served ratio cannot reach
# 2.5x on this CPU. Third session: 1.45x, 1.65x, 1.33x, 1.39x in four runs. See benchmarks/README.md.
@pytest.mark.xfail(reason="love-nano's batch-8 model step is at most ~2.5x its batch-1 step on this 2-core CPU, "
                          "and serving costs share those cores",
                   strict=False)
def test_dynamic_batching_speedup(benchmark, servers):
    urls, rows, _ = servers
    base, fast, ratio = _paired_rates(_load(urls["single"], rows), _load(urls["batched"], rows), VIDEOS, rounds=3)
    benchmark.pedantic(_load(urls["batched"], rows), rounds=1, iterations=1)
    print(f"\nserve, {CLIENTS} clients: batched {fast:.2f} videos/s, batching off {base:.2f} videos/s, "
          f"median per-round ratio {ratio:.2f} (target >= 2.5)")
    assert ratio >= 2.5


def test_in_process_ceiling(benchmark, servers):
    """What the served ratio cannot exceed: the same model (love-nano, all three tasks, one view) scoring the same
    files in this process, decoding included, at batch 8 against batch 1 on the replica's two threads."""
    import torch

    import love_plugins

    _, rows, root = servers
    videos, prompts, questions = ([str(root / r["video"]) for r in rows], [r["prompt"] for r in rows],
                                  [r["question"] for r in rows])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        one, eight = (love_plugins.load("love-nano", device="cpu", batch_size=b, perception_views=1) for b in (1, 8))
        base, fast, ratio = _paired_rates(lambda: one.score(videos, prompts, questions),
                                          lambda: eight.score(videos, prompts, questions), len(videos), rounds=3)
        benchmark.pedantic(lambda: eight.score(videos, prompts, questions), rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    print(f"\nin process, decoding included: batch 8 {fast:.2f} videos/s, batch 1 {base:.2f} videos/s, "
          f"median per-round ratio {ratio:.2f} (the served ratio's ceiling)")
    assert ratio > 1.0
