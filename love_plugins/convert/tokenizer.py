"""The authors' tokenizer without `trust_remote_code`.

LOVE ships InternLM2's tokenizer as remote code (`tokenization_internlm2.py` over a sentencepiece
`tokenizer.model`). We never run that code:

1. `tokenizer.json` present → loaded with `PreTrainedTokenizerFast` (exact: it is the same
   `tokenizers` pipeline the fast remote class would use);
2. else `tokenizer.model` → converted to a fast tokenizer with transformers' sentencepiece converter
   (Llama-style: byte fallback, "▁" word prefix). Limits: InternLM2's slow class strips/keeps leading
   spaces in its own way when decoding, and its `add_eos_token`/`clean_up_tokenization_spaces` options
   are re-read from `tokenizer_config.json` only for bos/eos/pad/unk; the ids of all tokens (ordinary and
   added) are those of the sentencepiece model plus `added_tokens_decoder`, so encoding the prompts
   LOVE uses gives the same ids.

Special tokens (bos/eos/pad/unk and the added `<img>`, `</img>`, `<IMG_CONTEXT>`, `<|im_start|>`,
`<|im_end|>`…) come from `tokenizer_config.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError

REQUIRED_TOKENS = ("<img>", "</img>", "<IMG_CONTEXT>", "<|im_start|>", "<|im_end|>")


def _special(config: dict, name: str) -> str | None:
    value = config.get(name)
    if isinstance(value, dict):
        return value.get("content")
    return value


def load_authors_tokenizer(directory: str | Path):
    """A `PreTrainedTokenizerFast` equivalent to the authors' tokenizer in `directory`."""
    from transformers import PreTrainedTokenizerFast

    directory = Path(directory)
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    specials = {k: _special(config, k) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    specials = {k: v for k, v in specials.items() if v}
    added = [v["content"] for _, v in sorted(config.get("added_tokens_decoder", {}).items(), key=lambda kv: int(kv[0]))
             if v.get("special", True)]
    if (directory / "tokenizer.json").is_file():
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(directory / "tokenizer.json"), **specials)
    elif (directory / "tokenizer.model").is_file():
        tokenizer = sentencepiece_to_fast(directory / "tokenizer.model", specials)
    else:
        raise CheckpointError(directory, "no tokenizer.json or tokenizer.model: cannot build the tokenizer")
    missing = [t for t in added if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    absent = [t for t in REQUIRED_TOKENS if t not in tokenizer.get_vocab()]
    if absent:
        raise CheckpointError(directory, f"tokenizer lacks LOVE's special token(s) {absent}")
    tokenizer.padding_side = "right"
    return tokenizer


def sentencepiece_to_fast(model_file: Path, specials: dict):
    """A sentencepiece BPE model → a fast Llama-style tokenizer, read with `sentencepiece` alone (no
    protobuf): pieces and scores give the BPE vocabulary and merges; control and user-defined pieces
    become special tokens; every text chunk between special tokens gets the "▁" dummy prefix, as the
    slow InternLM2 tokenizer (sentencepiece on each chunk) does."""
    try:
        import sentencepiece as spm
        from tokenizers import normalizers, processors
        from transformers import LlamaTokenizer, PreTrainedTokenizerFast
        from transformers.tokenization_utils_base import generate_merges
    except ImportError as exc:
        raise CheckpointError(model_file, f"converting tokenizer.model needs the sentencepiece package: {exc}") from exc
    try:
        sp = spm.SentencePieceProcessor(model_file=str(model_file))
    except Exception as exc:
        raise CheckpointError(model_file, f"not a sentencepiece model: {exc}") from exc
    _check_round_trip(sp, model_file)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    scores = {piece: sp.get_score(i) for i, piece in enumerate(pieces)}
    # Control pieces (<s>, </s>) and user-defined ones (encoded as themselves) are never merged.
    special = [p for i, p in enumerate(pieces) if sp.is_control(i) or sp.is_unknown(i)
               or (not sp.is_byte(i) and len(p) > 2 and p.startswith("<") and p.endswith(">")
                   and sp.encode(p, out_type=str) in ([p], ["\u2581", p]))]
    merges = generate_merges(vocab, scores, skip_tokens=special)
    add_prefix = sp.encode("a", out_type=str)[:1] in (["\u2581a"], ["\u2581"])
    names = {"unk_token": sp.id_to_piece(sp.unk_id()) if sp.unk_id() >= 0 else "<unk>",
             "bos_token": sp.id_to_piece(sp.bos_id()) if sp.bos_id() >= 0 else "<s>",
             "eos_token": sp.id_to_piece(sp.eos_id()) if sp.eos_id() >= 0 else "</s>"}
    names.update({k: v for k, v in specials.items() if k in names})
    llama = LlamaTokenizer(vocab=vocab, merges=merges, legacy=True, add_prefix_space=add_prefix, **names)
    backend = llama.backend_tokenizer
    # sentencepiece semantics: spaces are "▁", and each text chunk between special tokens gets the dummy
    # prefix (Metaspace would skip it when the chunk already starts with a space).
    steps = [normalizers.Prepend("\u2581")] if add_prefix else []
    backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "\u2581")])
    backend.pre_tokenizer = None
    bos = names["bos_token"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, vocab[bos])]
    )
    extra = [p for p in special if p not in names.values()]
    pad = specials.get("pad_token")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, additional_special_tokens=extra or None,
                                        pad_token=pad, **names)
    _check_same_ids(sp, tokenizer, model_file)
    return tokenizer


def _probe_texts() -> list[str]:
    """Text of the kinds LOVE's prompts hold: the InternVL system message, the task templates with every answer
    word, and a line of digits, punctuation, accents, CJK, emoji and runs of spaces, newlines and tabs."""
    from ..modeling.configuration_love import DEFAULT_TASK_PROMPTS, INTERNVL_SYSTEM_MESSAGE, LEVEL_WORDS

    texts = [INTERNVL_SYSTEM_MESSAGE, "Frame1: \nMotion Feature: \nMotion Feature2: ", "assistant\nYes", "assistant\nNo",
             "Frame 12 of 2024: 3.5 s @ 24fps, 1280x720 (16:9) -- \u201cquotes\u201d & 'apostrophes'; 100% ok?!",
             "caf\u00e9 na\u00efve \u732b\u5728\u559d\u6c34 \U0001F600\U0001F3AC  two  spaces\n\n\tand tabs\t \u00e9t\u00e9"]
    for spec in DEFAULT_TASK_PROMPTS.values():
        question = spec.question.format(prompt="a red ball rolling left, 2 cats", question="Is the cat drinking?")
        texts += [question] + [spec.answer.format(word=w) for w in (*LEVEL_WORDS, "Yes", "No")]
    return texts


def _check_same_ids(sp, tokenizer, model_file: Path) -> None:
    """Refuse a conversion that would tokenize any probe text otherwise than sentencepiece itself: a unigram
    model, split_digits, split_by_whitespace off and other settings the BPE pipeline does not reproduce."""
    for text in _probe_texts():
        if tokenizer(text, add_special_tokens=False)["input_ids"] != sp.encode(text):
            raise CheckpointError(model_file, f"the converted tokenizer would tokenize {text[:40]!r} otherwise than "
                                              "this sentencepiece model (not a plain BPE model with byte fallback: "
                                              "unigram, split_digits, ...); provide a tokenizer.json instead")


def _check_round_trip(sp, model_file: Path) -> None:
    """Refuse models whose normalizer rewrites text (NFKC maps, whitespace collapsing): the fast
    pipeline above does not reproduce those (they need the protobuf-encoded charsmap)."""
    probe = "Frame1: a  b\nHow is it?\tx \uff21\ufb01 caf\u00e9 \u732b"
    if sp.decode(sp.encode(probe)) != probe:
        raise CheckpointError(model_file, "this sentencepiece model normalises text (NFKC or whitespace rules), which "
                                          "the conversion cannot reproduce; provide a tokenizer.json instead")
