"""The FAST-VQA motion encoder: shapes, weight loading under upstream names, and the window
geometry (fragment gate, shift mask, attention bias) against plain re-computations."""

import itertools
import json
import math

import pytest
import torch

from love_plugins.modeling.motion_encoder import (
    MotionEncoder,
    MotionEncoderBlock,
    MotionEncoderConfig,
    adaptive_window_size,
    clamp_window,
    fragment_gate,
    load_fastvqa_state_dict,
    local_contrast_map,
    shifted_window_mask,
)

CPU = torch.device("cpu")


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """These tensors are tiny: thread hand-offs cost more than they save (10x on a busy 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_encoder(seed: int = 0) -> MotionEncoder:
    torch.manual_seed(seed)
    encoder = MotionEncoder(MotionEncoderConfig.tiny()).eval()
    # Large position tables, so that a wrong gate, index or mask changes the output visibly.
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            if name.endswith("bias_table"):
                param.normal_(0.0, 1.0)
    return encoder


@pytest.fixture(scope="module")
def default_encoder() -> MotionEncoder:
    torch.manual_seed(0)
    return MotionEncoder().eval()


def fastvqa_state_dict(encoder: MotionEncoder) -> dict[str, torch.Tensor]:
    """What `temporal.pth` holds: prefixed backbone tensors, index buffers included, plus a head."""
    state = dict(encoder.state_dict())
    state.update(dict(encoder.named_buffers()))
    state = {f"fragments_backbone.{key}": value.clone() for key, value in state.items()}
    state["vqa_head.fc.weight"] = torch.zeros(1, 768)
    return state


# ---------------------------------------------------------------------------------- config


def test_config_round_trips_through_json():
    config = MotionEncoderConfig.tiny()
    assert MotionEncoderConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert MotionEncoderConfig().output_dim == 768
    assert config.output_dim == 64


def test_patch_norm_is_optional_and_defaults_to_upstream():
    legacy = {k: v for k, v in MotionEncoderConfig.tiny().to_dict().items() if k != "patch_norm"}
    assert MotionEncoderConfig.from_dict(legacy).patch_norm  # configs written before the option
    torch.manual_seed(0)
    plain = MotionEncoder(MotionEncoderConfig(**{**legacy, "patch_norm": False})).eval()
    assert not any(key.startswith("patch_embed.norm") for key in plain.state_dict())
    normed = MotionEncoder(MotionEncoderConfig.tiny()).eval()
    clips = 50 * torch.randn(1, 3, 8, 32, 32)  # large enough for the LayerNorm's eps not to matter
    with torch.no_grad():
        for encoder in (plain, normed):
            encoder.patch_embed.proj.bias.zero_()
        # what the option is for: with the LayerNorm, a tubelet's energy (e.g. noise strength) is gone
        assert torch.allclose(normed.patch_embed(3 * clips), normed.patch_embed(clips), atol=1e-4)
        assert torch.allclose(plain.patch_embed(3 * clips), 3 * plain.patch_embed(clips), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unexpected.*patch_embed.norm"):
        load_fastvqa_state_dict(plain, fastvqa_state_dict(normed))


def normalised(grey_levels: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W) grey levels → (B, 3, T, H, W) grey RGB clips, ImageNet-normalised on 0-255."""
    from love_plugins.video import normalize_fragments

    rgb = grey_levels.unsqueeze(-1).expand(*grey_levels.shape, 3).unsqueeze(1)  # (B, 1, T, H, W, 3)
    return normalize_fragments(rgb)[:, 0]


def test_local_contrast_map_is_zero_on_flat_areas_and_shows_noise_beside_edges():
    torch.manual_seed(0)
    grey = torch.full((1, 2, 32, 32), 100.0)
    grey[..., 16:] = 220.0  # one strong edge
    clean = local_contrast_map(normalised(grey))
    assert clean.shape == (1, 1, 2, 32, 32)
    assert clean[..., :, :13].abs().max() < 1e-3 and clean[..., :, 19:].abs().max() < 1e-3  # flat: exactly 0
    assert clean[..., 14:18].abs().max() > 0.5  # the edge
    noisy = local_contrast_map(normalised(grey + 3 * torch.randn_like(grey)))
    # noise of 3 grey levels is as visible in the map as the 120-level edge is (about 1 either way)
    assert noisy[..., :, :13].std() > 0.5
    assert noisy.abs().max() < 3.0


def test_local_contrast_channel_is_optional_and_adds_only_the_map():
    tiny = MotionEncoderConfig.tiny()
    assert not tiny.local_contrast  # FAST-VQA's and LOVE's encoder
    legacy = {k: v for k, v in tiny.to_dict().items() if k != "local_contrast"}
    assert MotionEncoderConfig.from_dict(legacy) == tiny  # configs written before the option
    clips = torch.randn(2, 3, 8, 32, 32)
    torch.manual_seed(0)
    encoder = MotionEncoder(MotionEncoderConfig(**{**legacy, "local_contrast": True})).eval()
    assert encoder.patch_embed.proj.weight.shape[1] == 4  # RGB + the map
    rgb_only = MotionEncoder(tiny).eval()
    rgb_only.load_state_dict({k: (v[:, :3] if k == "patch_embed.proj.weight" else v)
                              for k, v in encoder.state_dict().items()})
    with torch.no_grad():
        with_map = encoder(clips)
        assert with_map.shape == (2, tiny.output_dim)
        assert not torch.allclose(with_map, rgb_only(clips), atol=1e-4)  # the map is read
        encoder.patch_embed.proj.weight[:, 3:] = 0  # and it is all that differs
        assert torch.allclose(encoder(clips), rgb_only(clips), atol=1e-6)


def test_config_rejects_inconsistent_stages():
    with pytest.raises(ValueError, match="one entry per stage"):
        MotionEncoderConfig(depths=(2, 2))
    with pytest.raises(ValueError, match="divisible"):
        MotionEncoderConfig(num_heads=(5, 6, 12, 24))


def test_default_parameter_count_is_swin_t_plus_fragment_tables(default_encoder):
    total = sum(p.numel() for p in default_encoder.parameters())
    fragment = sum(p.numel() for n, p in default_encoder.named_parameters() if "fragment_position" in n)
    # (2*8-1)(2*7-1)(2*7-1) = 2535 table rows, one column per head of the first three stages' blocks.
    assert fragment == 2535 * (2 * 3 + 2 * 6 + 6 * 12)
    assert total - fragment == 27_850_470  # Video Swin-T backbone
    assert total == 28_078_620
    assert sum(p.numel() for p in MotionEncoder(MotionEncoderConfig.tiny()).parameters()) == 146_556


# ---------------------------------------------------------------------------------- forward


@pytest.mark.parametrize(
    "clip_size, feature_size",
    [((8, 32, 32), (4, 1, 1)), ((9, 34, 36), (5, 2, 2)), ((6, 32, 20), (3, 1, 1))],
)
def test_tiny_shapes(clip_size, feature_size):
    encoder = tiny_encoder()
    clips = torch.randn(2, 3, *clip_size)
    with torch.no_grad():
        assert encoder.forward_features(clips).shape == (2, 64, *feature_size)
        assert encoder(clips).shape == (2, 64)


def test_default_config_at_reduced_input(default_encoder):
    clips = torch.randn(1, 3, 8, 64, 64)
    with torch.no_grad():
        features = default_encoder.forward_features(clips)
        pooled = default_encoder(clips)
    assert features.shape == (1, 768, 4, 2, 2)
    torch.testing.assert_close(pooled, features.mean(dim=(2, 3, 4)))


def test_deterministic_and_repeatable():
    clips = torch.randn(2, 3, 9, 34, 36)
    with torch.no_grad():
        first, second = tiny_encoder(seed=1)(clips), tiny_encoder(seed=1)(clips)
        encoder = tiny_encoder(seed=1)
        assert torch.equal(first, second)
        assert torch.equal(encoder(clips), encoder(clips))
        # Clips are independent of each other in a batch.
        torch.testing.assert_close(encoder(clips[1:]), first[1:], rtol=1e-5, atol=1e-5)


def test_bfloat16_input_gives_bfloat16_features():
    encoder = tiny_encoder().to(torch.bfloat16)
    with torch.no_grad():
        out = encoder(torch.randn(1, 3, 8, 32, 32, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_geometry_is_cached_across_calls():
    encoder = tiny_encoder()
    clips = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        encoder(clips)
        hits = fragment_gate.cache_info().hits
        encoder(clips)
    assert fragment_gate.cache_info().hits - hits == sum(MotionEncoderConfig.tiny().depths)


def test_geometry_cached_while_scoring_still_trains():
    """Scoring (inference mode) first, then training in the same process: the cached masks must
    not be inference tensors, which autograd refuses."""
    fragment_gate.cache_clear()
    shifted_window_mask.cache_clear()
    encoder = tiny_encoder()
    clips = torch.randn(1, 3, 8, 32, 32)
    with torch.inference_mode():
        encoder(clips)
    encoder.requires_grad_(True)
    encoder(clips).square().sum().backward()
    assert encoder.patch_embed.proj.weight.grad is not None


# ---------------------------------------------------------------------------------- weights


def test_our_checkpoints_have_no_index_buffers():
    encoder = tiny_encoder()
    assert not any("relative_position_index" in key for key in encoder.state_dict())
    fresh = MotionEncoder(MotionEncoderConfig.tiny())
    fresh.load_state_dict(encoder.state_dict(), strict=True)


def test_fastvqa_state_dict_round_trip():
    source, target = tiny_encoder(seed=1), tiny_encoder(seed=2).eval()
    assert "fragments_backbone.layers.0.blocks.0.attn.relative_position_index" in fastvqa_state_dict(source)
    ignored = load_fastvqa_state_dict(target, fastvqa_state_dict(source))
    assert ignored == ["vqa_head.fc.weight"]
    clips = torch.randn(2, 3, 9, 34, 36)
    with torch.no_grad():
        assert torch.equal(source(clips), target(clips))


def test_fastvqa_names_match_upstream_layout():
    keys = set(MotionEncoder(MotionEncoderConfig.tiny()).state_dict())
    for key in [
        "patch_embed.proj.weight",
        "patch_embed.norm.bias",
        "layers.0.blocks.1.norm1.weight",
        "layers.0.blocks.1.attn.qkv.bias",
        "layers.0.blocks.1.attn.proj.weight",
        "layers.2.blocks.0.attn.fragment_position_bias_table",
        "layers.3.blocks.0.attn.relative_position_bias_table",
        "layers.1.blocks.0.mlp.fc2.weight",
        "layers.2.downsample.reduction.weight",
        "layers.2.downsample.norm.weight",
        "norm.weight",
    ]:
        assert key in keys
    assert "layers.3.blocks.0.attn.fragment_position_bias_table" not in keys
    assert "layers.3.downsample.reduction.weight" not in keys
    assert "layers.0.downsample.reduction.bias" not in keys


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda s: s.pop("fragments_backbone.layers.1.blocks.0.mlp.fc1.weight"),
            "missing.*layers.1.blocks.0.mlp.fc1",
        ),
        (
            lambda s: s.update(
                {"fragments_backbone.layers.3.blocks.0.attn.fragment_position_bias_table": torch.zeros(1)}
            ),
            "unexpected.*layers.3.blocks.0.attn.fragment_position_bias_table",
        ),
        (lambda s: s.update({"fragments_backbone.norm.weight": torch.ones(3)}), "wrong shape.*norm.weight"),
        (
            lambda s: s["fragments_backbone.layers.0.blocks.0.attn.relative_position_index"].add_(1),
            "relative_position_index differs",
        ),
    ],
    ids=["missing", "unexpected", "shape", "index"],
)
def test_fastvqa_state_dict_mismatch_raises(edit, message):
    state = fastvqa_state_dict(tiny_encoder())
    edit(state)
    with pytest.raises(ValueError, match=message):
        load_fastvqa_state_dict(MotionEncoder(MotionEncoderConfig.tiny()), state)


def test_fastvqa_state_dict_without_prefix_raises():
    state = {k.removeprefix("fragments_backbone."): v for k, v in fastvqa_state_dict(tiny_encoder()).items()}
    with pytest.raises(ValueError, match="missing"):
        load_fastvqa_state_dict(MotionEncoder(MotionEncoderConfig.tiny()), state)


# ---------------------------------------------------------------------------------- geometry


def test_adaptive_window_and_clamping():
    assert adaptive_window_size((8, 7, 7), (32, 224, 224), (32, 224, 224)) == (8, 7, 7)
    assert adaptive_window_size((8, 7, 7), (16, 128, 96), (32, 224, 224)) == (4, 4, 3)
    with pytest.raises(ValueError, match="window"):
        adaptive_window_size((8, 7, 7), (64, 224, 224), (32, 224, 224))
    with pytest.raises(ValueError, match="window"):
        adaptive_window_size((8, 7, 7), (32, 16, 224), (32, 224, 224))
    # A dimension the window covers entirely shrinks the window there and is not shifted.
    assert clamp_window((16, 7, 5), (8, 7, 7), (4, 3, 3)) == ((8, 7, 5), (4, 0, 0))


def test_fragment_gate_hand_checked():
    # One row of 3 tokens, a 3-fragment grid: each token its own fragment, so the far pair gets 2.
    gate = fragment_gate((1, 1, 3), (1, 1, 3), (0, 0, 0), CPU)
    assert gate.tolist() == [[[0, 1, 2], [1, 0, 1], [2, 1, 0]]]
    # Six tokens, fragments of two ([0, 0, 1, 1, 2, 2]), windows of three.
    gate = fragment_gate((1, 1, 6), (1, 1, 3), (0, 0, 0), CPU)
    assert gate.tolist() == [[[0, 0, 1], [0, 0, 1], [1, 1, 0]], [[0, 1, 1], [1, 0, 0], [1, 0, 0]]]
    # 4x4 tokens, 2x2 fragments of 2x2, 2x2 windows shifted by one: every window straddles a
    # fragment corner, so the diagonal pairs differ in both h and w.
    gate = fragment_gate((1, 4, 4), (1, 2, 2), (0, 1, 1), CPU)
    corner = [[0, 1, 1, 2], [1, 0, 2, 1], [1, 2, 0, 1], [2, 1, 1, 0]]
    assert gate.tolist() == [corner] * 4


def test_shift_mask_hand_checked():
    # Four tokens in a row, windows of two, shift one: token 3 wrapped around from the start.
    mask = shifted_window_mask((1, 1, 4), (1, 1, 2), (0, 0, 1), CPU)
    assert mask.tolist() == [[[0, 0], [0, 0]], [[0, -100], [-100, 0]]]


def wrapped(position, padded_size, shift):
    """Which axes of a rolled position came around from the far side."""
    return tuple(s > 0 and p >= n - s for p, n, s in zip(position, padded_size, shift))


@pytest.mark.parametrize(
    "padded_size, window, shift",
    [((4, 6, 6), (2, 3, 3), (1, 1, 1)), ((4, 6, 8), (2, 2, 4), (1, 0, 2)), ((4, 6, 8), (4, 2, 2), (2, 1, 0))],
)
def test_shift_mask_blocks_exactly_the_wrapped_pairs(padded_size, window, shift):
    mask = shifted_window_mask(padded_size, window, shift, CPU)
    origins = itertools.product(*(range(0, n, w) for n, w in zip(padded_size, window)))
    offsets = list(itertools.product(*(range(w) for w in window)))
    for w, origin in enumerate(origins):
        positions = [tuple(o + d for o, d in zip(origin, off)) for off in offsets]
        for i, j in itertools.product(range(len(positions)), repeat=2):
            blocked = wrapped(positions[i], padded_size, shift) != wrapped(positions[j], padded_size, shift)
            assert mask[w, i, j].item() == (-100.0 if blocked else 0.0)
    assert (mask != 0).any()


# ---------------------------------------------------------------------------------- naive block


def naive_block(block, x, window, shift, base_window):
    """One Swin block written plainly: per window, per head, per token pair bias lookup."""
    attn = block.attn
    batch, *size, channels = x.shape
    heads = attn.num_heads
    head_dim = channels // heads
    padded_size = [math.ceil(n / w) * w for n, w in zip(size, window)]
    normed = torch.zeros(batch, *padded_size, channels)
    normed[:, : size[0], : size[1], : size[2]] = block.norm1(x)
    out = torch.zeros_like(normed)
    offsets = list(itertools.product(*(range(w) for w in window)))
    n = len(offsets)
    relative_table = attn.relative_position_bias_table.tolist()
    fragment_table = (
        None if attn.fragment_position_bias_table is None else attn.fragment_position_bias_table.tolist()
    )

    def table_row(a, b):
        wd, wh, ww = base_window
        dd, dh, dw = (a[k] - b[k] + base_window[k] - 1 for k in range(3))
        return dd * (2 * wh - 1) * (2 * ww - 1) + dh * (2 * ww - 1) + dw

    def fragment(q):  # a (1, wh, ww) grid stretched over the padded map; exact for these sizes
        return (q[1] * window[1] // padded_size[1], q[2] * window[2] // padded_size[2])

    for b in range(batch):
        for origin in itertools.product(*(range(0, p, w) for p, w in zip(padded_size, window))):
            rolled = [tuple(o + d for o, d in zip(origin, off)) for off in offsets]
            source = [tuple((p + s) % m for p, s, m in zip(pos, shift, padded_size)) for pos in rolled]
            tokens = torch.stack([normed[(b, *q)] for q in source])
            q, k, v = attn.qkv(tokens).view(n, 3, heads, head_dim).unbind(1)
            head_outputs = []
            for h in range(heads):
                bias = [[0.0] * n for _ in range(n)]
                for i, j in itertools.product(range(n), repeat=2):
                    row = table_row(offsets[i], offsets[j])
                    value = relative_table[row][h]
                    if fragment_table is not None:
                        gate = sum(abs(fi - fj) for fi, fj in zip(fragment(source[i]), fragment(source[j])))
                        value = value * gate + fragment_table[row][h] * (1 - gate)
                    if wrapped(rolled[i], padded_size, shift) != wrapped(rolled[j], padded_size, shift):
                        value = value - 100.0
                    bias[i][j] = value
                scores = q[:, h] @ k[:, h].T * head_dim**-0.5 + torch.tensor(bias)
                head_outputs.append(scores.softmax(-1) @ v[:, h])
            projected = attn.proj(torch.cat(head_outputs, -1))
            for idx, q_pos in enumerate(source):
                out[(b, *q_pos)] = projected[idx]
    x = x + out[:, : size[0], : size[1], : size[2]]
    return x + block.mlp(block.norm2(x))


@pytest.mark.parametrize(
    "shift, frag_bias",
    [((0, 0, 0), True), ((1, 1, 1), True), ((1, 2, 0), True), ((1, 1, 1), False)],
    ids=["plain-frag", "shifted-frag", "partly-shifted-frag", "shifted-nofrag"],
)
def test_block_matches_naive_window_attention(shift, frag_bias):
    # Base window (4, 4, 4) resized to (2, 3, 3): exercises the sliced index; 3x5x6 tokens pad to 4x6x6.
    base_window, window = (4, 4, 4), (2, 3, 3)
    config = MotionEncoderConfig(
        embed_dim=8, depths=(1,), num_heads=(2,), frag_biases=(frag_bias,), window_size=base_window
    )
    torch.manual_seed(0)
    block = MotionEncoderBlock(config, dim=8, num_heads=2, frag_bias=frag_bias).eval()
    with torch.no_grad():
        for name, param in block.named_parameters():
            param.normal_(0.0, 1.0 if name.endswith("bias_table") else 0.3)
        x = torch.randn(2, 3, 5, 6, 8)
        torch.testing.assert_close(block(x, window, shift), naive_block(block, x, window, shift, base_window))


def authors_window_attention(attn, windows, window, gate, shift_mask, dtype, cast=True):
    """`WindowAttention3D.forward` of the authors' swin_backbone.py, in their order of operations: logits in the
    model dtype plus the (model-dtype) position bias, plus the fp32 shift mask, softmax, then the weights and
    the values cast to bf16 for the product (unconditionally: in fp32 the product is then bf16 too)."""
    b_, n, c = windows.shape
    heads = attn.num_heads
    qkv = attn.qkv(windows).reshape(b_, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    logits = (q * attn.scale) @ k.transpose(-2, -1)
    nw = gate.shape[0]
    logits = (logits.view(b_ // nw, nw, heads, n, n) + attn.position_bias(window, gate).to(dtype)).view(-1, heads, n, n)
    if shift_mask is not None:
        logits = (logits.view(b_ // nw, nw, heads, n, n) + shift_mask.unsqueeze(1).unsqueeze(0)).view(-1, heads, n, n)
    product = torch.bfloat16 if cast else dtype
    out = logits.softmax(-1).to(product) @ v.to(product)
    return attn.proj(out.transpose(1, 2).reshape(b_, n, c).to(dtype))


@pytest.mark.parametrize("shifted", [False, True], ids=["plain", "shifted"])
def test_bf16_window_attention_computes_as_the_authors_do(shifted):
    """In bf16 the product of the attention weights and the values is computed as the authors' Swin3D computes
    it (bit for bit here); in fp32 it stays fp32 (the authors' unconditional bf16 cast is not followed)."""
    encoder = tiny_encoder(seed=1)
    attn = encoder.layers[1].blocks[1].attn  # two heads
    padded, window, shift = (4, 4, 4), (2, 2, 2), ((1, 1, 1) if shifted else (0, 0, 0))
    gate = fragment_gate(padded, window, shift, CPU)
    mask = shifted_window_mask(padded, window, shift, CPU) if shifted else None
    torch.manual_seed(0)
    windows = torch.randn(2 * gate.shape[0], math.prod(window), attn.qkv.in_features)
    with torch.no_grad():
        ours32 = attn(windows, window, gate, mask)
        theirs_with_cast = authors_window_attention(attn, windows, window, gate, mask, torch.float32)
        exact = authors_window_attention(attn, windows, window, gate, mask, torch.float32, cast=False)
        bf16 = attn.to(torch.bfloat16)
        ours16 = bf16(windows.bfloat16(), window, gate, mask)
        theirs16 = authors_window_attention(bf16, windows.bfloat16(), window, gate, mask, torch.bfloat16)
        attn.float()
    assert ours16.dtype == torch.bfloat16
    torch.testing.assert_close(ours16, theirs16, atol=0, rtol=0)
    # fp32 stays fp32: the exact product, not the bf16-cast one.
    assert ours32.dtype == torch.float32
    scale = exact.abs().max()
    assert (ours32 - exact).abs().max() < 1e-5 * scale
    assert (ours32 - theirs_with_cast).abs().max() > 1e-3 * scale
