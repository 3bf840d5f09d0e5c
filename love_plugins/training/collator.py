"""Right-padded training batches built with `LoveProcessor`.

Each sample's teacher-forced answer is LOVE's: the level sentence of its MOS for the score tasks
("The quality of the video is good."), "Yes"/"No" for QA. The position the score is read from is
found per sample by the processor, so batches of prompts of different lengths need no care here.
A batch may mix tasks (the stage-0 pretraining of love-nano does): each task's rows are tokenised
with that task's prompt and all rows are padded to one length.
"""

from __future__ import annotations

import torch

from ..modeling.configuration_love import SCORE_TASKS, TASKS
from ..modeling.prompting import IGNORE_INDEX, LoveProcessor, TextRequest
from ..video import normalize_fragments, normalize_frames
from .data import level_word_for


def scene_targets(scene: dict) -> list[float]:
    """Stage-0 auxiliary targets of a synthetic clip: background, colour, shape, count, motion class
    indices, then the six degradation severities (see `SCENE_CLASSES`)."""
    from ..synth.degrade import DEGRADATIONS
    from ..synth.scene import BACKGROUNDS, COUNTS, MOTIONS, OBJECT_COLORS, SHAPES

    classes = [list(BACKGROUNDS).index(scene["background"]), list(OBJECT_COLORS).index(scene["color"]),
               list(SHAPES).index(scene["shape"]), list(COUNTS).index(scene["count"]),
               list(MOTIONS).index(scene["motion"])]
    return [float(c) for c in classes] + [float(scene["degradations"].get(d, 0.0)) for d in DEGRADATIONS]


# class counts of `scene_targets` (background, colour, shape, count, motion) and the severities
SCENE_ATTRIBUTES = ("background", "color", "shape", "count", "motion")
SCENE_CLASSES = (4, 6, 3, 3, 5)
SCENE_SEVERITIES = 6
MOTION_CLASS = 4  # where the direction of motion sits among those classes


class LoveCollator:
    """items from `LoveDataset` → dict of tensors for `LoveForTraining.forward`."""

    def __init__(self, processor: LoveProcessor, scene_targets: bool = False, word_matches: bool = False):
        self.processor = processor
        self.scene_targets = scene_targets  # stage-0 probe targets: the true scene
        self.word_matches = word_matches  # stage-0 word-match targets (`SceneAugmentedDataset`)

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
        matches = [it.get("word_matches", []) if self.word_matches else [] for it in items]
        rows: list[dict | None] = [None] * len(items)
        for task in dict.fromkeys(r.task for r in records):
            index = [i for i, r in enumerate(records) if r.task == task]
            requests = [self.request(records[i], marks=tuple(char for char, _ in matches[i])) for i in index]
            enc = self.processor(task, requests, with_labels=True)
            for j, i in enumerate(index):
                n = int(enc["attention_mask"][j].sum())
                rows[i] = {
                    "input_ids": enc["input_ids"][j, :n],
                    "labels": enc["labels"][j, :n],
                    "target_position": int(enc["target_positions"][j]),
                    "marks": enc["mark_positions"][j, : len(matches[i])].tolist() if matches[i] else [],
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
        if self.scene_targets and all(r.scene for r in records):
            batch["aux_targets"] = torch.tensor([scene_targets(r.scene) for r in records], dtype=torch.float32)
        if any(matches):  # stage-0 word-match probe: (B, K) token positions and 1/0 targets, -1 = none
            width = max(len(m) for m in matches)
            positions = torch.full((batch_size, width), -1, dtype=torch.long)
            truth = torch.full((batch_size, width), -1.0)
            for b, (row, row_matches) in enumerate(zip(rows, matches)):
                positions[b, : len(row_matches)] = torch.tensor(row["marks"], dtype=torch.long)
                truth[b, : len(row_matches)] = torch.tensor([float(m) for _, m in row_matches])
            batch["match_positions"], batch["match_targets"] = positions, truth
        if all("fragment_statistics" in it for it in items):  # motion-stage distillation targets
            batch["fragment_statistics"] = torch.stack([it["fragment_statistics"] for it in items])
        if all("motion_features" in it for it in items):
            batch["motion_features"] = torch.stack([it["motion_features"] for it in items])
        else:
            batch["motion_values"] = normalize_fragments(torch.stack([it["fragments"] for it in items]))
        return batch
