"""The input pipeline at the decode floor (issue 45).

    OMP_NUM_THREADS=1 pytest benchmarks/bench_decode.py --benchmark-enable -s -p no:cacheprovider

* 1280×720, 64 frames: `read_video` (both streams, the default backend, and each installed backend) against a
  plain threaded decode of the frames the two streams need — PyAV with FFmpeg's frame threads, each needed frame
  converted to an RGB array and nothing else. Target: ≤ 1.3× its time.
* 176×144, 64 frames (a clip smaller than the 224² fragment mosaic, so the fragments are upsampled): `read_video`
  against the authors' loader (`reference_loader.py`), on an idle CPU and beside a busy process (contention).
  Target: not slower than theirs in either.

Each pair is alternated round by round and the median per-round ratio reported (`bench_scoring._paired_rates`).
"""

from __future__ import annotations

import multiprocessing as mp
import time

import av
import pytest
import torch
from bench_scoring import _paired_rates
from bench_video import _write_clip
from reference_loader import reference_load

from love_plugins.video import SamplerConfig, _Assembler, available_backends, probe_video, read_video

CONFIG = SamplerConfig()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("decode")
    return {"720p": str(_write_clip(d / "720p.mp4", 720, 1280, 64)),
            "176x144": str(_write_clip(d / "qcif.mp4", 144, 176, 64))}


def threaded_decode(path: str) -> list:
    """The floor: decode up to the last frame the streams need with FFmpeg's threads, converting each needed
    frame to RGB — what any reader of these frames has to do."""
    needed = set(_Assembler(probe_video(path, "pyav").num_frames, CONFIG).needed)
    last, out = max(needed), []
    with av.open(path) as container:
        container.streams.video[0].thread_type = "AUTO"
        for i, frame in enumerate(container.decode(video=0)):
            if i in needed:
                out.append(frame.to_ndarray(format="rgb24"))
            if i >= last:
                break
    return out


def test_720p_both_streams_near_a_plain_threaded_decode(benchmark, clips):
    path = clips["720p"]
    assert len(threaded_decode(path)) == len(_Assembler(64, CONFIG).needed)
    results = {}
    for backend in [None, *available_backends()]:  # None: what read_video picks by default
        base, ours, ratio = _paired_rates(lambda: threaded_decode(path),
                                          lambda b=backend: read_video(path, CONFIG, backend=b), 1, rounds=7)
        results[backend or f"default ({available_backends()[0]})"] = (1 / ours, 1 / base, 1 / ratio)
    benchmark.pedantic(read_video, args=(path, CONFIG), rounds=3, iterations=1)
    for name, (ours_s, base_s, slowdown) in results.items():
        print(f"\n720p, 64 frames: read_video [{name}] {ours_s * 1e3:.0f} ms, threaded decode {base_s * 1e3:.0f} ms "
              f"-> {slowdown:.2f}x its time (target <= 1.3x for the default)")
    assert results[f"default ({available_backends()[0]})"][2] <= 1.3


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize("contention", [False, True], ids=["idle", "busy"])
def test_small_clip_not_slower_than_the_authors_loader(benchmark, clips, contention):
    path = clips["176x144"]
    frames, fragments = read_video(path, CONFIG).frames, read_video(path, CONFIG).fragments
    ref_frames, ref_fragments = reference_load(path, CONFIG)
    assert torch.equal(frames, ref_frames) and torch.equal(fragments, ref_fragments)  # the same tensors
    busy = mp.get_context("spawn").Process(target=_spin, args=(120.0,), daemon=True) if contention else None
    if busy:
        busy.start()
    try:
        theirs, ours, ratio = _paired_rates(lambda: reference_load(path, CONFIG), lambda: read_video(path, CONFIG), 1,
                                            rounds=7)
        benchmark.pedantic(read_video, args=(path, CONFIG), rounds=3, iterations=1)
    finally:
        if busy:
            busy.terminate()
            busy.join()
    print(f"\n176x144, 64 frames{' beside a busy process' if contention else ''}: read_video {1e3 / ours:.1f} ms, "
          f"the authors' loader {1e3 / theirs:.1f} ms -> {ratio:.2f}x as fast (target >= 1)")
    assert ratio >= 1.0
