"""Text side of LOVE: the chat prompt, its tokenisation, and where the score is read.

LOVE's prompt (InternLM2 chat / ChatML, as in the authors' training data pipeline):

    <|im_start|>system\\n{system}<|im_end|><|im_start|>user\\n
    Frame1: <img><IMG_CONTEXT>x256</img>\\n ... Frame8: <img>...</img>\\n
    Motion Feature: <img><IMG_CONTEXT></img> x4 [\\nMotion Feature2: <image>]{question}<|im_end|>
    <|im_start|>assistant\\n{answer}<|im_end|>

The score head reads the last-layer hidden state of the token just before the answer's `{word}`
(the level word, or Yes/No for QA). LOVE's code reads position -4 of every row, which is wrong as soon
as a batch is padded; here the position is found per sample from the tokenizer's character offsets,
so batched and one-by-one scoring agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .configuration_love import LoveConfig

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
# Prompts longer than this are cut (with a warning): a 50,000-character prompt must not crash a run.
MAX_PROMPT_CHARS = 2000


@dataclass
class TextRequest:
    """What one sample asks of one task. `word` is the answer word used for teacher forcing."""

    prompt: str | None = None
    question: str | None = None
    word: str | None = None
    # Character indices into the correspondence prompt (or the QA question) whose tokens training looks
    # at: love-nano's stage 0 asks, at each word of the prompt, whether the video shows it.
    marks: tuple[int, ...] = ()


def _truncate(text: str, what: str) -> str:
    if len(text) > MAX_PROMPT_CHARS:
        logger.warning("%s of %d characters truncated to %d", what, len(text), MAX_PROMPT_CHARS)
        return text[:MAX_PROMPT_CHARS]
    return text


class LoveProcessor:
    """Builds token batches for `LoveModel`: ids, attention mask, per-sample target position, labels."""

    def __init__(self, tokenizer, config: LoveConfig):
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("LoveProcessor needs a fast tokenizer (character offsets locate the score token)")
        self.tokenizer = tokenizer
        self.config = config
        self.image_context_id = self._single_token_id(config.image_context_token)
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        # The ids whose next-token probabilities are read: the first token of each answer word *in its slot*
        # of the chat template, where the model reads (and LOVE trained) it. A word tokenized alone can start
        # with another token (sentencepiece's "▁Yes" for the slot's "Yes", or "▁" for " good").
        score_tasks = [t for t in ("perception", "correspondence") if t in config.task_prompts]
        by_task = {t: [self.answer_token_id(t, w) for w in config.level_words] for t in score_tasks}
        self.level_token_ids = next(iter(by_task.values()), [])
        if any(ids != self.level_token_ids for ids in by_task.values()):
            raise ValueError(f"the level words start with different tokens in the score tasks' answers: {by_task}")
        if len(set(self.level_token_ids)) != len(self.level_token_ids):
            raise ValueError(f"level words {config.level_words} do not start with distinct tokens in the answer "
                             f"(ids {self.level_token_ids})")
        self.yes_token_id = self.answer_token_id("qa", config.yes_word)
        self.no_token_id = self.answer_token_id("qa", config.no_word)
        if self.yes_token_id == self.no_token_id:
            raise ValueError("yes and no words start with the same token in the answer")

    def _single_token_id(self, token: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise ValueError(f"tokenizer has no token {token!r}")
        return int(token_id)

    def answer_tokens(self, task: str, word: str) -> list[int]:
        """The ids of the tokens `word` spans in the answer slot of `task`'s conversation, as tokenized in the
        whole prompt; the first is the token at `target_positions + 1`, whose probability LOVE reads."""
        request = TextRequest(prompt="a video", question="Is it?", word=word)
        text, _, word_start, _ = self._render(task, request)
        enc = self.tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
        first = _first_token_ending_after(enc["offset_mapping"], word_start)
        last = _first_token_ending_after(enc["offset_mapping"], word_start + len(word) - 1)
        return [int(i) for i in enc["input_ids"][first : last + 1]]

    def answer_token_id(self, task: str, word: str) -> int:
        return self.answer_tokens(task, word)[0]

    def multi_token_answers(self) -> list[str]:
        """Answer words that span several tokens in their slot: for those, the probability read is the first
        token's, an upper bound of the word's (LOVE's tokenizer has one token for each)."""
        tasks = [t for t in ("perception", "correspondence") if t in self.config.task_prompts][:1]
        words = [(t, w) for t in tasks for w in self.config.level_words]
        words += [("qa", w) for w in (self.config.yes_word, self.config.no_word)]
        return [w for t, w in words if len(self.answer_tokens(t, w)) > 1]

    # -- text ---------------------------------------------------------------------------------------
    def visual_block(self, task: str) -> str:
        """Frame and motion placeholders, already expanded into image-context tokens."""
        cfg = self.config
        ctx, start, end = cfg.image_context_token, cfg.image_start_token, cfg.image_end_token
        frame = f"{start}{ctx * cfg.tokens_per_frame}{end}"
        frames = "\n".join(f"Frame{i + 1}: {frame}" for i in range(cfg.sampler_config.num_frames))
        motion = f"{start}{ctx}{end}" * cfg.num_motion_tokens
        block = f"{frames}\nMotion Feature: {motion}"
        if cfg.task_prompt(task).motion_suffix:
            block += "\nMotion Feature2: <image>"
        return block

    def default_word(self, task: str) -> str:
        # LOVE's own inference feeds the answer "good" (scores) / an answer word (QA); thanks to the
        # causal mask the hidden state before the word does not depend on which word it is.
        return self.config.yes_word if task == "qa" else "good"

    def conversation(self, task: str, request: TextRequest) -> tuple[str, int, int]:
        """Full ChatML text, the character index where the answer starts, and where its word starts."""
        text, answer_start, word_start, _ = self._render(task, request)
        return text, answer_start, word_start

    def _render(self, task: str, request: TextRequest) -> tuple[str, int, int, int]:
        """`conversation` plus where the request's own text (prompt or question) starts in it (-1: no marks)."""
        cfg = self.config
        spec = cfg.task_prompt(task)
        if task == "correspondence" and not (request.prompt and request.prompt.strip()):
            raise ValueError("the correspondence task needs the video's text prompt")
        if task == "qa" and not (request.question and request.question.strip()):
            raise ValueError("the qa task needs a question")
        prompt = _truncate((request.prompt or "").strip(), "prompt")
        asked = _truncate((request.question or "").strip(), "question")
        question = spec.question.format(prompt=prompt, question=asked)
        word = request.word or self.default_word(task)
        head, tail = spec.answer.split("{word}")
        user_head = (
            f"<|im_start|>system\n{cfg.system_message}<|im_end|>"
            f"<|im_start|>user\n{self.visual_block(task)}"
        )
        head_text = f"{user_head}{question}<|im_end|><|im_start|>assistant\n"
        answer_start = len(head_text)
        word_start = answer_start + len(head)
        text_start = -1
        if request.marks:  # where the prompt (correspondence) or question (QA) starts in the text
            own = {"correspondence": prompt, "qa": asked}.get(task)
            if not own:
                raise ValueError(f"marks point into the prompt or question; task {task!r} has none")
            if not all(0 <= m < len(own) for m in request.marks):
                raise ValueError(f"marks {request.marks} fall outside the {len(own)}-character text {own!r}")
            text_start = len(user_head) + question.rindex(own)
        return f"{head_text}{head}{word}{tail}<|im_end|>", answer_start, word_start, text_start

    # -- tokens -------------------------------------------------------------------------------------
    def mixed(self, tasks: list[str], requests: list[TextRequest]) -> dict[str, torch.Tensor]:
        """One right-padded batch whose row i asks task `tasks[i]` (for `LoveModel.forward_tasks`)."""
        rows_of = {t: [i for i, task in enumerate(tasks) if task == t] for t in dict.fromkeys(tasks)}
        stacked = self.concat([self(t, [requests[i] for i in rows]) for t, rows in rows_of.items()])
        order = torch.tensor([i for rows in rows_of.values() for i in rows]).argsort()
        return {k: v[order] for k, v in stacked.items()}

    def concat(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Right-padded batches (of any tasks) as one, their rows in order, padded to the longest."""
        length = max(b["input_ids"].shape[1] for b in batches)

        def padded(key: str, value: int) -> torch.Tensor:
            return torch.cat([F.pad(b[key], (0, length - b[key].shape[1]), value=value) for b in batches])

        return {"input_ids": padded("input_ids", self.pad_token_id), "attention_mask": padded("attention_mask", 0),
                "target_positions": torch.cat([b["target_positions"] for b in batches])}

    def __call__(self, task: str, requests: list[TextRequest], with_labels: bool = False) -> dict[str, torch.Tensor]:
        """Tokenise a batch (right-padded). `target_positions[b]` = index of the token before the word."""
        texts, answer_starts, word_starts, mark_chars = [], [], [], []
        for request in requests:
            text, answer_start, word_start, text_start = self._render(task, request)
            texts.append(text)
            answer_starts.append(answer_start)
            word_starts.append(word_start)
            mark_chars.append([text_start + m for m in request.marks])
        enc = self.tokenizer(texts, return_offsets_mapping=True, padding=False, add_special_tokens=True)
        rows, targets, label_rows, marks = [], [], [], []
        for ids, offsets, answer_start, word_start, chars in zip(
            enc["input_ids"], enc["offset_mapping"], answer_starts, word_starts, mark_chars
        ):
            word_index = _first_token_ending_after(offsets, word_start)
            targets.append(word_index - 1)
            rows.append(ids)
            marks.append([_first_token_ending_after(offsets, c) for c in chars])
            if with_labels:
                first_answer = _first_token_ending_after(offsets, answer_start)
                label_rows.append([IGNORE_INDEX] * first_answer + ids[first_answer:])
        length = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
        for b, ids in enumerate(rows):
            input_ids[b, : len(ids)] = torch.tensor(ids)
            attention_mask[b, : len(ids)] = 1
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "target_positions": torch.tensor(targets, dtype=torch.long),
        }
        if any(marks):  # (B, K) token index of each marked character, -1 where a row has fewer marks
            positions = torch.full((len(rows), max(len(m) for m in marks)), -1, dtype=torch.long)
            for b, row_marks in enumerate(marks):
                positions[b, : len(row_marks)] = torch.tensor(row_marks, dtype=torch.long)
            batch["mark_positions"] = positions
        if with_labels:
            labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
            for b, row in enumerate(label_rows):
                labels[b, : len(row)] = torch.tensor(row)
            batch["labels"] = labels
        expected = self.config.tokens_per_frame * self.config.sampler_config.num_frames + self.config.num_motion_tokens
        found = (input_ids == self.image_context_id).sum(dim=1)
        if not torch.all(found == expected):
            raise RuntimeError(f"prompt holds {found.tolist()} image-context tokens, expected {expected}")
        return batch


def _first_token_ending_after(offsets: list[tuple[int, int]], char_index: int) -> int:
    """Index of the first token whose character span ends after `char_index` (the token holding it)."""
    for i, (start, end) in enumerate(offsets):
        if end > char_index and end > start:
            return i
    raise ValueError(f"no token covers character {char_index}")
