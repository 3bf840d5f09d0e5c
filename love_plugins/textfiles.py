"""Reading the text files users hand over (manifests, prompt lists, annotations): UTF-8 only, and an
encoding error names the file, the line and the column of the first byte that is not UTF-8."""

from __future__ import annotations

from pathlib import Path

from .errors import AnnotationError


def read_utf8(path: str | Path) -> str:
    """The text of `path` (a UTF-8 byte-order mark is dropped); AnnotationError naming the line if a byte is
    not UTF-8, the file is missing, or it is a folder."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AnnotationError(path, "file does not exist") from None
    except IsADirectoryError:
        raise AnnotationError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise AnnotationError(path, f"cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise AnnotationError(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} (save the "
                                    "file as UTF-8)", line=line) from None
