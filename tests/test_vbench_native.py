"""The LOVE dimensions from VBench's own entry points, in fresh processes that never import this package.

`love_plugins_vbench.pth` (installed with the package, or by scripts/install.sh for an editable install) puts
the import hook in place at interpreter start; plain `vbench.VBench(...).evaluate(...)` and what VBench's CLI
calls (`launch/evaluate.py`: the same call with its argparse defaults; the CLI itself initialises NCCL and
needs a GPU) then score `love_perception`, `love_correspondence`, `love_task_accuracy` beside VBench's own
`temporal_flickering`, on real mp4 files, in standard and custom-input mode, with the numbers of `LoveVBench`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

vbench = pytest.importorskip("vbench")
pytestmark = pytest.mark.slow

from integrations.vbench.hook import ENV_SWITCH, pth_path  # noqa: E402
from love_plugins.synth import generate_suite  # noqa: E402

DIMS = ["temporal_flickering", "love_perception", "love_correspondence", "love_task_accuracy"]

PLAIN_VBENCH = r"""
import json, sys
assert "love_plugins" not in sys.modules  # nothing of ours but the hook the .pth put in place
import vbench
full_info, videos, out, mode = sys.argv[1:5]
bench = vbench.VBench("cpu", full_info, out)
# what vbench/launch/evaluate.py passes (argparse defaults included)
results = bench.evaluate(videos_path=videos, name="plain", prompt_list=[], dimension_list=json.loads(sys.argv[5]),
                         local=None, read_frame=None, mode=mode, imaging_quality_preprocessing_mode="longer")
print("CLASS", type(bench).__mro__[1].__name__, type(bench).__mro__[2].__module__)
"""


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """The same clips in VBench's two layouts: `{prompt}-{i}.mp4` + a full-info JSON, and a custom-input folder
    named by prompt (plus an .avi and a .webm, which VBench's custom-input filter skips)."""
    root = tmp_path_factory.mktemp("native")
    info = generate_suite(root / "suite", num_videos=3, seed=31)
    rows = [json.loads(line) for line in info.manifest_jsonl.read_text().splitlines()]
    standard, custom = root / "standard", root / "custom"
    standard.mkdir()
    custom.mkdir()
    full_info = []
    for row in rows:
        described = row["scene"]["prompt_described"]
        full_info.append({"prompt_en": row["prompt"], "dimension": ["temporal_flickering"],
                          "auxiliary_info": {"object_class": {"object": described["shape"]}}})
        for i in range(2):
            shutil.copy(root / "suite" / row["video"], standard / f"{row['prompt']}-{i}.mp4")
        shutil.copy(root / "suite" / row["video"], custom / f"{row['prompt']}.mp4")
    shutil.copy(root / "suite" / rows[0]["video"], custom / "an old clip.avi")
    shutil.copy(root / "suite" / rows[1]["video"], custom / "a web clip.webm")
    (root / "full_info.json").write_text(json.dumps(full_info))
    return root


def _plain(layouts: Path, mode: str, out: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    videos = layouts / ("standard" if mode == "vbench_standard" else "custom")
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-c", PLAIN_VBENCH, str(layouts / "full_info.json"), str(videos),
                           str(out), mode, json.dumps(DIMS)], capture_output=True, text=True, env=env, timeout=600)


def test_the_hook_is_installed_in_this_environment():
    assert pth_path().is_file(), f"{pth_path()} missing: run `python -m integrations.vbench.hook install`"
    assert "integrations.vbench.hook" in pth_path().read_text()


@pytest.mark.parametrize("mode", ["vbench_standard", "custom_input"])
def test_plain_vbench_scores_the_love_dimensions_as_love_vbench_does(layouts, mode, tmp_path):
    from integrations.vbench import LoveVBench

    proc = _plain(layouts, mode, tmp_path / "plain")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CLASS LoveDimensionsMixin vbench" in proc.stdout  # the hook's subclass of vbench.VBench
    plain = json.loads((tmp_path / "plain" / "plain_eval_results.json").read_text())
    videos = layouts / ("standard" if mode == "vbench_standard" else "custom")
    LoveVBench("cpu", str(layouts / "full_info.json"), str(tmp_path / "ours"), love_model="love-nano").evaluate(
        videos_path=str(videos), name="ours", dimension_list=DIMS, mode=mode)
    ours = json.loads((tmp_path / "ours" / "ours_eval_results.json").read_text())
    assert list(plain) == DIMS
    for dimension in DIMS:
        assert plain[dimension][0] == pytest.approx(ours[dimension][0], abs=1e-9), dimension
        assert len(plain[dimension][1]) == (6 if mode == "vbench_standard" else 3), dimension
        assert [r["video_results"] for r in plain[dimension][1]] == pytest.approx(
            [r["video_results"] for r in ours[dimension][1]], abs=1e-9)
    if mode == "custom_input":  # VBench's filter skips these silently; the results list them beside each dimension
        for dimension in DIMS:
            skipped = [Path(p).name for p in plain[dimension][2]["skipped_files"]]
            assert skipped == ["a web clip.webm", "an old clip.avi"], dimension
        assert "custom-input mode reads only .mp4/.gif/.jpg/.png files: 2 file(s)" in proc.stderr


def test_the_hook_can_be_switched_off(layouts, tmp_path):
    proc = _plain(layouts, "custom_input", tmp_path / "off", {ENV_SWITCH: "0"})
    assert proc.returncode != 0
    assert "UnImplemented dimension love_perception" in proc.stderr  # plain VBench, untouched


def test_the_hook_adds_the_dimensions_to_vbench2_where_it_imports(tmp_path):
    """VBench-2.0 imports `vbench2.<name.lower()>`; its real package needs dependencies not installed here, so a
    stand-in `vbench2` with its evaluator class name shows the hook's part: routing and the subclass."""
    (tmp_path / "vbench2").mkdir()
    (tmp_path / "vbench2" / "__init__.py").write_text(
        "class VBench2:\n    def __init__(self, device, full_info_dir, output_path):\n        self.device = device\n")
    script = ("import importlib, vbench2\n"
              "print(vbench2.VBench2.__mro__[1].__name__, vbench2.VBench2.lower_case_modules)\n"
              "print(importlib.import_module('vbench2.love_perception').compute_love_perception.__name__)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["LoveDimensionsMixin", "True", "compute_love_perception"]
