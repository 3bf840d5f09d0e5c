"""Deterministic mp4 writing and plain frame reading with PyAV.

libx264 with one thread, a fixed preset and CRF gives byte-identical files for identical frames,
so a suite regenerated from the same seed is the same suite, down to the decoded pixels.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from love_plugins.errors import VideoDecodeError

# Low CRF: the suite's artefacts should be the ones we put in, not the encoder's.
X264_OPTIONS = {"crf": "12", "preset": "veryfast", "threads": "1"}


def write_mp4(path: str | Path, frames: np.ndarray, fps: int) -> None:
    """Encode uint8 RGB frames (T, H, W, 3), even H and W, as H.264 yuv420p mp4."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _, height, width, _ = frames.shape
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options=dict(X264_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        for frame in frames:
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_frames(path: str | Path) -> np.ndarray:
    """Decode every frame of a video as uint8 RGB (T, H, W, 3)."""
    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (OSError, av.error.FFmpegError) as exc:  # missing, truncated or not a video
        raise VideoDecodeError(path, str(exc)) from exc
    if not frames:
        raise VideoDecodeError(path, "no video frames")
    return np.stack(frames)
