"""kill -9 at random points of a scoring run, rerun: the final results equal an uninterrupted run."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest

from love_plugins.cli import main as cli_main
from love_plugins.results import read_rows
from love_plugins.synth import generate_suite

KILLS = 20


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, num_videos=8, seed=21)
    return root / "manifest.jsonl"


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
            assert len(rows) == len({r["video"] for r in rows})
        else:
            out.unlink()  # finished before the kill: start over so every kill lands mid-run
    assert _score(manifest, out) == 0  # final uninterrupted resume

    got, want = read_rows(out), read_rows(reference)
    assert sorted(r["video"] for r in got) == sorted(r["video"] for r in want)
    want_by_video = {r["video"]: r for r in want}
    for row in got:
        ref = want_by_video[row["video"]]
        for key in ("perception", "correspondence", "qa_p_yes"):
            assert row[key] == pytest.approx(ref[key], rel=1e-5, abs=1e-6)
        assert row["qa_answer"] == ref["qa_answer"]
