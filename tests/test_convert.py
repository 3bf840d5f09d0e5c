"""`love-eval convert`: released-checkpoint layout (authors' names, packed qkv/wqkv, peft LoRA, merged
LoRA, pickled temporal.pth) → our bundle, checked by outputs, plus the loud failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from love_plugins.convert import convert
from love_plugins.convert.lowrank import LowRankError, factorize_delta
from love_plugins.convert.mapping import split_rows
from love_plugins.errors import CheckpointError, LoveError
from love_plugins.modeling import LoveModel, LoveProcessor, TextRequest
from love_plugins.modeling.tiny import build_tiny_model
from love_plugins.video import normalize_fragments, normalize_frames

TASKS = ("perception", "correspondence", "qa")
SCALING = 2.0  # the authors' lora_alpha = 2r


# -- the source model: a tiny LoveModel whose packed-LoRA structure the authors' layout can hold ------------
@pytest.fixture(scope="module")
def source():
    model, tokenizer = build_tiny_model(seed=3)
    with torch.no_grad():  # a LoRA on packed qkv shares A across q, k, v: make ours the same
        for name, module in model.named_modules():
            if name.endswith(("attention.q_proj", "self_attn.q_proj")):
                parent = model.get_submodule(name.rpartition(".")[0])
                for task in TASKS:
                    a = module.lora_A[task].weight
                    parent.k_proj.lora_A[task].weight.copy_(a)
                    parent.v_proj.lora_A[task].weight.copy_(a)
    return model, tokenizer


def _pack_gqa(q, k, v, heads, kv_heads):
    """InternLM2's wqkv row order: per KV head, [its query heads…, key, value]."""
    groups = heads // kv_heads
    tail = q.shape[1:]
    q4 = q.reshape(kv_heads, groups, -1, *tail)
    k4 = k.reshape(kv_heads, 1, -1, *tail)
    v4 = v.reshape(kv_heads, 1, -1, *tail)
    return torch.cat([q4, k4, v4], dim=1).reshape(-1, *tail)


def authors_state(model: LoveModel, task: str, *, merged: bool, evaluator: bool = True,
                  base_only: bool = False) -> dict[str, torch.Tensor]:
    """The model's weights for one task as the authors' InternVLChatModel would save them."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    cfg = model.config
    heads, kv = cfg.text_config["num_attention_heads"], cfg.text_config["num_key_value_heads"]
    plain = merged or base_only
    vp = "vision_model." if plain else "vision_model.base_model.model."
    lp = "language_model." if plain else "language_model.base_model.model."
    out: dict[str, torch.Tensor] = {}

    def lora(name: str, ours: list[str], pack, bias: bool):
        w = pack([sd[f"{o}.base_layer.weight"] for o in ours])
        b = pack([sd[f"{o}.lora_B.{task}.weight"] for o in ours])
        a = sd[f"{ours[0]}.lora_A.{task}.weight"]
        if base_only:
            out[f"{name}.weight"] = w
        elif merged:
            out[f"{name}.weight"] = w + SCALING * b @ a
        else:
            out[f"{name}.base_layer.weight"] = w
            out[f"{name}.lora_A.default.weight"] = a
            out[f"{name}.lora_B.default.weight"] = b
        if bias:
            out[f"{name}.{'bias' if plain else 'base_layer.bias'}"] = pack([sd[f"{o}.base_layer.bias"] for o in ours])

    def cat(parts):
        return torch.cat(parts)

    def one(parts):
        return parts[0]

    vt = "vision_tower."
    out[vp + "embeddings.class_embedding"] = sd[vt + "embeddings.cls_token"]
    out[vp + "embeddings.position_embedding"] = sd[vt + "embeddings.position_embeddings"]
    for leaf in ("weight", "bias"):
        out[vp + f"embeddings.patch_embedding.{leaf}"] = sd[vt + f"embeddings.patch_embeddings.projection.{leaf}"]
    for i in range(cfg.vision_config["num_hidden_layers"]):
        o, a = f"{vt}encoder.layer.{i}.", f"{vp}encoder.layers.{i}."
        lora(a + "attn.qkv", [o + "attention.q_proj", o + "attention.k_proj", o + "attention.v_proj"], cat, True)
        lora(a + "attn.proj", [o + "attention.projection_layer"], one, True)
        lora(a + "mlp.fc1", [o + "mlp.fc1"], one, True)
        lora(a + "mlp.fc2", [o + "mlp.fc2"], one, True)
        for leaf in ("weight", "bias"):
            out[a + f"norm1.{leaf}"] = sd[o + f"layernorm_before.{leaf}"]
            out[a + f"norm2.{leaf}"] = sd[o + f"layernorm_after.{leaf}"]
        out[a + "ls1"] = sd[o + "lambda_1"]
        out[a + "ls2"] = sd[o + "lambda_2"]
    lm = "language_model."
    out[lp + "model.tok_embeddings.weight"] = sd[lm + "model.embed_tokens.weight"]
    out[lp + "model.norm.weight"] = sd[lm + "model.norm.weight"]
    out[lp + "output.weight"] = sd[lm + "lm_head.weight"]
    for i in range(cfg.text_config["num_hidden_layers"]):
        o, a = f"{lm}model.layers.{i}.", f"{lp}model.layers.{i}."
        lora(a + "attention.wqkv", [o + "self_attn.q_proj", o + "self_attn.k_proj", o + "self_attn.v_proj"],
             lambda p: _pack_gqa(*p, heads, kv), False)
        lora(a + "attention.wo", [o + "self_attn.o_proj"], one, False)
        lora(a + "feed_forward.w1", [o + "mlp.gate_proj"], one, False)
        lora(a + "feed_forward.w3", [o + "mlp.up_proj"], one, False)
        lora(a + "feed_forward.w2", [o + "mlp.down_proj"], one, False)
        out[a + "attention_norm.weight"] = sd[o + "input_layernorm.weight"]
        out[a + "ffn_norm.weight"] = sd[o + "post_attention_layernorm.weight"]
    seq = {"layer_norm": 0, "linear_1": 1, "linear_2": 3}
    for part, index in seq.items():
        for leaf in ("weight", "bias"):
            out[f"mlp1.{index}.{leaf}"] = sd[f"projectors.{task}.{part}.{leaf}"]
            if not base_only:
                out[f"fast_mlp.{index}.{leaf}"] = sd[f"motion_projectors.{task}.{part}.{leaf}"]
    if base_only:
        return out
    dims = (cfg.text_config["hidden_size"], *cfg.score_head_dims, 1)
    for j in range(5):
        for leaf in ("weight", "bias"):
            key = f"score_heads.{task}.layers.{j}.{leaf}"
            shape = (dims[j + 1], dims[j]) if leaf == "weight" else (dims[j + 1],)
            out[f"mlpscore.fc{j + 1}.{leaf}"] = sd[key] if key in sd else torch.rand(shape)  # QA: untrained head
    if evaluator:
        out.update({f"evaluator.fragments_backbone.{k}": v for k, v in fastvqa_state(model).items()})
    return out


def fastvqa_state(model: LoveModel) -> dict[str, torch.Tensor]:
    enc = model.motion_encoder
    state = {k: v.detach().clone() for k, v in enc.state_dict().items()}
    state.update({k: v.clone() for k, v in enc.named_buffers()})  # FAST-VQA saves its index buffers too
    return state


def authors_config(model: LoveModel) -> dict:
    cfg, vis = model.config, model.vision_tower.config
    text = cfg.text_config
    return {
        "architectures": ["InternVLChatModel"],
        "vision_config": {"hidden_size": vis.hidden_size, "num_hidden_layers": vis.num_hidden_layers,
                          "num_attention_heads": vis.num_attention_heads, "intermediate_size": vis.intermediate_size,
                          "image_size": cfg.vision_config["image_size"], "patch_size": cfg.vision_config["patch_size"],
                          "qkv_bias": True, "norm_type": "layer_norm", "layer_norm_eps": vis.layer_norm_eps,
                          "hidden_act": vis.hidden_act, "initializer_factor": 0.1, "qk_normalization": False},
        "llm_config": {"architectures": ["InternLM2ForCausalLM"], "vocab_size": text["vocab_size"],
                       "hidden_size": text["hidden_size"], "intermediate_size": text["intermediate_size"],
                       "num_hidden_layers": text["num_hidden_layers"], "num_attention_heads": text["num_attention_heads"],
                       "num_key_value_heads": text["num_key_value_heads"], "rms_norm_eps": text["rms_norm_eps"],
                       "rope_theta": 10000.0, "rope_scaling": None, "bias": False,
                       "max_position_embeddings": text["max_position_embeddings"], "tie_word_embeddings": False},
        "downsample_ratio": 0.5, "ps_version": "v2", "select_layer": -1, "template": "internlm2-chat",
        "use_backbone_lora": cfg.lora_r, "use_llm_lora": cfg.lora_r,
    }


def write_release(root: Path, model, tokenizer, *, merged: bool, evaluator: bool = True, tasks=TASKS) -> dict:
    """Three per-task checkpoint folders + temporal.pth (+ the base, for merged LoRA)."""
    paths = {}
    for task in tasks:
        folder = root / f"LOVE-{task}"
        folder.mkdir(parents=True)
        save_file(authors_state(model, task, merged=merged, evaluator=evaluator), str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps(authors_config(model)))
        tokenizer.save_pretrained(folder)
        paths[task] = folder
    temporal = root / "temporal.pth"
    state = {f"fragments_backbone.{k}": v for k, v in fastvqa_state(model).items()}
    state["vqa_head.fc.weight"] = torch.zeros(1, 4)
    torch.save({"state_dict": state}, temporal)
    base = root / "InternVL3-9B"
    base.mkdir()
    save_file(authors_state(model, "perception", merged=False, base_only=True), str(base / "model.safetensors"))
    return {"checkpoints": paths, "temporal": temporal, "base": base}


# -- outputs --------------------------------------------------------------------------------------------------
def outputs(model: LoveModel, tokenizer) -> dict[str, torch.Tensor]:
    processor = LoveProcessor(tokenizer, model.config)
    cfg = model.config.sampler_config
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, cfg.num_frames, cfg.frame_size, cfg.frame_size, 3), generator=g, dtype=torch.uint8)
    m = cfg.mosaic_size
    frags = torch.randint(0, 256, (2, cfg.num_clips, cfg.clip_len, m, m, 3), generator=g, dtype=torch.uint8)
    pixel_values, motion_values = normalize_frames(frames), normalize_fragments(frags)
    motion = model.encode_motion(motion_values)
    requests = [TextRequest(prompt="a red circle", question="Is it red?"),
                TextRequest(prompt="two blue squares moving left", question="Is there a cat?")]
    result = {}
    with torch.inference_mode():
        for task in model.config.tasks:
            out = model(task, pixel_values=pixel_values, motion_features=motion,
                        context_id=processor.image_context_id, **processor(task, requests))
            if out.score is not None:
                result[task] = out.score
            else:
                result[task] = out.word_logits[:, [processor.yes_token_id, processor.no_token_id]].softmax(-1)
            result[f"{task}:levels"] = out.word_logits[:, processor.level_token_ids].softmax(-1)
    return result


@pytest.fixture(scope="module")
def unmerged(source, tmp_path_factory):
    model, tokenizer = source
    root = tmp_path_factory.mktemp("unmerged")
    release = write_release(root, model, tokenizer, merged=False)
    report = convert(release["checkpoints"], root / "bundle", temporal=release["temporal"], template=model.config)
    return release, root / "bundle", report


# -- the mapping itself ---------------------------------------------------------------------------------------
def test_wqkv_unpacking_matches_internlm2_attention():
    """Split rows as the authors' attention reads them: rearrange 'b q (h gs d) -> b q h gs d'."""
    heads, kv_heads, head_dim, hidden = 8, 2, 4, 16
    groups = heads // kv_heads
    wqkv = torch.randn((heads + 2 * kv_heads) * head_dim, hidden)
    x = torch.randn(3, 5, hidden)
    qkv = (x @ wqkv.T).reshape(3, 5, kv_heads, groups + 2, head_dim)  # (h gs d) with h outermost
    ref_q = qkv[..., :groups, :].reshape(3, 5, heads, head_dim)  # 'b q h gs d -> b q (h gs) d'
    ref_k, ref_v = qkv[..., -2, :], qkv[..., -1, :]
    q, k, v = split_rows(wqkv, "gqa_qkv", num_heads=heads, num_kv_heads=kv_heads)
    assert torch.allclose((x @ q.T).reshape(3, 5, heads, head_dim), ref_q, atol=1e-6)
    assert torch.allclose((x @ k.T).reshape(3, 5, kv_heads, head_dim), ref_k, atol=1e-6)
    assert torch.allclose((x @ v.T).reshape(3, 5, kv_heads, head_dim), ref_v, atol=1e-6)
    # query head h·groups + g attends with KV head h, as repeat_kv (ours and theirs) expands them
    assert torch.equal(q.reshape(heads, head_dim, hidden)[groups + 1], wqkv.reshape(kv_heads, groups + 2, head_dim,
                                                                                       hidden)[1, 1])


def test_packed_lora_is_exact_after_unpacking():
    a, b = torch.randn(4, 16), torch.randn(48, 4)
    delta = b @ a
    for part, b_part in zip(delta.chunk(3), split_rows(b, "vit_qkv")):
        assert torch.allclose(b_part @ a, part)


# -- conversion by outputs ------------------------------------------------------------------------------------
def test_unmerged_conversion_reproduces_scores_and_qa(source, unmerged):
    model, tokenizer = source
    _, bundle, report = unmerged
    converted = LoveModel.from_pretrained(bundle)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bundle)
    assert tok("Is it red?")["input_ids"] == tokenizer("Is it red?")["input_ids"]
    expected, got = outputs(model, tokenizer), outputs(converted, tok)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5)
    assert report.lora == {t: "unmerged" for t in TASKS}
    dropped = "\n".join(report.dropped)
    assert "mlpscore" in dropped and "vqa_head.fc.weight" in dropped
    assert set(converted.config.tasks) == set(TASKS)
    assert (bundle / "conversion_report.json").is_file()


def test_love_nano_architecture_switches_are_off_in_a_converted_love_bundle(unmerged):
    """love-nano's switches (the ViT's frame-difference channels, the motion encoder's local-contrast channel,
    its patch LayerNorm removed) stay in the config but are LOVE's in every converted bundle and by default."""
    from love_plugins.modeling import LoveConfig
    from love_plugins.scorer import PACKAGED_MODELS

    def switches(config: LoveConfig) -> tuple:
        motion = config.motion_encoder_config
        return config.frame_difference, motion.local_contrast, motion.patch_norm

    love = (False, False, True)
    assert switches(LoveModel.from_pretrained(unmerged[1]).config) == love
    assert switches(LoveConfig()) == love  # what `convert` builds on without a template
    nano = LoveConfig.from_dict(json.loads((PACKAGED_MODELS["love-nano"] / "love_config.json").read_text()))
    assert switches(nano) == (True, True, False)


def test_merged_lora_is_recovered_with_the_base(source, tmp_path):
    model, tokenizer = source
    release = write_release(tmp_path, model, tokenizer, merged=True, evaluator=False)
    with pytest.raises(CheckpointError, match="no base model given"):
        convert(release["checkpoints"], tmp_path / "nobase", temporal=release["temporal"], template=model.config)
    report = convert(release["checkpoints"], tmp_path / "bundle", temporal=release["temporal"],
                     base=release["base"], template=model.config)
    assert report.lora == {t: "merged" for t in TASKS}
    assert max(report.max_residual_ratio.values()) < 1.0
    converted = LoveModel.from_pretrained(tmp_path / "bundle")
    expected, got = outputs(model, tokenizer), outputs(converted, tokenizer)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-4, rtol=1e-4)


def test_single_task_bundle(source, tmp_path):
    model, tokenizer = source
    release = write_release(tmp_path, model, tokenizer, merged=False, tasks=("qa",))
    convert(release["checkpoints"], tmp_path / "bundle", temporal=release["temporal"], template=model.config)
    converted = LoveModel.from_pretrained(tmp_path / "bundle")
    assert converted.config.tasks == ("qa",)
    torch.testing.assert_close(outputs(converted, tokenizer)["qa"], outputs(model, tokenizer)["qa"], atol=1e-5,
                               rtol=1e-5)


def test_lowrank_accepts_bf16_noise_and_rejects_full_rank():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 48, generator=g).to(torch.bfloat16)
    b, a = torch.randn(64, 4, generator=g) * 0.05, torch.randn(4, 48, generator=g) * 0.05
    merged = (base.double() + SCALING * b.double() @ a.double()).to(torch.bfloat16)
    fit = factorize_delta(merged, base, 4, SCALING)
    assert fit.ratio < 1.0
    with pytest.raises(LowRankError, match="not a rank-4 update"):
        factorize_delta((base.double() + 0.05 * torch.randn(64, 48, generator=g)).to(torch.bfloat16), base, 4, SCALING)


# -- lora_weights.pth: the LoRA of the authors' best evaluation, loaded over the checkpoint by their inference ----
def _shared_a(model: LoveModel) -> LoveModel:
    """A LoRA on a packed qkv shares A across q, k, v: make a tiny model's the same (as `source` does)."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.endswith(("attention.q_proj", "self_attn.q_proj")):
                parent = model.get_submodule(name.rpartition(".")[0])
                for task in TASKS:
                    parent.k_proj.lora_A[task].weight.copy_(module.lora_A[task].weight)
                    parent.v_proj.lora_A[task].weight.copy_(module.lora_A[task].weight)
    return model


@pytest.fixture(scope="module")
def best_lora():
    """(lora_weights.pth state for the perception task, as the authors' trainer writes it; a reference model:
    the source with that LoRA loaded). Keys: `named_parameters()` names of the peft-wrapped InternVLChatModel."""
    other = _shared_a(build_tiny_model(seed=11)[0])
    state = {k: v for k, v in authors_state(other, "perception", merged=False).items() if ".lora_" in k}
    return state, other


def _with_lora_of(model: LoveModel, other: LoveModel, task: str) -> LoveModel:
    import copy

    reference = copy.deepcopy(model)
    theirs = dict(other.named_parameters())
    with torch.no_grad():
        for name, param in reference.named_parameters():
            if f".lora_A.{task}." in name or f".lora_B.{task}." in name:
                param.copy_(theirs[name])
    return reference


def test_lora_weights_pth_is_applied_as_the_authors_inference_does(source, best_lora, tmp_path):
    model, tokenizer = source
    state, other = best_lora
    release = write_release(tmp_path, model, tokenizer, merged=False)
    torch.save(state, release["checkpoints"]["perception"] / "lora_weights.pth")
    report = convert(release["checkpoints"], tmp_path / "bundle", temporal=release["temporal"], template=model.config)
    converted = LoveModel.from_pretrained(tmp_path / "bundle")
    reference = _with_lora_of(model, other, "perception")
    expected, got, before = outputs(reference, tokenizer), outputs(converted, tokenizer), outputs(model, tokenizer)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got["perception"], before["perception"], atol=1e-4)  # the file made a difference
    torch.testing.assert_close(got["qa"], before["qa"])  # the other tasks keep their own LoRA
    record = report.lora_weights["perception"]
    assert record["mode"] == "applied" and record["replaced"] == len(state) == record["lora_tensors"]
    assert record["max_abs_change"] > 0.01
    assert report.lora_weights["qa"]["mode"] == "absent"
    written = json.loads((tmp_path / "bundle" / "conversion_report.json").read_text())
    assert written["lora_weights"]["perception"]["replaced"] == len(state)


def test_lora_weights_pth_present_absent_and_ignored_from_the_command_line(source, best_lora, tmp_path, capsys):
    from love_plugins.cli import main

    model, tokenizer = source
    state, _ = best_lora
    release = write_release(tmp_path, model, tokenizer, merged=False)
    torch.save(state, release["checkpoints"]["perception"] / "lora_weights.pth")
    model.config.save(tmp_path / "love_config.json")
    sources = [*map(str, release["checkpoints"].values()), str(release["temporal"])]
    options = ["--config", str(tmp_path / "love_config.json"), "--no-progress"]
    assert main(["convert", *sources, str(tmp_path / "applied"), *options]) == 0
    out = capsys.readouterr().out
    assert f"perception: lora_weights.pth applied ({len(state)} of {len(state)} LoRA tensors replaced" in out
    assert main(["convert", *sources, str(tmp_path / "ignored"), *options, "--lora-weights", "ignore"]) == 0
    assert "perception: lora_weights.pth ignored" in capsys.readouterr().out
    reports = {name: json.loads((tmp_path / name / "conversion_report.json").read_text())["lora_weights"]
               for name in ("applied", "ignored")}
    assert reports["applied"]["perception"]["mode"] == "applied"
    assert reports["ignored"]["perception"] == {**reports["ignored"]["perception"], "mode": "ignored", "replaced": 0}
    assert reports["applied"]["correspondence"]["mode"] == reports["ignored"]["qa"]["mode"] == "absent"
    ignored = outputs(LoveModel.from_pretrained(tmp_path / "ignored"), tokenizer)
    torch.testing.assert_close(ignored["perception"], outputs(model, tokenizer)["perception"], atol=1e-5, rtol=1e-5)


V0 = "vision_model.base_model.model.encoder.layers.0"


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda s: s.update({"mlp1.1.weight": torch.zeros(3, 3)}), r"mlp1\.1\.weight is not a LoRA factor"),
        (lambda s: s.update({f"{V0}.norm1.lora_A.default.weight": torch.zeros(4, 32)}),
         r"norm1\.lora_A\.default\.weight maps to no LoRA tensor"),
        (lambda s: s.update({f"{QKV0}.lora_A.other.weight": s[f"{QKV0}.lora_A.default.weight"]}),
         r"lora_A\.other\.weight maps to no LoRA tensor"),
        (lambda s: s.update({f"{QKV0}.lora_B.default.weight": s[f"{QKV0}.lora_B.default.weight"][:-1]}),
         r"wrong shape for .*wqkv\.lora_B\.default\.weight"),
        (lambda s: s.update({"hook": _NotAWeight()}), r"not a plain weights file"),
    ],
    ids=["not-lora", "unmapped-module", "unmapped-adapter", "shape", "pickled-code"],
)
def test_lora_weights_pth_refuses_what_the_checkpoint_cannot_take(source, best_lora, tmp_path, edit, pattern):
    model, tokenizer = source
    state = dict(best_lora[0])
    edit(state)
    release = write_release(tmp_path, model, tokenizer, merged=False)
    torch.save(state, release["checkpoints"]["qa"] / "lora_weights.pth")
    with pytest.raises(CheckpointError, match=r"LOVE-qa/lora_weights\.pth: .*" + pattern):
        convert(release["checkpoints"], tmp_path / "out", temporal=release["temporal"], template=model.config)
    assert not (tmp_path / "out" / "model.safetensors").exists()


# -- loud failures ---------------------------------------------------------------------------------------------
def _rewrite(folder: Path, edit) -> None:
    from safetensors.torch import load_file

    state = load_file(str(folder / "model.safetensors"))
    edit(state)
    save_file(state, str(folder / "model.safetensors"))


@pytest.fixture
def release(source, tmp_path):
    model, tokenizer = source
    return write_release(tmp_path, model, tokenizer, merged=False), model.config, tmp_path


QKV0 = "language_model.base_model.model.model.layers.0.attention.wqkv"


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda s: s.pop(f"{QKV0}.lora_B.default.weight"), r"LOVE-qa.*lora_A but no lora_B"),
        (lambda s: s.pop("language_model.base_model.model.output.weight"), r"LOVE-qa.*missing tensor .*output\.weight"),
        (lambda s: s.update({"language_model.base_model.model.model.extra_gate.weight": torch.zeros(2)}),
         r"LOVE-qa.*unmapped tensor .*extra_gate\.weight"),
        (lambda s: s.update({"mlp1.1.weight": torch.zeros(3, 3)}), r"LOVE-qa.*wrong shape for mlp1\.1\.weight"),
        (lambda s: s.update({f"{QKV0}.base_layer.weight": s[f"{QKV0}.base_layer.weight"][:-4]}),
         r"LOVE-qa.*wrong shape for .*wqkv"),
        (lambda s: s.update({"language_model.base_model.model.model.norm.weight":
                             s["language_model.base_model.model.model.norm.weight"] + 1}),
         r"LOVE-qa.*model\.norm\.weight differs"),
        (lambda s: s.update({"vision_model.base_model.model.encoder.layers.9.ls1": torch.zeros(32)}),
         r"LOVE-qa.*layers\.9\.ls1 .*does not exist"),
        (lambda s: s.pop("evaluator.fragments_backbone.norm.weight"), r"LOVE-qa.*missing tensor .*norm\.weight"),
    ],
    ids=["lora-half", "missing", "extra", "shape", "qkv-shape", "not-shared", "extra-layer", "motion-missing"],
)
def test_broken_checkpoints_fail_naming_file_and_key(release, edit, pattern):
    rel, config, root = release
    _rewrite(rel["checkpoints"]["qa"], edit)
    with pytest.raises(CheckpointError, match=pattern):
        convert(rel["checkpoints"], root / "out", temporal=rel["temporal"], template=config)
    assert not (root / "out" / "model.safetensors").exists()


class _NotAWeight:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_temporal_pth_is_weights_only(release):
    rel, config, root = release
    torch.save({"state_dict": {"fragments_backbone.norm.weight": torch.ones(1)}, "hook": _NotAWeight()},
               rel["temporal"])
    with pytest.raises(CheckpointError, match=r"temporal\.pth: not a plain weights file"):
        convert(rel["checkpoints"], root / "out", temporal=rel["temporal"], template=config)


def test_temporal_key_mismatch_is_an_error(release):
    rel, config, root = release
    state = torch.load(rel["temporal"], weights_only=True)["state_dict"]
    state["fragments_backbone.layers.0.blocks.0.attn.qkv.weight"] += 1
    torch.save({"state_dict": state}, rel["temporal"])
    with pytest.raises(CheckpointError, match=r"temporal\.pth: .*attn\.qkv\.weight differs"):
        convert(rel["checkpoints"], root / "out", temporal=rel["temporal"], template=config)
    state.pop("fragments_backbone.norm.bias")
    torch.save({"state_dict": state}, rel["temporal"])
    with pytest.raises(CheckpointError, match=r"temporal\.pth: missing tensor fragments_backbone\.norm\.bias"):
        convert(rel["checkpoints"], root / "out", temporal=rel["temporal"], template=config)


# -- command line and hub ---------------------------------------------------------------------------------------
def test_cli_guesses_tasks_and_reports_errors(source, unmerged, tmp_path, capsys):
    from love_plugins.commands.convert import guess_task, parse_sources

    assert guess_task("x/LOVE-Perception") == "perception"
    assert guess_task("LOVE-Corrrespondence/") == "correspondence"
    assert guess_task("anonymousdb--LOVE-QA") == "qa"
    assert guess_task("/hf/hub/models--IntMeGroup--LOVE-QA/snapshots/0a1b2c") == "qa"
    assert guess_task("/data/checkpoint-1200") is None
    release, _, _ = unmerged
    ckpts, temporal = parse_sources([str(p) for p in release["checkpoints"].values()] + [str(release["temporal"])])
    assert set(ckpts) == set(TASKS) and temporal == release["temporal"]
    from love_plugins.cli import main

    assert main(["convert", str(release["checkpoints"]["qa"]), str(tmp_path / "missing.pth"), str(tmp_path / "o")]) == 2
    assert "missing.pth: no such file" in capsys.readouterr().err
    model, tokenizer = source
    model.config.save(tmp_path / "love_config.json")
    args = [f"qa={release['checkpoints']['qa']}", str(release["temporal"]), str(tmp_path / "bundle")]
    assert main(["convert", *args, "--config", str(tmp_path / "love_config.json"), "--no-progress"]) == 0
    assert "LoRA qa: unmerged" in capsys.readouterr().out
    assert LoveModel.from_pretrained(tmp_path / "bundle").config.tasks == ("qa",)
    assert main(["convert", *args, "--config", str(tmp_path / "love_config.json")]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err


def test_conversion_streams_tensor_by_tensor(source, unmerged, tmp_path, monkeypatch):
    """Never more than a handful of source tensors alive at once (one output group), whatever the model size."""
    import weakref

    from love_plugins.convert import sources

    model, _ = source
    release, _, _ = unmerged
    live, peak, reads = [0], [0], [0]
    real_get = sources.TensorSource.get

    def counting_get(self, key):
        tensor = real_get(self, key)
        reads[0] += 1
        live[0] += 1
        peak[0] = max(peak[0], live[0])
        weakref.finalize(tensor, lambda: live.__setitem__(0, live[0] - 1))
        return tensor

    monkeypatch.setattr(sources.TensorSource, "get", counting_get)
    convert(release["checkpoints"], tmp_path / "bundle", template=model.config)
    assert reads[0] > 300 and peak[0] <= 8, (reads[0], peak[0])


def test_hub_offline_without_cache_says_what_to_download(tmp_path, monkeypatch):
    from love_plugins.convert import hub

    monkeypatch.setenv("LOVE_PLUGINS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(LoveError, match=r"(?s)hf download IntMeGroup/LOVE-QA.*temporal\.pth"):
        hub.resolve_released("love-qa")
    import love_plugins

    with pytest.raises(LoveError, match="IntMeGroup/LOVE-Perception"):
        love_plugins.load("love-perception", device="cpu")


def test_hub_converts_once_and_caches(source, tmp_path, monkeypatch):
    from love_plugins.convert import converter as converter_module
    from love_plugins.convert import hub

    model, tokenizer = source
    release = write_release(tmp_path / "hf", model, tokenizer, merged=False, tasks=("qa",))
    snapshots = {"IntMeGroup/LOVE-QA": release["checkpoints"]["qa"], "anonymousdb/LOVE-pretrain": tmp_path / "hf"}
    calls = []
    monkeypatch.setenv("LOVE_PLUGINS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hub, "snapshot", lambda repos, patterns=None, size=0.0: snapshots.get(repos[0]))
    real = converter_module.convert

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, template=model.config, **kwargs)

    monkeypatch.setattr(converter_module, "convert", counting)
    first = hub.resolve_released("love-qa")
    second = hub.resolve_released("love-qa")
    assert first == second == tmp_path / "cache" / "bundles" / "love-qa" and len(calls) == 1
    import love_plugins

    scorer = love_plugins.load("love-qa", device="cpu")
    assert scorer.tasks == ("qa",) and len(calls) == 1


def _slow_fake_convert(checkpoints, out_dir, **kwargs):  # a conversion that takes a while and leaves a trace
    import os
    import time

    time.sleep(1.0)
    (Path(out_dir) / "weights.txt").write_text("converted")
    with open(Path(os.environ["CONVERSIONS"]) / f"{os.getpid()}", "a") as f:
        f.write("1")


def _resolve_in_child(queue):
    from love_plugins.convert import hub

    queue.put(str(hub.resolve_released("love-qa")))


def test_many_processes_download_and_convert_once(tmp_path, monkeypatch):
    """Two processes (the ranks of a torchrun job) ask for the released weights at once: one converts, the
    other waits for it and gets the same finished bundle."""
    import multiprocessing

    from love_plugins.convert import converter as converter_module
    from love_plugins.convert import hub

    (tmp_path / "conversions").mkdir()
    monkeypatch.setenv("CONVERSIONS", str(tmp_path / "conversions"))
    monkeypatch.setenv("LOVE_PLUGINS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hub, "snapshot", lambda repos, patterns=None, size=0.0: tmp_path)
    monkeypatch.setattr(converter_module, "convert", _slow_fake_convert)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_resolve_in_child, args=(queue,)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    paths = {queue.get(timeout=5), queue.get(timeout=5)}
    assert paths == {str(tmp_path / "cache" / "bundles" / "love-qa")}
    assert len(list((tmp_path / "conversions").iterdir())) == 1  # one process converted
    assert (tmp_path / "cache" / "bundles" / "love-qa" / "weights.txt").read_text() == "converted"


def _http_error(status: int):
    import httpx
    from huggingface_hub import errors

    response = httpx.Response(status, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))
    cls = errors.RepositoryNotFoundError if status == 404 else errors.HfHubHTTPError
    return cls(f"{status} Client Error", response=response)


@pytest.mark.parametrize(
    "failure, pattern",
    [
        (lambda: _http_error(401), r"IntMeGroup/LOVE-QA: download failed: access refused \(401\)"),
        (lambda: _http_error(403), r"IntMeGroup/LOVE-QA: download failed: access refused \(403\)"),
        (lambda: OSError(__import__("errno").ENOSPC, "No space left on device"), r"disk full while downloading"),
        (lambda: __import__("httpx").ReadTimeout("read timed out"), r"download failed: timed out \(ReadTimeout\)"),
    ],
    ids=["401", "403", "disk-full", "timeout"],
)
def test_hub_download_failures_say_why_and_skip_the_mirror(tmp_path, monkeypatch, failure, pattern):
    from love_plugins.convert import hub

    monkeypatch.setenv("LOVE_PLUGINS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "check_free_space", lambda needed, what: None)
    asked = []

    def download(repo_id, patterns, local_only):
        if local_only:
            raise FileNotFoundError("not cached")
        asked.append(repo_id)
        raise failure()

    monkeypatch.setattr(hub, "_download", download)
    monkeypatch.setattr(hub, "_repo_files", lambda repo_id: ["model.safetensors", "config.json"])
    with pytest.raises(LoveError, match=pattern):
        hub.resolve_released("love-qa")
    assert asked == ["IntMeGroup/LOVE-QA"]  # the mirror is not downloaded as well


def test_hub_tries_the_mirror_only_when_the_repository_is_missing_and_fetches_one_format(tmp_path, monkeypatch):
    from love_plugins.convert import hub

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "model.safetensors").write_bytes(b"x")
    asked = []

    def download(repo_id, patterns, local_only):
        if local_only:
            raise FileNotFoundError("not cached")
        asked.append((repo_id, patterns))
        if repo_id == "IntMeGroup/LOVE-QA":
            raise _http_error(404)
        return tmp_path / "mirror"

    monkeypatch.setattr(hub, "_download", download)
    monkeypatch.setattr(hub, "_repo_files", lambda repo_id: ["model.safetensors", "pytorch_model.bin",
                                                             "lora_weights.pth", "config.json"])
    assert hub.snapshot(hub.REPOS["qa"], size=1.0) == tmp_path / "mirror"
    assert [repo for repo, _ in asked] == ["IntMeGroup/LOVE-QA", "anonymousdb/LOVE-QA"]
    patterns = asked[-1][1]
    assert "*.safetensors" in patterns and "*.bin" not in patterns and "lora_weights.pth" in patterns
    assert hub.weight_patterns(["pytorch_model.bin", "config.json"])[0] == "*.bin"
    free = __import__("shutil").disk_usage(tmp_path).free
    with pytest.raises(LoveError, match=r"needs about .* GB of free disk space"):
        hub.snapshot(hub.REPOS["qa"], size=free * 10)


def test_sentencepiece_tokenizer_converts_to_the_same_ids(tmp_path):
    """InternLM2's slow tokenizer = sentencepiece on each chunk between added tokens, BOS first."""
    import io
    import re

    spm = pytest.importorskip("sentencepiece")
    from transformers import AutoTokenizer

    from love_plugins.convert.tokenizer import load_authors_tokenizer
    from love_plugins.modeling.tiny import _training_corpus

    special = ["<img>", "</img>", "<IMG_CONTEXT>", "<|im_start|>", "<|im_end|>"]
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_training_corpus() * 5), model_writer=proto, vocab_size=500, character_coverage=0.99,
        model_type="bpe", byte_fallback=True, user_defined_symbols=special, remove_extra_whitespaces=False,
        normalization_rule_name="identity", minloglevel=2)
    (tmp_path / "tokenizer.model").write_bytes(proto.getvalue())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>",
                                                                "pad_token": "</s>", "unk_token": "<unk>"}))
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())

    def slow(text):
        ids = [sp.bos_id()]
        for chunk in re.split("(" + "|".join(map(re.escape, special)) + ")", text):
            if chunk:
                ids += [sp.piece_to_id(chunk)] if chunk in special else sp.encode(chunk)
        return ids

    tokenizer = load_authors_tokenizer(tmp_path)
    tokenizer.save_pretrained(tmp_path / "out")
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "out")
    for text in ["Frame1: <img><IMG_CONTEXT></img>\nHow is the quality of the video?",
                 "<|im_start|>user\nIs it red? ünïcode 猫<|im_end|>", "  two  spaces", "The quality of the video is good."]:
        assert tokenizer(text)["input_ids"] == slow(text) == reloaded(text)["input_ids"]
