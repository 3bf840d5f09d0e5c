#!/usr/bin/env bash
# Install love-plugins with every optional integration into the active Python environment.
# vbench 0.1.5 pins transformers 4.33 and numpy<2, which cannot live beside this stack, so it is
# installed without its dependencies (its temporal_flickering dimension and our plugin need none).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet -e ".[lmms,dev,ray,torchcodec]"
python -m pip install --quiet --no-deps "vbench==0.1.5"
# The LOVE dimensions in VBench's own CLI and API (integrations/vbench/hook.py): the wheel carries the .pth
# line that installs the import hook; an editable install gets it here.
python -m integrations.vbench.hook install
