"""read_video (one decode, both streams) against the LOVE reference loader (decord opened twice).

Run: .venv/bin/pytest benchmarks/bench_video.py --benchmark-enable
Not part of the test suite (testpaths = tests). Prints mean-time ratios reference / ours at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # reference_loader lives next to this file

from reference_loader import reference_load  # noqa: E402

from love_plugins.video import SamplerConfig, read_video  # noqa: E402

CLIPS = {"320x240": (240, 320, 64), "1280x720": (720, 1280, 64)}
_means: dict[tuple[str, str], float] = {}


def _write_clip(path: Path, height: int, width: int, n: int) -> Path:
    """Moving colour gradients with a little noise: compresses like footage, not like a flat card."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for t in range(n):
            r = 127 + 120 * np.sin((x + 4 * t) / 37)
            g = 127 + 120 * np.cos((y - 3 * t) / 23)
            b = 127 + 120 * np.sin((x + y + 5 * t) / 51)
            rgb = np.stack([r, g, b], -1) + rng.normal(0, 6, (height, width, 3))
            frame = av.VideoFrame.from_ndarray(rgb.clip(0, 255).astype(np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bench")
    return {name: str(_write_clip(d / f"{name}.mp4", *shape)) for name, shape in CLIPS.items()}


def _ours(path: str):
    s = read_video(path, SamplerConfig(), backend="decord")
    return s.frames, s.fragments


@pytest.mark.parametrize("clip", list(CLIPS))
@pytest.mark.parametrize("loader", ["read_video", "reference"])
def test_load(benchmark, clips, clip, loader):
    fn = _ours if loader == "read_video" else reference_load
    benchmark.group = clip
    frames, fragments = benchmark.pedantic(fn, args=(clips[clip],), rounds=5, iterations=1, warmup_rounds=1)
    # same outputs, or the comparison means nothing
    ref_frames, ref_fragments = reference_load(clips[clip]) if loader == "read_video" else _ours(clips[clip])
    assert torch.equal(frames, ref_frames) and torch.equal(fragments, ref_fragments)
    if benchmark.stats is not None:  # None under --benchmark-disable
        _means[(clip, loader)] = benchmark.stats.stats.mean


def test_print_ratio(capsys):
    if not _means:
        pytest.skip("run with --benchmark-enable")
    with capsys.disabled():
        for clip in CLIPS:
            ours, ref = _means.get((clip, "read_video")), _means.get((clip, "reference"))
            if ours and ref:
                print(
                    f"\n{clip}: read_video {ours * 1e3:.1f} ms, reference {ref * 1e3:.1f} ms, "
                    f"speed-up x{ref / ours:.2f}"
                )
