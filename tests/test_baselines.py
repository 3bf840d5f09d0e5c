"""Training-free baselines: temporal flicker and NIQE, scored through the same protocol as LOVE."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from love_plugins.baselines import get_baseline, is_baseline, list_baselines
from love_plugins.baselines.niqe import NIQEScorer, aggd, niqe, pristine_model
from love_plugins.evaluation.harness import ScorerProtocol
from love_plugins.synth import write_mp4


def _natural(shape=(192, 256)) -> np.ndarray:
    """A real photograph shipped with matplotlib (Grace Hopper), luma 0-255, cropped to `shape`."""
    from matplotlib import cbook
    from PIL import Image

    from love_plugins.baselines.base import to_gray

    rgb = np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))
    if shape is not None:
        h, w = rgb.shape[:2]
        scale = max(shape[0] / h, shape[1] / w)
        rgb = np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale))))[: shape[0], : shape[1]]
    return to_gray(rgb)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    base = np.repeat(_natural()[None, :, :, None], 3, axis=3).astype(np.uint8)
    still = np.repeat(base, 12, axis=0)
    flicker = still.astype(np.int16).copy()
    flicker[1::2] += 60  # every other frame brighter
    noisy = np.clip(still + rng.normal(0, 25, still.shape), 0, 255)
    paths = {}
    for name, frames in {"still": still, "flicker": flicker, "noisy": noisy}.items():
        paths[name] = root / f"{name}.mp4"
        write_mp4(paths[name], np.clip(frames, 0, 255).astype(np.uint8), fps=8)
    return paths


def test_registry():
    assert list_baselines() == ["flicker", "niqe", "brisque", "fast-vqa", "dover"]
    assert is_baseline("FastVQA") and is_baseline("baseline:brisque")
    assert is_baseline("baseline:niqe") and not is_baseline("love-nano")
    with pytest.raises(KeyError, match="flicker"):
        get_baseline("brisk")


@pytest.mark.parametrize("name", ["flicker", "niqe"])
def test_scorer_protocol(name, clips, tmp_path):
    scorer = get_baseline(name, **({"num_frames": 2} if name == "niqe" else {}))
    assert isinstance(scorer, ScorerProtocol) and scorer.tasks == ("perception",)
    info = scorer.describe()
    assert info["model"] == f"baseline:{name}" and "sampler" in info and "numpy" in info["versions"]
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    out = scorer.score([clips["still"], bad, tmp_path / "absent.mp4"], prompts=["p", "q", "r"])
    assert [o.video for o in out] == [str(clips["still"]), str(bad), str(tmp_path / "absent.mp4")]
    assert out[0].ok and 0 < out[0].perception <= 100 and out[0].prompt == "p"
    assert not out[1].ok and out[1].perception is None and str(bad) in out[1].error
    assert not out[2].ok


def test_flicker_ranks_steady_above_flickering(clips):
    still, flick = get_baseline("flicker").score([clips["still"], clips["flicker"]])
    assert still.perception > 99 and still.raw["mad"] < 1.0
    assert flick.perception < still.perception - 10 and flick.raw["mad"] > 30


def test_pristine_model_shapes_and_fitting_quirk():
    mu, cov = pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36) and np.allclose(cov, cov.T)
    # the shipped model repeats beta_left in the diagonal-product slots; our features must match it
    assert mu[12] == pytest.approx(mu[13]) and mu[16] == pytest.approx(mu[17])


def test_aggd_recovers_gaussian_shape():
    alpha, bl, br = aggd(np.random.default_rng(0).normal(0, 1.0, 200_000))
    assert alpha == pytest.approx(2.0, abs=0.05) and bl == pytest.approx(br, rel=0.02)


def test_niqe_grows_with_distortion():
    img = _natural(None)  # 600x512
    clean = niqe(img)
    noisy = niqe(np.clip(img + np.random.default_rng(1).normal(0, 20, img.shape), 0, 255))
    blurred = niqe(ndimage.gaussian_filter(img, 3))
    assert np.isfinite(clean) and noisy > clean and blurred > clean
    with pytest.raises(ValueError, match="block"):
        niqe(np.zeros((50, 50)))


def test_niqe_video_score_is_mean_frame_niqe(clips):
    from love_plugins.baselines.base import read_rgb_frames, to_gray, uniform_indices

    scorer = NIQEScorer(num_frames=2, min_side=0)  # no upscaling: frames are 192x256 (4 blocks)
    (result,) = scorer.score([clips["still"]])
    frames = read_rgb_frames(clips["still"])
    expected = np.mean([niqe(to_gray(frames[i])) for i in uniform_indices(len(frames), 2)])
    assert result.raw["niqe"] == pytest.approx(expected)
    assert result.perception == pytest.approx(1000 / (10 + expected))
