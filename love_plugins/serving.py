"""The JSON protocol of LOVE's scoring service: what a client sends, how the server checks it, what comes back.

The server (`integrations.ray.serve`, `love-eval serve`) and the client (`love_plugins.client`) share this
module; it knows nothing of Ray or HTTP frameworks.

    POST /v1/score
    {"videos": [{"path": "clips/a.mp4"},                       # a file under the server's --video-root
                {"mp4": "<base64 bytes>", "name": "b.mp4"},       # the file's bytes
                {"array": {"shape": [T, H, W, 3], "dtype": "uint8", "data": "<base64>"}}],  # decoded frames
     "prompts": ["...", ...], "questions": ["...", ...], "tasks": ["perception", ...]}   # all optional
    -> 200 {"results": [<VideoScore as a dict>, ...], "model": "<name>"}   one per video, in order
    -> 4xx/5xx {"error": "<one line>"}

A video the model cannot read (a corrupt frame inside an otherwise valid file) comes back as a result with
its `error`; a request that cannot be honoured at all gets a status: 400 malformed JSON, base64 or fields;
401 a missing or wrong API key; 403 a path outside the video root; 413 a body or a video list over the
limits; 422 an upload that is not a readable video; 503 the server is over its queue limit; 504 the request
ran past its time limit.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .modeling.configuration_love import TASKS

__all__ = ["Limits", "RequestError", "ScoreRequest", "check_api_key", "encode_video", "parse_score_request"]

ARRAY_DTYPES = {"uint8": np.uint8, "float32": np.float32}


class RequestError(Exception):
    """A request the server refuses: `status` is the HTTP status, the message names the field and the reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 256 * 2**20  # 256 MiB
    max_videos: int = 64
    timeout_s: float = 300.0


@dataclass
class ScoreRequest:
    """A checked request: `videos` are server-side paths (str), uploaded bytes (bytes) or frames (np.ndarray)."""

    videos: list
    names: list[str]
    prompts: list[str | None] | None = None
    questions: list[str | None] | None = None
    tasks: tuple[str, ...] | None = None


def check_api_key(expected: str | None, headers) -> bool:
    """True when no key is configured, or the request carries it (`Authorization: Bearer KEY` or `X-API-Key`);
    compared in constant time."""
    if not expected:
        return True
    auth = headers.get("authorization") or ""
    given = auth[7:] if auth.lower().startswith("bearer ") else headers.get("x-api-key") or ""
    return hmac.compare_digest(given.encode(), expected.encode())


# -- client side ----------------------------------------------------------------------------------------
def encode_video(video, send_files: str = "path") -> dict:
    """One entry of `videos`: a path as `{"path"}` (`send_files="path"`) or its bytes (`"bytes"`); bytes as
    `{"mp4"}`; a decoded video (numpy or torch; uint8 (T, H, W, 3) or float (T, 3, H, W) in [0, 1]) as
    `{"array"}`. Float frames are sent as uint8 rounded as LOVE's exact path rounds them, so the server's
    scores equal in-process scores."""
    if isinstance(video, (bytes, bytearray)):
        return {"mp4": base64.b64encode(video).decode()}
    if isinstance(video, (str, os.PathLike)):
        if send_files == "bytes":
            return {"mp4": base64.b64encode(Path(video).read_bytes()).decode(), "name": str(video)}
        return {"path": str(video)}
    from .tensor_video import to_uint8_frames

    frames = np.ascontiguousarray(to_uint8_frames(video).cpu().numpy())
    return {"array": {"shape": list(frames.shape), "dtype": "uint8", "data": base64.b64encode(frames).decode()}}


# -- server side ----------------------------------------------------------------------------------------
def parse_score_request(body: bytes, video_root: str | Path | None, limits: Limits = Limits()) -> ScoreRequest:
    """Check a request body completely (before anything is scored) and return what to score."""
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f"request body of {len(body)} bytes is over the limit of {limits.max_body_bytes}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError(400, "the body must be a JSON object with a 'videos' list")
    unknown = set(data) - {"videos", "prompts", "questions", "tasks"}
    if unknown:
        raise RequestError(400, f"unknown field(s) {sorted(unknown)}; known: videos, prompts, questions, tasks")
    videos = data.get("videos")
    if not isinstance(videos, list) or not videos:
        raise RequestError(400, "'videos' must be a non-empty list")
    if len(videos) > limits.max_videos:
        raise RequestError(413, f"{len(videos)} videos in one request; the limit is {limits.max_videos}")
    prompts = _texts(data, "prompts", len(videos))
    questions = _texts(data, "questions", len(videos))
    tasks = data.get("tasks")
    if tasks is not None:
        if not isinstance(tasks, list) or not tasks or any(t not in TASKS for t in tasks):
            raise RequestError(400, f"'tasks' must be a non-empty list of {list(TASKS)}, got {tasks!r}")
        tasks = tuple(dict.fromkeys(tasks))
    request = ScoreRequest(videos=[], names=[], prompts=prompts, questions=questions, tasks=tasks)
    for index, entry in enumerate(videos):
        video, name = _video(entry, index, video_root)
        request.videos.append(video)
        request.names.append(name)
    return request


def _texts(data: dict, key: str, n: int) -> list[str | None] | None:
    values = data.get(key)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != n or not all(v is None or isinstance(v, str) for v in values):
        raise RequestError(400, f"'{key}' must be a list of {n} strings (one per video, null allowed)")
    return values


def _b64(text, where: str) -> bytes:
    if not isinstance(text, str):
        raise RequestError(400, f"{where}: base64 text expected")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(400, f"{where}: not valid base64 ({exc})") from None


def _video(entry, index: int, video_root) -> tuple[object, str]:
    where = f"videos[{index}]"
    if not isinstance(entry, dict) or len(set(entry) & {"path", "mp4", "array"}) != 1:
        raise RequestError(400, f"{where}: an object with exactly one of 'path', 'mp4', 'array'")
    if "path" in entry:
        return _server_path(entry["path"], where, video_root), str(entry["path"])
    if "mp4" in entry:
        data = _b64(entry["mp4"], f"{where}.mp4")
        _check_readable(data, where)
        return data, str(entry.get("name") or f"upload-{index}.mp4")
    return _array(entry["array"], where), str(entry.get("name") or f"array-{index}")


def _server_path(text, where: str, video_root) -> str:
    if video_root is None:
        raise RequestError(403, f"{where}: this server takes no paths (start it with --video-root)")
    if not isinstance(text, str) or not text:
        raise RequestError(400, f"{where}.path: a non-empty string expected")
    root = Path(video_root).resolve()
    path = (root / text).resolve()
    if not path.is_relative_to(root):
        raise RequestError(403, f"{where}: {text!r} is outside the server's video root")
    if not path.is_file():
        raise RequestError(422, f"{where}: {text!r} is not a file under the video root")
    return str(path)


def _check_readable(data: bytes, where: str) -> None:
    """An upload must open as a container with a video stream whose first frame decodes."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise RequestError(422, f"{where}: the upload has no video stream")
            next(container.decode(video=0))
    except RequestError:
        raise
    except (av.error.FFmpegError, StopIteration, OSError, ValueError) as exc:
        raise RequestError(422, f"{where}: the upload is not a readable video ({type(exc).__name__}: "
                                f"{str(exc) or 'no frames'})") from None


def _array(spec, where: str) -> np.ndarray:
    if not isinstance(spec, dict) or set(spec) != {"shape", "dtype", "data"}:
        raise RequestError(400, f"{where}.array: an object with 'shape', 'dtype' and 'data'")
    dtype, shape = ARRAY_DTYPES.get(spec["dtype"]), spec["shape"]
    if dtype is None:
        raise RequestError(400, f"{where}.array.dtype: one of {list(ARRAY_DTYPES)}, got {spec['dtype']!r}")
    if not isinstance(shape, list) or len(shape) != 4 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise RequestError(400, f"{where}.array.shape: four positive integers, got {shape!r}")
    layout_ok = shape[-1] == 3 if dtype is np.uint8 else shape[1] == 3
    if not layout_ok:
        raise RequestError(400, f"{where}.array: uint8 frames are (T, H, W, 3), float32 frames (T, 3, H, W); "
                                f"got {shape} {spec['dtype']}")
    data = _b64(spec["data"], f"{where}.array.data")
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if len(data) != expected:
        raise RequestError(400, f"{where}.array: {len(data)} bytes of data for shape {shape} ({expected} expected)")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype is np.float32 and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
        raise RequestError(400, f"{where}.array: float32 frames must be finite and in [0, 1]")
    return array.copy()  # writable, owned


def result_rows(results: Sequence, names: Sequence[str]) -> list[dict]:
    """VideoScores as JSON rows, each named as the client named its video."""
    rows = []
    for result, name in zip(results, names):
        row = result.to_dict()
        row["video"] = name
        if row.get("error"):
            row["error"] = row["error"].replace(str(result.video), name)
        rows.append(row)
    return rows
