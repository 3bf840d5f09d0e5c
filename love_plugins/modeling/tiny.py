"""Tiny LOVE configurations and an in-process tokenizer, for tests, benchmarks and love-nano.

Nothing here downloads anything: the tokenizer is a byte-level BPE trained in milliseconds on the
task templates and a small AIGV vocabulary, and every model is built from config objects.
"""

from __future__ import annotations

import dataclasses

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from ..video import SamplerConfig
from .configuration_love import DEFAULT_TASK_PROMPTS, LEVEL_WORDS, LoveConfig
from .motion_encoder import MotionEncoderConfig

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>"]
TINY_SYSTEM_MESSAGE = "You are LOVE, an evaluator of AI-generated videos."

# Words the synthetic suite and common AIGV prompts use; BPE keeps them whole or in few pieces.
_VOCABULARY = """
a an the one two three four five six seven eight nine ten zero single pair few many several
red green blue yellow white black gray grey purple orange pink brown cyan magenta navy dark light bright
circle circles square squares triangle triangles ball balls box boxes star object objects shape shapes
moving moves move left right up down still static stationary slowly quickly fast slow toward away across
on in at of with and or is are there exactly background scene video frame frames clip prompt
cat dog person man woman car bird tree sky water city street drinking running walking flying
Is Are Does Do Yes No yes no quality correspondence rate rating how would you this its and
""".split()


# Questions the tiny tokenizer must see in full; "Describe the video." is stage 0's caption request.
_SAMPLE_QUESTIONS = ("Is it red?", "Is there a red object in the video?", "Describe the video.")


def _chat_turns() -> list[str]:
    """Whole ChatML conversations as LoveProcessor writes them, so that the role names and the frame
    and motion labels become single tokens instead of a character each (they are in every sequence)."""
    header = f"<|im_start|>system\n{TINY_SYSTEM_MESSAGE}<|im_end|><|im_start|>user\n"
    visual = "Frame1: <img><IMG_CONTEXT></img>\nMotion Feature: <img><IMG_CONTEXT></img>"
    # The corpus is frozen as love-nano's tokenizer was trained: QA with the authors' training prompt.
    prompts = {**DEFAULT_TASK_PROMPTS, "qa": dataclasses.replace(DEFAULT_TASK_PROMPTS["qa"], motion_suffix=False)}
    turns = []
    for spec in prompts.values():
        for question in _SAMPLE_QUESTIONS:
            for word in LEVEL_WORDS + ("Yes", "No"):
                text = spec.question.replace("{prompt}", "two red circles moving left").replace("{question}", question)
                suffix = "\nMotion Feature2: <image>" if spec.motion_suffix else ""
                turns.append(f"{header}{visual}{suffix}{text}<|im_end|><|im_start|>assistant\n"
                             f"{spec.answer.replace('{word}', word)}<|im_end|>")
    return turns


def _training_corpus() -> list[str]:
    lines = [TINY_SYSTEM_MESSAGE, *_chat_turns()]
    lines += [" ".join(_VOCABULARY)] * 4
    lines += [f"Frame{i}: Motion Feature: Motion Feature2:" for i in range(1, 17)]
    lines += [f"Is there a {c} {s} moving {d}?" for c in _VOCABULARY[30:50] for s in ("circle", "square") for d in ("left", "up")]
    return lines


def build_tokenizer(vocab_size: int = 800) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with LOVE's special tokens; deterministic, trained in-process."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_corpus(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=SPECIAL_TOKENS[4:],
        padding_side="right",
    )


def tiny_config(
    *,
    vocab_size: int,
    hidden_size: int = 64,
    num_layers: int = 2,
    vision_hidden: int = 32,
    vision_layers: int = 2,
    frame_size: int = 32,
    patch_size: int = 8,
    num_frames: int = 2,
    num_clips: int = 2,
    clip_len: int = 8,
    fragments: int = 2,
    fragment_size: int = 16,
    frame_difference: bool = False,
    name: str = "love-tiny (random weights, for tests)",
) -> LoveConfig:
    """A LOVE config with every part present but tiny: seconds to build and run on a CPU."""
    motion = MotionEncoderConfig.tiny()
    motion_dict = motion.to_dict()
    motion_dict["base_input_size"] = [clip_len, fragments * fragment_size, fragments * fragment_size]
    return LoveConfig(
        vision_config=dict(
            hidden_size=vision_hidden,
            num_hidden_layers=vision_layers,
            num_attention_heads=2,
            intermediate_size=vision_hidden * 2,
            attention_bias=True,
            image_size=frame_size,
            patch_size=patch_size,
            layer_scale_init_value=0.1,
            use_mean_pooling=True,
        ),
        text_config=dict(
            model_type="llama",
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            intermediate_size=hidden_size * 2,
            num_hidden_layers=num_layers,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            tie_word_embeddings=False,
        ),
        motion_config=motion_dict,
        sampler=SamplerConfig(
            num_frames=num_frames,
            frame_size=frame_size,
            num_clips=num_clips,
            clip_len=clip_len,
            fragments=fragments,
            fragment_size=fragment_size,
        ).to_dict(),
        score_head_dims=(32, 16, 8, 4),
        lora_r=4,
        lora_alpha=8,
        system_message=TINY_SYSTEM_MESSAGE,
        frame_difference=frame_difference,
        name=name,
    )


def build_tiny_model(seed: int = 0, randomize_adapters: bool = True, **config_overrides):
    """(model, tokenizer) with random weights. `randomize_adapters` makes each task's LoRA and head
    differ from the others (peft initialises LoRA B to zero, which would make the tasks identical)."""
    from .modeling_love import LoveModel

    tokenizer = build_tokenizer()
    config = tiny_config(vocab_size=len(tokenizer), **config_overrides)
    torch.manual_seed(seed)
    model = LoveModel(config)
    if randomize_adapters:
        generator = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
            for head in model.score_heads.values():
                for layer in head.layers[1:]:  # positive weights after the first keep the ReLU chain alive
                    layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 0.1)
                    layer.bias.fill_(0.01)
    return model.eval(), tokenizer
