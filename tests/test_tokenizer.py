"""Released tokenizers: a sentencepiece `tokenizer.model` (InternLM2/InternLM3 style) converted without remote
code tokenizes and decodes as the authors' slow tokenizer does, and the answer tokens LOVE reads are those of
the answer slot inside the chat template, whatever the tokenizer does to a word alone."""

from __future__ import annotations

import functools
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from love_plugins.convert.tokenizer import load_authors_tokenizer
from love_plugins.errors import CheckpointError
from love_plugins.modeling import LoveProcessor, TextRequest
from love_plugins.modeling.configuration_love import INTERNVL_SYSTEM_MESSAGE
from love_plugins.modeling.tiny import _training_corpus, build_tokenizer, tiny_config

spm = pytest.importorskip("sentencepiece")

SPECIAL = ["<img>", "</img>", "<IMG_CONTEXT>", "<|im_start|>", "<|im_end|>"]
# What the trainer sees besides LOVE's prompts: the system message, digits, accents, CJK and emoji.
EXTRA_CORPUS = [INTERNVL_SYSTEM_MESSAGE] * 20 + ["2 cats, 3 dogs in 2024 at 24 fps; café naïve 猫在喝水 😀🎬 “ok”!"] * 10


@functools.cache
def sentencepiece_release(add_dummy_prefix: bool, model_type: str = "bpe") -> tuple[Path, bytes]:
    """A folder holding only `tokenizer.model` + `tokenizer_config.json`, as a release of the authors' slow
    tokenizer can: BPE with byte fallback, identity normalisation, LOVE's added tokens as user symbols."""
    folder = Path(tempfile.mkdtemp(prefix=f"spm-{int(add_dummy_prefix)}-{model_type}-"))
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_training_corpus() * 5 + EXTRA_CORPUS), model_writer=proto, vocab_size=400,
        character_coverage=0.9995, model_type=model_type, byte_fallback=True, user_defined_symbols=SPECIAL,
        remove_extra_whitespaces=False, normalization_rule_name="identity", add_dummy_prefix=add_dummy_prefix,
        minloglevel=2)
    (folder / "tokenizer.model").write_bytes(proto.getvalue())
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>",
                                                              "pad_token": "</s>", "unk_token": "<unk>"}))
    return folder, proto.getvalue()


@functools.cache
def converted(add_dummy_prefix: bool):
    folder, proto = sentencepiece_release(add_dummy_prefix)
    return load_authors_tokenizer(folder), spm.SentencePieceProcessor(model_proto=proto)


def slow_ids(sp, text: str) -> list[int]:
    """The authors' slow InternLM2 tokenizer: BOS, then sentencepiece on each chunk between added tokens."""
    ids = [sp.bos_id()]
    for chunk in re.split("(" + "|".join(map(re.escape, SPECIAL)) + ")", text):
        if chunk:
            ids += [sp.piece_to_id(chunk)] if chunk in SPECIAL else sp.encode(chunk)
    return ids


# Letters, digits, punctuation, whitespace runs, accents, CJK, emoji and the added tokens themselves.
ALPHABET = st.sampled_from(list("abcXYZ019 .,;:!?'\"-()[]/\n\t") + list("éüñ猫在喝水人工智能") + ["😀", "🎬", "  ", "\n\n"])
TEXT = st.lists(st.one_of(ALPHABET, st.sampled_from(SPECIAL)), max_size=80).map("".join)
PLAIN = st.lists(ALPHABET, max_size=120).map("".join)


@pytest.mark.parametrize("prefix", [True, False], ids=["dummy-prefix", "no-dummy-prefix"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_converted_tokenizer_encodes_random_text_as_sentencepiece(prefix, text):
    tokenizer, sp = converted(prefix)
    assert tokenizer(text)["input_ids"] == slow_ids(sp, text)


@pytest.mark.parametrize("prefix", [True, False], ids=["dummy-prefix", "no-dummy-prefix"])
@settings(max_examples=150, deadline=None)
@given(text=PLAIN)
def test_converted_tokenizer_decodes_as_sentencepiece(prefix, text):
    tokenizer, sp = converted(prefix)
    ids = sp.encode(text)
    assert tokenizer.decode(ids) == sp.decode(ids) == text


@pytest.mark.parametrize("prefix", [True, False], ids=["dummy-prefix", "no-dummy-prefix"])
def test_whole_prompts_of_every_task_tokenize_as_sentencepiece(prefix):
    """The three tasks' conversations with the InternVL system prompt (Chinese), prompts with punctuation,
    digits, emoji, CJK, whitespace runs, and a 2,000-character prompt."""
    tokenizer, sp = converted(prefix)
    config = tiny_config(vocab_size=len(tokenizer))
    config.system_message = INTERNVL_SYSTEM_MESSAGE
    processor = LoveProcessor(tokenizer, config)
    prompts = ["a red ball, 2 cats & 3 dogs (4K, 24fps)!", "猫在喝水 😀 — “quoted”", "two  spaces\n\nand\tnewlines  ",
               ("a long prompt with many words, numbers 1234 and 猫 " * 60)[:2000]]
    for task in ("perception", "correspondence", "qa"):
        for prompt in prompts:
            request = TextRequest(prompt=prompt, question=prompt.rstrip() + "?")
            text, _, _ = processor.conversation(task, request)
            assert tokenizer(text)["input_ids"] == slow_ids(sp, text), (task, prompt[:30])
            batch = processor(task, [request])
            assert batch["input_ids"][0].tolist() == slow_ids(sp, text)


def _answer_slot_ids(processor: LoveProcessor, tokenizer, task: str, words) -> list[int]:
    """Independently of `answer_token_id`: tokenize the whole conversation with each word and take the token
    right after the score position."""
    ids = []
    for word in words:
        batch = processor(task, [TextRequest(prompt="a cat", question="Is it red?", word=word)])
        ids.append(int(batch["input_ids"][0, batch["target_positions"][0] + 1]))
    return ids


@pytest.mark.parametrize("kind", ["sentencepiece+prefix", "sentencepiece", "byte-level-bpe"])
def test_answer_ids_are_the_answer_slots_tokens(kind):
    """With a dummy prefix, sentencepiece tokenizes " good" alone as ['▁', '▁g', 'ood'] and "Yes" alone as
    '▁Yes'; the slot holds '▁g' and 'Yes'. The processor must read the slot's ids (and so can start at all)."""
    tokenizer = build_tokenizer() if kind == "byte-level-bpe" else converted(kind.endswith("prefix"))[0]
    config = tiny_config(vocab_size=len(tokenizer))
    processor = LoveProcessor(tokenizer, config)
    for task in ("perception", "correspondence"):
        assert processor.level_token_ids == _answer_slot_ids(processor, tokenizer, task, config.level_words)
    assert [processor.yes_token_id, processor.no_token_id] == _answer_slot_ids(processor, tokenizer, "qa",
                                                                               ("Yes", "No"))
    if kind == "sentencepiece+prefix":
        alone = tokenizer(" good", add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(alone)[0] == "\u2581" != tokenizer.convert_ids_to_tokens(
            processor.level_token_ids[3])
        assert tokenizer("Yes", add_special_tokens=False)["input_ids"][0] != processor.yes_token_id
        assert "Yes".startswith(tokenizer.convert_ids_to_tokens(processor.yes_token_id))  # no "▁" in the slot


def test_a_sentencepiece_model_the_conversion_cannot_reproduce_is_refused():
    folder, _ = sentencepiece_release(True, model_type="unigram")
    with pytest.raises(CheckpointError, match=r"tokenizer\.model: the converted tokenizer would tokenize .* otherwise "
                                              r"than this sentencepiece model"):
        load_authors_tokenizer(folder)
