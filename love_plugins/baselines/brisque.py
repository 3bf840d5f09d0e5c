"""BRISQUE (Mittal, Moorthy and Bovik, 2012): natural-scene statistics of a frame, mapped to quality by the
published support-vector regression.

Our implementation (numpy/scipy) of the published algorithm with the published model (LIVE's `allmodel`, an
epsilon-SVR with an RBF kernel over 36 features scaled to [-1, 1] by `allrange`; see data/NOTICE.md). Features
per scale (the grey frame, then the frame at half size, bicubic): the MSCN coefficients' generalised Gaussian
fit [alpha, sigma^2] and, for each of the four neighbour products (horizontal, vertical, both diagonals), the
asymmetric fit [alpha, eta, sigma_left^2, sigma_right^2]. The SVR gives BRISQUE on its native scale (about 0
for pristine images to 100 for heavily distorted ones; lower is better).

Video score: mean BRISQUE over `num_frames` segment-centre frames (luma, MATLAB rgb2gray weights); perception
= 100 - BRISQUE (higher is better; `raw["brisque"]` keeps the native value).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import gamma as gamma_fn

from .base import BaselineScore, FrameBaseline, read_rgb_frames, to_gray, uniform_indices
from .niqe import _GAM, _R_GAM, SHIFTS, _resize, aggd_moments, mscn

DATA = Path(__file__).parent / "data"
_RHO_GAM = 1 / _R_GAM  # E[x^2] / E[|x|]^2 of a generalised Gaussian of shape alpha


def ggd(values: np.ndarray) -> tuple[float, float]:
    """Generalised Gaussian fit by moment matching: (alpha, sigma^2)."""
    v = values.ravel()
    sigma_sq = float(np.mean(v * v))
    rho = sigma_sq / max(float(np.mean(np.abs(v))) ** 2, 1e-12)
    return float(_GAM[np.argmin(np.abs(rho - _RHO_GAM))]), sigma_sq


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a luma image (float, 0-255)."""
    image = np.asarray(gray, dtype=np.float64)
    feats: list[float] = []
    for _ in range(2):
        coeffs = mscn(image)
        feats += list(ggd(coeffs))
        for dy, dx in SHIFTS:
            alpha, left, right = aggd_moments(coeffs * np.roll(coeffs, (dy, dx), axis=(0, 1)))
            eta = (right - left) * gamma_fn(2 / alpha) / gamma_fn(1 / alpha) * np.sqrt(
                gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
            feats += [alpha, eta, left * left, right * right]
        image = _resize(image, max(1, image.shape[0] // 2), max(1, image.shape[1] // 2))
    return np.asarray(feats)


@lru_cache(maxsize=1)
def svr_model() -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    """(support vectors (n, 36), coefficients (n,), rho, gamma, scaling (36, 2) min/max) from LIVE's files."""
    header, vectors, coefs = {}, [], []
    lines = (DATA / "brisque_allmodel").read_text().splitlines()
    start = lines.index("SV")
    for line in lines[:start]:
        key, *value = line.split()
        header[key] = value
    for line in lines[start + 1:]:
        if line.strip():
            coef, *pairs = line.split()
            row = np.zeros(36)
            for pair in pairs:
                index, value = pair.split(":")
                row[int(index) - 1] = float(value)
            coefs.append(float(coef))
            vectors.append(row)
    if header.get("svm_type") != ["epsilon_svr"] or header.get("kernel_type") != ["rbf"]:
        raise ValueError(f"{DATA / 'brisque_allmodel'}: not an RBF epsilon-SVR model")
    ranges = np.loadtxt(DATA / "brisque_allrange", skiprows=2)[:, 1:]
    return np.asarray(vectors), np.asarray(coefs), float(header["rho"][0]), float(header["gamma"][0]), ranges


def brisque(gray: np.ndarray) -> float:
    """BRISQUE of one luma image (float, 0-255): the SVR on the [-1, 1]-scaled features."""
    vectors, coefs, rho, kernel_gamma, ranges = svr_model()
    x = brisque_features(gray)
    low, high = ranges[:, 0], ranges[:, 1]
    scaled = -1 + 2 * (x - low) / (high - low)
    distances = np.sum((vectors - scaled) ** 2, axis=1)
    return float(coefs @ np.exp(-kernel_gamma * distances) - rho)


class BRISQUEScorer(FrameBaseline):
    name = "brisque"
    description = "BRISQUE (LIVE's published SVR model), mean over frames; score = 100 - BRISQUE"

    def __init__(self, num_frames: int = 8, max_decode: int = 256):
        self.num_frames, self.max_decode = num_frames, max_decode

    def config(self) -> dict:
        return {"num_frames": self.num_frames, "frames": "segment-centre", "model": "LIVE allmodel/allrange"}

    def measure(self, path: str) -> BaselineScore:
        frames = read_rgb_frames(path, max_frames=self.max_decode)
        values = [brisque(to_gray(frames[i])) for i in uniform_indices(len(frames), self.num_frames)]
        value = float(np.mean(values))
        return BaselineScore(video=path, perception=100.0 - value, raw={"brisque": value})
