"""LOVE-Reward: videos held in memory, the reward, its adapters (with exactly the inputs each trainer passes)
and the differentiable path (gradients to the pixels of both streams, checked by finite differences)."""

from __future__ import annotations

import json
import logging

import av
import numpy as np
import pytest
import torch
from PIL import Image

import love_plugins
from love_plugins.errors import LoveError
from love_plugins.reward import LoveReward
from love_plugins.synth import generate_suite


def _decode(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture(scope="module")
def lossless_clip(tmp_path_factory):
    """Frames and a losslessly encoded file of them (FFV1, RGB): decoding gives the frames back exactly."""
    frames = np.random.default_rng(0).integers(0, 256, (20, 48, 64, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("lossless") / "clip.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "bgr0"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert np.array_equal(_decode(path), frames)
    return frames, path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Four synthetic generated clips as a trainer holds them: (B, T, 3, H, W) float in [0, 1]."""
    root = tmp_path_factory.mktemp("clips")
    generate_suite(root, num_videos=4, seed=5)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    paths = [str(root / r["video"]) for r in rows]
    videos = torch.stack([torch.from_numpy(_decode(p)).permute(0, 3, 1, 2).float() / 255 for p in paths])
    return videos, [r["prompt"] for r in rows], [r["question"] for r in rows], paths


@pytest.fixture(scope="module")
def nano():
    return love_plugins.load("love-nano", device="cpu", perception_views=1)


# -- videos in memory ---------------------------------------------------------------------------------------
def test_a_uint8_tensor_of_the_decoded_frames_scores_as_the_file_bit_for_bit(nano, lossless_clip):
    frames, path = lossless_clip
    kwargs = dict(prompts=["a red circle"], questions=["Is it red?"])
    from_file = nano.score([str(path)], **kwargs)[0]
    for video in (torch.from_numpy(frames), frames, torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255):
        in_memory = nano.score(video, **kwargs, fps=8)[0]
        for name in ("perception", "correspondence", "qa_p_yes", "perception_level", "qa_logprobs"):
            assert getattr(in_memory, name) == getattr(from_file, name), name
        assert in_memory.video == "<memory:0>" and in_memory.fps == 8.0


def test_batches_lists_and_mixes_of_files_and_tensors(nano, clips):
    videos, prompts, _, paths = clips
    batch = nano.score(videos[:2], prompts=prompts[:2])
    listed = nano.score([videos[0], videos[1]], prompts=prompts[:2])
    mixed = nano.score([paths[0], videos[1]], prompts=prompts[:2], fps=[None, 24.0])
    assert [r.perception for r in batch] == [r.perception for r in listed]
    assert mixed[1].perception == batch[1].perception and mixed[1].fps == 24.0 and mixed[0].fps is None
    bad = nano.score([videos[0], torch.zeros(4, 8, 8, 3), torch.full((4, 3, 8, 8), 2.0)])
    assert bad[0].ok
    assert bad[1].error == "video 1: expected uint8 (T, H, W, 3) or float (T, 3, H, W) in [0, 1], got float32 (4, 8, 8, 3)"
    assert bad[2].error == "video 2: float frames must be in [0, 1], found [2, 2]"


# -- the reward ---------------------------------------------------------------------------------------------
def test_reward_is_the_weighted_sum_of_loves_scores(nano, clips):
    videos, prompts, questions, _ = clips
    reward = LoveReward(nano, weights={"perception": 1.0, "correspondence": 0.5, "qa": 2.0})
    out = reward(videos, prompts, questions)
    direct = nano.score(videos, prompts=prompts, questions=questions)
    assert out.details["perception"].tolist() == pytest.approx([r.perception / 100 for r in direct])
    assert out.details["qa"].tolist() == pytest.approx([r.qa_p_yes for r in direct])
    expected = out.details["perception"] + 0.5 * out.details["correspondence"] + 2.0 * out.details["qa"]
    assert torch.allclose(out.rewards, expected) and out.rewards.shape == (4,) and out.valid.all()
    raw = LoveReward(nano, weights={"perception": 1.0}, normalize="none")(videos)
    assert raw.rewards.tolist() == pytest.approx([r.perception for r in direct])


def test_a_video_that_cannot_be_scored_never_gets_a_number(nano, clips):
    videos, prompts, _, _ = clips
    broken = [videos[0], torch.zeros(0, 3, 8, 8), videos[2]]
    with pytest.raises(LoveError, match=r"1 of 3 video\(s\) could not be scored: video 1: video 1: it has no frames"):
        LoveReward(nano)(broken, prompts[:3])
    out = LoveReward(nano, on_error="nan")(broken, prompts[:3])
    assert out.valid.tolist() == [True, False, True]
    assert torch.isnan(out.rewards[1]) and not torch.isnan(out.rewards[[0, 2]]).any()
    assert out.errors[1].startswith("video 1: it has no frames") and out.errors[0] is None
    with pytest.raises(ValueError, match="unknown reward component"):
        LoveReward(nano, weights={"aesthetics": 1.0})
    with pytest.raises(ValueError, match="finite numbers"):
        LoveReward(nano, weights={"perception": float("nan")})
    with pytest.raises(ValueError, match="normalize must be one of"):
        LoveReward(nano, normalize="zscore")
    with pytest.raises(ValueError, match="need task"):
        LoveReward(nano, weights={"perception": 0.0})
    with pytest.raises(LoveError, match="correspondence reward needs the videos' prompts"):
        LoveReward(nano)(videos)


# -- adapters, with what each trainer passes ------------------------------------------------------------------
def test_flow_grpo_reward_fn(clips, monkeypatch):
    """flow_grpo/rewards.py: `scores, info = fn(images, prompts, metadata)`; video models pass (B, T, C, H, W)
    float in [0, 1]; metadata is one dict per sample."""
    from love_plugins import reward_adapters

    videos, prompts, questions, _ = clips
    fn = reward_adapters.flow_grpo_reward("cpu", model="love-nano", weights={"perception": 1.0, "qa": 1.0})
    scores, info = fn(videos, tuple(prompts), [{"question": q} for q in questions])
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float32 and scores.shape == (4,)
    assert set(info) == {"perception", "qa"}
    assert scores == pytest.approx(info["perception"] + info["qa"])


def test_flow_factory_pointwise_reward_model(clips):
    """Flow-Factory's `PointwiseRewardModel.__call__(prompt, video=...)`: tensors (T, C, H, W) in [0, 1] when
    `use_tensor_inputs`, else lists of PIL frames; returns `RewardModelOutput(rewards=Tensor[B])`."""
    from love_plugins.reward_adapters import FlowFactoryLoveReward

    videos, prompts, _, _ = clips
    model = FlowFactoryLoveReward(model="love-nano", device="cpu", weights={"perception": 1.0, "correspondence": 1.0})
    assert model.use_tensor_inputs and "video" in model.required_fields
    tensors = model(prompt=prompts[:2], video=[videos[0], videos[1]])
    pil = model(prompt=prompts[:2], video=[[Image.fromarray((f.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                                            for f in v] for v in videos[:2]])
    assert isinstance(tensors.rewards, torch.Tensor) and tensors.rewards.shape == (2,)
    assert torch.allclose(tensors.rewards, pil.rewards)  # the same frames, either way
    assert set(tensors.extra_info) >= {"perception", "correspondence"}


def test_fastvideo_compute_reward(clips):
    """FastVideo's `BaseRewardModel.compute_reward(videos[B, T, C, H, W] in [0, 1], prompts) -> Tensor[B]`."""
    from love_plugins.reward_adapters import FastVideoLoveReward

    videos, prompts, _, _ = clips
    model = FastVideoLoveReward("love-nano", device="cpu")
    rewards = model.compute_reward(videos, prompts)
    assert isinstance(model, torch.nn.Module) and rewards.shape == (4,) and rewards.dtype == torch.float32
    assert torch.equal(rewards, model(videos, prompts))


def test_dancegrpo_inferencer(clips, tmp_path, caplog):
    """DanceGRPO writes each video to mp4 and calls `inferencer.reward([path], [prompt], use_norm=True)`; it turns
    an exception into -1.0 silently, so a failure is logged with the file before it is raised."""
    from love_plugins.reward_adapters import DanceGRPOLoveInferencer

    _, prompts, _, paths = clips
    inferencer = DanceGRPOLoveInferencer("love-nano", device="cpu")
    normed = inferencer.reward(paths[:2], prompts[:2], use_norm=True)
    raw = inferencer.reward(paths[:2], prompts[:2], use_norm=False)
    assert set(normed[0]) == {"VQ", "MQ", "TA", "Overall"}
    assert normed[0]["VQ"] == pytest.approx(raw[0]["VQ"] / 100) and normed[0]["MQ"] == normed[0]["VQ"]
    assert normed[0]["Overall"] == pytest.approx(normed[0]["VQ"] + normed[0]["TA"])
    missing = str(tmp_path / "never_written.mp4")
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="could not score 1 video"):
        inferencer.reward([paths[0], missing], prompts[:2])
    assert f"{missing}: {missing}: file does not exist" in caplog.text


# -- differentiable ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def differentiable():
    return LoveReward("love-nano", device="cpu", differentiable=True,
                      weights={"perception": 1.0, "correspondence": 1.0, "qa": 1.0})


def test_gradients_reach_the_pixels_of_both_streams(differentiable, clips, monkeypatch):
    from love_plugins import reward as reward_module

    videos, prompts, questions, _ = clips
    captured = []
    real = reward_module.tensor_streams

    def capturing(video, config):
        frames, fragments = real(video, config)
        frames.retain_grad()
        fragments.retain_grad()
        captured.append((frames, fragments))
        return frames, fragments

    monkeypatch.setattr(reward_module, "tensor_streams", capturing)
    x = videos[:2].clone().requires_grad_(True)
    out = differentiable(x, prompts[:2], questions[:2])
    out.rewards.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for frames, fragments in captured:  # the spatial frames (ViT) and the fragments (motion encoder)
        assert frames.grad.abs().sum() > 0 and torch.isfinite(frames.grad).all()
        assert fragments.grad.abs().sum() > 0 and torch.isfinite(fragments.grad).all()


def test_gradients_agree_with_finite_differences(differentiable, clips):
    videos, prompts, questions, _ = clips
    x0 = videos[2:3].clamp(0.05, 0.95)
    x = x0.clone().requires_grad_(True)
    differentiable(x, prompts[2:3], questions[2:3]).rewards.sum().backward()
    for seed in range(2):
        direction = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
        direction = direction / direction.abs().max() * 0.001  # small: clamps and ReLUs make it piecewise smooth
        with torch.no_grad():
            up = differentiable(x0 + direction, prompts[2:3], questions[2:3]).rewards.item()
            down = differentiable(x0 - direction, prompts[2:3], questions[2:3]).rewards.item()
        assert (up - down) / 2 == pytest.approx(float((x.grad * direction).sum()), rel=0.05, abs=1e-7)


def test_differentiable_scores_agree_with_the_default_path(differentiable, nano, clips):
    """The documented tolerance: the torch resize against PIL's, on love-nano's clips: within 1.5 MOS points."""
    videos, prompts, questions, _ = clips
    with torch.no_grad():
        grad_path = differentiable(videos, prompts, questions)
    exact = LoveReward(nano, weights={"perception": 1.0, "correspondence": 1.0, "qa": 1.0})(videos, prompts, questions)
    for task in ("perception", "correspondence"):
        assert (grad_path.details[task] - exact.details[task]).abs().max() * 100 < 1.5, task
    assert (grad_path.details["qa"] - exact.details["qa"]).abs().max() < 0.05


# -- the demonstration -------------------------------------------------------------------------------------------
def test_reward_demo_raises_the_reward_and_the_gain_survives_8_bit_frames(tmp_path):
    """`love-eval reward-demo`: Adam on a learnable video tensor against love-nano's differentiable reward; the
    curve rises, and the default (file-exact) path scores the quantised final clip higher than the start."""
    import csv

    from love_plugins.cli import main

    out = tmp_path / "demo"
    assert main(["reward-demo", "--out", str(out), "--steps", "8", "--device", "cpu"]) == 0
    rows = list(csv.DictReader((out / "curve.csv").open()))
    rewards = [float(r["reward"]) for r in rows]
    assert len(rewards) == 9 and rewards[-1] > rewards[0] + 0.2
    summary = json.loads((out / "summary.json").read_text())
    exact = summary["exact_path_uint8"]
    assert exact["after"]["reward"] > exact["before"]["reward"] + 0.2
    assert abs(exact["before"]["reward"] - rewards[0]) < 0.03  # the two paths agree on the start clip
    assert "demonstration" in summary["label"] and summary["model"]["differentiable"] is True
    for name in ("reward_curve.png", "before.mp4", "after.mp4"):
        assert (out / name).stat().st_size > 1000
