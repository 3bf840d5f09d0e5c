"""The shared inference core on a tiny random LOVE model: shapes, padding, adapters, round trips."""

from __future__ import annotations

import json

import pytest
import torch

from love_plugins.errors import CheckpointError
from love_plugins.modeling import LoveModel, LoveProcessor, TextRequest
from love_plugins.modeling.configuration_love import LoveConfig
from love_plugins.modeling.tiny import build_tiny_model
from love_plugins.video import normalize_fragments, normalize_frames


@pytest.fixture(scope="module")
def tiny():
    model, tokenizer = build_tiny_model(seed=0)
    return model, tokenizer, LoveProcessor(tokenizer, model.config)


def _visual_inputs(model, batch: int, seed: int = 0):
    cfg = model.config.sampler_config
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (batch, cfg.num_frames, cfg.frame_size, cfg.frame_size, 3), generator=g,
                           dtype=torch.uint8)
    m = cfg.mosaic_size
    frags = torch.randint(0, 256, (batch, cfg.num_clips, cfg.clip_len, m, m, 3), generator=g, dtype=torch.uint8)
    return normalize_frames(frames), normalize_fragments(frags)


def _run(model, processor, task, requests, pixel_values, motion_values, output_layer_states=False, **kw):
    motion = model.encode_motion(motion_values)
    batch = processor(task, requests, **kw)
    with torch.inference_mode():
        return model(task, pixel_values=pixel_values, motion_features=motion,
                     context_id=processor.image_context_id, output_layer_states=output_layer_states, **batch)


PROMPTS = ["a red circle", "two blue squares moving left on a gray background and a much longer prompt text",
           "a cat", "three yellow triangles moving up slowly while the camera stays still"]


def test_prompt_layout_matches_love(tiny):
    model, tokenizer, processor = tiny
    text, _, word_start = processor.conversation("perception", TextRequest())
    cfg = model.config
    assert text.startswith(f"<|im_start|>system\n{cfg.system_message}<|im_end|><|im_start|>user\nFrame1: <img>")
    assert text.count("<IMG_CONTEXT>") == cfg.tokens_per_frame * cfg.sampler_config.num_frames + cfg.num_motion_tokens
    assert "\nMotion Feature: <img><IMG_CONTEXT></img><img><IMG_CONTEXT></img>\nMotion Feature2: <image>How is" in text
    assert text.endswith("<|im_start|>assistant\nThe quality of the video is good.<|im_end|>")
    assert text[word_start:].startswith("good")
    # QA: the authors' inference prompt (eval_qa.py) by default, their training prompt (train_qa.py) on request.
    qa_text, _, _ = processor.conversation("qa", TextRequest(question="Is it red?"))
    assert cfg.qa_prompt == "inference"
    assert "<img><IMG_CONTEXT></img>\nMotion Feature2: <image>Is it red?<|im_end|>" in qa_text
    assert qa_text.endswith("assistant\nYes<|im_end|>")
    training = LoveConfig.from_dict(cfg.to_dict())
    training.set_qa_prompt("training")
    qa_text, _, _ = LoveProcessor(tokenizer, training).conversation("qa", TextRequest(question="Is it red?"))
    assert "Motion Feature2" not in qa_text and qa_text.endswith("assistant\nYes<|im_end|>")
    assert training.qa_prompt == "training" and cfg.qa_prompt == "inference"
    with pytest.raises(ValueError, match="qa prompt must be one of"):
        training.set_qa_prompt("eval")


def test_tiny_tokenizer_keeps_the_chat_scaffolding_whole(tiny):
    # The role names and frame/motion labels are in every sequence: split into characters they
    # would make every training step of love-nano about 10 % longer.
    _, tokenizer, processor = tiny
    text, _, _ = processor.conversation("qa", TextRequest(question="Describe the video."))
    tokens = tokenizer.tokenize(text)
    for word in ("system", "user", "assistant", "Motion", "Describe"):
        assert word in tokens


def test_target_position_is_token_before_word(tiny):
    _, tokenizer, processor = tiny
    batch = processor("correspondence", [TextRequest(prompt=p) for p in PROMPTS])
    for row, pos in zip(batch["input_ids"], batch["target_positions"]):
        before = tokenizer.decode(row[pos : pos + 1])
        word = tokenizer.decode(row[pos + 1 : pos + 2])
        assert before.strip() == "is" and word.strip() == "good"


def test_marks_locate_words_of_the_prompt_and_the_question(tiny):
    _, tokenizer, processor = tiny
    words = ["red", "squares", "gray", "cat", "triangles"]
    requests = [TextRequest(prompt=p, marks=tuple(p.index(w) + len(w) - 1 for w in words if w in p))
                for p in PROMPTS]
    batch = processor("correspondence", requests)
    for row, marks, request in zip(batch["input_ids"], batch["mark_positions"], requests):
        found = [tokenizer.decode(row[m : m + 1]).strip() for m in marks.tolist() if m >= 0]
        expected = [w for w in words if w in request.prompt]
        assert len(found) == len(expected) and all(w.endswith(t) and t for w, t in zip(expected, found))
        assert (marks < 0).sum() == batch["mark_positions"].shape[1] - len(expected)  # -1 pads the rest
    qa = processor("qa", [TextRequest(question="Is the background gray?", marks=(21,))])
    assert tokenizer.decode(qa["input_ids"][0, qa["mark_positions"][0, 0]]).strip() == "gray"
    assert "mark_positions" not in processor("qa", [TextRequest(question="Is it red?")])
    with pytest.raises(ValueError, match="has none"):  # perception has neither prompt nor question
        processor("perception", [TextRequest(marks=(0,))])
    with pytest.raises(ValueError, match="outside the 10-character text"):
        processor("qa", [TextRequest(question="Is it red?", marks=(10,))])


def test_output_shapes_and_ranges(tiny):
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 3)
    out = _run(model, processor, "perception", [TextRequest()] * 3, pv, mv)
    assert out.score.shape == (3,) and torch.all(out.score >= 0)
    assert out.hidden.shape == (3, model.config.text_config["hidden_size"])
    assert out.word_logits.shape == (3, len(processor.tokenizer))
    qa = _run(model, processor, "qa", [TextRequest(question="Is it red?")] * 3, pv, mv)
    assert qa.score is None
    pair = qa.word_logits[:, [processor.yes_token_id, processor.no_token_id]].softmax(-1)
    torch.testing.assert_close(pair.sum(-1), torch.ones(3))


def test_padded_batch_equals_one_by_one(tiny):
    """LOVE reads position -4 of every row; with mixed prompt lengths that is wrong. Ours is not."""
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, len(PROMPTS), seed=3)
    requests = [TextRequest(prompt=p) for p in PROMPTS]
    batched = _run(model, processor, "correspondence", requests, pv, mv)
    lengths = processor("correspondence", requests)["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1  # the batch really is padded
    for i, request in enumerate(requests):
        single = _run(model, processor, "correspondence", [request], pv[i : i + 1], mv[i : i + 1])
        torch.testing.assert_close(batched.score[i : i + 1], single.score, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(batched.hidden[i : i + 1], single.hidden, rtol=1e-4, atol=1e-4)


def test_adapter_switching_gives_each_task_its_outputs_and_restores(tiny):
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 2, seed=5)
    req = [TextRequest(prompt="a red circle")] * 2
    first = _run(model, processor, "perception", [TextRequest()] * 2, pv, mv).hidden
    other = _run(model, processor, "correspondence", req, pv, mv).hidden
    _run(model, processor, "qa", [TextRequest(question="Is it red?")] * 2, pv, mv)
    again = _run(model, processor, "perception", [TextRequest()] * 2, pv, mv).hidden
    assert torch.equal(first, again)
    # Same text under another task's adapters gives another hidden state.
    model.set_task("qa")
    batch = processor("perception", [TextRequest()] * 2)
    with torch.inference_mode():
        frames = model.encode_frames(pv, "perception")
        assert not torch.equal(frames, model.encode_frames(pv, "correspondence"))
    assert batch["input_ids"].shape[0] == 2 and other.shape == first.shape


def test_motion_tokens_influence_the_score(tiny):
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 2, seed=7)
    base = _run(model, processor, "perception", [TextRequest()] * 2, pv, mv)
    moved = _run(model, processor, "perception", [TextRequest()] * 2, pv, torch.roll(mv, 5, dims=-1) * 1.5)
    assert not torch.allclose(base.hidden, moved.hidden)
    assert not torch.allclose(base.score, moved.score)


def test_language_model_loss_on_answer_tokens(tiny):
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 2)
    out = _run(model, processor, "perception", [TextRequest(word="poor"), TextRequest(word="excellent")], pv, mv,
               with_labels=True)
    assert out.loss is not None and torch.isfinite(out.loss) and out.loss > 0


def test_one_base_three_tasks_parameter_counts(tiny):
    model, _, _ = tiny
    counts = model.parameter_counts()
    per_task = [counts[f"task:{t}"] for t in model.config.tasks]
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["shared"] > max(per_task)  # the base dominates
    assert counts["three_separate_checkpoints"] == 3 * counts["shared"] + sum(per_task)
    assert counts["total"] < 0.5 * counts["three_separate_checkpoints"]


def test_save_load_round_trip_is_bit_identical(tiny, tmp_path):
    model, tokenizer, processor = tiny
    model.save_pretrained(tmp_path / "bundle", tokenizer=tokenizer)
    loaded = LoveModel.from_pretrained(tmp_path / "bundle")
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    pv, mv = _visual_inputs(model, 2, seed=11)
    for task in model.config.tasks:
        req = [TextRequest(prompt="a cat", question="Is it a cat?")] * 2
        torch.testing.assert_close(_run(model, processor, task, req, pv, mv).word_logits,
                                   _run(loaded, processor, task, req, pv, mv).word_logits, rtol=0, atol=0)


def test_bundle_errors_are_clear(tiny, tmp_path):
    model, tokenizer, _ = tiny
    with pytest.raises(CheckpointError, match="love_config.json"):
        LoveModel.from_pretrained(tmp_path)
    model.save_pretrained(tmp_path / "b", tokenizer=tokenizer)
    from safetensors.torch import load_file, save_file

    weights = load_file(tmp_path / "b" / "model.safetensors")
    dropped = dict(weights)
    dropped.pop(next(k for k in dropped if "score_heads" in k))
    save_file(dropped, tmp_path / "b" / "model.safetensors")
    with pytest.raises(CheckpointError, match="missing"):
        LoveModel.from_pretrained(tmp_path / "b")
    (tmp_path / "b" / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        LoveModel.from_pretrained(tmp_path / "b")
    import json
    import struct

    for header, reason in (([1, 2], "not a JSON object"), ({"score": [1]}, "'score' has no tensor shape")):
        raw = json.dumps(header).encode()
        (tmp_path / "b" / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
        with pytest.raises(CheckpointError, match=f"model.safetensors.*{reason}"):
            LoveModel.from_pretrained(tmp_path / "b", dtype=torch.float32)


def test_internvl3_9b_layout_parameter_counts():
    """The default config is LOVE's 9B layout; built on the meta device (no memory) to count."""
    from love_plugins.modeling import LoveConfig

    with torch.device("meta"):
        model = LoveModel(LoveConfig())
    counts = model.parameter_counts()
    llm = sum(p.numel() for n, p in model.language_model.named_parameters() if "lora" not in n)
    vit = sum(p.numel() for n, p in model.vision_tower.named_parameters() if "lora" not in n)
    assert 8.7e9 < llm < 8.9e9 and 3.0e8 < vit < 3.1e8  # InternLM3-8B and InternViT-300M
    assert 9.1e9 < counts["shared"] < 9.2e9
    assert all(1.1e8 < counts[f"task:{t}"] < 1.2e8 for t in ("perception", "correspondence"))
    # One base with three tasks holds about a third of what three separate checkpoints hold.
    assert counts["total"] / counts["three_separate_checkpoints"] < 0.35


def test_from_config_builds_in_the_requested_dtype_and_restores_the_default():
    config = build_tiny_model()[0].config
    model = LoveModel.from_config(config, device="cpu", dtype=torch.bfloat16)
    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    assert {d for n, d in dtypes.items() if not n.startswith("score_heads.")} == {torch.bfloat16}
    assert {d for n, d in dtypes.items() if n.startswith("score_heads.")} == {torch.float32}
    assert model.language_model.model.rotary_emb.inv_freq.dtype == torch.float32
    assert torch.get_default_dtype() == torch.float32
    assert {p.dtype for p in LoveModel.from_config(config).parameters()} == {torch.float32}


def test_frame_differences_are_the_change_across_the_clip():
    """Each frame's difference is the next frame minus the previous one (one-sided at the ends); a single
    frame has none; a clip played backwards has the negated differences in reverse order."""
    from love_plugins.modeling.modeling_love import frame_differences

    frames = torch.arange(4.0).pow(2).reshape(1, 4, 1, 1, 1).expand(2, 4, 3, 5, 5)  # frame t is t² everywhere
    change = frame_differences(frames)
    assert change.shape == frames.shape
    assert change[0, :, 0, 0, 0].tolist() == [1.0, 4.0, 8.0, 5.0]  # 1-0, (4-0), (9-1), 9-4
    assert frame_differences(frames[:, :1]).abs().sum() == 0
    torch.testing.assert_close(frame_differences(frames.flip(1)), -change.flip(1))


def test_frame_difference_channels_start_at_zero_and_change_nothing_else(tmp_path):
    """`LoveConfig.frame_difference` widens the ViT's patch embedding by three input channels that start at
    zero: the same seed gives the same base tensor for tensor and the same frame tokens, the channels survive
    a save and load, and once they have weights a moving clip and a still one read differently."""
    import dataclasses

    from love_plugins.modeling.tiny import build_tokenizer, tiny_config

    tokenizer = build_tokenizer()
    config = tiny_config(vocab_size=len(tokenizer))
    torch.manual_seed(3)
    plain = LoveModel(config)
    torch.manual_seed(3)
    widened = LoveModel(dataclasses.replace(config, frame_difference=True))
    key = "vision_tower.embeddings.patch_embeddings.projection.weight"
    a, b = plain.state_dict(), widened.state_dict()
    assert b[key].shape[1] == 6 and torch.equal(b[key][:, :3], a[key]) and b[key][:, 3:].abs().sum() == 0
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if k != key)
    pixels, _ = _visual_inputs(plain, 2, seed=5)
    torch.testing.assert_close(widened.encode_frames(pixels, "qa"), plain.encode_frames(pixels, "qa"))

    widened.save_pretrained(tmp_path / "bundle", tokenizer=tokenizer)
    loaded = LoveModel.from_pretrained(tmp_path / "bundle")
    assert loaded.config.frame_difference and torch.equal(loaded.state_dict()[key], b[key])
    with torch.no_grad():
        loaded.vision_tower.embeddings.patch_embeddings.projection.weight[:, 3:].normal_()
    still = pixels[:, :1].expand_as(pixels)
    moving_tokens, still_tokens = loaded.encode_frames(pixels, "qa"), loaded.encode_frames(still, "qa")
    assert not torch.allclose(moving_tokens, still_tokens)
    # a still clip has no differences: it reads as the channels' zero start does
    torch.testing.assert_close(still_tokens, plain.encode_frames(still, "qa"))

    # the channels claimed by hand in a bundle saved without them: the error names the tensor and both shapes
    import json

    plain.save_pretrained(tmp_path / "rgb", tokenizer=tokenizer)
    config_path = tmp_path / "rgb" / "love_config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "frame_difference": True}))
    with pytest.raises(CheckpointError, match=r"projection\.weight: stored \[\d+, 3, .*config \[\d+, 6, "):
        LoveModel.from_pretrained(tmp_path / "rgb")


# -- what a bf16 load keeps in fp32 -----------------------------------------------------------------------------
def _love_rope_bundle(tmp_path):
    """A tiny bundle with LOVE's rotary settings (θ 5e7, dynamic scaling 2, head_dim 128)."""
    model, tokenizer = build_tiny_model(seed=0)
    config = LoveConfig.from_dict(model.config.to_dict())
    config.text_config = {**config.text_config, "hidden_size": 256, "num_attention_heads": 2, "num_key_value_heads": 1,
                          "intermediate_size": 256, "max_position_embeddings": 32768,
                          "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 5e7}}
    torch.manual_seed(0)
    LoveModel(config).save_pretrained(tmp_path / "bundle", tokenizer=tokenizer)
    return tmp_path / "bundle"


def test_bf16_load_keeps_rotary_frequencies_and_score_head_in_fp32(tmp_path):
    import love_plugins

    bundle = _love_rope_bundle(tmp_path)
    for model in (LoveModel.from_pretrained(bundle, dtype=torch.bfloat16),
                  love_plugins.load(str(bundle), device="cpu", dtype="bfloat16").model):
        rotary = model.language_model.model.rotary_emb
        assert rotary.inv_freq.dtype == rotary.original_inv_freq.dtype == torch.float32
        assert all(p.dtype == torch.float32 for p in model.score_heads.parameters())
        assert model.language_model.model.layers[0].self_attn.q_proj.base_layer.weight.dtype == torch.bfloat16
        assert model.motion_encoder.layers[0].blocks[0].attn.relative_position_index.dtype == torch.int64
        # The angles the LLM uses at LOVE's sequence lengths: exact up to the bf16 rounding of cos/sin.
        positions = torch.arange(2400)[None]
        x = torch.zeros(1, 1, 128, dtype=torch.bfloat16)
        cos, sin = rotary(x, positions)
        inv = 1.0 / (5e7 ** (torch.arange(0, 128, 2, dtype=torch.float64) / 128))
        angles = positions[0, :, None].double() * inv[None]
        assert (cos[0].double()[:, :64] - angles.cos()).abs().max() < 8e-3
        assert (sin[0].double()[:, :64] - angles.sin()).abs().max() < 8e-3
        rounded = positions[0, :, None].double() * inv.to(torch.bfloat16).double()[None]  # what .to(bf16) did
        assert (rounded - angles).abs().max() > 1.0


def test_bf16_scores_move_only_by_rounding_and_are_not_on_a_bf16_grid(tmp_path):
    """love-nano in bf16 against fp32: differences of bf16 rounding only, and scores off the 1/256 grid
    a bf16 score head would put them on."""
    import love_plugins
    from love_plugins.synth import generate_suite

    generate_suite(tmp_path / "suite", num_videos=4, seed=5)
    rows = [json.loads(line) for line in (tmp_path / "suite" / "manifest.jsonl").read_text().splitlines()]
    videos, prompts = [str(tmp_path / "suite" / r["video"]) for r in rows], [r["prompt"] for r in rows]
    fp32 = love_plugins.load("love-nano", device="cpu", perception_views=1).score(videos, prompts=prompts)
    bf16 = love_plugins.load("love-nano", device="cpu", dtype="bfloat16", perception_views=1).score(videos,
                                                                                                    prompts=prompts)
    for a, b in zip(fp32, bf16):
        for task in ("perception", "correspondence"):
            assert abs(getattr(a, task) - getattr(b, task)) < 1.5, (task, getattr(a, task), getattr(b, task))
    scores = [getattr(r, t) / 100 for r in bf16 for t in ("perception", "correspondence")]
    off_grid = [abs(x - float(torch.tensor(x).bfloat16())) > 1e-6 for x in scores]
    assert sum(off_grid) >= 6, scores


_PEAK_LOAD_SCRIPT = r"""
import sys, threading, time
import torch
from love_plugins.modeling import LoveModel

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

peak, stop = [rss_kb()], threading.Event()
def watch():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb())
        time.sleep(0.001)
base = rss_kb()
thread = threading.Thread(target=watch, daemon=True)
thread.start()
model = LoveModel.from_pretrained(sys.argv[1])
stop.set(); thread.join()
peak[0] = max(peak[0], rss_kb())
print((peak[0] - base) * 1024)
"""


@pytest.mark.slow
@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="reads VmRSS from /proc (Linux)")
def test_loading_holds_one_copy_of_the_weights(tmp_path):
    """Peak resident memory of `from_pretrained` in a fresh process, against the size of the weights: a model
    built with random weights and then overwritten by a loaded state dict needs about twice (2.07x here)."""
    import subprocess
    import sys

    from love_plugins.modeling.tiny import build_tokenizer, tiny_config

    tokenizer = build_tokenizer()
    config = tiny_config(vocab_size=len(tokenizer), hidden_size=768, num_layers=10, vision_hidden=256)
    config.text_config = {**config.text_config, "intermediate_size": 2560}
    torch.manual_seed(0)
    LoveModel(config).save_pretrained(tmp_path / "bundle", tokenizer=tokenizer)
    weights = (tmp_path / "bundle" / "model.safetensors").stat().st_size
    assert weights > 250e6
    out = subprocess.run([sys.executable, "-c", _PEAK_LOAD_SCRIPT, str(tmp_path / "bundle")], capture_output=True,
                         text=True, check=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    peak = int(out.stdout.strip().splitlines()[-1])
    assert peak < 1.3 * weights, f"peak {peak / 1e6:.0f} MB for {weights / 1e6:.0f} MB of weights"


def test_one_pass_over_mixed_tasks_equals_one_pass_per_task(tiny):
    """`forward_tasks` (issue 45: three tasks in one forward, each row with its task's LoRA through peft's
    mixed-adapter batches, its projectors and its head) gives what `forward` gives task by task, rows of
    every task interleaved and prompts of different lengths."""
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 3, seed=7)
    requests = [TextRequest(prompt=p, question="Is the object red?") for p in PROMPTS[:3]]
    per_task = {t: _run(model, processor, t, requests, pv, mv) for t in ("perception", "correspondence", "qa")}
    tasks = ["qa", "perception", "correspondence", "perception", "qa", "correspondence", "correspondence", "qa",
             "perception"]
    video = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    rows = [requests[v] for v in video]
    mixed = processor.mixed(tasks, rows)
    assert len(set(mixed["attention_mask"].sum(1).tolist())) > 2  # several prompt lengths in one batch
    with torch.inference_mode():
        out = model.forward_tasks(tasks, pixel_values=pv[video], motion_features=model.encode_motion(mv)[video],
                                  context_id=processor.image_context_id, **mixed)
    for row, (task, v) in enumerate(zip(tasks, video)):
        want = per_task[task]
        torch.testing.assert_close(out.hidden[row], want.hidden[v], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(out.word_logits[row], want.word_logits[v], rtol=1e-4, atol=1e-4)
        if task == "qa":
            assert torch.isnan(out.score[row])
        else:
            torch.testing.assert_close(out.score[row], want.score[v], rtol=1e-4, atol=1e-5)
    # the adapters really differ per task, so a row run with another task's adapter would not match
    assert not torch.allclose(per_task["perception"].hidden, per_task["correspondence"].hidden, atol=1e-3)
    with pytest.raises(ValueError, match="one task per row"):
        model.forward_tasks(["perception", "colour"], pixel_values=pv[:2], motion_features=None, context_id=0,
                            **processor.mixed(["perception", "perception"], requests[:2]))


@pytest.mark.parametrize("attention", ["sdpa", "eager", pytest.param("flex_attention", marks=pytest.mark.slow)])
def test_packed_prefill_gives_the_padded_batch_outputs(tiny, attention):
    """`set_prefill(packed=True)` (issue 45: the rows concatenated without padding, each attending only to itself;
    block-sparse with flex_attention) gives what the padded batch gives: rows of different lengths, every layer's
    states, the score and the answer-token loss. A row that saw another row's tokens would not match."""
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 4, seed=11)
    requests = [TextRequest(prompt=p, question="Is the object red?", word="good") for p in PROMPTS]
    assert len(set(processor("correspondence", requests)["attention_mask"].sum(1).tolist())) == 4
    padded = _run(model, processor, "correspondence", requests, pv, mv, with_labels=True, output_layer_states=True)
    model.set_prefill(packed=True, attention=attention)
    try:
        packed = _run(model, processor, "correspondence", requests, pv, mv, with_labels=True,
                      output_layer_states=True)
        with pytest.raises(ValueError, match="packed prefill"):
            model.forward_tasks(["qa"], pixel_values=pv[:1], motion_features=None, context_id=0,
                                **processor.mixed(["qa"], requests[:1]))
    finally:
        model.set_prefill(packed=False, attention="sdpa")
    assert model.language_model.config._attn_implementation == "sdpa"
    keep = processor("correspondence", requests)["attention_mask"].bool()
    for mine, want in zip(packed.layer_states, padded.layer_states):
        torch.testing.assert_close(mine[keep], want[keep], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(packed.hidden, padded.hidden, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(packed.word_logits, padded.word_logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(packed.score, padded.score, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(packed.loss, padded.loss, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_compiled_language_model_gives_the_eager_outputs(tiny):
    """torch.compile of the LLM (a lever of issue 45, `benchmarks/gpu_throughput.py --ablation`) computes what
    the eager model computes, here on the CPU with inductor."""
    import shutil

    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("inductor needs a C++ compiler on the CPU")
    model, _, processor = tiny
    pv, mv = _visual_inputs(model, 2, seed=9)
    requests = [TextRequest(prompt=p) for p in PROMPTS[:2]]
    eager = _run(model, processor, "correspondence", requests, pv, mv)
    eager_llm = model.language_model.model
    model.language_model.model = torch.compile(eager_llm)
    try:
        compiled = _run(model, processor, "correspondence", requests, pv, mv)
    finally:
        model.language_model.model = eager_llm
    torch.testing.assert_close(compiled.hidden, eager.hidden, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(compiled.score, eager.score, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_gpu_ablation_measures_or_explains_every_lever_and_restores_the_model(tiny, monkeypatch):
    """`benchmarks/gpu_throughput.py --ablation` (issue 45), here on the CPU with the tiny model: each lever is
    measured with its outputs checked against the plain path or says why it cannot run here, the best lever of
    each group that helps is measured together (the final rows), and the model is left as it was built."""
    import importlib
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    bench = importlib.import_module("gpu_throughput")
    model, tokenizer, processor = tiny
    pv, mv = _visual_inputs(model, 2, seed=5)
    before = _run(model, processor, "qa", [TextRequest(prompt=p, question="Is it red?") for p in PROMPTS[:2]], pv, mv)
    llm, vision_tower, motion_encoder = model.language_model.model, model.vision_tower, model.motion_encoder
    reported = []
    rows = bench.ablation(model, tokenizer, batch_size=2, videos=2, report=reported.append)
    assert rows == reported and [r["lever"] for r in rows[:len(bench.LEVERS)]] == [x.name for x in bench.LEVERS]
    by_name = {r["lever"]: r for r in rows[:len(bench.LEVERS)]}
    for name in ("per-task passes (plain)", "one pass, mixed adapters", "packed prefill, flex_attention block mask",
                 "torch.compile of the LLM", "torch.compile of the vision tower and motion encoder"):
        assert by_name[name]["within_tolerance"] and by_name[name]["videos_per_s"] > 0, by_name[name]
    assert by_name["CUDA graphs (torch.compile reduce-overhead)"]["not_measured"] == "CUDA graphs need a GPU"
    assert all("failed" not in r for r in rows)
    final = [r for r in rows if r["final"]]
    assert [r["tasks"] for r in final] == [list(model.config.tasks), [model.config.tasks[0]]]
    assert all(r["within_tolerance"] for r in final)
    assert model.language_model.model is llm and not model.packed_prefill
    assert model.vision_tower is vision_tower and model.motion_encoder is motion_encoder
    assert model.language_model.config._attn_implementation == "sdpa"
    after = _run(model, processor, "qa", [TextRequest(prompt=p, question="Is it red?") for p in PROMPTS[:2]], pv, mv)
    torch.testing.assert_close(after.word_logits, before.word_logits, rtol=0, atol=0)
    # --levers: a part of the table (a device run of limited length), the plain path always beside it
    some = bench.ablation(model, tokenizer, batch_size=2, videos=2, report=lambda row: None, keys=["one-pass"])
    assert [r["key"] for r in some[:2]] == ["plain", "one-pass"] and len(some) == 5
