"""Perceptual degradations with a known severity in [0, 1], and the perception MOS they imply.

Each degradation mimics a typical AIGV artefact (blur, noise, compression blocks, flicker, stutter,
colour cast). Because the severities are known, the perception target is an exact function of them,
so a metric trained on the suite has something learnable and a test has something checkable.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

DEGRADATIONS: tuple[str, ...] = ("blur", "noise", "blockiness", "flicker", "stutter", "color_shift")

# How much each degradation at full severity takes away (see `combined_severity`). Colour shift is the
# mildest: it must leave the object's colour name recognisable for the QA and correspondence targets.
WEIGHTS: dict[str, float] = {
    "blur": 0.9,
    "noise": 0.8,
    "blockiness": 0.8,
    "flicker": 0.7,
    "stutter": 0.6,
    "color_shift": 0.5,
}

LEVELS: tuple[str, ...] = ("bad", "poor", "fair", "good", "excellent")

MOS_BEST = 92.0
MOS_SPAN = 84.0

# Strength of each degradation at severity 1 (blur sigma is a share of the frame height).
MAX_BLUR_SIGMA = 0.04
MAX_NOISE_STD = 45.0
MAX_FLICKER_AMPLITUDE = 0.5
MAX_STUTTER_HOLD = 0.7
MAX_COLOR_GAIN = 0.15
MAX_DESATURATION = 0.5


def level_word(mos: float) -> str:
    """LOVE's five level words from a 0-100 MOS with equal bins: <20 bad, <40 poor, ... >=80 excellent."""
    return LEVELS[min(4, max(0, int(mos // 20)))]


def combined_severity(severities: dict[str, float]) -> float:
    """Overall damage in [0, 1]: combined = 1 - prod_k (1 - w_k * s_k).

    Independent artefacts compound (two half-strength artefacts hurt more than one) and the result
    is strictly increasing in every severity, since all weights are below 1.
    """
    keep = 1.0
    for name in DEGRADATIONS:
        keep *= 1.0 - WEIGHTS[name] * float(severities.get(name, 0.0))
    return 1.0 - keep


def perception_mos(severities: dict[str, float]) -> float:
    """Perception MOS = 92 - 84 * combined_severity, i.e. 92 for a clean clip down to > 8 at worst.

    Rounded to 4 decimals so it survives a CSV round trip unchanged.
    """
    return round(MOS_BEST - MOS_SPAN * combined_severity(severities), 4)


def sample_severities(rng: np.random.Generator, quality: float, moving: bool) -> dict[str, float]:
    """Draw one clip's severities for a generator of quality q in (0, 1).

    Each artefact is present with probability 0.1 + 0.6 * (1 - q); a present one has a Beta severity
    with mean about 0.15 + 0.75 * (1 - q). Stutter is invisible without motion, so a still clip gets 0.
    """
    badness = 1.0 - quality
    out: dict[str, float] = {}
    for name in DEGRADATIONS:
        present = rng.random() < 0.1 + 0.6 * badness
        mean = 0.15 + 0.75 * badness
        value = rng.beta(4.0 * mean, 4.0 * (1.0 - mean))
        out[name] = round(float(value), 4) if present else 0.0
    if not moving:
        out["stutter"] = 0.0
    return out


def apply_degradations(
    frames: np.ndarray, severities: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """Return degraded copies of uint8 frames (T, H, W, 3); severity 0 leaves a degradation out.

    Order follows a generation pipeline: temporal glitches, colour cast, blur, flicker, noise, then
    compression last (like an encoder would). The rng draws the stutter pattern, colour-cast
    direction, flicker jumps and noise, in that order.
    """
    s = {name: float(severities.get(name, 0.0)) for name in DEGRADATIONS}
    num_frames, height = frames.shape[0], frames.shape[1]
    out = frames.astype(np.float32)

    # Stutter: a frame repeats the previous output frame with probability 0.7*s; the source index
    # then jumps ahead, so repeats come with drops, as in a generator that loses frames.
    hold = rng.random(num_frames) < MAX_STUTTER_HOLD * s["stutter"]
    if s["stutter"] > 0:
        index = np.arange(num_frames)
        for i in range(1, num_frames):
            if hold[i]:
                index[i] = index[i - 1]
        out = out[index]

    # Colour shift: washed-out colours (blend towards grey by 0.5*s) plus a tint (channel gains
    # 1 +- 0.15*s, signs drawn per clip, never all alike). Hue names survive even at s = 1.
    signs = rng.choice([-1.0, 1.0], size=3)
    if np.all(signs == signs[0]):
        signs[rng.integers(3)] *= -1.0
    if s["color_shift"] > 0:
        grey = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        out += MAX_DESATURATION * s["color_shift"] * (grey[..., None] - out)
        out *= (1.0 + MAX_COLOR_GAIN * s["color_shift"] * signs).astype(np.float32)

    if s["blur"] > 0:
        sigma = MAX_BLUR_SIGMA * height * s["blur"]
        out = ndimage.gaussian_filter(out, sigma=(0, sigma, sigma, 0), mode="nearest")

    # Flicker: each frame's brightness jumps up or down by 0.25-0.5 * s at random. Random rather than
    # periodic so that any frame sampler (e.g. LOVE's 8 segment centres) sees it.
    jumps = rng.choice([-1.0, 1.0], size=num_frames) * rng.uniform(0.5, 1.0, size=num_frames)
    if s["flicker"] > 0:
        gain = 1.0 + MAX_FLICKER_AMPLITUDE * s["flicker"] * jumps
        out *= gain.astype(np.float32)[:, None, None, None]

    if s["noise"] > 0:
        out += rng.normal(0.0, MAX_NOISE_STD * s["noise"], size=out.shape).astype(np.float32)

    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)

    # Blockiness: JPEG at quality 95 - 90*s (5 at full severity) gives 8x8 blocks and ringing.
    if s["blockiness"] > 0:
        quality = int(round(95 - 90 * s["blockiness"]))
        out = np.stack([_jpeg(frame, quality) for frame in out])
    return out


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip one frame through baseline JPEG (PIL is deterministic for fixed settings)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality, subsampling=2, optimize=False)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))
