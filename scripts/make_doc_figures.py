"""Regenerate the example figures of the README (docs/figures/*.png) from a run on synthetic clips:

    python scripts/make_doc_figures.py            # about 3 minutes on 2 CPU cores

1. `love-eval synth` writes 60 clips; 2. `love-eval generalize --model love-nano,brisque,niqe` on them gives the
scatter, QA and model-level figures; 3. the clips in AIGVE-60K's layout and `love-eval suite --prompts aigve60k`
give the leaderboard and radar figures. The PNGs are shrunk to 900 px wide for the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

from love_plugins.cli import main
from love_plugins.datasets.fixtures import write_format

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"
WIDTH = 900


def _shrink(source: Path, name: str) -> None:
    image = Image.open(source).convert("RGB")
    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    image.save(OUT / name, optimize=True)
    print(f"wrote {OUT / name}")


def run() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        assert main(["synth", str(tmp / "suite"), "--videos", "60", "--seed", "3"]) == 0
        assert main(["generalize", "--model", "love-nano,brisque,niqe", "--split", "all", "--datasets",
                     f"synthetic:manifest={tmp / 'suite' / 'manifest.csv'}", "--out", str(tmp / "gen"),
                     "--no-progress"]) == 0
        for name in ("scatter", "qa_dimensions", "model_ranking"):
            _shrink(tmp / "gen" / "plots" / f"{name}_synthetic.png", f"{name}.png")
        data = write_format("aigve60k", tmp / "suite", tmp / "aigve")
        videos = tmp / "videos"
        videos.mkdir()
        for line in (tmp / "suite" / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["split"] == "test":
                shutil.copy(tmp / "suite" / row["video"], videos / f"{row['prompt']}.mp4")
        os.environ["AIGVE60K_ROOT"] = str(data)
        assert main(["suite", "--prompts", "aigve60k", "--videos", str(videos), "--name", "my-t2v",
                     "--out", str(tmp / "board")]) == 0
        _shrink(tmp / "board" / "ranking.png", "leaderboard.png")
        _shrink(tmp / "board" / "radar.png", "radar.png")
    return 0


if __name__ == "__main__":
    sys.exit(run())
