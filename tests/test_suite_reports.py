"""`love-eval suite` as a T2V developer runs it: AIGVE-60K's own prompt list read from $AIGVE60K_ROOT (a folder
in the dataset's released layout), a demonstration-model banner and leaderboard mark, bootstrap intervals over
prompts with the range of ranks, and the radar and leaderboard figures (PNG and SVG)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from PIL import Image

from love_plugins.cli import main
from love_plugins.datasets.fixtures import write_format
from love_plugins.suite import read_aigve60k_prompts
from love_plugins.synth import generate_suite


@pytest.fixture(scope="module")
def aigve(tmp_path_factory):
    """A synthetic suite written in AIGVE-60K's layout, and one generated video per test prompt, named by it."""
    root = tmp_path_factory.mktemp("aigve_suite")
    generate_suite(root / "suite", num_videos=60, seed=3)
    data = write_format("aigve60k", root / "suite", root / "aigve")
    videos = root / "t2v_videos"
    videos.mkdir()
    rows = [json.loads(line) for line in (root / "suite" / "manifest.jsonl").read_text().splitlines()]
    for row in rows:
        if row["split"] == "test":
            shutil.copy(root / "suite" / row["video"], videos / f"{row['prompt']}.mp4")
    return data, videos, rows


def test_aigve60k_prompts_come_from_the_dataset(aigve, monkeypatch):
    data, _, rows = aigve
    monkeypatch.delenv("AIGVE60K_ROOT", raising=False)
    with pytest.raises(Exception, match="AIGVE60K_ROOT"):
        read_aigve60k_prompts()
    monkeypatch.setenv("AIGVE60K_ROOT", str(data))
    prompts = read_aigve60k_prompts()
    assert {p.prompt for p in prompts} == {r["prompt"] for r in rows if r["split"] == "test"}
    assert all(qa["answer"] in ("yes", "no") for p in prompts for qa in p.qa) and any(p.qa for p in prompts)


@pytest.mark.slow
def test_suite_row_with_intervals_rank_range_banner_and_figures(aigve, tmp_path, monkeypatch, capsys):
    data, videos, _ = aigve
    monkeypatch.setenv("AIGVE60K_ROOT", str(data))
    out = tmp_path / "suite"
    code = main(["suite", "--prompts", "aigve60k", "--videos", str(videos), "--name", "my-t2v", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "scored by a demonstration model" in printed and "prompt resamples: ranks" in printed
    row = json.loads((out / "my-t2v.suite.json").read_text())
    assert row["demonstration_model"] is True and row["resamples"] == 1000
    for metric in ("perception_mos", "correspondence_mos", "task_acc_pct"):
        low, high = row["intervals"][metric]
        assert low <= row[metric] <= high
    low, high = row["rank_range"]
    assert 1 <= low <= high <= 31
    board = {r["model"]: r for r in csv.DictReader((out / "leaderboard.csv").open())}
    assert "demonstration model" in board["my-t2v"]["note"] and board["Sora"]["note"] == ""
    assert low <= int(board["my-t2v"]["overall_rank"]) <= high
    for name in ("ranking", "radar"):
        assert Image.open(out / f"{name}.png").size[0] > 800
        assert (out / f"{name}.svg").read_bytes().startswith(b"<?xml")
