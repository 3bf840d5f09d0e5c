"""kill -9 at random points of a scoring run, rerun: the final results equal an uninterrupted run."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time

import pytest

from love_plugins.cli import main as cli_main
from love_plugins.results import read_rows, row_key
from love_plugins.synth import generate_suite

KILLS = 20


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """8 clips, three of them asked a second question: 11 requests, each its own results row."""
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, num_videos=8, seed=21)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    rows += [{**row, "question": "Is the video blurry?"} for row in rows[:3]]
    (root / "repeated.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "repeated.jsonl"


def _score(manifest, out) -> int:
    return cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(out),
                     "--no-progress"])


def _child(manifest, out):  # runs in a forked process: everything is already imported
    os._exit(_score(manifest, out))


@pytest.mark.slow
def test_random_kills_then_resume_equal_uninterrupted(manifest, tmp_path):
    reference = tmp_path / "reference.jsonl"
    start = time.perf_counter()
    assert _score(manifest, reference) == 0
    full_run = time.perf_counter() - start

    out = tmp_path / "killed.jsonl"
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(0)
    kills = 0
    while kills < KILLS:
        proc = ctx.Process(target=_child, args=(manifest, out))
        proc.start()
        proc.join(timeout=rng.uniform(0.05, full_run * 0.6))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            kills += 1
            rows = read_rows(out)  # never a duplicate, never a torn row counted
            assert len(rows) == len({row_key(r) for r in rows})
        else:
            out.unlink()  # finished before the kill: start over so every kill lands mid-run
    assert _score(manifest, out) == 0  # final uninterrupted resume

    got, want = read_rows(out), read_rows(reference)
    assert len(want) == 11 and sorted(map(row_key, got)) == sorted(map(row_key, want))
    want_by_key = {row_key(r): r for r in want}
    for row in got:
        ref = want_by_key[row_key(row)]
        for key in ("perception", "correspondence", "qa_p_yes"):
            assert row[key] == pytest.approx(ref[key], rel=1e-5, abs=1e-6)
        assert row["qa_answer"] == ref["qa_answer"]
