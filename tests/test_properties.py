"""Property tests: random manifests and label tables never crash the adapters or metrics with
anything but the documented errors (AnnotationError / MetricError)."""

from __future__ import annotations

import csv
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from love_plugins.datasets import load_dataset
from love_plugins.errors import AnnotationError
from love_plugins.metrics import MetricError, correlations, qa_accuracy

cell = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-1000, 1000),
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-1", "50", "1e9", "yes", "No"]),
)
video = st.one_of(
    st.sampled_from(["a.mp4", "b.mp4", "sub/c.mp4", "../escape.mp4", "/etc/passwd", "missing.mp4", ""]),
    st.text(max_size=10),
)
row = st.fixed_dictionaries(
    {"video": video, "mos": cell},
    optional={"id": st.text(max_size=4), "prompt": st.one_of(st.none(), st.text(max_size=30)),
              "question": st.text(max_size=20), "answer": cell, "model": st.text(max_size=5),
              "split": st.sampled_from(["train", "test", "", "other"])},
)


def _write(folder: Path, rows: list[dict], as_csv: bool) -> Path:
    for name in ("a.mp4", "b.mp4", "sub/c.mp4"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x00")
    if as_csv:
        path = folder / "manifest.csv"
        keys = sorted({k for r in rows for k in r}) or ["video"]
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            for r in rows:
                writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in keys})
    else:
        path = folder / "manifest.jsonl"
        path.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows), encoding="utf-8")
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, max_size=8), as_csv=st.booleans(), skip=st.booleans(), labels=st.sampled_from([None, "mos:0:100"]))
@example(rows=[{"video": "\x00", "mos": 0.0}], as_csv=False, skip=False, labels=None)  # found by hypothesis
def test_random_manifests_load_or_raise_annotation_error(rows, as_csv, skip, labels):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), rows, as_csv)
        try:
            dataset = load_dataset("manifest", path, on_error="skip" if skip else "raise", labels=labels)
        except AnnotationError as exc:
            assert str(path) in str(exc) or tmp in str(exc)
            return
        for record in dataset.records:  # whatever survives validation is clean
            assert Path(record.video).resolve().is_relative_to(Path(tmp).resolve())
            assert all(math.isfinite(v) for v in record.labels.values())


numbers = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-5, 5)),
                   max_size=12)


@settings(max_examples=100, deadline=None)
@given(pred=numbers, target=numbers)
def test_random_label_tables_give_metrics_or_metric_error(pred, target):
    try:
        out = correlations(pred, target)
    except MetricError:
        return
    assert -1.0 - 1e-9 <= out["srcc"] <= 1.0 + 1e-9 and out["n"] == len(pred)


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.tuples(cell, st.sampled_from(["yes", "no", "Yes", "No"]), st.text(max_size=3)),
                        min_size=1, max_size=10))
def test_random_answers_give_accuracy(answers):
    pred, ref, dims = zip(*answers)
    out = qa_accuracy(list(pred), list(ref), list(dims))
    assert 0.0 <= out["accuracy"] <= 1.0 and out["n"] == len(answers)
