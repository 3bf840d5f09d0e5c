"""Results files that survive interruption: one row per scored request, appended as it is scored.

A row answers one (video, prompt, question): a manifest may ask one video several questions, and each
answer is a row of its own, in writing, resuming and merging alike (`row_key`).

JSONL or CSV (by extension). Each row is written and flushed whole, so a killed run leaves at most one
partial last line, which a rerun drops before resuming. Beside the file, `<name>.run.json` records the
model, sampler and versions; a rerun with a different configuration refuses to mix results.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from .errors import LoveError

FIELDS = [
    "video", "perception", "perception_level", "correspondence", "correspondence_level",
    "qa_answer", "qa_p_yes", "qa_p_no", "qa_argmax_is_yes_no", "prompt", "question", "error",
]


# Below this much free space a run would die part-way; refuse before any work starts.
MIN_FREE_BYTES = 16 * 2**20


def check_output_folder(folder: Path) -> None:
    """Create the output folder and make sure it is writable and not full, before scoring starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoveError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from exc
    if not os.access(folder, os.W_OK):
        raise LoveError(f"{folder}: output folder is not writable")
    probe = folder / f".love-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"ok")
    except OSError as exc:
        raise LoveError(f"{folder}: output folder is not writable ({exc.strerror or exc})") from exc
    finally:
        probe.unlink(missing_ok=True)
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise LoveError(f"{folder}: no free disk space for results ({free} bytes free)")


def row_key(row: dict) -> tuple[str, str | None, str | None]:
    """What a results row answers: its video, prompt and question ("" and None alike: CSV has no None)."""
    return (str(row["video"]), row.get("prompt") or None, row.get("question") or None)


def partial_files(path: Path) -> list[Path]:
    """The per-rank files of any sharded run beside `path` (`scores.rank1-of-4.jsonl`, ...)."""
    import glob

    return sorted(path.parent.glob(f"{glob.escape(path.stem)}.rank*-of-*{glob.escape(path.suffix)}"))


def remove_results(path: Path) -> None:
    """A results file and its run description."""
    path.unlink(missing_ok=True)
    run_info_path(path).unlink(missing_ok=True)


def run_info_path(path: Path) -> Path:
    return path.with_name(path.name + ".run.json")


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def read_rows(path: str | Path) -> list[dict]:
    """Complete rows of a results file (a torn last line from a killed run is ignored)."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    if _is_csv(path):
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        return list(csv.DictReader(io.StringIO(text)))
    rows = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # torn write
        if line.strip():
            rows.append(json.loads(line))
    return rows


# Rows are flushed to the OS one by one (a killed process loses none) and forced to disk at most this
# often (a power cut loses at most this much); an fsync per row would bound the rate by the disk's.
SYNC_INTERVAL_S = 1.0


class ResultsWriter:
    """Appends result rows to JSONL/CSV, resuming an earlier run of the same configuration.

    `done` holds the rows of this file by `row_key`; `earlier` those of `earlier_files` (a merged output, the
    per-rank files of a run with another number of processes) that this file lacks: work done, not to redo.
    """

    def __init__(self, path: str | Path, run_info: dict, overwrite: bool = False, earlier_files=()):
        self.path = Path(path)
        self.run_info = run_info
        check_output_folder(self.path.parent)
        info_path = run_info_path(self.path)
        if overwrite:
            self.path.unlink(missing_ok=True)
        for file in [self.path, *([] if overwrite else earlier_files)]:
            _check_same_run(Path(file), run_info)
        self.done = {row_key(row): row for row in read_rows(self.path)}
        self.earlier: dict[tuple, dict] = {}
        for file in [] if overwrite else earlier_files:
            if Path(file) != self.path:
                self.earlier.update({k: r for r in read_rows(file) if (k := row_key(r)) not in self.done})
        self._truncate_torn_tail()
        _write_json_atomic(info_path, run_info)
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "a", encoding="utf-8", newline="")
        self._synced = time.monotonic()
        if _is_csv(self.path):
            self._csv = csv.DictWriter(self._file, fieldnames=FIELDS, extrasaction="ignore")
            if new_file:
                self._csv.writeheader()
                self._file.flush()

    def _truncate_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, row: dict) -> None:
        if _is_csv(self.path):
            self._csv.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in FIELDS})
        else:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()  # in the OS from here on: a killed run loses nothing
        if time.monotonic() - self._synced >= SYNC_INTERVAL_S:
            self._sync()
        self.done[row_key(row)] = row

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        self._synced = time.monotonic()

    def write_all(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> None:
        if not self._file.closed:
            self._sync()
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Parts of a run description that change results (not device, versions or timestamps). The later ones are
# compared only where the earlier run recorded them (files from before they were recorded still resume).
_RESULT_KEYS = ("model", "checkpoint", "tasks", "sampler", "dtype")
_LATER_RESULT_KEYS = ("perception_views", "qa_prompt", "batch_size", "one_pass", "attention", "packed")


def _check_same_run(path: Path, run_info: dict) -> None:
    info_path = run_info_path(path)
    if path.exists() and info_path.exists():
        previous = json.loads(info_path.read_text(encoding="utf-8"))
        changed = _differences(previous, run_info)
        if changed:
            raise LoveError(f"{path}: holds results of a different run configuration ({'; '.join(changed)}; see "
                            f"{info_path.name}); pass --overwrite or choose another output file")


def _differences(previous: dict, current: dict) -> list[str]:
    """What changed between two runs, as `key old -> new`, among the keys that change results."""
    keys = _RESULT_KEYS + tuple(k for k in _LATER_RESULT_KEYS if k in previous)
    return [f"{k} {previous.get(k)!r} -> {current.get(k)!r}" if k not in ("sampler",) else "sampler"
            for k in keys if previous.get(k) != current.get(k)]


def write_rows_atomic(path: str | Path, rows: Iterable[dict], run_info: dict) -> None:
    """Write a complete results file at once (write to a temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        if _is_csv(path):
            writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in FIELDS})
        else:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _write_json_atomic(run_info_path(path), run_info)


def _write_json_atomic(path: Path, data: dict) -> None:
    """A kill -9 mid-write must not leave a half-written JSON behind."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
