"""GAIA (action quality of AI-generated videos): ``MOS.csv`` + ``prompts_all.csv``.

``MOS.csv`` (in the root or one folder below) has the columns ``filename, final action subject,
final action completeness, final action interaction`` (names compared without case or surrounding
spaces). Video files are named ``(model)_(action).mp4`` — taken literally with parentheses when
present, else split at the first underscore — which gives the generator model and the action key.
``prompts_all.csv`` is ``;``-separated ``action;prompt`` rows (a header row is tolerated). Videos
are looked up in the root, then ``videos/`` and ``videos/<model>/``. Label range accepted: 0-100.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import (
    Adapter,
    ErrorReport,
    LabelSpec,
    Record,
    first_existing,
    iter_csv,
    parse_label,
    read_text,
    with_suffix,
)

COLUMNS = {
    "final action subject": "action_subject",
    "final action completeness": "action_completeness",
    "final action interaction": "action_interaction",
}


def model_and_action(filename: str) -> tuple[str | None, str]:
    stem = Path(filename).stem
    match = re.fullmatch(r"\((.+?)\)_\((.+)\)", stem)
    if match:
        return match.group(1), match.group(2)
    if "_" in stem:
        model, action = stem.split("_", 1)
        return model, action
    return None, stem


def _find(root: Path, name: str) -> Path | None:
    for cand in [root / name, *sorted(root.glob(f"*/{name}"))]:
        if cand.is_file():
            return cand
    return None


class GAIA(Adapter):
    name = "gaia"
    description = "GAIA: action subject / completeness / interaction MOS, 18 T2V models"
    reads = "MOS.csv (filename + 3 'final action ...' columns) and prompts_all.csv (';'-separated)"
    labels = {v: LabelSpec(v, 0.0, 100.0, "correspondence", k) for k, v in COLUMNS.items()}

    def _prompts(self, root: Path, report: ErrorReport) -> dict[str, str]:
        path = _find(root, "prompts_all.csv")
        if path is None:
            return {}
        text = read_text(path, report) or ""
        prompts = {}
        for line in text.splitlines():
            fields = [f.strip() for f in line.split(";")]
            if len(fields) >= 2 and fields[0]:
                prompts[fields[0]] = ";".join(fields[1:]).strip()
        return prompts

    def parse(self, root: Path, report: ErrorReport) -> list[Record]:
        path = _find(root, "MOS.csv")
        if path is None:
            report(root, "MOS.csv not found")
            return []
        prompts = self._prompts(root, report)
        records = []
        for number, row in iter_csv(path, report):
            row = {k.lower(): v for k, v in row.items()}
            missing = [c for c in ("filename", *COLUMNS) if c not in row]
            if missing:
                report(path, f"missing column(s) {missing}", 1)
                return records
            name = row["filename"]
            if not name:
                report(path, "missing field 'filename'", number)
                continue
            video = with_suffix(name)
            try:
                labels = {label: parse_label(row[col], self.labels[label]) for col, label in COLUMNS.items()}
            except ValueError as exc:
                report(path, f"video {video!r}: {exc}", number)
                continue
            model, action = model_and_action(video)
            prompt = prompts.get(action)
            if prompt is None and action.isdigit():
                prompt = prompts.get(str(int(action)))
            candidates = [video, f"videos/{video}"] + ([f"videos/{model}/{video}"] if model else [])
            records.append(Record(id=video, video=first_existing(root, candidates), labels=labels, prompt=prompt,
                                  model=model, source=str(path), line=number, extra={"action": action}))
        return records
