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
# What a checkpoint folder needs besides its weights (lora_weights.pth: see convert's --lora-weights).
_SIDE_FILES = ["*.json", "tokenizer.model", "*.txt", "lora_weights.pth"]
_COMPLETE = ".complete"
# Download sizes, to check free disk space before starting (bf16 task checkpoints; fp32 temporal.pth).
DOWNLOAD_BYTES = {"perception": 18.5e9, "correspondence": 18.5e9, "qa": 18.5e9, "temporal": 0.12e9, "base": 18.3e9}


def cache_root() -> Path:
    return Path(os.environ.get("LOVE_PLUGINS_CACHE") or Path.home() / ".cache" / "love_plugins")


def bundle_dir(name: str) -> Path:
    return cache_root() / "bundles" / name


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def how_to_get(name: str, reasons: list[str] | None = None) -> str:
    tasks = RELEASED_NAMES[name]
    why = "; ".join(reasons) if reasons else "offline or unreachable"
    lines = [f"the released LOVE weights for {name!r} are not in the Hugging Face cache and cannot be downloaded "
             f"now ({why}). With network access run once:"]
    for task in tasks:
        lines.append(f"  hf download {REPOS[task][0]}")
    lines.append(f"  hf download {REPOS['temporal'][0]} temporal.pth")
    lines.append(f"then call love_plugins.load({name!r}) again (converted once into {bundle_dir(name)}), or "
                 "convert downloaded folders yourself: love-eval convert DIR... temporal.pth OUT_DIR and "
                 "load OUT_DIR. About 18.5 GB per task checkpoint to download and 19 GB for the converted bundle.")
    return "\n".join(lines)


class DownloadError(LoveError):
    """A download that failed for a reason the user must act on (access, disk, network)."""


def failure_reason(exc: BaseException) -> tuple[str, bool]:
    """A one-line reason for a failed Hugging Face request, and whether another repository (the mirror) may
    still have the files (only when this one does not exist)."""
    import errno

    from huggingface_hub import errors

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, errors.GatedRepoError):
        return "gated repository: accept its terms on huggingface.co and log in (hf auth login)", False
    if isinstance(exc, errors.RepositoryNotFoundError) or status == 404:
        return "not found (404)", True
    if status in (401, 403):
        return (f"access refused ({status}): log in with a token that can read it (hf auth login or HF_TOKEN)",
                False)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"disk full while downloading ({exc.filename or 'the Hugging Face cache'})", False
    if "timeout" in type(exc).__name__.lower() or isinstance(exc, TimeoutError):
        return f"timed out ({type(exc).__name__})", False
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{f' {status}' if status else ''}: {text}", False


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def check_free_space(needed: float, what: str) -> None:
    """Refuse to start a download that cannot fit in the Hugging Face cache."""
    cache = hf_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache).free
    if free < needed:
        raise DownloadError(f"{cache}: {what} needs about {needed / 1e9:.1f} GB of free disk space, only "
                            f"{free / 1e9:.1f} GB are free (set HF_HUB_CACHE to a larger disk)")


def _download(repo_id: str, allow_patterns: list[str] | None, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, allow_patterns=allow_patterns, local_files_only=local_only))


def _repo_files(repo_id: str) -> list[str]:
    from huggingface_hub import HfApi

    return HfApi().list_repo_files(repo_id)


def weight_patterns(files: list[str]) -> list[str]:
    """Download patterns for the one weight format a repository serves: safetensors if it has them, else .bin."""
    weights = ["*.safetensors"] if any(f.endswith(".safetensors") for f in files) else ["*.bin"]
    return weights + _SIDE_FILES


def snapshot(repo_ids: tuple[str, ...], allow_patterns: list[str] | None = None, size: float = 0.0) -> Path | None:
    """A local snapshot of the first repository that is cached or downloadable; None if none is cached and the
    network is off. A download that fails for another reason than a missing repository (access, disk, network)
    raises `DownloadError` saying why; a missing repository is followed by the next one (the mirror).
    `allow_patterns` None: the weights of whichever format the repository serves, and the side files."""
    for repo_id in repo_ids:  # the cache first: no network needed
        try:
            path = _download(repo_id, allow_patterns or ["*.safetensors", "*.bin", *_SIDE_FILES], True)
        except Exception as exc:  # not cached
            logger.debug("%s is not cached: %s", repo_id, exc)
            continue
        if _complete(path, allow_patterns):
            return path
        logger.info("%s: cached snapshot %s is incomplete", repo_id, path)
    if _offline():
        return None
    missing = []
    for repo_id in repo_ids:
        try:
            patterns = allow_patterns or weight_patterns(_repo_files(repo_id))
            check_free_space(size, f"downloading {repo_id}")
            logger.warning("downloading %s (about %.1f GB) into %s", repo_id, size / 1e9, hf_cache_dir())
            path = _download(repo_id, patterns, False)
        except DownloadError:
            raise
        except Exception as exc:
            reason, try_next = failure_reason(exc)
            if not try_next:
                raise DownloadError(f"{repo_id}: download failed: {reason}") from exc
            missing.append(f"{repo_id}: {reason}")
            continue
        if _complete(path, allow_patterns):
            return path
        raise DownloadError(f"{repo_id}: the download finished without the weight files ({path})")
    raise DownloadError("; ".join(missing))


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
    """Directory of the converted bundle for a released name, downloading and converting it on first use.

    Processes that ask at once (the ranks of a torchrun job) take turns on a file lock: the first downloads
    and converts, the others wait and then load the finished bundle."""
    from filelock import FileLock

    if name not in RELEASED_NAMES:
        raise LoveError(f"{name!r} is not a released LOVE model; known: {sorted(RELEASED_NAMES)}")
    target = bundle_dir(name)
    if (target / _COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target.parent / f".{name}.lock"))
    try:
        lock.acquire(timeout=1)
    except TimeoutError:
        logger.warning("another process is downloading or converting %r; waiting for it", name)
        lock.acquire()
    try:
        if (target / _COMPLETE).is_file():  # done by the process we waited for
            return target
        _download_and_convert(name, target, base)
    finally:
        lock.release()
    return target


def _download_and_convert(name: str, target: Path, base: str | Path | None) -> None:
    tasks = RELEASED_NAMES[name]
    checkpoints, reasons = {}, []
    for task in tasks:
        try:
            path = snapshot(REPOS[task], size=DOWNLOAD_BYTES[task])
        except DownloadError as exc:
            if "not found" not in str(exc):
                raise
            path, reasons = None, [*reasons, str(exc)]
        if path is None:
            raise LoveError(how_to_get(name, reasons))
        checkpoints[task] = path
    pretrain = snapshot(REPOS["temporal"], ["temporal.pth"], size=DOWNLOAD_BYTES["temporal"])
    temporal = pretrain / "temporal.pth" if pretrain is not None and (pretrain / "temporal.pth").is_file() else None
    if base is None and os.environ.get("LOVE_PLUGINS_BASE"):
        base = os.environ["LOVE_PLUGINS_BASE"]

    from .converter import convert

    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    label = f"{name} (released weights)"
    try:
        logger.warning("converting the released LOVE weights for %r into %s (once)", name, target)
        try:
            convert(checkpoints, work, temporal=temporal, base=base, overwrite=True, name=label, progress=True)
        except LoveError as exc:
            if "no base model given" in str(exc) and base is None:
                base_path = snapshot((BASE_REPO,), size=DOWNLOAD_BYTES["base"])
                if base_path is None:
                    raise LoveError(f"{exc}\nThe base model is needed: hf download {BASE_REPO}") from exc
                convert(checkpoints, work, temporal=temporal, base=base_path, overwrite=True, name=label,
                        progress=True)
            else:
                raise
        (work / _COMPLETE).write_text("ok\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
