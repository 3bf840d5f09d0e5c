"""A client of LOVE's scoring service (`love-eval serve`), with the `Scorer.score` signature.

    client = LoveClient("http://127.0.0.1:8000", api_key=None)
    results = client.score(["clips/a.mp4"], prompts=["a red ball"])        # list[VideoScore], in order
    reward = LoveReward.remote("http://127.0.0.1:8000")                      # the same LoveReward interface

Paths are sent as paths (the server reads them under its `--video-root`) unless `send_files="bytes"`;
videos held in memory are sent as uint8 frames. Standard library only; the protocol is `love_plugins.serving`.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from .errors import LoveError
from .modeling.configuration_love import TASKS
from .scorer import VideoScore, _aligned
from .serving import encode_video
from .tensor_video import split_videos

__all__ = ["LoveClient", "ServiceError"]


class ServiceError(LoveError):
    """The service refused or failed a request: `status` is the HTTP status (None: no answer)."""

    def __init__(self, status: int | None, message: str):
        super().__init__(f"{status or 'no answer'}: {message}")
        self.status = status


class LoveClient:
    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 600.0, send_files: str = "path",
                 retries: int = 3, backoff_s: float = 1.0):
        if send_files not in ("path", "bytes"):
            raise ValueError(f"send_files must be 'path' or 'bytes', got {send_files!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("LOVE_API_KEY")
        self.timeout_s, self.send_files = timeout_s, send_files
        self.retries, self.backoff_s = retries, backoff_s  # on 503 (overloaded) only, waiting backoff_s x 2^k
        self._model: dict | None = None

    # -- what Scorer offers -------------------------------------------------------------------------
    def describe(self) -> dict:
        if self._model is None:
            self._model = self._request("GET", "/v1/model")
        return self._model

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.describe()["tasks"])

    def score(self, videos, prompts: Sequence[str | None] | None = None,
              questions: Sequence[str | None] | None = None, tasks: Sequence[str] | None = None,
              progress: bool = False, fps=None) -> list[VideoScore]:
        """Score videos on the server; one `VideoScore` per video, in order (`fps` is recorded locally)."""
        videos = split_videos(videos)
        body = {"videos": [encode_video(v, self.send_files) for v in videos]}
        if prompts is not None:
            body["prompts"] = list(_aligned(prompts, len(videos), "prompts"))
        if questions is not None:
            body["questions"] = list(_aligned(questions, len(videos), "questions"))
        if tasks is not None:
            body["tasks"] = [t for t in TASKS if t in tasks]
        rows = self._request("POST", "/v1/score", body)["results"]
        fps_values = _aligned(fps, len(videos), "fps values")
        results = [VideoScore(**row) for row in rows]
        for result, value in zip(results, fps_values):
            result.fps = value if value is not None else result.fps
        return results

    def health(self) -> dict:
        return self._request("GET", "/healthz")

    # -- HTTP ---------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.retries + 1):
            try:
                return self._send(method, path, data)
            except ServiceError as exc:
                if exc.status != 503 or attempt == self.retries:
                    raise
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, data: bytes | None) -> dict:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(exc.code, _error_text(exc.read())) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ServiceError(None, f"{self.url}{path}: {getattr(exc, 'reason', exc)}") from None


def _error_text(payload: bytes) -> str:
    try:
        data = json.loads(payload)
        return str(data.get("error") or data.get("detail") or data)
    except (json.JSONDecodeError, AttributeError):
        return payload.decode("utf-8", "replace").strip()[:500]
