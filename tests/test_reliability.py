"""Hardening: unusual videos, oversized prompts, out-of-memory batches, unusable output folders."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

import love_plugins
from love_plugins.errors import LoveError
from love_plugins.results import ResultsWriter
from love_plugins.video import SamplerConfig, read_video


def _write(path, frames, fps=8, pts=None, codec="libx264", pix_fmt="yuv420p"):
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if pts is not None:
                vf.pts, vf.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _ramp(t, h, w):
    frames = np.zeros((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i] = (i * 7) % 256
    return frames


@pytest.fixture(scope="module")
def scorer():
    return love_plugins.load("tiny-random", batch_size=4)


@pytest.fixture(scope="module")
def odd_videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("odd")
    return {
        "one_frame": _write(d / "one frame.mp4", _ramp(1, 64, 64)),
        "portrait": _write(d / "portrait_333x187.mp4", _ramp(10, 333, 187), codec="mpeg4"),
        "vfr": _write(d / "vfr.mp4", _ramp(12, 48, 64), pts=[0, 40, 90, 100, 250, 260, 300, 420, 430, 600, 610, 900]),
        "long": _write(d / "ten_minutes.mp4", _ramp(600 * 4, 32, 32), fps=4),  # 10 minutes at 4 fps
        "8k": _write(d / "eight_k.mp4", _ramp(2, 4320, 7680)),
    }


@pytest.mark.parametrize("name", ["one_frame", "portrait", "vfr", "long", "8k"])
def test_unusual_videos_are_scored(scorer, odd_videos, name):
    result = scorer.score(odd_videos[name], prompts=["a gray screen"])[0]
    assert result.ok, result.error
    assert result.perception is not None and result.correspondence is not None


def test_long_video_decodes_only_sampled_frames(odd_videos):
    sample = read_video(odd_videos["long"], SamplerConfig(num_frames=8, frame_size=32, num_clips=2, clip_len=8,
                                                          fragments=2, fragment_size=16))
    assert sample.meta.num_frames == 2400 and sample.meta.duration == pytest.approx(600.0)
    # the last spatial frame comes from the end of the video: gray level (i*7) % 256 of a late frame
    assert sample.frames.shape[0] == 8


def test_huge_prompt_is_truncated_with_a_warning(scorer, odd_videos, caplog):
    with caplog.at_level(logging.WARNING):
        result = scorer.score(odd_videos["one_frame"], prompts=["a red ball " * 5000])[0]
    assert result.ok and result.correspondence is not None
    assert any("truncated" in r.message for r in caplog.records)


def test_out_of_memory_batch_is_retried_at_half_size(scorer, odd_videos, monkeypatch):
    real = scorer._run_batch
    sizes = []

    def flaky(items, *args):
        sizes.append(len(items))
        if len(items) > 1:
            raise torch.OutOfMemoryError("simulated")
        return real(items, *args)

    monkeypatch.setattr(scorer, "_run_batch", flaky)
    videos = [odd_videos["one_frame"], odd_videos["vfr"], odd_videos["portrait"]]
    results = scorer.score(videos)
    assert all(r.ok for r in results)
    assert sizes[0] == 3 and 1 in sizes  # halved down to single videos


def test_out_of_memory_at_batch_size_one_is_recorded(scorer, odd_videos, monkeypatch):
    def always(items, *args):
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(scorer, "_run_batch", always)
    result = scorer.score(odd_videos["one_frame"])[0]
    assert not result.ok and "out of memory" in result.error


def test_out_of_memory_retry_frees_the_failed_attempt_and_keeps_the_size_that_fits(odd_videos, monkeypatch):
    """At the retry no tensor of the failed attempt is alive (the retry runs outside the `except` block); the
    smaller size is kept, so the next batch does not fail first; cuBLAS's allocation failure (a RuntimeError)
    counts as out of memory."""
    import weakref

    scorer = love_plugins.load("tiny-random", batch_size=4)
    real = type(scorer.model).forward
    failed_attempts, sizes = [], []

    def forward(self, task, *args, **kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        assert all(ref() is None for ref in failed_attempts), "a failed attempt's tensors are alive at the retry"
        if sizes[-1] > 2:
            workspace = torch.empty(256, 256)  # held only by this frame, i.e. by the traceback
            failed_attempts.extend([weakref.ref(workspace), weakref.ref(kwargs["pixel_values"])])
            raise RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`")
        return real(self, task, *args, **kwargs)

    monkeypatch.setattr(type(scorer.model), "forward", forward)
    videos = [odd_videos["one_frame"], odd_videos["vfr"], odd_videos["portrait"]] * 3
    results = scorer.score(videos[:8])
    assert all(r.ok for r in results)
    assert sizes == [4, 2, 2, 2, 2]  # the second batch of four went straight to two
    assert all(ref() is None for ref in failed_attempts) and len(failed_attempts) == 2
    monkeypatch.setattr(type(scorer.model), "forward", real)
    with pytest.raises(RuntimeError, match="shape mismatch"):  # other errors are not retried
        monkeypatch.setattr(scorer, "_run_batch", lambda *a: (_ for _ in ()).throw(RuntimeError("shape mismatch")))
        scorer.score(videos[:2])


def test_output_folder_problems_are_reported_before_work(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(LoveError, match="cannot create output folder"):
        ResultsWriter(blocker / "sub" / "out.jsonl", {"model": "m"})
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100, 100, 0))
    with pytest.raises(LoveError, match="no free disk space"):
        ResultsWriter(tmp_path / "out.jsonl", {"model": "m"})


@pytest.mark.parametrize("kind", ["empty", "non_utf8", "missing_column", "bad_json"])
def test_broken_manifests_name_the_file_and_reason(tmp_path, kind):
    from love_plugins.commands.score import read_manifest
    from love_plugins.datasets import load_dataset
    from love_plugins.errors import AnnotationError

    path = tmp_path / ("manifest.csv" if kind == "missing_column" else "manifest.jsonl")
    content = {
        "empty": b"",
        "non_utf8": b'{"video": "a.mp4", "mos": 50}\n\xff\xfe\x00garbage\n',
        "missing_column": b"clip,mos\na.mp4,50\n",
        "bad_json": b'{"video": "a.mp4", "mos": 50}\n{"video": \n',
    }[kind]
    path.write_bytes(content)
    (tmp_path / "a.mp4").write_bytes(b"\x00")
    for reader in (read_manifest, lambda p: load_dataset("manifest", p)):
        with pytest.raises(AnnotationError) as info:
            reader(path)
        assert str(path) in str(info.value)


def test_bundle_with_wrong_shapes_or_dtypes_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    from love_plugins.errors import CheckpointError
    from love_plugins.modeling import LoveModel
    from love_plugins.modeling.tiny import build_tiny_model

    model, tokenizer = build_tiny_model()
    model.save_pretrained(tmp_path / "b", tokenizer=tokenizer)
    weights = load_file(tmp_path / "b" / "model.safetensors")
    key = next(k for k in weights if k.endswith("score_heads.perception.layers.0.weight"))
    for bad in (weights[key][:, :-1].contiguous(), weights[key].to(torch.int64)):
        save_file({**weights, key: bad}, tmp_path / "b" / "model.safetensors")
        with pytest.raises(CheckpointError, match="model.safetensors"):
            LoveModel.from_pretrained(tmp_path / "b")
