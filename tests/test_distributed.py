"""Sharded scoring: 2 processes under torchrun (gloo, CPU) give exactly the 1-process results."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from love_plugins.cli import main as cli_main
from love_plugins.results import read_rows, row_key, run_info_path
from love_plugins.synth import generate_suite


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """5 clips, two of them asked a second question and one a second prompt: 8 requests, 8 rows."""
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, num_videos=5, seed=11)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    rows += [{**row, "question": "Is the video blurry?"} for row in rows[:2]]
    rows += [{**rows[4], "prompt": "a completely different prompt"}]
    (root / "repeated.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "repeated.jsonl"


def _torchrun(manifest, out, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "love_plugins.cli", "score", str(manifest), "--model", "tiny-random", "--batch-size", "2",
           "--out", str(out), "--no-progress"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_two_processes_equal_one(manifest, tmp_path):
    single = tmp_path / "single.jsonl"
    assert cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(single),
                     "--no-progress"]) == 0
    sharded = tmp_path / "sharded.jsonl"
    proc = _torchrun(manifest, sharded)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, two = read_rows(single), read_rows(sharded)
    assert len(one) == 8 and len({row_key(r) for r in one}) == 8  # a video asked twice is answered twice
    assert [row_key(r) for r in one] == [row_key(r) for r in two]  # merged in input order
    for a, b in zip(one, two):
        for key in ("perception", "correspondence", "qa_p_yes"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6)
        assert a["qa_answer"] == b["qa_answer"]
    # each rank kept its own file; rank 0 recorded the world size with the merged output
    assert (tmp_path / "sharded.rank0-of-2.jsonl").exists() and (tmp_path / "sharded.rank1-of-2.jsonl").exists()
    assert json.loads(run_info_path(sharded).read_text())["world_size"] == 2


def test_a_resume_with_another_number_of_processes_reuses_the_work_done(manifest, tmp_path, monkeypatch):
    """Two ranks were killed before merging, rank 1 part-way: one process then scores only what is missing,
    and the merged file equals an uninterrupted run."""
    from love_plugins.scorer import Scorer

    reference = tmp_path / "reference.jsonl"
    assert cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(reference),
                     "--no-progress"]) == 0
    out = tmp_path / "run.jsonl"
    assert _torchrun(manifest, out).returncode == 0
    out.unlink()  # killed before rank 0 merged
    rank1 = tmp_path / "run.rank1-of-2.jsonl"
    lines = rank1.read_text().splitlines(keepends=True)
    rank1.write_text("".join(lines[:2]))  # rank 1 had done two of its four
    scored = []
    real = Scorer.score_items
    monkeypatch.setattr(Scorer, "score_items", lambda self, items, *a: scored.extend(items) or real(self, items, *a))
    assert cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(out),
                     "--no-progress"]) == 0
    assert len(scored) == len(lines) - 2 == 2
    got, want = read_rows(out), read_rows(reference)
    assert [row_key(r) for r in got] == [row_key(r) for r in want]
    for a, b in zip(got, want):
        assert a["perception"] == pytest.approx(b["perception"], rel=1e-5, abs=1e-6)
    assert not list(tmp_path.glob("run.rank*"))  # merged into run.jsonl: not read again
    scored.clear()
    assert cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(out),
                     "--no-progress"]) == 0
    assert scored == [] and len(read_rows(out)) == 8
