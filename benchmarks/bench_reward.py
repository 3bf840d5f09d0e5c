"""LOVE-Reward on a group of generated clips held in memory, against the DanceGRPO path.

    pytest benchmarks/bench_reward.py --benchmark-enable -s

Baseline: what DanceGRPO does with its reward model — write each generated video to an mp4 file (H.264,
as its imageio call does), then score the files. Candidate: `LoveReward` on the (B, T, 3, H, W) float
tensor the generator returned. Both with love-nano on the CPU, a group of 16 clips of 832x480 (the output
size of Wan2.1-1.3B and HunyuanVideo's 480p), 24 frames each. Target: >= 2x. The scores are the same: LOVE
scores the frames read back from each mp4 exactly as the files (checked); the two paths differ only by
what H.264 changed in the pixels, which is reported.
"""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from bench_scoring import _paired_rates

from love_plugins.reward import LoveReward
from love_plugins.synth import generate_suite
from love_plugins.synth.config import SuiteConfig


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    root = tmp_path_factory.mktemp("reward_group")
    generate_suite(root, num_videos=16, seed=3, config=SuiteConfig(width=832, height=480))
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    videos = torch.stack([_decoded(root / row["video"]).permute(0, 3, 1, 2).float() / 255 for row in rows])
    return videos, [r["prompt"] for r in rows], root


def _write_mp4(video: torch.Tensor, path) -> None:
    """DanceGRPO's step: the generated frames to an H.264 file."""
    frames = (video.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _decoded(path) -> torch.Tensor:
    with av.open(str(path)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return torch.from_numpy(frames)


def test_in_memory_reward_against_writing_mp4s(benchmark, group, tmp_path):
    videos, prompts, _ = group
    reward = LoveReward("love-nano", device="cpu", weights={"perception": 1.0, "correspondence": 1.0})
    paths = [tmp_path / f"sample_{i}.mp4" for i in range(len(videos))]

    def via_files():
        for video, path in zip(videos, paths):
            _write_mp4(video, path)
        return reward([str(p) for p in paths], prompts)

    def in_memory():
        return reward(videos, prompts)

    base, fast, ratio = _paired_rates(via_files, in_memory, len(videos), rounds=3)
    benchmark.pedantic(in_memory, rounds=1, iterations=1)
    from_files = via_files().rewards
    read_back = torch.stack([_decoded(p) for p in paths])
    assert torch.equal(reward(read_back, prompts).rewards, from_files)  # the same frames, the same scores
    gap = (from_files - in_memory().rewards).abs().max().item()
    print(f"\nreward: in memory {fast:.2f} videos/s vs write-mp4-then-score {base:.2f} videos/s, median per-round "
          f"ratio {ratio:.2f} (target >= 2); largest reward change from H.264's loss {gap:.3f}")
    assert ratio >= 2.0
