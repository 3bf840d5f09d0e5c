"""love-nano's pre-training data: the true scenes as targets, augmented questions, fragment statistics.

* `scene_targets` — a synthetic clip's scene attributes and degradation severities (the probes' targets);
* `NanoCollator` — LOVE's batches plus the fields the pre-training stages read (`aux_targets`, the
  word-match positions and verdicts, the fragment statistics);
* `DistillationDataset` / `FragmentResampledDataset` — the motion stage's clips with their hand-made
  fragment statistics (`fragment_statistics`), the latter drawing fragments from several samplings;
* `SceneAugmentedDataset` — stage 0's clips, with questions and prompts redrawn from the true scene.
"""

from __future__ import annotations

import torch

from ..training.collator import LoveCollator
from ..training.data import LoveDataset, Record, VideoCache


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


class NanoCollator(LoveCollator):
    """`LoveCollator` plus the pre-training fields: the true scenes (`scene_targets`), the word-match probe's
    marked words (`word_matches`, from `SceneAugmentedDataset`) and the fragment statistics."""

    def __init__(self, processor, scene_targets: bool = False, word_matches: bool = False):
        super().__init__(processor)
        self.scene_targets = scene_targets  # probe targets: the true scene
        self.word_matches = word_matches  # stage-0 word-match targets (`SceneAugmentedDataset`)

    def _matches(self, item: dict) -> list:
        return item.get("word_matches", []) if self.word_matches else []

    def marks(self, item: dict) -> tuple[int, ...]:
        return tuple(char for char, _ in self._matches(item))

    def extra_fields(self, items: list[dict], rows: list[dict]) -> dict[str, torch.Tensor]:
        records = [it["record"] for it in items]
        fields = {}
        if self.scene_targets and all(r.scene for r in records):
            fields["aux_targets"] = torch.tensor([scene_targets(r.scene) for r in records], dtype=torch.float32)
        matches = [self._matches(it) for it in items]
        if any(matches):  # stage-0 word-match probe: (B, K) token positions and 1/0 targets, -1 = none
            width = max(len(m) for m in matches)
            positions = torch.full((len(items), width), -1, dtype=torch.long)
            truth = torch.full((len(items), width), -1.0)
            for b, (row, row_matches) in enumerate(zip(rows, matches)):
                positions[b, : len(row_matches)] = torch.tensor(row["marks"], dtype=torch.long)
                truth[b, : len(row_matches)] = torch.tensor([float(m) for _, m in row_matches])
            fields["match_positions"], fields["match_targets"] = positions, truth
        if all("fragment_statistics" in it for it in items):  # motion-stage distillation targets
            fields["fragment_statistics"] = torch.stack([it["fragment_statistics"] for it in items])
        return fields


class DistillationDataset(LoveDataset):
    """The motion stage's clips: items also carry their fragments' hand-made statistics once
    `precompute_fragment_statistics` ran (the stage's distillation targets)."""

    def __init__(self, records: list[Record], cache: VideoCache, progress: bool = False):
        super().__init__(records, cache, progress=progress)
        self.fragment_stats: dict[str, torch.Tensor] = {}

    def precompute_fragment_statistics(self, progress: bool = False) -> torch.Tensor:
        """Hand-made statistics of each video's fragment clips (`fragment_statistics`), the targets of
        love-nano's motion stage; items then carry them. Returns them stacked, (videos, clips, 11)."""
        videos = list(dict.fromkeys(r.video for r in self.records))
        _fill_fragment_statistics(self.fragment_stats, self.cache, videos, progress)
        return torch.stack([self.fragment_stats[v] for v in videos])

    def __getitem__(self, i: int) -> dict:
        item = super().__getitem__(i)
        video = self.records[i].video
        if video in self.fragment_stats:
            item["fragment_statistics"] = self.fragment_stats[video]
        return item


class FragmentResampledDataset(DistillationDataset):
    """Motion-stage data for love-nano: each time a clip is drawn, its motion fragments come from one of
    `draws` samplings (sampler seeds s, s + 1, ..., where s is the model's own), picked at random, much as
    FAST-VQA draws fresh fragments at every step. The fragments' offsets depend on the frame size alone,
    so with one sampling every clip of a suite shows the encoder the same patches in every epoch, and it
    fits them; with four to eight it keeps learning (docs/love-nano.md). Evaluation and inference use the
    model's own sampling. Each sampling's distillation targets are its own fragments' statistics."""

    def __init__(self, records: list[Record], cache: VideoCache, draws: int, seed: int = 0,
                 progress: bool = False):
        if draws < 1:
            raise ValueError(f"draws must be >= 1, got {draws}")
        import dataclasses

        import numpy as np

        super().__init__(records, cache, progress=progress)
        base = cache.sampler
        self.caches = [cache] + [VideoCache(dataclasses.replace(base, seed=base.seed + k), cache.cache_dir,
                                            cache.num_workers) for k in range(1, draws)]
        for extra in self.caches[1:]:
            extra.load([r.video for r in records], progress=progress)
        self._rng = np.random.default_rng(seed)
        self._statistics: list[dict[str, torch.Tensor]] = []  # per sampling, once precomputed

    def precompute_fragment_statistics(self, progress: bool = False) -> torch.Tensor:
        """As `DistillationDataset`'s, for every sampling; returns them all, (samplings × videos, clips, 11)."""
        own = super().precompute_fragment_statistics(progress)
        videos = list(dict.fromkeys(r.video for r in self.records))
        self._statistics = [self.fragment_stats] + [
            _fill_fragment_statistics({}, extra, videos, progress, desc=f"fragment statistics, sampling {k}")
            for k, extra in enumerate(self.caches[1:], start=1)]
        return torch.cat([own] + [torch.stack([table[v] for v in videos]) for table in self._statistics[1:]])

    def __getitem__(self, i: int) -> dict:
        item = super().__getitem__(i)
        if "fragments" not in item:  # a frozen encoder's precomputed features: nothing to resample
            return item
        k = int(self._rng.integers(len(self.caches)))
        video = self.records[i].video
        item["fragments"] = self.caches[k][video][1]
        if self._statistics:
            item["fragment_statistics"] = self._statistics[k][video]
        return item


def _fill_fragment_statistics(table: dict[str, torch.Tensor], cache: VideoCache, videos: list[str], progress: bool,
                              desc: str = "fragment statistics") -> dict[str, torch.Tensor]:
    """Add to `table` the `fragment_statistics` of each video's fragments in `cache` that it lacks."""
    from tqdm.auto import tqdm

    from .fragment_statistics import fragment_statistics

    for video in tqdm(videos, desc=desc, unit="video", disable=not progress):
        if video not in table:
            table[video] = fragment_statistics(cache[video][1])
    return table




CAPTION_QUESTION = "Describe the video."


class SceneAugmentedDataset(LoveDataset):
    """Stage-0 data for love-nano: each time a synthetic clip is drawn, its QA question and its
    correspondence prompt are drawn afresh from the clip's true scene (with the suite's own
    generators, so targets stay exact). One fixed question per clip can be memorised from its text;
    the same question with both answers across clips cannot, so the model has to look at the video.
    Shares of the QA draws are instead captions of the true scene (`caption_share`) or open questions
    such as "What color is the background?" -> "The answer is gray." (`open_share`); both train with
    next-token loss on every answer word.

    `motion_weight` draws a question's dimension with motion that many times as likely as each other
    dimension (1: uniform, as the suite's own questions): whether the object moves left or right is
    the one attribute a frame cannot show, and the rarer it is asked the slower the model learns to look.

    Yes/no questions and correspondence prompts also carry `word_matches`: (character index of the
    last letter of each word that states an attribute, whether the video shows it), the targets of the
    stage-0 word-match probe (`NanoForTraining`, `match_weight`)."""

    def __init__(self, records: list[Record], cache: VideoCache, seed: int = 0, caption_share: float = 0.5,
                 open_share: float = 0.0, progress: bool = False, motion_weight: float = 1.0):
        if caption_share < 0 or open_share < 0 or caption_share + open_share > 1:
            raise ValueError(f"caption_share ({caption_share}) and open_share ({open_share}) must be >= 0 "
                             "and add up to at most 1")
        if not motion_weight > 0:  # NaN too
            raise ValueError(f"motion_weight must be > 0, got {motion_weight}")
        super().__init__(records, cache, progress=progress)
        self.caption_share = caption_share
        self.open_share = open_share
        import numpy as np

        from ..synth.prompts import DIMENSIONS

        self._rng = np.random.default_rng(seed)
        self._dimensions = DIMENSIONS
        weights = np.array([motion_weight if d == "motion" else 1.0 for d in DIMENSIONS])
        # None: the question samplers draw the dimension themselves, uniformly (weight 1 draws exactly the
        # numbers it always did)
        self._dimension_probabilities = None if motion_weight == 1 else weights / weights.sum()

    def _dimension(self) -> str | None:
        """The QA dimension of the next question, or None to let the question sampler draw it uniformly."""
        if self._dimension_probabilities is None:
            return None
        return str(self._rng.choice(self._dimensions, p=self._dimension_probabilities))

    def __getitem__(self, i: int) -> dict:
        import dataclasses

        from ..synth.prompts import (
            describe,
            sample_open_question,
            sample_prompt,
            sample_question,
            scene_attributes,
        )
        from ..synth.scene import Scene

        item = super().__getitem__(i)
        rec = item["record"]
        if rec.scene is None or rec.task == "perception":
            return item
        scene = Scene.from_dict(rec.scene)
        if rec.task == "correspondence":
            p = sample_prompt(self._rng, scene, quality=float(self._rng.uniform(0.05, 0.95)))
            matches = [(end - 1, name not in p["changed"]) for name, (_, end) in p["spans"].items()]
            return {**item, "record": dataclasses.replace(rec, prompt=p["prompt"], mos=float(p["mos"])),
                    "word_matches": matches}
        draw = self._rng.random()
        if draw < self.caption_share:
            # captioning, as in VLM pre-training: every attribute word must be read off the video
            rec = dataclasses.replace(rec, question=CAPTION_QUESTION, answer=describe(scene_attributes(scene)))
        else:
            dimension = self._dimension()
            q = (sample_open_question(self._rng, scene, dimension) if draw < self.caption_share + self.open_share
                 else sample_question(self._rng, scene, answer_yes=bool(self._rng.random() < 0.5),
                                      dimension=dimension))
            rec = dataclasses.replace(rec, question=q["question"], answer=q["answer"], dimension=q["dimension"])
            if "span" in q:
                item["word_matches"] = [(q["span"][1] - 1, q["answer"] == "Yes")]
        return {**item, "record": rec}
