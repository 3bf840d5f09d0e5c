"""T2VQA-DB: text lines ``filename|prompt|MOS``, no header.

Reads every ``*.txt`` in the root and in ``annotations/`` (split from ``train``/``test`` in the file
name). ``.mp4`` is appended to a file name without a video suffix; the prompt may itself contain
``|`` (first field = file, last = MOS, the rest = prompt). Videos are looked up in the root, then
under ``videos/``. The generator model is the video's parent folder when the name has one. MOS
range accepted: 0-100.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    Adapter,
    ErrorReport,
    LabelSpec,
    Record,
    first_existing,
    parse_label,
    read_text,
    split_from_name,
    with_suffix,
)


class T2VQADB(Adapter):
    name = "t2vqa-db"
    description = "T2VQA-DB: one overall MOS per video, 9 T2V models"
    reads = "*.txt lines 'filename|prompt|MOS' (no header)"
    labels = {"mos": LabelSpec("mos", 0.0, 100.0, "perception", "overall quality MOS")}

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        files = sorted(root.glob("*.txt")) + sorted((root / "annotations").glob("*.txt"))
        if not files:
            report(root, "no *.txt annotation files ('filename|prompt|MOS' lines)")
        records = []
        for path in files:
            text = read_text(path, report)
            if text is None:
                continue
            split = split_from_name(path.stem)
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                fields = line.split("|")
                if len(fields) < 3:
                    report(path, f"missing field(s): expected 'filename|prompt|MOS', got {line.strip()[:80]!r}", number)
                    continue
                name, prompt, mos = fields[0].strip(), "|".join(fields[1:-1]).strip(), fields[-1].strip()
                if not name:
                    report(path, "missing file name", number)
                    continue
                video = with_suffix(name)
                try:
                    value = parse_label(mos, self.labels["mos"])
                except ValueError as exc:
                    report(path, f"video {video!r}: {exc}", number)
                    continue
                parts = Path(video).parts
                records.append(Record(
                    id=video, video=first_existing(root, [video, f"videos/{video}"]), labels={"mos": value},
                    prompt=prompt or None, split=split, model=parts[-2] if len(parts) >= 2 else None,
                    source=str(path), line=number,
                ))
        return records
