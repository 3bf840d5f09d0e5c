"""Tests of love_plugins.video on tiny videos written here with known content.

Content encodes what was sampled: in "ramp" videos frame t is flat gray 6*t (so a mean tells the frame
index); in "gradient" videos red grows with x, green with y and blue is 6*t (so a pixel tells where and
when it came from).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from love_plugins.errors import VideoDecodeError
from love_plugins.video import (
    SamplerConfig,
    VideoMeta,
    available_backends,
    clip_indices,
    fragment_offsets,
    normalize_fragments,
    normalize_frames,
    probe_video,
    read_video,
    spatial_indices,
)

BACKENDS = ["pyav", "torchcodec", "decord"]
INDEXED = ["torchcodec", "decord"]  # decoders with a frame index, compared with PyAV bit for bit
needs_decord = pytest.mark.skipif("decord" not in available_backends(), reason="decord not installed")


def _needs(backend: str) -> None:
    if backend not in available_backends():  # CI installs all three (torchcodec needs the system's FFmpeg)
        pytest.skip(f"{backend} not installed")


# ------------------------------------------------------------------------------------------------------
# video writers
# ------------------------------------------------------------------------------------------------------
def write_video(path: Path, frames: list[np.ndarray], codec="libx264", pix_fmt="yuv420p", **options) -> Path:
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def ramp_frames(n: int, h: int, w: int) -> list[np.ndarray]:
    return [np.full((h, w, 3), 6 * t, np.uint8) for t in range(n)]


def gradient_frames(n: int, h: int, w: int) -> list[np.ndarray]:
    y, x = np.mgrid[0:h, 0:w]
    frames = []
    for t in range(n):
        rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 6 * t)], -1)
        frames.append(rgb.astype(np.uint8))
    return frames


def decode_all(path: Path) -> np.ndarray:
    """Every frame, decoded straightforwardly with PyAV (independent of the code under test)."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    v = {
        "ramp": write_video(d / "ramp.mp4", ramp_frames(40, 240, 320)),
        "gradient": write_video(d / "gradient.mp4", gradient_frames(40, 240, 320)),
        "small": write_video(d / "small.mp4", gradient_frames(12, 64, 96), codec="mpeg4", qscale="2"),
        "tiny": write_video(d / "tiny.mp4", gradient_frames(6, 16, 24)),
        "five": write_video(d / "five.mp4", ramp_frames(5, 48, 64)),
        "gray": write_video(d / "gray.mkv", gradient_frames(6, 48, 64), codec="ffv1", pix_fmt="gray"),
        "alpha": write_video(d / "alpha.mkv", gradient_frames(6, 48, 64), codec="ffv1", pix_fmt="yuva420p"),
        "faststart": write_video(d / "fs.mp4", gradient_frames(64, 240, 320), movflags="faststart"),
    }
    v["unicode"] = d / "vidéo clip 测试 (1).mp4"
    shutil.copy(v["ramp"], v["unicode"])
    data = v["faststart"].read_bytes()
    v["truncated"] = d / "truncated.mp4"  # header claims 64 frames, about half are there
    v["truncated"].write_bytes(data[: len(data) // 2])
    v["headonly"] = d / "headonly.mp4"  # header claims 64 frames, none decodable
    v["headonly"].write_bytes(data[:3000])
    return v


_cache: dict = {}


def sample(videos, name: str, backend: str = "pyav", seed: int = 0):
    """read_video with memoisation: decoding is the slow part of this file."""
    key = (name, backend, seed)
    if key not in _cache:
        _cache[key] = read_video(videos[name], SamplerConfig(seed=seed), backend=backend)
    return _cache[key]


# ------------------------------------------------------------------------------------------------------
# index functions against hand-computed values
# ------------------------------------------------------------------------------------------------------
def test_spatial_indices_hand_values():
    # seg = 99 / 8 = 12.375; int(6.1875 + round(12.375 i)); round(49.5) = 50 (half to even)
    assert spatial_indices(100, 8) == [6, 18, 31, 43, 56, 68, 80, 93]
    # seg = 0.5: round(0.5) = 0, round(1.5) = 2, round(2.5) = 2 (banker's rounding)
    assert spatial_indices(5, 8) == [0, 0, 1, 2, 2, 2, 3, 4]
    assert spatial_indices(17, 8) == [1, 3, 5, 7, 9, 11, 13, 15]
    assert spatial_indices(1, 8) == [0] * 8


def test_clip_indices_hand_values():
    # avg = (200 - 32 + 1) / 4 = 42.25 -> offsets int(21.125), int(63.375), int(105.625), int(147.875)
    idx = clip_indices(200, 4, 32)
    assert len(idx) == 128
    assert idx[::32] == [21, 63, 105, 147]
    assert idx[:32] == list(range(21, 53))
    # avg = 9 / 4 = 2.25 -> 1, 3, 5, 7
    assert clip_indices(40, 4, 32)[::32] == [1, 3, 5, 7]
    assert clip_indices(32, 4, 32) == list(range(32)) * 4  # avg 0.25 -> all offsets 0
    assert clip_indices(31, 4, 32) == (list(range(31)) + [0]) * 4  # n <= T - 1: zeros, then wrap
    assert clip_indices(5, 2, 4) == [0, 1, 2, 3, 1, 2, 3, 4]  # avg 1 -> int(0.5), int(1.5)
    assert clip_indices(3, 2, 4) == [0, 1, 2, 0, 0, 1, 2, 0]  # n <= T - 1
    assert clip_indices(3, 1, 7) == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError):
        clip_indices(0, 4, 32)


def test_sampler_config_roundtrip_and_validation():
    cfg = SamplerConfig(num_frames=4, seed=3)
    assert SamplerConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["seed"] == 3
    assert SamplerConfig().mosaic_size == 224
    assert SamplerConfig(fragments=3, fragment_size=8).mosaic_size == 24
    with pytest.raises(ValueError, match="unknown"):
        SamplerConfig.from_dict({"num_frame": 8})
    with pytest.raises(ValueError):
        SamplerConfig(num_clips=0)
    with pytest.raises(TypeError):
        SamplerConfig(frame_size=448.0)


def test_available_backends():
    names = available_backends()
    assert names[0] == "pyav" and set(names) <= set(BACKENDS)  # PyAV, the fastest here, is the default
    assert names == [b for b in BACKENDS if b in names]
    with pytest.raises(ValueError, match="not available"):
        read_video("whatever.mp4", backend="opencv")


# ------------------------------------------------------------------------------------------------------
# the two streams
# ------------------------------------------------------------------------------------------------------
def test_streams_shapes_dtypes_and_sampled_frames(videos):
    s = sample(videos, "ramp")
    assert s.frames.shape == (8, 448, 448, 3) and s.frames.dtype == torch.uint8
    assert s.fragments.shape == (4, 32, 224, 224, 3) and s.fragments.dtype == torch.uint8
    assert s.meta == VideoMeta(str(videos["ramp"]), 40, 25.0, 320, 240, 1.6, "pyav")
    assert s.config == SamplerConfig()
    # frame t is gray 6t: the mean of each output frame names the frame that was sampled
    got_spatial = (s.frames.float().mean((1, 2, 3)) / 6).round().int().tolist()
    assert got_spatial == spatial_indices(40, 8)
    got_clips = (s.fragments.float().mean((2, 3, 4)) / 6).round().int().flatten().tolist()
    assert got_clips == clip_indices(40, 4, 32)


def test_spatial_resize_is_pil_bicubic_of_decoded_frame(videos):
    decoded = decode_all(videos["gradient"])
    s = sample(videos, "gradient")
    for k, idx in enumerate(spatial_indices(len(decoded), 8)):
        want = np.asarray(Image.fromarray(decoded[idx]).resize((448, 448), Image.BICUBIC))
        assert np.array_equal(s.frames[k].numpy(), want)


def test_fragments_come_from_the_drawn_offsets(videos):
    """Red encodes x and green y: each patch's corner pixel must sit where fragment_offsets says."""
    s = sample(videos, "gradient", seed=5)
    top, left = fragment_offsets(240, 320, SamplerConfig(seed=5))
    assert top.shape == left.shape == (7, 7, 4)
    corners = s.fragments[:, 0, ::32, ::32].float()  # (C, 7, 7, 3): first frame of each clip
    want_r = (left.permute(2, 0, 1) * 255 // 319).float()
    want_g = (top.permute(2, 0, 1) * 255 // 239).float()
    assert (corners[..., 0] - want_r).abs().max() <= 6
    assert (corners[..., 1] - want_g).abs().max() <= 6
    first = torch.tensor(clip_indices(40, 4, 32)[::32]).float()
    assert ((corners[..., 2].mean((1, 2)) - 6 * first).abs() <= 3).all()


def test_normalisation_values(videos):
    s = sample(videos, "ramp")
    pv, mv = s.pixel_values(), s.motion_values()
    assert pv.shape == (8, 3, 448, 448) and pv.dtype == torch.float32
    assert mv.shape == (4, 3, 32, 224, 224) and mv.dtype == torch.float32
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    want = (s.frames[:2].permute(0, 3, 1, 2).float() / 255 - mean[:, None, None]) / std[:, None, None]
    assert torch.equal(pv[:2], want)
    mean255, std255 = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    want = ((s.fragments[:1, :4].float() - mean255) / std255).permute(0, 4, 1, 2, 3)
    assert torch.equal(mv[:1, :, :4], want)
    # known values, any leading dims, dtype argument
    white = torch.full((2, 1, 4, 4, 3), 255, dtype=torch.uint8)
    out = normalize_frames(white, dtype=torch.bfloat16)
    assert out.shape == (2, 1, 3, 4, 4) and out.dtype == torch.bfloat16
    assert torch.allclose(out[0, 0, :, 0, 0].float(), (1 - mean) / std, atol=1e-2)
    zeros = torch.zeros((3, 2, 5, 4, 4, 3), dtype=torch.uint8)  # batch of 3 videos
    out = normalize_fragments(zeros)
    assert out.shape == (3, 2, 3, 5, 4, 4)
    assert torch.allclose(out[1, 1, :, 2, 3, 3], -mean255 / std255)


# ------------------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", INDEXED)
@pytest.mark.parametrize("name", ["ramp", "gradient", "small", "five", "gray", "alpha"])
def test_indexed_decoders_and_pyav_are_bit_identical(videos, name, backend):
    _needs(backend)
    a, b = sample(videos, name, backend), sample(videos, name, "pyav")
    assert a.meta.backend == backend and b.meta.backend == "pyav"
    assert a.meta == VideoMeta(**{**b.meta.__dict__, "backend": backend})
    assert torch.equal(a.frames, b.frames)
    assert torch.equal(a.fragments, b.fragments)
    assert probe_video(videos[name], backend) == a.meta
    assert probe_video(videos[name], "pyav") == b.meta


@needs_decord
def test_decord_failure_falls_back_to_pyav(videos):
    # decord 0.6.0 cannot copy out 24-pixel-wide frames (row padding: "The size must exactly match")
    a = sample(videos, "tiny", "decord")
    assert a.meta.backend == "pyav"
    assert torch.equal(a.fragments, sample(videos, "tiny", "pyav").fragments)


def test_grayscale_and_alpha_become_rgb(videos):
    gray = sample(videos, "gray")
    assert gray.frames.shape[-1] == 3
    assert torch.equal(gray.frames[..., 0], gray.frames[..., 1])
    assert torch.equal(gray.frames[..., 1], gray.frames[..., 2])
    alpha = sample(videos, "alpha")
    assert alpha.frames.shape[-1] == 3 and alpha.fragments.shape[-1] == 3
    assert alpha.frames[..., 0].float().std() > 10  # colour survives: red is the x gradient


def test_fewer_frames_than_asked_wrap(videos):
    s = sample(videos, "five")
    assert s.meta.num_frames == 5
    assert (s.frames.float().mean((1, 2, 3)) / 6).round().int().tolist() == [0, 0, 1, 2, 2, 2, 3, 4]
    got = (s.fragments.float().mean((2, 3, 4)) / 6).round().int().flatten().tolist()
    assert got == [t % 5 for t in range(32)] * 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_ascii_and_spaced_filenames(videos, backend):
    _needs(backend)
    s = read_video(videos["unicode"], backend=backend)
    assert s.meta.path == str(videos["unicode"])
    assert torch.equal(s.fragments, sample(videos, "ramp").fragments)


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_file_resamples_over_decodable_frames(videos, backend):
    _needs(backend)
    assert probe_video(videos["truncated"], "pyav").num_frames == 64  # what the header claims
    s = read_video(videos["truncated"], backend=backend)
    decodable = s.meta.num_frames
    assert 0 < decodable < 64
    # decord usually refuses this file and PyAV, which tolerates the missing tail, takes over; now and then
    # decord itself indexes only the frames that are there. Either way the sampling spans what is decodable.
    assert s.meta.backend in ("pyav", backend)
    blue = (s.frames[..., 2].float().mean((1, 2)) / 6).round().int().tolist()
    assert blue == spatial_indices(decodable, 8)


def test_probe_does_not_need_frames(videos):
    meta = probe_video(videos["gradient"])
    assert (meta.num_frames, meta.width, meta.height, meta.fps) == (40, 320, 240, 25.0)
    assert meta.duration == pytest.approx(1.6)


# ------------------------------------------------------------------------------------------------------
# fragments: upsampling, quirk, determinism, equality with an independent re-implementation
# ------------------------------------------------------------------------------------------------------
def reference_fragments(decoded: np.ndarray, cfg: SamplerConfig, seed: int) -> torch.Tensor:
    """FAST-VQA fragments as the LOVE authors compute them: global RNG, loops, (3, C*T, H, W) stack."""
    G, P, C, T, M = cfg.fragments, cfg.fragment_size, cfg.num_clips, cfg.clip_len, cfg.mosaic_size
    idx = clip_indices(len(decoded), C, T)
    video = torch.from_numpy(decoded[idx]).permute(3, 0, 1, 2)  # (3, C*T, H, W)
    _, _, res_h, res_w = video.shape
    ratio = min(res_h / M, res_w / M)
    if ratio < 1:
        video = (F.interpolate(video / 255.0, scale_factor=1 / ratio, mode="bilinear") * 255.0).type_as(video)
    hgrids = [min(res_h // G * i, res_h - P) for i in range(G)]  # from the ORIGINAL size (the quirk)
    wgrids = [min(res_w // G * i, res_w - P) for i in range(G)]
    hlength, wlength = res_h // G, res_w // G
    torch.manual_seed(seed)
    rnd_h = torch.randint(hlength - P, (G, G, C)) if hlength > P else torch.zeros((G, G, C)).int()
    rnd_w = torch.randint(wlength - P, (G, G, C)) if wlength > P else torch.zeros((G, G, C)).int()
    out = torch.zeros((3, C * T, M, M))
    for i, hs in enumerate(hgrids):
        for j, ws in enumerate(wgrids):
            for t in range(C):
                h0, w0 = hs + rnd_h[i][j][t], ws + rnd_w[i][j][t]
                out[:, t * T : (t + 1) * T, i * P : (i + 1) * P, j * P : (j + 1) * P] = video[
                    :, t * T : (t + 1) * T, h0 : h0 + P, w0 : w0 + P
                ]
    return out.to(torch.uint8).reshape(3, C, T, M, M).permute(1, 2, 3, 4, 0)


@pytest.mark.parametrize(("name", "seed"), [("gradient", 0), ("gradient", 5), ("small", 3)])
def test_fragments_equal_independent_reimplementation(videos, name, seed):
    want = reference_fragments(decode_all(videos[name]), SamplerConfig(), seed)
    assert torch.equal(sample(videos, name, seed=seed).fragments, want)


def test_fragment_offsets_match_global_rng_draws():
    cfg = SamplerConfig(seed=11)
    top, left = fragment_offsets(1080, 1920, cfg)
    torch.manual_seed(11)
    rnd_h = torch.randint(1080 // 7 - 32, (7, 7, 4))
    rnd_w = torch.randint(1920 // 7 - 32, (7, 7, 4))
    assert torch.equal(top, torch.tensor([154 * i for i in range(7)])[:, None, None] + rnd_h)
    assert torch.equal(left, torch.tensor([274 * j for j in range(7)])[None, :, None] + rnd_w)
    # a height with no slack draws nothing for rows, so the column draws come first from the generator
    top, left = fragment_offsets(224, 1920, cfg)
    torch.manual_seed(11)
    assert (top == torch.tensor([0, 32, 64, 96, 128, 160, 192])[:, None, None]).all()
    assert torch.equal(
        left - torch.tensor([274 * j for j in range(7)])[None, :, None], torch.randint(242, (7, 7, 4))
    )


def test_upsampling_keeps_the_original_grid_quirk(videos):
    """96x64 is upsampled x3.5, but the grid still spans 96x64, i.e. only the top-left of the frame."""
    top, left = fragment_offsets(64, 96, SamplerConfig())
    assert top[:, 0, 0].tolist() == [0, 9, 18, 27, 32, 32, 32] and int(top.max()) + 32 == 64
    assert left[0, :, 0].tolist() == [0, 13, 26, 39, 52, 64, 64]
    s = sample(videos, "small")
    # the mosaic only sees x < 96 / 3.5 and y < 64 / 3.5 of the original: red and green stay low
    assert s.fragments[..., 0].max() < 100 and s.fragments[..., 1].max() < 100
    assert s.frames[..., 0].max() > 200 and s.frames[..., 1].max() > 200  # the spatial frame sees it all


def test_video_smaller_than_a_patch_still_works(videos):
    # 24x16: the authors' grid start goes negative (and their code crashes); ours clamps it to 0
    top, left = fragment_offsets(16, 24, SamplerConfig())
    assert int(top.min()) == 0 and int(left.min()) == 0
    s = sample(videos, "tiny")
    assert s.fragments.shape == (4, 32, 224, 224, 3) and s.meta.width == 24


def test_same_seed_same_fragments_other_seed_differs(videos):
    a = read_video(videos["gradient"], SamplerConfig(seed=0))
    assert torch.equal(a.fragments, sample(videos, "gradient", seed=0).fragments)
    assert not torch.equal(a.fragments, sample(videos, "gradient", seed=5).fragments)
    assert torch.equal(a.frames, sample(videos, "gradient", seed=5).frames)  # the seed only moves patches


# ------------------------------------------------------------------------------------------------------
# bad files
# ------------------------------------------------------------------------------------------------------
def _bad_file(kind: str, d: Path, videos) -> Path:
    p = d / f"{kind}.mp4"
    if kind == "missing":
        return p
    if kind == "empty":
        p.touch()
    elif kind == "text":
        p.write_text("this is not a video\n" * 20)
    elif kind == "image":
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(p, format="PNG")
    elif kind == "audio":
        with av.open(str(p), "w") as c:
            stream = c.add_stream("aac", rate=16000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            for _ in range(5):
                c.mux(stream.encode(frame))
            c.mux(stream.encode())
    elif kind == "headonly":
        return videos["headonly"]
    return p


BAD = {
    "missing": "file does not exist",
    "empty": "file is empty (0 bytes)",
    "text": "not a video",
    "image": "not a video",
    "audio": "no video stream",
    "headonly": "no decodable frames",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", list(BAD))
def test_bad_files_raise_video_decode_error(tmp_path, videos, kind, backend):
    _needs(backend)
    path = _bad_file(kind, tmp_path, videos)
    with pytest.raises(VideoDecodeError) as info:
        read_video(path, backend=backend)
    assert str(path) in str(info.value) and BAD[kind] in str(info.value)
    assert info.value.path == str(path)
    if kind != "headonly":  # probing reads no frames, so it cannot know that none decode
        with pytest.raises(VideoDecodeError, match=BAD[kind].replace("(", r"\(").replace(")", r"\)")):
            probe_video(path, backend=backend)
