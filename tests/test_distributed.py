"""Sharded scoring: 2 processes under torchrun (gloo, CPU) give exactly the 1-process results."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from love_plugins.cli import main as cli_main
from love_plugins.results import read_rows, run_info_path
from love_plugins.synth import generate_suite


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, num_videos=5, seed=11)
    return root / "manifest.jsonl"


def test_two_processes_equal_one(manifest, tmp_path):
    single = tmp_path / "single.jsonl"
    assert cli_main(["score", str(manifest), "--model", "tiny-random", "--batch-size", "2", "--out", str(single),
                     "--no-progress"]) == 0
    sharded = tmp_path / "sharded.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "love_plugins.cli", "score", str(manifest), "--model", "tiny-random", "--batch-size", "2",
           "--out", str(sharded), "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, two = read_rows(single), read_rows(sharded)
    assert [r["video"] for r in one] == [r["video"] for r in two]  # merged in input order
    for a, b in zip(one, two):
        for key in ("perception", "correspondence", "qa_p_yes"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6)
        assert a["qa_answer"] == b["qa_answer"]
    # each rank kept its own file; rank 0 recorded the world size with the merged output
    assert (tmp_path / "sharded.rank0-of-2.jsonl").exists() and (tmp_path / "sharded.rank1-of-2.jsonl").exists()
    assert json.loads(run_info_path(sharded).read_text())["world_size"] == 2
