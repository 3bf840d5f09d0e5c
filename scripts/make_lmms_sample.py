"""Regenerate the synthetic sample bundled with the lmms-eval tasks (`aigve60k_sample`).

    python scripts/make_lmms_sample.py            # writes integrations/lmms_eval/sample_data/aigve60k_sample

12 clips of the deterministic synthetic suite (love_plugins.synth), all in the test split, in the
AIGVE-60K annotation format: annotations/{perception,correspondence,qa}_test.jsonl with `video`
paths relative to the folder, plus videos/<model>/*.mp4 and suite.json. Files that would carry
absolute paths of this machine (meta_*.json) or that the package does not ship (csv) are removed.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "integrations" / "lmms_eval" / "sample_data" / "aigve60k_sample"
NUM_VIDEOS = 12
SEED = 2505


def make_sample(out: Path, num_videos: int = NUM_VIDEOS, seed: int = SEED) -> Path:
    from love_plugins.synth import SuiteConfig, generate_suite

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    generate_suite(out, num_videos, seed, SuiteConfig(test_fraction=1.0))
    for name in ("manifest.csv", "manifest.jsonl"):
        (out / name).unlink(missing_ok=True)
    for meta in out.glob("meta_*.json"):
        meta.unlink()
    for train in (out / "annotations").glob("*_train.jsonl"):
        train.unlink()
    readme = {
        "what": "synthetic clips in the AIGVE-60K annotation format, for the aigve60k_sample lmms-eval tasks",
        "made_by": "scripts/make_lmms_sample.py",
        "num_videos": num_videos,
        "seed": seed,
    }
    (out / "sample.json").write_text(json.dumps(readme, indent=2) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--num-videos", type=int, default=NUM_VIDEOS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    out = make_sample(args.out, args.num_videos, args.seed)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
