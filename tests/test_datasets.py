"""Dataset adapters: each parses a fixture in its published format and rejects broken variants clearly."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from love_plugins.datasets import (
    Dataset,
    Record,
    get_adapter,
    list_adapters,
    load_dataset,
    validate,
)
from love_plugins.datasets.fixtures import FORMATS, write_format
from love_plugins.errors import AnnotationError

NUM_VIDEOS = 10


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    from love_plugins.synth import generate_suite

    return generate_suite(tmp_path_factory.mktemp("suite"), NUM_VIDEOS, seed=3).root


@pytest.fixture(scope="module")
def suite_rows(suite) -> list[dict]:
    return [json.loads(line) for line in (suite / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture
def fmt_root(suite, tmp_path):
    """Write the suite in a format into a fresh folder (so tests may break it)."""

    def make(fmt: str) -> Path:
        return write_format(fmt, suite, tmp_path / fmt, max_frames=3)

    return make


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_format():
    assert set(list_adapters()) == set(FORMATS)
    for name in list_adapters():
        adapter = get_adapter(name)
        assert adapter.name == name and adapter.description and adapter.reads


@pytest.mark.parametrize("alias,name", [("AIGVE-60K", "aigve60k"), ("T2VQA_DB", "t2vqa-db"),
                                        ("GenAI-Bench-Video", "genai-bench-video"), ("lgvq", "manifest")])
def test_registry_aliases(alias, name):
    assert get_adapter(alias).name == name


def test_unknown_adapter_names_the_known_ones():
    with pytest.raises(KeyError, match="aigve60k"):
        get_adapter("nope")


def test_import_is_light():
    code = ("import sys, love_plugins.datasets as d; d.get_adapter('fetv'); d.get_adapter('aigve60k'); "
            "print(sorted(m for m in ('torch', 'numpy', 'av', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- each format parses


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_parses_its_fixture(fmt, fmt_root, suite_rows):
    root = fmt_root(fmt)
    ds = load_dataset(fmt, root, split=None)
    assert isinstance(ds, Dataset) and len(ds) == NUM_VIDEOS and ds.errors == []
    for rec in ds:
        assert Path(rec.video).exists() and Path(rec.video).is_relative_to(root.resolve())
        assert rec.labels and all(isinstance(v, float) for v in rec.labels.values())
        assert rec.prompt
    assert set(ds.default_mapping().values()) <= {"perception", "correspondence"}
    prompts = sorted(r["prompt"] for r in suite_rows)
    assert sorted(r.prompt for r in ds) == prompts


def test_aigve60k_merges_tasks_and_reads_model_split_qa(fmt_root, suite_rows):
    ds = load_dataset("aigve60k", fmt_root("aigve60k"), split="test")
    by_name = {Path(r["video"]).name: r for r in suite_rows}
    assert len(ds) == sum(r["split"] == "test" for r in suite_rows) > 0
    for rec in ds:
        ref = by_name[Path(rec.video).name]
        assert rec.split == "test" and rec.model == ref["model"] == Path(rec.video).parent.name
        assert rec.labels == {"perception": ref["perception_mos"], "correspondence": ref["correspondence_mos"]}
        assert rec.question == ref["question"] and rec.answer == ref["answer"].lower()
        assert rec.dimension == ref["dimension"] and rec.prompt == ref["prompt"]
    assert ds.has_qa and ds.default_mapping() == {"perception": "perception", "correspondence": "correspondence"}


def test_aigve60k_reads_the_suite_directly_and_infers_tasks(suite, tmp_path):
    assert len(load_dataset("aigve60k", suite, split=None)) == NUM_VIDEOS
    # A meta whose name does not say the task: the task is read from each line.
    meta = json.loads((suite / "meta_correspondence.json").read_text())
    entry = next(iter(meta.values()))
    (tmp_path / "anything.json").write_text(json.dumps({"x": {**entry, "root": str(suite)}}))
    ds = load_dataset("aigve60k", tmp_path, split=None)
    assert all(set(r.labels) == {"correspondence"} for r in ds)


def test_aigve60k_prompt_from_correspondence_question(fmt_root):
    root = fmt_root("aigve60k")
    for path in (root / "annotations").glob("*.jsonl"):
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        for obj in lines:
            obj.pop("prompt")
        path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    ds = load_dataset("aigve60k", root, split=None)
    assert all(r.prompt for r in ds)


def test_fetv_averages_the_raters(fmt_root):
    root = fmt_root("fetv")
    ds = load_dataset("fetv", root)
    rec = ds.records[0]
    model, vid = rec.id.split("/")
    values = []
    for rater in sorted((root / "ratings" / model).glob("*.jsonl")):
        for line in rater.read_text().splitlines():
            entry = next(iter(json.loads(line).values()))
            if entry["video_id"] == vid:
                values.append(entry["static_quality"])
    assert len(values) == 3 == rec.extra["raters"]
    assert rec.labels["static_quality"] == pytest.approx(sum(values) / 3)
    assert rec.model == model


def test_videofeedback_uses_frame_folders(fmt_root):
    ds = load_dataset("videofeedback", fmt_root("videofeedback"), split="test")
    rec = ds.records[0]
    assert Path(rec.video).is_dir() and len(rec.frames) == 3 and all(Path(f).is_file() for f in rec.frames)
    assert set(rec.labels) == {"visual_quality", "temporal_consistency", "dynamic_degree",
                               "text_to_video_alignment", "factual_consistency"}


def test_gaia_model_and_prompt_from_file_names(fmt_root, suite_rows):
    ds = load_dataset("gaia", fmt_root("gaia"))
    for rec in ds:
        i = int(rec.extra["action"])
        assert rec.model == suite_rows[i]["model"] and rec.prompt == suite_rows[i]["prompt"]


def test_manifest_label_option_and_ranges(fmt_root):
    root = fmt_root("manifest")
    ds = load_dataset("manifest", root / "manifest.jsonl", labels="perception_mos:0:100")
    assert ds.label_names == ["perception_mos"]
    with pytest.raises(AnnotationError, match="outside its range"):
        load_dataset("manifest", root, labels="perception_mos:0:50")


def test_manifest_csv(tmp_path, suite, suite_rows):
    with (tmp_path / "my.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["video", "prompt", "spatial", "alignment", "model"])
        for r in suite_rows[:4]:
            os.link(suite / r["video"], tmp_path / Path(r["video"]).name)
            w.writerow([Path(r["video"]).name, r["prompt"], r["perception_mos"], "", r["model"]])
    ds = load_dataset("lgvq", tmp_path / "my.csv", labels="spatial,alignment")
    assert len(ds) == 4 and all(set(r.labels) == {"spatial"} for r in ds)  # empty cell = no label
    assert get_adapter("manifest", labels="alignment").label_ranges == {"alignment": (None, None)}


# --------------------------------------------------------------------------- broken variants


def _edit_first_line(path: Path, change) -> None:
    lines = path.read_text().splitlines()
    lines[0] = change(lines[0])
    path.write_text("\n".join(lines) + "\n")


def _jsonl_edit(path: Path, change) -> None:
    def edit(line):
        obj = json.loads(line)
        change(obj)
        return json.dumps(obj)

    _edit_first_line(path, edit)


def _aigve_break(kind: str):
    def apply(root: Path) -> Path:
        path = root / "annotations" / "perception_train.jsonl"
        if kind == "missing":
            _jsonl_edit(path, lambda o: o.pop("video"))
        elif kind == "nonnumeric":
            _jsonl_edit(path, lambda o: o.update(mos="great"))
        elif kind == "range":
            _jsonl_edit(path, lambda o: o.update(mos=140))
        elif kind == "duplicate":
            lines = path.read_text().splitlines()
            path.write_text("\n".join([lines[0], *lines]) + "\n")
        elif kind == "escape":
            _jsonl_edit(path, lambda o: o.update(video="../../outside.mp4"))
        elif kind == "nofile":
            first = json.loads(path.read_text().splitlines()[0])
            (root / first["video"]).unlink()
        return path

    return apply


BREAKS = {
    "missing": "missing field 'video'",
    "nonnumeric": "not numeric",
    "range": "outside its range",
    "duplicate": "duplicate id",
    "escape": "escapes the dataset root",
    "nofile": "missing video file",
}


@pytest.mark.parametrize("kind", BREAKS)
def test_aigve60k_rejects_broken_records(kind, fmt_root):
    root = fmt_root("aigve60k")
    _aigve_break(kind)(root)
    with pytest.raises(AnnotationError, match=BREAKS[kind]) as info:
        load_dataset("aigve60k", root, split=None, on_error="raise")
    assert info.value.path and info.value.reason
    ds = load_dataset("aigve60k", root, split=None, on_error="skip")
    assert len(ds.errors) >= 1 and BREAKS[kind] in str(ds.errors[0])
    assert NUM_VIDEOS - 1 <= len(ds) <= NUM_VIDEOS  # the rest is kept


def _break_other(fmt: str, kind: str, root: Path) -> None:
    """Break one record of a non-AIGVE format in the way named by `kind`."""
    if fmt == "t2vqa-db":
        path = next(p for p in sorted(root.glob("*.txt")) if p.read_text().strip())
        change = {"nonnumeric": lambda s: s.rsplit("|", 1)[0] + "|high",
                  "range": lambda s: s.rsplit("|", 1)[0] + "|250",
                  "missing": lambda s: s.split("|", 1)[1],
                  "escape": lambda s: "../evil|" + s.split("|", 1)[1]}[kind]
        _edit_first_line(path, change)
    elif fmt == "aigvqa-db":
        path = root / "static_quality_train.jsonl"
        change = {"nonnumeric": lambda o: o.update(id=o["id"].split("->")[0] + "->abc"),
                  "range": lambda o: o.update(id=o["id"].split("->")[0] + "->-5"),
                  "missing": lambda o: o.pop("id"),
                  "escape": lambda o: o.update(video="/etc/passwd")}[kind]
        _jsonl_edit(path, change)
    elif fmt == "gaia":
        path = root / "MOS.csv"
        lines = path.read_text().splitlines()
        cells = lines[1].split(",")
        if kind == "nonnumeric":
            cells[1] = "n/a"
        elif kind == "range":
            cells[2] = "101"
        elif kind == "missing":
            cells[0] = ""
        else:
            cells[0] = "../../x.mp4"
        lines[1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "fetv":
        path = sorted((root / "ratings").rglob("rater1.jsonl"))[0]

        def change(o):
            entry = next(iter(o.values()))
            if kind == "nonnumeric":
                entry["alignment"] = "good"
            elif kind == "range":
                entry["static_quality"] = 9
            elif kind == "missing":
                entry.pop("temporal_quality")
            else:
                entry["video_id"] = "../../../x"

        _jsonl_edit(path, change)
    elif fmt == "videofeedback":
        path = next(p for p in sorted(root.glob("*.json")) if json.loads(p.read_text()))
        data = json.loads(path.read_text())
        if kind == "nonnumeric":
            data[0]["visual quality"] = "bad"
        elif kind == "range":
            data[0]["dynamic degree"] = 5
        elif kind == "missing":
            data[0].pop("images")
        else:
            data[0]["images"] = ["../../etc/x.jpg"]
        path.write_text(json.dumps(data))
    elif fmt == "genai-bench-video":
        path = root / "genai_video.json"
        data = json.loads(path.read_text())
        first = next(iter(data.values()))
        model = next(iter(first["models"]))
        if kind == "nonnumeric":
            first["models"][model] = ["x"]
        elif kind == "range":
            first["models"][model] = [0, 3]
        elif kind == "missing":
            first.pop("models")
        else:
            first["models"]["../../../evil"] = first["models"].pop(model)
        path.write_text(json.dumps(data))
    elif fmt == "manifest":
        _jsonl_edit(root / "manifest.jsonl", {
            "nonnumeric": lambda o: o.update(perception_mos="high"),
            "range": lambda o: o.update(perception_mos=float("inf")),
            "missing": lambda o: o.pop("video"),
            "escape": lambda o: o.update(video="../x.mp4")}[kind])


OTHER_BREAKS = {"nonnumeric": "not numeric|not finite", "range": "outside its range|not finite",
                "missing": "missing|must", "escape": "escapes the dataset root|missing"}


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "aigve60k"])
@pytest.mark.parametrize("kind", OTHER_BREAKS)
def test_other_formats_reject_broken_records(fmt, kind, fmt_root):
    root = fmt_root(fmt)
    _break_other(fmt, kind, root)
    with pytest.raises(AnnotationError, match=OTHER_BREAKS[kind]):
        load_dataset(fmt, root, split=None, on_error="raise")
    ds = load_dataset(fmt, root, split=None, on_error="skip")
    assert ds.errors and len(ds) >= NUM_VIDEOS - 2


def test_missing_annotation_files_are_clear(tmp_path):
    for fmt in FORMATS:
        with pytest.raises(AnnotationError, match="no |not found|does not exist|no usable"):
            load_dataset(fmt, tmp_path, split=None)
    with pytest.raises(AnnotationError, match="does not exist"):
        load_dataset("gaia", tmp_path / "absent")


def test_invalid_json_line_is_located(fmt_root):
    root = fmt_root("aigve60k")
    path = root / "annotations" / "qa_test.jsonl"
    path.write_text("{not json\n" + path.read_text())
    with pytest.raises(AnnotationError, match=r"qa_test.jsonl:1: invalid JSON"):
        load_dataset("aigve60k", root, split=None)


def test_validate_directly(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    outside = tmp_path.parent / f"{tmp_path.name}_outside.mp4"
    outside.write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to(outside)
    recs = [Record("a", "a.mp4", {"mos": 3}), Record("b", "link.mp4", {"mos": 2}),
            Record("c", "a.mp4", {"mos": True}), Record("a", "a.mp4", {"mos": 1}),
            Record("d", "a.mp4", question="Is it red?", answer="maybe"), Record("e", "a.mp4")]
    errors = []
    from love_plugins.datasets.base import ErrorReport

    report = ErrorReport("skip")
    good = validate(recs, tmp_path, on_error=report)
    errors = [str(e) for e in report.errors]
    assert [r.id for r in good] == ["a"] and good[0].video == str((tmp_path / "a.mp4").resolve())
    assert any("escapes" in e for e in errors)  # a symlink out of the root is refused too
    assert any("not numeric" in e for e in errors) and any("duplicate id 'a'" in e for e in errors)
    assert any("yes/no answer" in e for e in errors) and any("no labels and no question" in e for e in errors)
    with pytest.raises(ValueError, match="on_error"):
        validate(recs, tmp_path, on_error="ignore")


def test_split_filter_and_empty_split(fmt_root):
    root = fmt_root("t2vqa-db")
    n_test = len(load_dataset("t2vqa-db", root, split="test"))
    n_train = len(load_dataset("t2vqa-db", root, split="train"))
    assert n_test + n_train == NUM_VIDEOS
    with pytest.raises(AnnotationError, match="no usable records"):
        load_dataset("t2vqa-db", root, split="val")
