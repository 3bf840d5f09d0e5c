"""LOVE's motion encoder: FAST-VQA's fragment encoder ("FANet"), a Video Swin Transformer 3D.

    clip (B, 3, T, H, W) ─patch embed─▶ 4 stages of (shifted) window attention ─norm─▶ mean ─▶ (B, 768)

LOVE keeps this network frozen and feeds its pooled features to a projector, so everything here
is about reproducing the released `temporal.pth` features exactly:

* windows adapt to the clip size: the base window (8, 7, 7) is scaled by clip size / (32, 224, 224),
  then clamped per stage to the feature map (a clamped dimension is never shifted);
* the attention bias mixes two tables with a "fragment gate": FAST-VQA's inputs are mosaics of
  7x7 fragments cut from different places of the video, so tokens of the same fragment use the
  relative position table and tokens of different fragments lean on the fragment table.

Parameter names follow the authors' `SwinTransformer3D` so their weights load unchanged
(`load_fastvqa_state_dict`). Dropout and drop-path are omitted: the encoder only runs in eval mode,
where both are the identity.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from ..video import IMAGENET_MEAN_255, IMAGENET_STD_255  # the fragments' normalisation, undone for the luma

Size3 = tuple[int, int, int]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601

# Additive attention mask between tokens that a cyclic shift brought into one window from
# non-adjacent places. The authors use -100 rather than -inf; exp(-100) is 0 in float32 anyway.
SHIFT_MASK_VALUE = -100.0


@dataclass
class MotionEncoderConfig:
    """Hyper-parameters of the Swin-T 3D backbone; the defaults are FAST-VQA's (and LOVE's)."""

    patch_size: Size3 = (2, 4, 4)
    in_chans: int = 3
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: Size3 = (8, 7, 7)
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    # Stages whose attention has a fragment position bias table (all but the last in FAST-VQA).
    frag_biases: tuple[bool, ...] = (True, True, True, False)
    # Clip size (T, H, W) at which `window_size` is used as is; other sizes scale the window.
    base_input_size: Size3 = (32, 224, 224)
    layer_norm_eps: float = 1e-5
    # LayerNorm after the patch embedding (upstream's `patch_norm`, on in FAST-VQA and LOVE). A very
    # narrow encoder may leave it off: over a few channels it normalises away the per-tubelet energy
    # that noise and blockiness show up as (love-nano leaves it off; on in every converted LOVE bundle).
    patch_norm: bool = True
    # A fourth input channel: the luma's local contrast (BRISQUE's and NIQE's MSCN map, see
    # `local_contrast_map`). In RGB, noise of a few grey levels sits beside edges of a hundred; the map puts
    # both at the scale of the network's nonlinearities. Off in FAST-VQA and LOVE (checked in every converted bundle);
    # on in love-nano.
    local_contrast: bool = False

    def __post_init__(self):
        # Accept lists (from JSON) but store tuples, so configs compare and hash predictably.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                setattr(self, f.name, tuple(value))
        if not len(self.depths) == len(self.num_heads) == len(self.frag_biases):
            raise ValueError("depths, num_heads and frag_biases need one entry per stage")
        for i, heads in enumerate(self.num_heads):
            if (self.embed_dim * 2**i) % heads:
                raise ValueError(
                    f"stage {i}: width {self.embed_dim * 2**i} is not divisible by {heads} heads"
                )

    @property
    def output_dim(self) -> int:
        """Channels of the last stage, i.e. of the pooled clip feature."""
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> MotionEncoderConfig:
        return cls(**data)

    @classmethod
    def tiny(cls) -> MotionEncoderConfig:
        """A 147k-parameter encoder for tests. On an (8, 32, 32) clip its stages see
        (4, 8, 8), (4, 4, 4), (4, 2, 2) and (4, 1, 1) tokens with (2, 2, 2) windows: shifted windows,
        fragment gating, clamped windows and downsampling all run; odd clip sizes add padding."""
        return cls(
            embed_dim=8,
            depths=(2, 2, 2, 2),
            num_heads=(1, 2, 2, 4),
            window_size=(2, 2, 2),
            base_input_size=(8, 32, 32),
        )


# --------------------------------------------------------------------------------------------
# Window geometry: pure functions of shapes, cached because every forward pass asks again.
# --------------------------------------------------------------------------------------------


def adaptive_window_size(base_window: Size3, input_size: Size3, base_input_size: Size3) -> Size3:
    """Scale the window with the clip: `window * input // base_input`, per dimension.

    The position tables only cover the base window, so larger clips (which would need larger
    windows) are rejected here; the authors' code fails on them with a reshape error.
    """
    window = tuple(w * x // b for w, x, b in zip(base_window, input_size, base_input_size))
    if not all(1 <= w <= b for w, b in zip(window, base_window)):
        raise ValueError(
            f"a clip of size {tuple(input_size)} gives window {window}; each dimension must lie in "
            f"[1, {tuple(base_window)}], i.e. the clip must be at most {tuple(base_input_size)} "
            "and large enough for one token per window dimension"
        )
    return window


def clamp_window(feature_size: Size3, window: Size3, shift: Size3) -> tuple[Size3, Size3]:
    """A window never exceeds the feature map; where it covers a whole dimension, that
    dimension is not shifted."""
    fits = [f <= w for f, w in zip(feature_size, window)]
    clamped_window = tuple(f if fit else w for f, w, fit in zip(feature_size, window, fits))
    clamped_shift = tuple(0 if fit else s for s, fit in zip(shift, fits))
    return clamped_window, clamped_shift


def window_partition(x: torch.Tensor, window: Size3) -> torch.Tensor:
    """(B, D, H, W, C) → (B * num_windows, wd * wh * ww, C), windows in (d, h, w) raster order."""
    b, d, h, w, c = x.shape
    wd, wh, ww = window
    x = x.view(b, d // wd, wd, h // wh, wh, w // ww, ww, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wd * wh * ww, c)


def window_reverse(windows: torch.Tensor, window: Size3, batch: int, size: Size3) -> torch.Tensor:
    """Inverse of `window_partition`: (B * num_windows, N, C) → (B, D, H, W, C)."""
    d, h, w = size
    wd, wh, ww = window
    x = windows.view(batch, d // wd, h // wh, w // ww, wd, wh, ww, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(batch, d, h, w, -1)


def relative_position_index(window: Size3) -> torch.Tensor:
    """(N, N) index into a (2wd-1)(2wh-1)(2ww-1)-row table of the offset `pos_i - pos_j`."""
    coords = torch.stack(torch.meshgrid(*(torch.arange(n) for n in window), indexing="ij")).flatten(1)
    offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # N, N, 3
    offsets = offsets + torch.tensor(window) - 1  # each offset now in [0, 2w - 2]
    wd, wh, ww = window
    return offsets[..., 0] * (2 * wh - 1) * (2 * ww - 1) + offsets[..., 1] * (2 * ww - 1) + offsets[..., 2]


def _shift_regions(size: int, window: int, shift: int) -> torch.Tensor:
    """Region label of each position along one rolled axis: 0 for untouched windows, and, in the
    last window, 1 for tokens that stayed and 2 for tokens that wrapped around from the start."""
    labels = torch.zeros(size, dtype=torch.long)
    if shift > 0:
        labels[size - window :] = 1
        labels[size - shift :] = 2
    return labels


def _cached_constant(build):
    """`lru_cache` for constant tensors, always built as normal tensors: one first asked for while
    scoring (under `torch.inference_mode`) would otherwise be an inference tensor, which autograd
    refuses, and training in the same process would fail."""

    @functools.lru_cache(maxsize=64)
    @functools.wraps(build)
    def cached(*args):
        with torch.inference_mode(False):
            return build(*args)

    return cached


@_cached_constant
def shifted_window_mask(
    padded_size: Size3, window: Size3, shift: Size3, device: torch.device
) -> torch.Tensor:
    """(num_windows, N, N) additive mask: 0 within a region, -100 across regions."""
    ld, lh, lw = (_shift_regions(n, w, s) for n, w, s in zip(padded_size, window, shift))
    labels = ld[:, None, None] * 9 + lh[None, :, None] * 3 + lw[None, None, :]
    label_windows = window_partition(labels[None, ..., None], window).squeeze(-1)  # nW, N
    differs = label_windows[:, :, None] != label_windows[:, None, :]
    return (differs.float() * SHIFT_MASK_VALUE).to(device)


@_cached_constant
def fragment_gate(padded_size: Size3, window: Size3, shift: Size3, device: torch.device) -> torch.Tensor:
    """(num_windows, N, N) L1 distance between the fragment coordinates of two tokens.

    The padded feature map is split into a (1, wh, ww) grid of fragments by nearest-neighbour
    resizing of the grid's (h, w) coordinates, the same cyclic shift as the tokens is applied,
    and within each window the gate is |Δh_frag| + |Δw_frag|. It is 0 inside a fragment and
    grows with the distance between fragments (up to 6 in stage 3 of a 224x224 clip, 12 across
    a shifted window's wrap-around): not a 0/1 indicator, but FAST-VQA was trained with it.
    The temporal grid has a single fragment, so time never contributes.
    """
    grid = torch.stack(torch.meshgrid(torch.arange(window[1]), torch.arange(window[2]), indexing="ij"))
    # F.interpolate's "nearest" rounding, not integer arithmetic, decides the boundaries, as upstream.
    coords = F.interpolate(grid[None, :, None].float(), size=padded_size, mode="nearest")
    coords = coords.permute(0, 2, 3, 4, 1)  # 1, D, H, W, 2
    coords = torch.roll(coords, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
    frag_windows = window_partition(coords, window)  # nW, N, 2
    return (frag_windows[:, :, None] - frag_windows[:, None, :]).abs().sum(-1).to(device)


def local_contrast_map(clips: torch.Tensor, window: int = 5) -> torch.Tensor:
    """(B, 3, T, H, W) normalised clips → (B, 1, T, H, W): each frame's luma minus its local mean, over its
    local standard deviation plus one grey level (mean subtracted contrast normalised, MSCN; a box window
    where BRISQUE uses a Gaussian). Flat areas give exactly 0, so noise shows wherever it lands."""
    shape = (1, 3, 1, 1, 1)
    x = clips.float() * clips.new_tensor(IMAGENET_STD_255, dtype=torch.float32).view(shape)
    x = x + clips.new_tensor(IMAGENET_MEAN_255, dtype=torch.float32).view(shape)
    luma = (x * clips.new_tensor(LUMA_WEIGHTS, dtype=torch.float32).view(shape)).sum(1)  # (B, T, H, W)
    y = luma.flatten(0, 1).unsqueeze(1)
    local = functools.partial(F.avg_pool2d, kernel_size=window, stride=1, padding=window // 2,
                              count_include_pad=False)
    mean = local(y)
    spread = (local(y * y) - mean * mean).clamp_min(0).sqrt()
    mscn = (y - mean) / (spread + 1.0)
    return mscn.view(luma.shape).unsqueeze(1).to(clips.dtype)


# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------


class MotionEncoderPatchEmbed(nn.Module):
    """Non-overlapping (2, 4, 4) tubelets → tokens; the clip is zero-padded to a multiple first."""

    def __init__(self, config: MotionEncoderConfig):
        super().__init__()
        self.patch_size = tuple(config.patch_size)
        in_chans = config.in_chans + (1 if config.local_contrast else 0)
        self.proj = nn.Conv3d(
            in_chans, config.embed_dim, kernel_size=self.patch_size, stride=self.patch_size
        )
        self.norm = nn.LayerNorm(config.embed_dim, eps=config.layer_norm_eps) if config.patch_norm else nn.Identity()

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) → (B, T', H', W', embed_dim), channels last."""
        pad_t, pad_h, pad_w = ((-n) % p for n, p in zip(clips.shape[2:], self.patch_size))
        clips = F.pad(clips, (0, pad_w, 0, pad_h, 0, pad_t))
        return self.norm(self.proj(clips).permute(0, 2, 3, 4, 1))


class MotionEncoderMlp(nn.Module):
    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def authors_bf16_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                                  bias: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Window attention in bf16, step for step as the authors' Swin3D computes it (`WindowAttention3D` of
    their `swin_backbone.py`): the logits `(q·scale) @ kᵀ + bias` in bf16; the fp32 shift mask (shifted
    windows only) promotes them to fp32 before the softmax; the weights and the values are then cast to bf16
    for the product. A fused kernel keeps other intermediates, so its bf16 scores would drift from theirs."""
    logits = (q * scale) @ k.transpose(-2, -1) + bias
    if mask is not None:
        logits = logits + mask.float()
    return logits.softmax(-1).to(torch.bfloat16) @ v.to(torch.bfloat16)


class MotionEncoderWindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a fragment-gated relative position bias."""

    def __init__(self, dim: int, num_heads: int, window_size: Size3, qkv_bias: bool, frag_bias: bool):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.window_size = tuple(window_size)  # the base window: tables and index are sized for it
        table_rows = math.prod(2 * w - 1 for w in window_size)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table_rows, num_heads))
        if frag_bias:
            self.fragment_position_bias_table = nn.Parameter(torch.zeros(table_rows, num_heads))
        else:
            self.register_parameter("fragment_position_bias_table", None)
        # Derived from the window size, so our checkpoints leave it out (FAST-VQA's include it).
        self.register_buffer(
            "relative_position_index", relative_position_index(self.window_size), persistent=False
        )
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def position_bias(self, window: Size3, gate: torch.Tensor) -> torch.Tensor:
        """(num_windows or 1, heads, N, N) bias for a window no larger than the base one.

        A smaller window takes the top-left corner of the base index (as the authors do), so an
        offset keeps the table row it has in the base window.
        """
        d, h, w = window
        n = d * h * w
        index = self.relative_position_index.view(*self.window_size, *self.window_size)
        index = index[:d, :h, :w, :d, :h, :w].reshape(-1)
        bias = self.relative_position_bias_table[index].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if self.fragment_position_bias_table is None:
            return bias
        frag_bias = self.fragment_position_bias_table[index].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        gate = gate.unsqueeze(1).to(bias.dtype)  # nW, 1, N, N
        return bias * gate + frag_bias * (1 - gate)

    def forward(
        self, windows: torch.Tensor, window: Size3, gate: torch.Tensor, shift_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """windows: (B * nW, N, C); gate and shift_mask: (nW, N, N), the same for every clip."""
        batch_windows, n, c = windows.shape
        num_windows = gate.shape[0]
        batch = batch_windows // num_windows
        # Fold windows into the head axis so one (1, nW * heads, N, N) bias broadcasts over clips.
        folded = (1, num_windows * self.num_heads, n, n)
        bias = self.position_bias(window, gate).expand(num_windows, -1, -1, -1).reshape(folded)
        mask = None
        if shift_mask is not None:
            mask = shift_mask.unsqueeze(1).expand(-1, self.num_heads, -1, -1).reshape(folded)
        qkv = self.qkv(windows).view(batch, num_windows, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).flatten(2, 3).unbind(0)  # each B, nW * heads, N, hd
        if q.dtype == torch.bfloat16:
            out = authors_bf16_window_attention(q, k, v, self.scale, bias, mask)
        else:  # fp32 (or fp16) stays in its dtype: one fused kernel
            full = bias if mask is None else bias + mask
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=full.to(q.dtype), scale=self.scale)
        out = (
            out.view(batch, num_windows, self.num_heads, n, -1)
            .permute(0, 1, 3, 2, 4)
            .reshape(batch_windows, n, c)
        )
        return self.proj(out)


class MotionEncoderBlock(nn.Module):
    """Pre-norm (shifted) window attention + MLP, each with a residual connection."""

    def __init__(self, config: MotionEncoderConfig, dim: int, num_heads: int, frag_bias: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attn = MotionEncoderWindowAttention(
            dim, num_heads, config.window_size, config.qkv_bias, frag_bias
        )
        self.norm2 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.mlp = MotionEncoderMlp(dim, int(dim * config.mlp_ratio))

    def forward(self, hidden_states: torch.Tensor, window: Size3, shift: Size3) -> torch.Tensor:
        """hidden_states: (B, D, H, W, C); `window` and `shift` are already clamped to (D, H, W)."""
        batch, d, h, w, _ = hidden_states.shape
        x = self.norm1(hidden_states)
        # Pad to whole windows, roll, attend per window, then undo all three.
        pad_d, pad_h, pad_w = ((-n) % k for n, k in zip((d, h, w), window))
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h, 0, pad_d))
        padded_size = tuple(x.shape[1:4])
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
        gate = fragment_gate(padded_size, window, shift, x.device)
        shift_mask = shifted_window_mask(padded_size, window, shift, x.device) if shifted else None
        windows = self.attn(window_partition(x, window), window, gate, shift_mask)
        x = window_reverse(windows, window, batch, padded_size)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        hidden_states = hidden_states + x[:, :d, :h, :w]
        return hidden_states + self.mlp(self.norm2(hidden_states))


class MotionEncoderPatchMerging(nn.Module):
    """2x2 spatial downsampling: concatenate neighbours (4C), LayerNorm, project to 2C."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, 0, x.shape[3] % 2, 0, x.shape[2] % 2))
        # Concatenation order (h, w parity) = (0, 0), (1, 0), (0, 1), (1, 1), fixed by the weights.
        x = torch.cat(
            [x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1
        )
        return self.reduction(self.norm(x))


class MotionEncoderStage(nn.Module):
    """Blocks alternating plain and shifted windows, then (except in the last stage) merging."""

    def __init__(self, config: MotionEncoderConfig, index: int):
        super().__init__()
        dim = config.embed_dim * 2**index
        self.blocks = nn.ModuleList(
            MotionEncoderBlock(config, dim, config.num_heads[index], config.frag_biases[index])
            for _ in range(config.depths[index])
        )
        self.downsample = (
            MotionEncoderPatchMerging(dim, config.layer_norm_eps) if index < len(config.depths) - 1 else None
        )
        # Half the base window, even when the adaptive window is smaller (as upstream).
        self.shift_size = tuple(w // 2 for w in config.window_size)

    def forward(self, hidden_states: torch.Tensor, window: Size3) -> torch.Tensor:
        window, shift = clamp_window(tuple(hidden_states.shape[1:4]), window, self.shift_size)
        for i, block in enumerate(self.blocks):
            hidden_states = block(hidden_states, window, shift if i % 2 else (0, 0, 0))
        if self.downsample is not None:
            hidden_states = self.downsample(hidden_states)
        return hidden_states


class MotionEncoder(nn.Module):
    """FAST-VQA's fragment backbone; `forward` returns LOVE's pooled clip features.

    Parameter names match FAST-VQA's `fragments_backbone.*` after the prefix is stripped.
    """

    def __init__(self, config: MotionEncoderConfig | None = None):
        super().__init__()
        self.config = config or MotionEncoderConfig()
        self.patch_embed = MotionEncoderPatchEmbed(self.config)
        self.layers = nn.ModuleList(
            MotionEncoderStage(self.config, i) for i in range(len(self.config.depths))
        )
        self.norm = nn.LayerNorm(self.config.output_dim, eps=self.config.layer_norm_eps)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Swin's initialisation; only matters for tests, real use loads FAST-VQA weights. The
        # fragment table is drawn like the relative one (upstream zeroes it, then copies the
        # relative table into it when starting from Kinetics weights).
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, MotionEncoderWindowAttention):
            nn.init.trunc_normal_(module.relative_position_bias_table, std=0.02)
            if module.fragment_position_bias_table is not None:
                nn.init.trunc_normal_(module.fragment_position_bias_table, std=0.02)

    def forward_features(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) normalised clips → (B, output_dim, T', H', W') final feature map."""
        window = adaptive_window_size(
            self.config.window_size, tuple(clips.shape[2:]), self.config.base_input_size
        )
        if self.config.local_contrast:
            clips = torch.cat([clips, local_contrast_map(clips)], dim=1)
        hidden_states = self.patch_embed(clips)
        for stage in self.layers:
            hidden_states = stage(hidden_states, window)
        return self.norm(hidden_states).permute(0, 4, 1, 2, 3)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) → (B, output_dim): features averaged over time and space, as LOVE's
        `DiViDeAddEvaluator` returns them."""
        return self.forward_features(clips).mean(dim=(-3, -2, -1))


def load_fastvqa_state_dict(
    encoder: MotionEncoder, state_dict: Mapping[str, torch.Tensor], prefix: str = "fragments_backbone."
) -> list[str]:
    """Load FAST-VQA/LOVE weights (`torch.load("temporal.pth")["state_dict"]`) into `encoder`.

    Keys under `prefix` must match the encoder exactly: any missing, unexpected or mis-shaped one
    raises ValueError (upstream loads with strict=False and would silently keep random weights).
    Their `relative_position_index` buffers are checked against ours and dropped. Keys outside
    `prefix` (e.g. the quality head `vqa_head.*`) are not loaded and are returned.
    """
    backbone = {key[len(prefix) :]: value for key, value in state_dict.items() if key.startswith(prefix)}
    ignored = [key for key in state_dict if not key.startswith(prefix)]

    buffers = dict(encoder.named_buffers())
    for key in [k for k in backbone if k.endswith("relative_position_index") and k in buffers]:
        if not torch.equal(backbone.pop(key).to(buffers[key].device), buffers[key]):
            raise ValueError(
                f"{prefix}{key} differs from this encoder's: the checkpoint uses another window size"
            )

    expected = encoder.state_dict()
    missing = sorted(expected.keys() - backbone.keys())
    unexpected = sorted(backbone.keys() - expected.keys())
    if missing or unexpected:
        raise ValueError(
            f"state dict does not match the motion encoder (prefix {prefix!r}): "
            f"missing {missing or 'none'}; unexpected {unexpected or 'none'}"
        )
    mis_shaped = [
        f"{key}: {tuple(value.shape)} vs {tuple(expected[key].shape)}"
        for key, value in backbone.items()
        if value.shape != expected[key].shape
    ]
    if mis_shaped:
        raise ValueError(f"state dict tensors have the wrong shape: {mis_shaped}")
    encoder.load_state_dict(backbone, strict=True)
    return ignored
