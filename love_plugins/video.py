"""Video input for LOVE: one decode pass yields both input streams (SPEC §2).

* spatial stream: ``num_frames`` frames at segment centres, each squashed to ``frame_size``² (PIL bicubic);
* motion stream: ``num_clips`` × ``clip_len`` frames (mmaction test-mode sampling, wrapping modulo the
  frame count), each turned into a FAST-VQA fragment mosaic of ``fragments``² patches of ``fragment_size``².

Sampling matches the LOVE authors' code bit for bit, except that the random patch offsets come from a
seeded ``torch.Generator`` (same draws, same order as theirs under ``torch.manual_seed(seed)``), so scores
are reproducible. The file is decoded once (PyAV with FFmpeg's frame threads by default); only the needed
frames are converted to RGB, each spatial frame is resized on a second thread while decoding goes on, and
each fragment frame is cut into its mosaic as it arrives (a clip smaller than the mosaic is upsampled in
one call over its frames first, as the authors upsample their whole stack), so memory does not grow with
video length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .errors import VideoDecodeError

if TYPE_CHECKING:  # PyAV is imported where a file is read: importing the package needs no decoder
    import av

__all__ = [
    "SamplerConfig",
    "VideoMeta",
    "VideoSample",
    "available_backends",
    "clip_indices",
    "fragment_offsets",
    "normalize_fragments",
    "normalize_frames",
    "probe_video",
    "read_frames",
    "read_video",
    "spatial_indices",
]

# ImageNet statistics: on [0, 1] for the InternViT frames, on [0, 255] for the Swin fragments.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_MEAN_255 = (123.675, 116.28, 103.53)
IMAGENET_STD_255 = (58.395, 57.12, 57.375)

# Frames of a small video upsampled in one call: 16 at 224x274 are 12 MB of float, which stays in cache (32
# were slower on one thread).
_UPSAMPLE_BLOCK = 16
# The indexed decoders (decord, torchcodec) hand frames over in batches of this many, bounding memory for long
# high-resolution videos.
_INDEXED_CHUNK = 16


# ----------------------------------------------------------------------------------------------------------
# configuration and results
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplerConfig:
    """How frames are sampled from a video; stored in model configs and recorded (with the seed) in outputs."""

    num_frames: int = 8  # spatial stream: N frames
    frame_size: int = 448  # spatial stream: each frame squashed to S x S
    num_clips: int = 4  # motion stream: C clips
    clip_len: int = 32  # motion stream: T frames per clip
    fragments: int = 7  # motion stream: G x G grid
    fragment_size: int = 32  # motion stream: P x P patch per grid cell -> mosaic G*P
    seed: int = 0  # seed of the fragment-offset generator

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"SamplerConfig.{f.name} must be an int, got {value!r}")
            if f.name != "seed" and value < 1:
                raise ValueError(f"SamplerConfig.{f.name} must be >= 1, got {value}")

    @property
    def mosaic_size(self) -> int:
        """Side M of a fragment mosaic (224 by default)."""
        return self.fragments * self.fragment_size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SamplerConfig:
        """Inverse of to_dict; unknown keys are an error so that a typo cannot silently change sampling."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown SamplerConfig key(s) {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)


@dataclass(frozen=True)
class VideoMeta:
    """What the reader learnt about a file. ``num_frames`` is the count sampling used (decodable frames)."""

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    duration: float  # seconds, num_frames / fps (0 when the container gives no frame rate)
    backend: str  # the backend that actually decoded the frames


@dataclass
class VideoSample:
    """Both input streams of one video, kept as uint8 (4x smaller to move to the GPU than float32)."""

    frames: torch.Tensor  # uint8 (N, S, S, 3) RGB, already resized
    fragments: torch.Tensor  # uint8 (C, T, M, M, 3) RGB fragment mosaics
    meta: VideoMeta
    config: SamplerConfig = field(default_factory=SamplerConfig)  # what produced it (seed included)

    def pixel_values(self) -> torch.Tensor:
        """float32 (N, 3, S, S), ImageNet-normalised: the InternViT input."""
        return normalize_frames(self.frames)

    def motion_values(self) -> torch.Tensor:
        """float32 (C, 3, T, M, M), ImageNet-normalised on 0-255: the Video Swin input."""
        return normalize_fragments(self.fragments)


# ----------------------------------------------------------------------------------------------------------
# normalisation (run wherever the model lives: the uint8 tensors are what travels)
# ----------------------------------------------------------------------------------------------------------
def _stats(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=like.device)


def normalize_frames(frames_uint8: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(..., S, S, 3) uint8 -> (..., 3, S, S): ToTensor (/255) then Normalize, in float32 on the input's device.

    Same operation order as torchvision's ToTensor + Normalize, so values match the authors' bit for bit.
    """
    x = frames_uint8.movedim(-1, -3).to(torch.float32).div(255)
    mean, std = _stats(IMAGENET_MEAN, x)[:, None, None], _stats(IMAGENET_STD, x)[:, None, None]
    return x.sub(mean).div(std).to(dtype)


def normalize_fragments(frags_uint8: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(..., C, T, M, M, 3) uint8 -> (..., C, 3, T, M, M): (x - mean) / std on 0-255 values."""
    x = frags_uint8.to(torch.float32)
    x = (x - _stats(IMAGENET_MEAN_255, x)) / _stats(IMAGENET_STD_255, x)
    return x.movedim(-1, -4).to(dtype)


# ----------------------------------------------------------------------------------------------------------
# sampling (pure functions of the frame count / frame size; these are what must match the authors)
# ----------------------------------------------------------------------------------------------------------
def spatial_indices(num_video_frames: int, num_frames: int) -> list[int]:
    """Segment-centre indices of the spatial stream (the authors' ``get_index`` without a time bound).

    ``np.round`` (round half to even) is deliberate: it is what they use.
    """
    _check_count(num_video_frames)
    seg = (num_video_frames - 1) / num_frames
    return [int(seg / 2 + np.round(seg * i)) for i in range(num_frames)]


def clip_indices(num_video_frames: int, num_clips: int, clip_len: int) -> list[int]:
    """Motion-stream indices, flat and clip-major (mmaction ``SampleFrames`` test mode, frame interval 1).

    Clips start at the centres of ``num_clips`` equal segments; indices past the end wrap modulo the
    frame count, so a 5-frame video still yields ``num_clips * clip_len`` indices.
    """
    _check_count(num_video_frames)
    avg = (num_video_frames - clip_len + 1) / num_clips
    if num_video_frames > clip_len - 1:
        offsets = (np.arange(num_clips) * avg + avg / 2).astype(np.int32)
    else:
        offsets = np.zeros(num_clips, dtype=np.int32)
    indices = offsets[:, None] + np.arange(clip_len)[None, :]
    return np.mod(indices, num_video_frames).reshape(-1).tolist()


def _check_count(n: int) -> None:
    if n < 1:
        raise ValueError(f"a video needs at least one frame, got {n}")


def _needs_upsample(height: int, width: int, cfg: SamplerConfig) -> bool:
    return min(height / cfg.mosaic_size, width / cfg.mosaic_size) < 1


def fragment_offsets(height: int, width: int, cfg: SamplerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners (top, left), each int64 (G, G, C), of patch (i, j) of clip c in a decoded frame.

    Grid and random draws follow FAST-VQA as used by LOVE, computed from the ORIGINAL height/width even
    when the frame is upsampled first (their quirk, kept: only the top-left region of an upsampled frame
    is sampled). One deviation: below ``fragment_size`` pixels their grid start goes negative and their
    code crashes; we clamp it to 0 so tiny videos still work.
    """
    G, P, C = cfg.fragments, cfg.fragment_size, cfg.num_clips
    hgrids = torch.tensor([max(0, min(height // G * i, height - P)) for i in range(G)], dtype=torch.int64)
    wgrids = torch.tensor([max(0, min(width // G * i, width - P)) for i in range(G)], dtype=torch.int64)
    hlength, wlength = height // G, width // G
    g = torch.Generator().manual_seed(cfg.seed)
    # Rows first, then columns: the same draws in the same order as theirs under torch.manual_seed(seed).
    rnd_h = torch.randint(hlength - P, (G, G, C), generator=g) if hlength > P else torch.zeros(G, G, C)
    rnd_w = torch.randint(wlength - P, (G, G, C), generator=g) if wlength > P else torch.zeros(G, G, C)
    top = hgrids[:, None, None] + rnd_h.to(torch.int64)
    left = wgrids[None, :, None] + rnd_w.to(torch.int64)
    return top, left


class _FragmentPlan:
    """Turns one decoded frame into one clip's mosaic; the patch offsets depend only on frame size and config."""

    def __init__(self, height: int, width: int, cfg: SamplerConfig):
        self.shape = (height, width)
        self.scale = None
        if _needs_upsample(height, width, cfg):
            self.scale = 1 / min(height / cfg.mosaic_size, width / cfg.mosaic_size)
        self.cfg = cfg
        top, left = fragment_offsets(height, width, cfg)
        self._top = top.permute(2, 0, 1).numpy()  # (C, G, G)
        self._left = left.permute(2, 0, 1).numpy()

    def upsample(self, frames: np.ndarray) -> np.ndarray:
        """Upsample (T, H, W, 3) frames smaller than the mosaic, exactly as the authors do on their (3, T, H, W)
        stack: bilinear works per (channel, time) plane, so one call over the clip's frames gives the values
        of one call per frame, at a fraction of the overhead; the float -> uint8 cast truncates, as their
        ``type_as`` does."""
        video = torch.from_numpy(frames).permute(3, 0, 1, 2)  # (3, T, H, W), their layout
        up = F.interpolate(video.float() / 255.0, scale_factor=self.scale, mode="bilinear")
        return (up * 255.0).to(torch.uint8).permute(1, 2, 3, 0).contiguous().numpy()  # contiguous: fast crops

    def mosaic(self, prepared: np.ndarray, clip: int, out: np.ndarray) -> None:
        """Write the clip's (M, M, 3) mosaic into ``out``: patch (i, j) goes to rows i*P.., cols j*P..

        Plain block copies: ~50x faster than a per-pixel gather. The offsets stay inside the frame
        (see fragment_offsets), so no slice is ever cut short.
        """
        G, P = self.cfg.fragments, self.cfg.fragment_size
        top, left = self._top[clip], self._left[clip]
        for i in range(G):
            for j in range(G):
                y, x = top[i, j], left[i, j]
                out[i * P : (i + 1) * P, j * P : (j + 1) * P] = prepared[y : y + P, x : x + P]


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """The spatial stream's frame: squashed to size² with PIL's bicubic filter, as the authors do."""
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))


_RESIZER: tuple[int, ThreadPoolExecutor] | None = None


def _resizer() -> ThreadPoolExecutor:
    """One resizing thread per process (a forked decoding worker starts its own)."""
    global _RESIZER
    if _RESIZER is None or _RESIZER[0] != os.getpid():
        _RESIZER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="love-resize"))
    return _RESIZER[1]


class _Assembler:
    """Receives decoded frames in index order and fills both output streams; keeps nothing else."""

    def __init__(self, num_video_frames: int, cfg: SamplerConfig):
        self.cfg = cfg
        self.num_video_frames = num_video_frames
        self.spatial = spatial_indices(num_video_frames, cfg.num_frames)
        self.clips = clip_indices(num_video_frames, cfg.num_clips, cfg.clip_len)
        self._spatial_slots: dict[int, list[int]] = defaultdict(list)
        for k, idx in enumerate(self.spatial):
            self._spatial_slots[idx].append(k)
        self._clip_slots: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for k, idx in enumerate(self.clips):
            self._clip_slots[idx].append(divmod(k, cfg.clip_len))
        self.needed = sorted(set(self._spatial_slots) | set(self._clip_slots))
        S, M = cfg.frame_size, cfg.mosaic_size
        self.frames = np.empty((cfg.num_frames, S, S, 3), dtype=np.uint8)
        self.fragments = np.empty((cfg.num_clips, cfg.clip_len, M, M, 3), dtype=np.uint8)
        self._plan: _FragmentPlan | None = None
        self._seen: set[int] = set()
        # A video smaller than the mosaic: its clip frames wait here and are upsampled together (`_flush`).
        self._pending: dict[int, np.ndarray] = {}
        self._resizing: list[tuple[Future, list[int]]] = []  # spatial frames being resized beside the decoder

    @property
    def complete(self) -> bool:
        return len(self._seen) == len(self.needed)

    @property
    def frame_shape(self) -> tuple[int, int]:
        assert self._plan is not None
        return self._plan.shape

    def add(self, path: str, idx: int, rgb: np.ndarray) -> None:
        if self._plan is None:
            self._plan = _FragmentPlan(rgb.shape[0], rgb.shape[1], self.cfg)
        elif rgb.shape[:2] != self._plan.shape:
            raise VideoDecodeError(
                path, f"frame size changes mid-stream ({self._plan.shape} -> {rgb.shape[:2]})"
            )
        self._seen.add(idx)
        if idx in self._spatial_slots:  # PIL releases the GIL while it resizes: the decoder goes on meanwhile
            self._resizing.append((_resizer().submit(_resize, rgb, self.cfg.frame_size), self._spatial_slots[idx]))
        if idx in self._clip_slots:
            if self._plan.scale is None:
                self._mosaic(idx, rgb)
            else:
                self._pending[idx] = rgb
                if len(self._pending) == len(self._clip_slots):  # the last of the clip frames
                    self._flush()

    def streams(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(frames, fragments) as uint8 tensors, once every needed frame was added."""
        for future, slots in self._resizing:
            resized = future.result()
            for k in slots:
                self.frames[k] = resized
        self._resizing.clear()
        return torch.from_numpy(self.frames), torch.from_numpy(self.fragments)

    def _mosaic(self, idx: int, rgb: np.ndarray) -> None:
        for clip, t in self._clip_slots[idx]:
            self._plan.mosaic(rgb, clip, self.fragments[clip, t])

    def _flush(self) -> None:
        """Upsample the waiting clip frames in blocks of `_UPSAMPLE_BLOCK` (bounded memory), then cut them."""
        order = sorted(self._pending)
        for start in range(0, len(order), _UPSAMPLE_BLOCK):
            block = order[start : start + _UPSAMPLE_BLOCK]
            for idx, frame in zip(block, self._plan.upsample(np.stack([self._pending.pop(i) for i in block]))):
                self._mosaic(idx, frame)


# ----------------------------------------------------------------------------------------------------------
# opening and probing
# ----------------------------------------------------------------------------------------------------------
def available_backends() -> list[str]:
    """Installed decoders, preferred first: PyAV (always present; threaded sequential decoding, the fastest
    for LOVE's sampling, which reads every frame of most clips), then torchcodec and decord (frame index,
    random access). All give bit-identical tensors (`benchmarks/bench_decode.py` times them)."""
    return list(_backends())


@functools.cache
def _backends() -> tuple[str, ...]:
    return ("pyav",) + tuple(name for name in ("torchcodec", "decord") if _importable(name))


def _importable(name: str) -> bool:
    if importlib.util.find_spec(name) is None:
        return False
    if name == "torchcodec":  # it loads the system's FFmpeg libraries when imported
        try:
            import torchcodec.decoders  # noqa: F401
        except Exception:
            return False
    return True


def _pick_backend(backend: str | None) -> str:
    if backend is None:  # PyAV, always installed: no need to load the other decoders to find out
        return "pyav"
    names = available_backends()
    if backend not in names:
        raise ValueError(f"video backend {backend!r} is not available; available: {names}")
    return backend


def _open_checked(path: str) -> av.container.InputContainer:
    """Open with PyAV and turn every 'this is not a usable video' condition into a VideoDecodeError.

    Done for both backends, so both fail the same way and with the same reasons.
    """
    import av

    if not os.path.exists(path):
        raise VideoDecodeError(path, "file does not exist")
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "not a regular file")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    try:
        container = av.open(path)
    except av.error.InvalidDataError as e:
        raise VideoDecodeError(path, f"not a video: FFmpeg cannot parse it ({e.strerror})") from e
    except (av.error.FFmpegError, OSError) as e:
        raise VideoDecodeError(path, f"cannot open: {e}") from e
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):  # FFmpeg happily opens a PNG/JPEG as a 1-frame "video"
        container.close()
        raise VideoDecodeError(path, f"not a video: it is a still image ({fmt.removesuffix('_pipe')})")
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        container.close()
        raise VideoDecodeError(path, f"no video stream (streams: {', '.join(kinds)})")
    return container


def _pyav_frame_count(container: av.container.InputContainer, path: str) -> int:
    """Frames the container claims: the header count, else the number of video packets (demux only)."""
    import av

    stream = container.streams.video[0]
    if stream.frames > 0:
        return stream.frames
    count = 0
    with av.open(path) as c:
        try:
            for packet in c.demux(c.streams.video[0]):
                count += packet.size > 0
        except av.error.FFmpegError:
            pass  # truncated: count what is there; decoding will settle the real number
    return count


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 0.0


def _meta(path: str, n: int, fps: float, width: int, height: int, backend: str) -> VideoMeta:
    return VideoMeta(path, n, fps, width, height, n / fps if fps > 0 else 0.0, backend)


def probe_video(path: str | os.PathLike, backend: str | None = None) -> VideoMeta:
    """Frame count, rate and size without decoding frames (PyAV: the header; decord and torchcodec: their
    frame index, what `read_video` with that backend samples over)."""
    path, name = str(path), _pick_backend(backend)
    with _open_checked(path) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if name != "pyav":
            try:
                reader = _INDEXED[name](path)
                return _meta(path, len(reader), reader.fps, width, height, name)
            except Exception:  # an indexed decoder refuses some damaged files PyAV can still read
                pass
        n = _pyav_frame_count(container, path)
        return _meta(path, n, _fps(stream), width, height, "pyav")


# ----------------------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------------------
class _DecordReader:
    def __init__(self, path: str):
        from decord import VideoReader

        self._reader = VideoReader(path, num_threads=1)
        self.fps = float(self._reader.get_avg_fps())

    def __len__(self) -> int:
        return len(self._reader)

    def frames(self, indices: list[int]) -> np.ndarray:
        return self._reader.get_batch(indices).asnumpy()


class _TorchcodecReader:
    """PyTorch's maintained decoder (CPU here; its CUDA decoding is not used, see docs/gpu.md)."""

    def __init__(self, path: str):
        from torchcodec.decoders import VideoDecoder

        self._decoder = VideoDecoder(path, dimension_order="NHWC", seek_mode="exact", device="cpu",
                                     num_ffmpeg_threads=0)  # 0: FFmpeg picks (1, its default, is slower)
        self.fps = float(self._decoder.metadata.average_fps or 0.0)

    def __len__(self) -> int:
        return len(self._decoder)

    def frames(self, indices: list[int]) -> np.ndarray:
        return self._decoder.get_frames_at(indices=indices).data.numpy()


_INDEXED = {"decord": _DecordReader, "torchcodec": _TorchcodecReader}


def _read_indexed(path: str, cfg: SamplerConfig, name: str) -> tuple[_Assembler, float] | None:
    """Decode with an indexed decoder. Returns None when it cannot read the file (the caller falls back to
    PyAV, which tolerates truncation)."""
    try:
        reader = _INDEXED[name](path)
        n = len(reader)
    except Exception:  # RuntimeError, DECORDError, ... for damaged input
        return None
    if n < 1:
        return None
    asm = _Assembler(n, cfg)
    for start in range(0, len(asm.needed), _INDEXED_CHUNK):
        chunk = asm.needed[start : start + _INDEXED_CHUNK]
        try:
            batch = reader.frames(chunk)
        except Exception:  # e.g. the index claims frames a truncated file no longer holds
            return None
        for idx, rgb in zip(chunk, batch):
            asm.add(path, idx, rgb)
    return asm, reader.fps


def _pyav_frames(container: av.container.InputContainer) -> Iterator[av.VideoFrame]:
    """Decoded frames in order, tolerant of damage: skip undecodable packets, stop at an unreadable tail."""
    import av

    stream = container.streams.video[0]
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError:
            break  # truncated container: flush what the decoder still holds
        try:
            yield from packet.decode()
        except av.error.FFmpegError:
            continue
    try:
        yield from stream.codec_context.decode(None)
    except av.error.FFmpegError:
        return


def _decode_pyav(path: str, asm: _Assembler, container: av.container.InputContainer | None = None) -> int:
    """Decode sequentially with FFmpeg's frame threads, converting only needed frames; stop after the last one.
    Reads `container` if given (not yet decoded from), else opens the file. Returns the frames seen."""
    import av

    last, needed, count = asm.needed[-1], set(asm.needed), 0
    with contextlib.nullcontext(container) if container is not None else av.open(path) as source:
        source.streams.video[0].thread_type = "AUTO"
        for frame in _pyav_frames(source):
            if count in needed:
                asm.add(path, count, frame.to_ndarray(format="rgb24"))
            count += 1
            if count > last:
                break
    return count


def _read_pyav(path: str, cfg: SamplerConfig, claimed: int,
               container: av.container.InputContainer | None = None) -> _Assembler:
    """PyAV path (the first pass from `container` when given). If the file holds fewer decodable frames than
    claimed (truncated), sampling is redone over the frames actually there: a second pass, only then."""
    decoded = 0
    if claimed > 0:
        asm = _Assembler(claimed, cfg)
        decoded = _decode_pyav(path, asm, container)
        if asm.complete:
            return asm
    if decoded == 0:
        raise VideoDecodeError(path, "no decodable frames")
    asm = _Assembler(decoded, cfg)
    _decode_pyav(path, asm)
    if not asm.complete:
        raise VideoDecodeError(path, f"decoding is not repeatable ({decoded} frames, then fewer)")
    return asm


def read_frames(path: str | os.PathLike, num_frames: int = 8) -> np.ndarray:
    """(num_frames, H, W, 3) uint8 RGB frames at the video's own size, at the spatial stream's segment-centre
    indices: what a general video LMM is shown (`integrations.lmms_eval.models.hf_video`). A truncated file is
    sampled over the frames it still holds; failures are VideoDecodeErrors, as for `read_video`."""
    import av

    path = str(Path(path))
    with _open_checked(path) as container:
        claimed = _pyav_frame_count(container, path)

    def collect(total: int) -> tuple[dict[int, np.ndarray], list[int], int]:
        wanted = spatial_indices(total, num_frames)
        got, count = {}, 0
        with av.open(path) as container:
            container.streams.video[0].thread_type = "AUTO"
            for frame in _pyav_frames(container):
                if count in wanted:
                    got[count] = frame.to_ndarray(format="rgb24")
                count += 1
                if count > wanted[-1]:
                    break
        return got, wanted, count

    got, wanted, count = collect(claimed) if claimed > 0 else ({}, [0], 0)
    if not set(wanted) <= set(got):
        if count == 0:
            raise VideoDecodeError(path, "no decodable frames")
        got, wanted, _ = collect(count)
    return np.stack([got[i] for i in wanted])


def read_video(
    path: str | os.PathLike, config: SamplerConfig = SamplerConfig(), backend: str | None = None
) -> VideoSample:
    """Decode ``path`` once and return both LOVE input streams as uint8 tensors.

    ``backend`` is "pyav", "torchcodec" or "decord" (default: the first of ``available_backends()``). All give
    identical tensors; when an indexed decoder cannot read a damaged file, PyAV (which tolerates truncation) is
    used and ``meta.backend`` says so. Every failure is a VideoDecodeError naming the file and the reason.
    """
    path = str(Path(path))
    name = _pick_backend(backend)
    with _open_checked(path) as container:
        fps = _fps(container.streams.video[0])
        if name == "pyav":  # decoded from the container already open: one open per video
            asm = _read_pyav(path, config, _pyav_frame_count(container, path), container)
    if name != "pyav":
        decoded = _read_indexed(path, config, name)
        if decoded is not None:
            asm, fps = decoded
        else:  # the indexed decoder gave up on this file: count frames the PyAV way
            with _open_checked(path) as container:
                asm = _read_pyav(path, config, _pyav_frame_count(container, path), container)
            name = "pyav"
    height, width = asm.frame_shape
    frames, fragments = asm.streams()
    return VideoSample(
        frames=frames,
        fragments=fragments,
        meta=_meta(path, asm.num_video_frames, fps, width, height, name),
        config=config,
    )
