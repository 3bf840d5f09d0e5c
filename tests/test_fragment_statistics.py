"""The motion stage's distillation targets: each hand-made statistic moves with the artefact it aims at."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from love_plugins.nano.fragment_statistics import (
    FRAGMENT_STATISTICS,
    clip_statistics,
    fragment_statistics,
)
from love_plugins.synth.degrade import apply_degradations
from love_plugins.synth.scene import render_frames, sample_scene


@pytest.fixture(scope="module")
def clean():
    rng = np.random.default_rng(4)
    scene = sample_scene(rng, 64, 64)
    while scene.motion == "still":  # stutter needs motion to show
        scene = sample_scene(rng, 64, 64)
    y, x = np.mgrid[0:64, 0:64]  # a texture under the flat scene: edges everywhere, as in real content
    texture = 30 * np.sin(x / 3.1) * np.cos(y / 4.3)
    return np.clip(render_frames(scene, 64, 64, 8) + texture[None, :, :, None], 0, 255).astype(np.uint8)


def _stats(frames: np.ndarray) -> dict[str, float]:
    return dict(zip(FRAGMENT_STATISTICS, clip_statistics(frames)))


@pytest.mark.parametrize("artefact,statistic,direction,severities", [
    ("noise", "noise", +1, (0.0, 0.5, 1.0)),
    ("blur", "sharpness_p99.5", -1, (0.0, 0.5, 1.0)),
    ("blur", "sharpness_p98", -1, (0.0, 0.5, 1.0)),
    ("blockiness", "grid4_step_ratio", +1, (0.0, 0.5, 1.0)),
    ("blockiness", "grid8_step_ratio", +1, (0.0, 1.0)),  # mild JPEG at 0.5 can soften the texture's own steps
    ("flicker", "brightness_std", +1, (0.0, 0.5, 1.0)),
    ("flicker", "brightness_step", +1, (0.0, 0.5, 1.0)),
    ("stutter", "still_share", +1, (0.0, 0.5, 1.0)),
    ("color_shift", "saturation", -1, (0.0, 0.5, 1.0)),
])
def test_each_statistic_follows_its_artefact(clean, artefact, statistic, direction, severities):
    """Raising one artefact's severity moves its statistic monotonically the expected way."""
    values = [_stats(apply_degradations(clean, {artefact: s}, np.random.default_rng(1)))[statistic]
              for s in severities]
    steps = np.diff(values) * direction
    assert (steps > 0).all(), (artefact, statistic, values)


def test_fragment_statistics_per_clip_and_bad_shapes(clean):
    fragments = torch.from_numpy(np.stack([clean, apply_degradations(clean, {"noise": 1.0}, np.random.default_rng(0))]))
    out = fragment_statistics(fragments)
    assert out.shape == (2, len(FRAGMENT_STATISTICS)) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.from_numpy(clip_statistics(clean)).float())
    assert out[1, FRAGMENT_STATISTICS.index("noise")] > out[0, FRAGMENT_STATISTICS.index("noise")]
    with pytest.raises(ValueError, match="clips, T, H, W, 3"):
        fragment_statistics(fragments[0])
    with pytest.raises(ValueError, match="T >= 2"):
        clip_statistics(clean[:1])
