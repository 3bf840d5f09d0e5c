"""Right-padded training batches built with `LoveProcessor`.

Each sample's teacher-forced answer is LOVE's: the level sentence of its MOS for the score tasks
("The quality of the video is good."), "Yes"/"No" for QA. The position the score is read from is
found per sample by the processor, so batches of prompts of different lengths need no care here.
A batch may mix tasks (a stage with `Stage.mixed_tasks`): each task's rows are tokenised with that
task's prompt and all rows are padded to one length. A stage adds fields of its own to a batch by
subclassing: `marks` names characters of the text whose token positions it needs, `extra_fields`
returns the fields (love-nano's pre-training stages do, `love_plugins.nano.data`).
"""

from __future__ import annotations

import torch

from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.prompting import IGNORE_INDEX, LoveProcessor, TextRequest
from ..video import normalize_fragments, normalize_frames
from .data import level_word_for


class LoveCollator:
    """items from `LoveDataset` → dict of tensors for `LoveForTraining.forward`."""

    def __init__(self, processor: LoveProcessor):
        self.processor = processor

    def marks(self, item: dict) -> tuple[int, ...]:
        """Character indices (into the prompt or question) whose token positions `extra_fields` needs."""
        return ()

    def extra_fields(self, items: list[dict], rows: list[dict]) -> dict[str, torch.Tensor]:
        """A subclass's own batch fields; `rows[i]["marks"]` holds item i's marked token positions."""
        return {}

    def request(self, record, marks: tuple[int, ...] = ()) -> TextRequest:
        if record.task in SCORE_TASKS:
            word = level_word_for(record.mos, self.processor.config.level_words)
        elif record.answer in ("Yes", "No"):
            word = self.processor.config.yes_word if record.answer == "Yes" else self.processor.config.no_word
        else:  # free text (stage-0 captions): the whole answer is the teacher-forced target
            word = record.answer
        return TextRequest(prompt=record.prompt, question=record.question, word=word, marks=marks)

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        records = [it["record"] for it in items]
        marks = [self.marks(it) for it in items]
        rows: list[dict | None] = [None] * len(items)
        for task in dict.fromkeys(r.task for r in records):
            index = [i for i, r in enumerate(records) if r.task == task]
            requests = [self.request(records[i], marks=marks[i]) for i in index]
            enc = self.processor(task, requests, with_labels=True)
            for j, i in enumerate(index):
                n = int(enc["attention_mask"][j].sum())
                rows[i] = {
                    "input_ids": enc["input_ids"][j, :n],
                    "labels": enc["labels"][j, :n],
                    "target_position": int(enc["target_positions"][j]),
                    "marks": enc["mark_positions"][j, : len(marks[i])].tolist() if marks[i] else [],
                }
        length = max(len(r["input_ids"]) for r in rows)
        batch_size = len(rows)
        input_ids = torch.full((batch_size, length), self.processor.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((batch_size, length), dtype=torch.long)
        labels = torch.full((batch_size, length), IGNORE_INDEX, dtype=torch.long)
        for b, row in enumerate(rows):
            n = len(row["input_ids"])
            input_ids[b, :n] = row["input_ids"]
            attention_mask[b, :n] = 1
            labels[b, :n] = row["labels"]
        targets = [
            (r.mos / 100.0) if r.task in SCORE_TASKS else (1.0 if r.answer == "Yes" else 0.0) for r in records
        ]
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "target_positions": torch.tensor([r["target_position"] for r in rows], dtype=torch.long),
            "labels": labels,
            "pixel_values": normalize_frames(torch.stack([it["frames"] for it in items])),
            "task_ids": torch.tensor([TASKS.index(r.task) for r in records], dtype=torch.long),
            "targets": torch.tensor(targets, dtype=torch.float32),
        }
        if all("motion_features" in it for it in items):
            batch["motion_features"] = torch.stack([it["motion_features"] for it in items])
        else:
            batch["motion_values"] = normalize_fragments(torch.stack([it["fragments"] for it in items]))
        batch.update(self.extra_fields(items, rows))
        return batch
