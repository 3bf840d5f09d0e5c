"""`love-eval score --engine ray` (Ray Data on a local Ray instance): the same rows as the local engine on 60
synthetic clips and a broken file, the same rows after one of its scoring actors is killed mid-run, and a rerun
that resumes. The real command runs in a subprocess; loops are bounded in count and time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray.data", reason="needs the [ray] extra: pip install -e '.[ray]'")
psutil = pytest.importorskip("psutil")

from love_plugins.cli import main  # noqa: E402
from love_plugins.synth import generate_suite  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray_suite")
    generate_suite(root, num_videos=60, seed=8)
    (root / "videos" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    with (root / "manifest.jsonl").open("a") as handle:
        handle.write(json.dumps({"video": "videos/broken.mp4", "prompt": "a red ball", "question": "Is it red?"}) + "\n")
    return root / "manifest.jsonl"


@pytest.fixture(scope="module")
def local_rows(manifest, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "scores.jsonl"
    assert main(["score", str(manifest), "--out", str(out), "--no-progress"]) == 1  # the broken file
    return _rows(out)


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _same_rows(got: list[dict], expected: list[dict]) -> None:
    """Same rows in the same order: every field equal, numbers within 1e-4 (Ray Data forms other model batches
    than the local loader, and a batch's padding moves float32 results by ~1e-5)."""
    assert [r["video"] for r in got] == [r["video"] for r in expected]
    for g, e in zip(got, expected):
        assert g.keys() == e.keys()
        for key, value in e.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, abs=1e-4), (e["video"], key)
            elif isinstance(value, dict):
                assert g[key].keys() == value.keys() and all(g[key][k] == pytest.approx(v, abs=1e-4)
                                                             for k, v in value.items()), (e["video"], key)
            else:
                assert g[key] == value, (e["video"], key)


def _command(manifest, out) -> list[str]:
    return [sys.executable, "-m", "love_plugins.cli", "score", str(manifest), "--out", str(out), "--engine", "ray",
            "--ray-num-cpus", "2", "--ray-workers", "1", "--batch-size", "4", "--no-progress"]


def _run(command, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"})


def test_ray_engine_writes_the_local_engines_rows_and_resumes(manifest, local_rows, tmp_path):
    out = tmp_path / "ray.jsonl"
    done = _run(_command(manifest, out))
    assert done.returncode == 1, done.stderr[-2000:]  # 1: a video failed, recorded with its reason
    rows = _rows(out)
    _same_rows(rows, local_rows)
    broken = [r for r in rows if r["error"]]
    assert len(broken) == 1 and "broken.mp4" in broken[0]["error"] and broken[0]["perception"] is None
    again = _run(_command(manifest, out))
    assert "resuming: 61 of 61 requests already done" in again.stderr
    assert _rows(out) == rows


def _scoring_actors() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "_Scorer" in " ".join(process.info["cmdline"] or []):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_a_killed_scoring_actor_is_restarted_and_the_rows_are_the_same(manifest, local_rows, tmp_path):
    out = tmp_path / "killed.jsonl"
    process = subprocess.Popen(_command(manifest, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"})
    killed, deadline = None, time.monotonic() + 240
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        actors = _scoring_actors()
        rows_so_far = len(out.read_text().splitlines()) if out.exists() else 0
        if actors and rows_so_far >= 4:  # mid-run: some rows written, more to come
            killed = actors[0].pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    output, _ = process.communicate(timeout=600)
    assert killed is not None, f"no scoring actor seen mid-run:\n{output[-2000:]}"
    assert process.returncode == 1, output[-3000:]
    _same_rows(_rows(out), local_rows)
