"""The field's baselines beside LOVE: FAST-VQA-B (the released checkpoint layout, loaded strictly), BRISQUE (LIVE's
published SVR model), and any scorer another package installs through the `love_plugins.scorers` entry point
(a real distribution on sys.path, found by importlib.metadata in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from love_plugins.baselines import get_baseline
from love_plugins.baselines.brisque import brisque, brisque_features, svr_model
from love_plugins.baselines.dover import Dover, DoverScorer, segment_indices
from love_plugins.baselines.fastvqa import FastVQA, FastVQAScorer
from love_plugins.errors import CheckpointError, LoveError
from love_plugins.synth import generate_suite
from love_plugins.video import SamplerConfig


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("baseline_clips")
    generate_suite(root, num_videos=6, seed=2)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    return root, rows


def _authors_checkpoint(path, head_prefix="vqa_head.", seed=0) -> dict:
    """What FAST-VQA's trainer saves: {"state_dict": fragments_backbone.* (with its relative_position_index
    buffers) and the head}."""
    torch.manual_seed(seed)
    model = FastVQA()
    state = {f"fragments_backbone.{k}": v for k, v in model.fragments_backbone.state_dict().items()}
    state.update({f"fragments_backbone.{k}": v for k, v in model.fragments_backbone.named_buffers()
                  if k.endswith("relative_position_index")})
    state.update({f"{head_prefix}{k}": v for k, v in model.vqa_head.state_dict().items()})
    torch.save({"state_dict": state}, path)
    return state


# -- FAST-VQA ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fast_vqa_loads_the_authors_layout_and_scores_mp4s_deterministically(clips, tmp_path):
    root, rows = clips
    _authors_checkpoint(tmp_path / "FAST_VQA_B_1_4.pth")
    sampler = SamplerConfig(num_clips=1)  # one 32-frame clip instead of four: the same code, 4x less work
    scorer = FastVQAScorer(tmp_path / "FAST_VQA_B_1_4.pth", device="cpu", sampler=sampler)
    videos = [str(root / r["video"]) for r in rows[:2]]
    first, again = scorer.score(videos), scorer.score(videos[:1])
    assert all(r.ok and 0 < r.perception < 100 for r in first)
    assert first[0].perception == again[0].perception and first[0].perception != first[1].perception
    raw = first[0].raw
    assert raw["fast_vqa_rescaled"] == pytest.approx(1 / (1 + np.exp(-(raw["fast_vqa"] + 0.110198185) / 0.04178565)))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert "broken.mp4" in scorer.score([str(broken)])[0].error


def test_fast_vqa_refuses_a_checkpoint_with_a_wrong_key_by_name(tmp_path):
    state = _authors_checkpoint(tmp_path / "ok.pth")
    assert isinstance(FastVQA.from_checkpoint(tmp_path / "ok.pth"), FastVQA)
    _authors_checkpoint(tmp_path / "temporal.pth", head_prefix="fragments_head.")  # LOVE's temporal.pth layout
    assert isinstance(FastVQA.from_checkpoint(tmp_path / "temporal.pth"), FastVQA)
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "vqa_head.fc_last.bias"}, "vqa_head.fc_last.bias"),
        "extra": ({**state, "vqa_head.fc_extra.weight": torch.zeros(1)}, "vqa_head.fc_extra.weight"),
        "shape": ({**state, "vqa_head.fc_hid.weight": torch.zeros(32, 768, 1, 1, 1)}, "vqa_head.fc_hid.weight"),
        "backbone": ({k: v for k, v in state.items() if k != "fragments_backbone.norm.weight"}, "norm.weight"),
        "stranger": ({**state, "resize_backbone.x": torch.zeros(1)}, "resize_backbone.x"),
    }
    for name, (bad, key) in cases.items():
        torch.save({"state_dict": bad}, tmp_path / f"{name}.pth")
        with pytest.raises(CheckpointError, match=key.replace(".", r"\.")):
            FastVQA.from_checkpoint(tmp_path / f"{name}.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        FastVQA.from_checkpoint(tmp_path / "junk.pth")


def test_fast_vqa_without_weights_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("LOVE_BASELINE_WEIGHTS", str(tmp_path))
    with pytest.raises(LoveError, match=r"FAST_VQA_B_1_4\.pth.*MIT licence"):
        get_baseline("fast-vqa")


# -- DOVER -----------------------------------------------------------------------------------------------------
def _dover_checkpoint(path, seed=0) -> dict:
    """What DOVER's trainer saves: a plain state dict, technical_backbone.* (with relative_position_index),
    aesthetic_backbone.*, technical_head.*, aesthetic_head.*."""
    torch.manual_seed(seed)
    model = Dover()
    state = {}
    for prefix, module in (("technical_backbone.", model.technical_backbone),
                           ("aesthetic_backbone.", model.aesthetic_backbone),
                           ("technical_head.", model.technical_head), ("aesthetic_head.", model.aesthetic_head)):
        state.update({prefix + k: v for k, v in module.state_dict().items()})
    state.update({f"technical_backbone.{k}": v for k, v in model.technical_backbone.named_buffers()
                  if k.endswith("relative_position_index")})
    torch.save(state, path)
    return state


def test_dovers_frame_sampler():
    rng = np.random.default_rng(0)
    technical = segment_indices(300, 1, 32, 2, rng)  # one clip: 32 frames, every second one
    assert technical.size == 32 and np.all(np.diff(technical) == 2) and technical[-1] < 300
    aesthetic = segment_indices(320, 32, 1, 2, rng)  # one frame in each of 32 segments of 10
    assert aesthetic.size == 32 and all(10 * i <= x < 10 * (i + 1) for i, x in enumerate(aesthetic))
    short = segment_indices(20, 1, 32, 2, rng)  # shorter than a clip: wraps
    assert short.size == 32 and short.max() < 20


def test_dover_refuses_a_checkpoint_with_a_wrong_key_by_name(tmp_path):
    state = _dover_checkpoint(tmp_path / "DOVER.pth")
    assert isinstance(Dover.from_checkpoint(tmp_path / "DOVER.pth"), Dover)
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "aesthetic_backbone.stages.2.4.gamma"},
                    "aesthetic_backbone.stages.2.4.gamma"),
        "extra": ({**state, "aesthetic_backbone.head.weight": torch.zeros(1)}, "aesthetic_backbone.head.weight"),
        "shape": ({**state, "aesthetic_head.fc_hid.weight": torch.zeros(64, 384, 1, 1, 1)},
                  "aesthetic_head.fc_hid.weight"),
        "stranger": ({**state, "fragments_backbone.x": torch.zeros(1)}, "fragments_backbone.x"),
        "technical": ({k: v for k, v in state.items() if k != "technical_backbone.norm.bias"}, "norm.bias"),
    }
    for name, (bad, key) in cases.items():
        torch.save(bad, tmp_path / f"{name}.pth")
        with pytest.raises(CheckpointError, match=key.replace(".", r"\.")):
            Dover.from_checkpoint(tmp_path / f"{name}.pth")


@pytest.mark.slow
def test_dover_scores_mp4s_deterministically_with_its_fusion(clips, tmp_path):
    root, rows = clips
    _dover_checkpoint(tmp_path / "DOVER.pth")
    scorer = DoverScorer(tmp_path / "DOVER.pth", device="cpu", technical_clips=1)
    technical, aesthetic = scorer.views(__import__("love_plugins.baselines.base", fromlist=["x"]).read_rgb_frames(
        str(root / rows[0]["video"])))
    assert technical.shape == (1, 3, 32, 224, 224) and aesthetic.shape == (1, 3, 32, 224, 224)
    first = scorer.score([str(root / r["video"]) for r in rows[:2]])
    again = scorer.score([str(root / rows[0]["video"])])
    assert all(r.ok and 0 < r.perception < 100 for r in first) and again[0].perception == first[0].perception
    raw = first[0].raw
    logit = 0.6104 * (raw["dover_technical"] - 0.1107) / 0.07355 + 0.3896 * (raw["dover_aesthetic"] + 0.08285) / 0.03774
    assert raw["dover_fused"] == pytest.approx(1 / (1 + np.exp(-logit)))


# -- BRISQUE ----------------------------------------------------------------------------------------------------
def test_brisque_reads_lives_model_and_ranks_distortions():
    vectors, coefs, rho, gamma, ranges = svr_model()
    assert vectors.shape == (774, 36) and coefs.shape == (774,) and gamma == 0.05 and rho == -153.591
    assert ranges.shape == (36, 2) and np.all(ranges[:, 0] < ranges[:, 1])
    rng = np.random.default_rng(0)
    # A natural-like image: 1/f noise has the natural-scene statistics BRISQUE was fitted on.
    freq = np.fft.fftfreq(256)
    radius = np.hypot(freq[:, None], freq[None, :])
    radius[0, 0] = 1
    field = np.real(np.fft.ifft2((rng.normal(size=(256, 256)) + 1j * rng.normal(size=(256, 256))) / radius))
    clean = np.clip((field - field.mean()) / field.std() * 45 + 128, 0, 255)
    from scipy.ndimage import gaussian_filter

    features = brisque_features(clean)
    assert features.shape == (36,) and np.isfinite(features).all()
    assert np.array_equal(features, brisque_features(clean))
    blur = [brisque(gaussian_filter(clean, s)) for s in (0, 2, 4)]
    noise = [brisque(np.clip(clean + rng.normal(0, s, clean.shape), 0, 255)) for s in (0, 10, 25, 50)]
    assert blur == sorted(blur) and noise == sorted(noise)  # more distortion, higher (worse) BRISQUE
    assert blur[0] < 40 < blur[-1]


def test_brisque_scores_video_files(clips):
    root, rows = clips
    results = get_baseline("brisque", num_frames=2).score([str(root / r["video"]) for r in rows[:2]])
    assert all(r.ok and r.perception == pytest.approx(100 - r.raw["brisque"]) for r in results)


# -- any scorer by entry point ----------------------------------------------------------------------------------
PLUGIN = '''
import numpy as np
from love_plugins.baselines.base import BaselineScore, read_rgb_frames


class Brightness:
    """A third-party scorer: mean brightness of the first frames."""
    tasks = ("perception",)

    def describe(self):
        return {"model": "brightness", "tasks": list(self.tasks)}

    def score(self, videos, prompts=None, questions=None, tasks=None, progress=False):
        return [BaselineScore(video=str(v), perception=float(read_rgb_frames(v, max_frames=4).mean() / 2.55))
                for v in videos]


def make_scorer(**options):
    return Brightness()


make_scorer.info = {"outputs": ["perception"], "needs_gpu": False, "needs_prompt": False, "weights": "none needed"}
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """A distribution on sys.path (package + dist-info with entry_points.txt), as pip would install it."""
    site = tmp_path_factory.mktemp("site")
    (site / "brightness_scorer").mkdir()
    (site / "brightness_scorer" / "__init__.py").write_text(PLUGIN)
    info = site / "brightness_scorer-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brightness-scorer\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[love_plugins.scorers]\nbrightness = brightness_scorer:make_scorer\n")
    return site


def _love_eval(args, plugin_path, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "love_plugins.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_an_installed_scorer_is_listed_and_evaluated(plugin_path, clips, tmp_path):
    root, _ = clips
    listed = _love_eval(["scorers", "--json"], plugin_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["brightness"]["source"] == "brightness-scorer" and rows["brightness"]["weights"] == "none needed"
    assert {"love-nano", "niqe", "brisque", "fast-vqa", "dover", "love"} <= rows.keys()
    out = tmp_path / "eval"
    done = _love_eval(["evaluate", "--dataset", "manifest", "--root", str(root / "manifest.jsonl"),
                       "--model", "brightness,niqe", "--out", str(out), "--no-plots", "--no-progress"],
                      plugin_path, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    text = json.dumps(json.loads((out / "results.json").read_text()))
    assert "brightness" in text and "niqe" in text


@pytest.mark.slow
def test_generalize_puts_the_field_baselines_beside_love(clips, tmp_path, monkeypatch):
    """`love-eval generalize --model love-nano,fast-vqa,brisque,niqe`: one row per scorer and label, with
    intervals (FAST-VQA with random weights in the released layout, found through $LOVE_BASELINE_WEIGHTS)."""
    from love_plugins.cli import main

    root, _ = clips
    (tmp_path / "weights").mkdir()
    _authors_checkpoint(tmp_path / "weights" / "FAST_VQA_B_1_4.pth")
    monkeypatch.setenv("LOVE_BASELINE_WEIGHTS", str(tmp_path / "weights"))
    out = tmp_path / "gen"
    code = main(["generalize", "--model", "love-nano,fast-vqa,brisque,niqe", "--datasets",
                 f"synth:manifest={root / 'manifest.csv'}", "--split", "all", "--bootstrap", "100", "--out", str(out),
                 "--no-progress", "--no-plots"])
    assert code == 0
    table = [row for row in json.loads((out / "results.json").read_text())["table"]
             if row["label"] == "perception_mos" and row["level"] == "instance"]
    assert {row["scorer"].split(" ")[0] for row in table} == {"love-nano", "baseline:fast-vqa", "baseline:brisque",
                                                            "baseline:niqe"}
    assert all(row["n"] == 6 and row["srcc_low"] is not None and row["srcc_low"] <= row["srcc"] <= row["srcc_high"]
               for row in table)
