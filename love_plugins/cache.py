"""A score cache keyed by what determines a score: the video's bytes, the model, the sampler, the text.

Key = sha256 over (content hash of the video file, checkpoint id, sampler config incl. seed, task,
prompt/question text). Entries are small JSON files written atomically, so concurrent ranks and killed
runs never leave a half-written entry; any run (score, evaluate, the plugins) can reuse them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class ScoreCache:
    """Task outputs per (video content, model, sampler, task, text), one JSON file per entry."""

    def __init__(self, directory: str | Path, model_id: str, sampler: dict):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._context = json.dumps({"model": model_id, "sampler": sampler}, sort_keys=True)

    def key(self, video_digest: str, task: str, text: str | None) -> str:
        payload = json.dumps([video_digest, self._context, task, text or ""], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(tmp, path)
