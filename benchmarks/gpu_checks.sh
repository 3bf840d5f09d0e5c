#!/usr/bin/env bash
# The GPU measurements issue 45 asks for, as one script for a session with a device (one H100 or H200):
#   1. the levers' ablation at batch 8 (`gpu_throughput.py --ablation`): all three tasks with each lever on its own
#      (one mixed-adapter pass, FlashAttention-2, packed prefill with flex_attention or FlashAttention varlen,
#      torch.compile of the LLM or of the two encoders, CUDA graphs, liger-kernel's fused RMSNorm/RoPE/SwiGLU),
#      every row's answer-word logits checked against the plain path, then the best lever of each group together
#      for three tasks and for one (the final figures), with the per-part breakdown. Its length is not measured
#      yet (the 9B build and five torch.compile runs); each row is written to the JSON as it is measured;
#   2. with `all`: model-only throughput and MFU at batch 1 and 4, then end to end on real 720p mp4 files (where
#      PyAV is importable).
# Results land in benchmarks/results/ with the device and versions (and in $OUT when the device tool runs it), each
# JSON rewritten after every measurement, so a run stopped at its time limit keeps what it measured.
#
# On a machine with the project installed (scripts/install.sh):  bash benchmarks/gpu_checks.sh [all]
# Through this workplace's device tool (its image has torch, transformers and peft but no network): first, here,
#   bash benchmarks/gpu_wheels.sh            # PyAV and liger-kernel wheels for the image's Python, into .whl/
# then run `bash benchmarks/gpu_checks.sh` there with carry [".whl"] and timeout_s 600.
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
out=benchmarks/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%MZ)
keep() {  # a copy of each result where the device tool brings files back
    if [ -n "${OUT:-}" ]; then cp "$out"/*"$stamp".json "$OUT"/ 2>/dev/null || true; fi
}
trap keep EXIT
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# LEVERS="one-pass packed-flex" bash benchmarks/gpu_checks.sh: a part of the ablation (gpu_throughput.py --help)
python3 benchmarks/gpu_throughput.py --config 9b --batch-size 8 --videos 24 --breakdown --ablation \
    ${LEVERS:+--levers $LEVERS} --json "$out/gpu_levers_$stamp.json"
keep
[ "${1:-}" = all ] || exit 0
python3 benchmarks/gpu_throughput.py --config 9b --batch-size 1 4 --videos 16 --json "$out/gpu_batches_$stamp.json"
keep
if python3 -c "import av" 2>/dev/null; then
    python3 benchmarks/gpu_throughput.py --config 9b --batch-size 8 --end-to-end --clips 32 --resolution 1280x720 \
        --json "$out/gpu_end_to_end_$stamp.json"
fi
