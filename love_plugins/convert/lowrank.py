"""Recover a LoRA from a merged weight: delta = W_task − W_base ≈ scaling · B @ A with rank r.

A checkpoint whose LoRA was merged stores W_base + scaling·B·A rounded to its dtype. The delta is
rank r plus that rounding noise; a truncated SVD recovers factors whose product matches the delta
to within the noise. The residual is checked against the dtype's rounding level: if it is larger,
the weight was not "base + rank-r update" (wrong base, or a full fine-tune) and conversion stops.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Machine epsilon of each storage dtype: merged weights carry rounding errors up to eps/2 · |W|.
_EPS = {torch.bfloat16: 2.0**-7, torch.float16: 2.0**-10, torch.float32: 2.0**-23, torch.float64: 2.0**-52}


@dataclass
class LowRankFit:
    lora_A: torch.Tensor  # (r, in)
    lora_B: torch.Tensor  # (out, r), already divided by the LoRA scaling
    residual_rms: float
    noise_rms: float  # the bound the residual was checked against

    @property
    def ratio(self) -> float:
        return self.residual_rms / self.noise_rms if self.noise_rms else 0.0


class LowRankError(ValueError):
    """The delta is not a rank-r update at the storage dtype's noise level."""


def factorize_delta(
    merged: torch.Tensor, base: torch.Tensor, rank: int, scaling: float, out_dtype: torch.dtype | None = None,
    tolerance: float = 1.0,
) -> LowRankFit:
    """Rank-`rank` factors (A, B) with scaling·B@A ≈ merged − base, residual checked.

    The residual RMS must stay below `tolerance` · eps(dtype) · RMS(merged) (plus a tiny absolute
    floor): rounding to the storage dtype alone leaves about 0.3 · eps · RMS, anything structured
    is far above it.
    """
    if merged.shape != base.shape or merged.dim() != 2:
        raise LowRankError(f"merged {tuple(merged.shape)} and base {tuple(base.shape)} weights do not match")
    out_dtype = out_dtype or merged.dtype
    storage = merged.dtype if merged.dtype in _EPS else torch.float32
    delta = merged.double() - base.double()
    rows, cols = delta.shape
    r = min(rank, rows, cols)
    if min(rows, cols) <= 4 * (r + 8):
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        u, s, vh = u[:, :r], s[:r], vh[:r]
    else:  # randomized range finder: a few rank-r+oversampling passes instead of a full 10k×4k SVD
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(0)
        try:
            u, s, v = torch.svd_lowrank(delta, q=r + 8, niter=4)
        finally:
            torch.random.set_rng_state(gen_state)
        u, s, vh = u[:, :r], s[:r], v[:, :r].T
    root = s.clamp(min=0).sqrt()
    lora_a = (root[:, None] * vh).to(out_dtype)
    lora_b = (u * root[None, :] / scaling).to(out_dtype)
    if rank > r:  # pad to the requested rank: zero rows/columns add nothing to B @ A
        lora_a = torch.cat([lora_a, lora_a.new_zeros(rank - r, cols)])
        lora_b = torch.cat([lora_b, lora_b.new_zeros(rows, rank - r)], dim=1)
    residual = delta - scaling * (lora_b.double() @ lora_a.double())
    residual_rms = residual.pow(2).mean().sqrt().item()
    noise_rms = tolerance * _EPS[storage] * merged.double().pow(2).mean().sqrt().item() + 1e-12
    fit = LowRankFit(lora_a, lora_b, residual_rms, noise_rms)
    if residual_rms > noise_rms:
        raise LowRankError(
            f"the task delta is not a rank-{rank} update: residual RMS {residual_rms:.3g} after a rank-{rank} fit "
            f"exceeds the {storage} rounding level {noise_rms:.3g} (×{fit.ratio:.1f}); wrong base weights?"
        )
    return fit
