#!/usr/bin/env bash
# The GPU measurements issue 45 asks for, as one script for a session with a device (one H100 or H200, ~10 min):
# model-only throughput and MFU at batch 1/4/8 with the per-part breakdown, the levers' ablation (one
# mixed-adapter pass for the three tasks, torch.compile of the LLM; each row checks its outputs against the plain
# path), then end to end on real 720p mp4 files. Results land in benchmarks/results/ with the device and versions.
#
#   bash benchmarks/gpu_checks.sh            # run from the repository root, after scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%MZ)
python benchmarks/gpu_throughput.py --config 9b --batch-size 1 4 8 --videos 32 --breakdown --ablation \
    --json "$out/gpu_levers_$stamp.json"
python benchmarks/gpu_throughput.py --config 9b --batch-size 8 --end-to-end --clips 32 --resolution 1280x720 \
    --json "$out/gpu_end_to_end_$stamp.json"
