#!/usr/bin/env bash
# Wheels that the device tool's GPU image lacks, for its Python (3.12, x86-64), into .whl/ (ignored by git):
# PyAV for the end-to-end measurement and liger-kernel for the fused-kernel lever. benchmarks/gpu_checks.sh
# installs them there into /tmp/site when .whl/ travels with the run (carry [".whl"]). Needs the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "av==15.1.0" "liger-kernel==0.8.5"
ls -l .whl
