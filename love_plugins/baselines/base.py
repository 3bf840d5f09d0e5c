"""What a training-free baseline scorer shares: the result type, frame decoding, the scoring loop.

A baseline follows the same scorer protocol as `love_plugins.scorer.Scorer` (see
`love_plugins.evaluation.harness.ScorerProtocol`): ``tasks``, ``describe()`` and
``score(videos, prompts=None, questions=None, tasks=None, progress=False)`` returning one result
per video in input order, with ``error`` set (and scores None) for a video it could not read.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from love_plugins.errors import VideoDecodeError


@dataclass
class BaselineScore:
    """Same field names as `VideoScore`; `raw` keeps the measure's native value (e.g. NIQE)."""

    video: str
    perception: float | None = None
    correspondence: float | None = None
    perception_level: str | None = None
    correspondence_level: str | None = None
    qa_answer: str | None = None
    qa_p_yes: float | None = None
    qa_p_no: float | None = None
    prompt: str | None = None
    question: str | None = None
    error: str | None = None
    raw: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_rgb_frames(path: str | Path, max_frames: int | None = None, stride: int = 1) -> np.ndarray:
    """Decode up to `max_frames` frames (every `stride`-th, from the start) as uint8 (T, H, W, 3)."""
    import av

    frames = []
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i % stride == 0:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    if max_frames is not None and len(frames) >= max_frames:
                        break
    except (OSError, av.error.FFmpegError) as exc:
        raise VideoDecodeError(path, str(exc)) from exc
    if not frames:
        raise VideoDecodeError(path, "no video frames")
    return np.stack(frames)


def uniform_indices(total: int, count: int) -> list[int]:
    """Segment-centre indices of `count` frames among `total` (all of them when total <= count)."""
    if total <= count:
        return list(range(total))
    return [int((i + 0.5) * total / count) for i in range(count)]


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Luma as float64 0-255 with MATLAB rgb2gray weights (what NIQE's reference code uses)."""
    return rgb[..., :3].astype(np.float64) @ np.array([0.2989, 0.5870, 0.1140])


class FrameBaseline:
    """Base class: subclasses set `name`, `description`, `config` and implement `measure(path)`."""

    name = ""
    description = ""
    tasks: tuple[str, ...] = ("perception",)

    def config(self) -> dict[str, Any]:
        return {}

    def describe(self) -> dict[str, Any]:
        return {
            "model": f"baseline:{self.name}",
            "checkpoint": None,
            "kind": "training-free baseline",
            "description": self.description,
            "tasks": list(self.tasks),
            "sampler": self.config(),
            "versions": {"numpy": np.__version__, "python": platform.python_version()},
        }

    def measure(self, path: str) -> BaselineScore:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(
        self,
        videos: str | Path | Sequence[str | Path],
        prompts: Sequence[str | None] | None = None,
        questions: Sequence[str | None] | None = None,
        tasks: Sequence[str] | None = None,
        progress: bool = False,
    ) -> list[BaselineScore]:
        """Perception-like score per video (prompts and questions are accepted and ignored)."""
        from tqdm.auto import tqdm

        if isinstance(videos, (str, Path)):
            videos = [videos]
        out = []
        for i, video in enumerate(tqdm(list(videos), desc=self.name, unit="video", disable=not progress)):
            try:
                result = self.measure(str(video))
            except VideoDecodeError as exc:
                result = BaselineScore(video=str(video), error=str(exc))
            except (ValueError, np.linalg.LinAlgError) as exc:
                result = BaselineScore(video=str(video), error=f"{video}: {self.name} failed: {exc}")
            result.prompt = prompts[i] if prompts is not None else None
            result.question = questions[i] if questions is not None else None
            out.append(result)
        return out
