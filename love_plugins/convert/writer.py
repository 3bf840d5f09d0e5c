"""A streaming safetensors writer: the header is computed from a plan (names, shapes, dtypes), then
tensors are appended one at a time, so writing a 9B model never holds more than one tensor.

The file is the standard format (8-byte little-endian header length, JSON header with dtype, shape and
data offsets, then the raw little-endian bytes) and reads back with `safetensors.safe_open`.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


class StreamingSafetensorsWriter:
    """`with StreamingSafetensorsWriter(path, plan, metadata) as w: w.write(name, tensor)` in plan order.

    Writes to `<path>.partial` and renames on a clean exit; on error the partial file is removed.
    """

    def __init__(self, path: str | Path, plan: list[tuple[str, tuple[int, ...], torch.dtype]],
                 metadata: dict[str, str] | None = None):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.plan = list(plan)
        header: dict[str, object] = {}
        if metadata:
            header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
        offset = 0
        for name, shape, dtype in self.plan:
            if name in header:
                raise ValueError(f"tensor {name} planned twice")
            size = _numel(shape) * torch.empty((), dtype=dtype).element_size()
            header[name] = {"dtype": DTYPE_NAMES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
            offset += size
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
        raw += b" " * (-len(raw) % 8)  # keep the data section 8-byte aligned
        self._header = raw
        self.total_bytes = offset
        self._next = 0
        self._file = None

    def __enter__(self) -> StreamingSafetensorsWriter:
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "wb")  # noqa: SIM115 - closed in __exit__
        self._file.write(struct.pack("<Q", len(self._header)))
        self._file.write(self._header)
        return self

    def write(self, name: str, tensor: torch.Tensor) -> None:
        if self._next >= len(self.plan):
            raise ValueError(f"tensor {name} was not planned")
        planned, shape, dtype = self.plan[self._next]
        if name != planned:
            raise ValueError(f"tensor {name} written out of order (expected {planned})")
        if tuple(tensor.shape) != tuple(shape) or tensor.dtype != dtype:
            raise ValueError(f"tensor {name}: got {tuple(tensor.shape)} {tensor.dtype}, planned {tuple(shape)} {dtype}")
        data = tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8)
        self._file.write(memoryview(data.numpy()))
        self._next += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        self._file.close()
        if exc_type is None and self._next != len(self.plan):
            self.partial.unlink(missing_ok=True)
            raise ValueError(f"only {self._next} of {len(self.plan)} planned tensors were written")
        if exc_type is not None:
            self.partial.unlink(missing_ok=True)
            return
        os.replace(self.partial, self.path)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n
