"""`love_plugins.load("love")`: the released LOVE weights through the Hugging Face cache, converted once.

Names: "love" (all three tasks in one bundle), "love-perception", "love-correspondence", "love-qa".
Downloads go through `huggingface_hub.snapshot_download` (its cache, its token, `HF_HUB_OFFLINE`);
the converted bundle is cached under `$LOVE_PLUGINS_CACHE` (default `~/.cache/love_plugins`), so the
conversion runs once per name. Offline with nothing cached, the error says what to fetch and how.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import LoveError

logger = logging.getLogger(__name__)

# Released repositories, first choice first (the authors' mirror is tried if the first is absent).
REPOS: dict[str, tuple[str, ...]] = {
    "perception": ("IntMeGroup/LOVE-Perception", "anonymousdb/LOVE-Perception"),
    "correspondence": ("IntMeGroup/LOVE-Corrrespondence", "anonymousdb/LOVE-Corrrespondence"),  # sic
    "qa": ("IntMeGroup/LOVE-QA", "anonymousdb/LOVE-QA"),
    "temporal": ("anonymousdb/LOVE-pretrain",),
}
BASE_REPO = "OpenGVLab/InternVL3-9B"
RELEASED_NAMES: dict[str, tuple[str, ...]] = {
    "love": ("perception", "correspondence", "qa"),
    "love-perception": ("perception",),
    "love-correspondence": ("correspondence",),
    "love-qa": ("qa",),
}
_WEIGHT_PATTERNS = ["*.safetensors", "*.json", "*.bin", "tokenizer.model", "*.txt"]
_COMPLETE = ".complete"


def cache_root() -> Path:
    return Path(os.environ.get("LOVE_PLUGINS_CACHE") or Path.home() / ".cache" / "love_plugins")


def bundle_dir(name: str) -> Path:
    return cache_root() / "bundles" / name


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def how_to_get(name: str) -> str:
    tasks = RELEASED_NAMES[name]
    lines = [f"the released LOVE weights for {name!r} are not in the Hugging Face cache and cannot be downloaded "
             "now (offline or unreachable). With network access run once:"]
    for task in tasks:
        lines.append(f"  hf download {REPOS[task][0]}")
    lines.append(f"  hf download {REPOS['temporal'][0]} temporal.pth")
    lines.append(f"then call love_plugins.load({name!r}) again (converted once into {bundle_dir(name)}), or "
                 "convert downloaded folders yourself: love-eval convert DIR... temporal.pth OUT_DIR and "
                 "load OUT_DIR. About 18.5 GB per task checkpoint to download and 19 GB for the converted bundle.")
    return "\n".join(lines)


def snapshot(repo_ids: tuple[str, ...], allow_patterns: list[str] | None = None) -> Path | None:
    """A local snapshot of the first repository that is cached or downloadable; None if none is."""
    from huggingface_hub import snapshot_download

    for local_only in (True, False):
        if not local_only and _offline():
            break
        for repo_id in repo_ids:
            try:
                path = Path(snapshot_download(repo_id, allow_patterns=allow_patterns, local_files_only=local_only))
            except Exception as exc:  # not cached / not found / no network: try the next option
                logger.debug("%s (local_files_only=%s): %s", repo_id, local_only, exc)
                continue
            if _complete(path, allow_patterns):
                return path
            logger.debug("%s: cached snapshot %s is incomplete", repo_id, path)
    return None


def _complete(path: Path, allow_patterns: list[str] | None) -> bool:
    """A cached snapshot may hold only some files (an interrupted download): check the weights are there."""
    if allow_patterns == ["temporal.pth"]:
        return (path / "temporal.pth").is_file()
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (path / index).is_file():
            import json

            try:
                shards = set(json.loads((path / index).read_text(encoding="utf-8"))["weight_map"].values())
            except (ValueError, KeyError, TypeError):
                return False
            return all((path / shard).is_file() for shard in shards)
    return any(path.glob("*.safetensors")) or any(path.glob("*.bin"))


def resolve_released(name: str, *, base: str | Path | None = None) -> Path:
    """Directory of the converted bundle for a released name, converting it on first use."""
    if name not in RELEASED_NAMES:
        raise LoveError(f"{name!r} is not a released LOVE model; known: {sorted(RELEASED_NAMES)}")
    target = bundle_dir(name)
    if (target / _COMPLETE).is_file():
        return target
    tasks = RELEASED_NAMES[name]
    checkpoints = {}
    for task in tasks:
        path = snapshot(REPOS[task], _WEIGHT_PATTERNS)
        if path is None:
            raise LoveError(how_to_get(name))
        checkpoints[task] = path
    pretrain = snapshot(REPOS["temporal"], ["temporal.pth"])
    temporal = pretrain / "temporal.pth" if pretrain is not None and (pretrain / "temporal.pth").is_file() else None
    if base is None and os.environ.get("LOVE_PLUGINS_BASE"):
        base = os.environ["LOVE_PLUGINS_BASE"]

    from .converter import convert

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        logger.info("converting the released LOVE weights for %r into %s (once)", name, target)
        try:
            convert(checkpoints, work, temporal=temporal, base=base, overwrite=True, name=f"{name} (released weights)")
        except LoveError as exc:
            if "no base model given" in str(exc) and base is None:
                base_path = snapshot((BASE_REPO,), _WEIGHT_PATTERNS)
                if base_path is None:
                    raise LoveError(f"{exc}\nThe base model is needed: hf download {BASE_REPO}") from exc
                convert(checkpoints, work, temporal=temporal, base=base_path, overwrite=True,
                        name=f"{name} (released weights)")
            else:
                raise
        (work / _COMPLETE).write_text("ok\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target
