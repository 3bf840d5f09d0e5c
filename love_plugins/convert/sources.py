"""Read checkpoints tensor by tensor: safetensors through `safe_open` (memory-mapped, one tensor at a
time), `.bin`/`.pth` through `torch.load(weights_only=True, mmap=True)`. Nothing here unpickles
arbitrary objects."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import CheckpointError, first_line

_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def load_pickled_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A `.pth`/`.bin` state dict, read with `torch.load(weights_only=True)`.

    Accepts a bare state dict or one under "state_dict"/"model" (FAST-VQA's `temporal.pth` layout).
    A file that needs arbitrary unpickling is refused, never executed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # legacy (non-zip) serialisation cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(path, "not a plain weights file: it needs arbitrary unpickling, which is refused "
                                    f"(torch.load weights_only=True: {first_line(exc)})") from exc
    except Exception as exc:
        raise CheckpointError(path, f"unreadable checkpoint: {type(exc).__name__}: {exc}") from exc
    if isinstance(data, Mapping):
        for wrapper in ("state_dict", "model"):
            if wrapper in data and isinstance(data[wrapper], Mapping):
                data = data[wrapper]
                break
    if not isinstance(data, Mapping):
        raise CheckpointError(path, f"expected a state dict, found {type(data).__name__}")
    bad = [k for k, v in data.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(path, f"entries that are not tensors: {sorted(map(str, bad))[:5]}")
    return dict(data)


class TensorSource:
    """All tensors of one checkpoint (a directory of shards, or one file), read lazily by name."""

    def __init__(self, path: str | Path, label: str | None = None):
        self.path = Path(path)
        self.label = label or str(self.path)
        self._files: dict[str, Path] = {}  # key -> file
        self._handles: dict[Path, object] = {}
        self._pickled: dict[Path, dict[str, torch.Tensor]] = {}
        if not self.path.exists():
            raise CheckpointError(self.path, "no such file or directory")
        files = self._weight_files()
        for file in files:
            for key in self._keys_of(file):
                if key in self._files:
                    raise CheckpointError(file, f"tensor {key} is also in {self._files[key]}")
                self._files[key] = file
        if not self._files:
            raise CheckpointError(self.path, "checkpoint holds no tensors")

    # -- discovery ------------------------------------------------------------------------------------
    def _weight_files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
            index = self.path / index_name
            if index.is_file():
                try:
                    weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise CheckpointError(index, f"invalid shard index: {exc}") from exc
                files = sorted({self.path / name for name in weight_map.values()})
                missing = [f for f in files if not f.is_file()]
                if missing:
                    raise CheckpointError(index, f"shard(s) listed but absent: {[f.name for f in missing]}")
                return files
        files = sorted(self.path.glob("*.safetensors"))
        if not files:
            files = sorted(p for p in self.path.glob("*.bin") if p.name != "training_args.bin")
        if not files:
            raise CheckpointError(self.path, "no *.safetensors or *.bin weight files in this directory")
        return files

    def _keys_of(self, file: Path) -> list[str]:
        if file.suffix == ".safetensors":
            return list(self._handle(file).keys())
        return list(self._pickled_file(file).keys())

    def _handle(self, file: Path):
        if file not in self._handles:
            from safetensors import safe_open

            try:
                self._handles[file] = safe_open(str(file), framework="pt", device="cpu")
            except Exception as exc:
                raise CheckpointError(file, f"unreadable safetensors file: {exc}") from exc
        return self._handles[file]

    def _pickled_file(self, file: Path) -> dict[str, torch.Tensor]:
        if file not in self._pickled:
            self._pickled[file] = load_pickled_weights(file)
        return self._pickled[file]

    # -- access ---------------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._files)

    def __contains__(self, key: str) -> bool:
        return key in self._files

    def file_of(self, key: str) -> Path:
        return self._files[key]

    def shape(self, key: str) -> tuple[int, ...]:
        file = self._files[key]
        if file.suffix == ".safetensors":
            return tuple(self._handle(file).get_slice(key).get_shape())
        return tuple(self._pickled_file(file)[key].shape)

    def dtype(self, key: str) -> torch.dtype:
        file = self._files[key]
        if file.suffix == ".safetensors":
            name = self._handle(file).get_slice(key).get_dtype()
            if name not in _ST_DTYPES:
                raise CheckpointError(file, f"tensor {key} has unsupported dtype {name}")
            return _ST_DTYPES[name]
        return self._pickled_file(file)[key].dtype

    def get(self, key: str) -> torch.Tensor:
        file = self._files[key]
        try:
            if file.suffix == ".safetensors":
                return self._handle(file).get_tensor(key)
            return self._pickled_file(file)[key]
        except Exception as exc:  # truncated file, bad offsets, ...
            raise CheckpointError(file, f"cannot read tensor {key}: {exc}") from exc

    def where(self, key: str) -> str:
        """`file: key`, for error messages."""
        return f"{self._files.get(key, self.path)}: {key}"


class DictSource(TensorSource):
    """A state dict already in memory (temporal.pth is small), with the same interface."""

    def __init__(self, path: str | Path, tensors: dict[str, torch.Tensor], label: str | None = None):
        self.path = Path(path)
        self.label = label or str(self.path)
        self._tensors = tensors
        self._files = dict.fromkeys(tensors, self.path)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._tensors[key].shape)

    def dtype(self, key: str) -> torch.dtype:
        return self._tensors[key].dtype

    def get(self, key: str) -> torch.Tensor:
        return self._tensors[key]


class OverlaySource(TensorSource):
    """A checkpoint with some of its tensors replaced by those of another file (the authors'
    `lora_weights.pth`, which their inference loads over the checkpoint). Keys are the checkpoint's own."""

    def __init__(self, base: TensorSource, overlay_path: str | Path, replacements: dict[str, torch.Tensor]):
        self.path = base.path
        self.label = base.label
        self._base = base
        self._replaced = replacements
        self._files = {**base._files, **dict.fromkeys(replacements, Path(overlay_path))}

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._replaced[key].shape) if key in self._replaced else self._base.shape(key)

    def dtype(self, key: str) -> torch.dtype:
        return self._replaced[key].dtype if key in self._replaced else self._base.dtype(key)

    def get(self, key: str) -> torch.Tensor:
        return self._replaced[key] if key in self._replaced else self._base.get(key)
