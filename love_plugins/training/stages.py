"""Training stages: LOVE's three, and the one way other stages plug into `train`.

LOVE's recipe (SPEC §2) has three stages, each an instance of `LoveStage`:

* ``stage1`` — the task's vision projector (`mlp1`) and motion projector (`fast_mlp`) learn with
  next-token cross-entropy on the level sentence; everything else is frozen;
* ``stage2`` — the task's LoRA adapters (vision tower and LLM) and its score head learn with L1
  between the head's output and MOS/100; the projectors are frozen;
* ``qa`` — the QA LoRA adapters learn with next-token cross-entropy on the Yes/No answer.

**Extension point.** Another package adds a stage by subclassing `Stage` (a dataclass whose fields
are the stage's own options) and calling `register_stage(name, factory, aliases)` when it is
imported (an installed package names that module under the `love_plugins.training_stages` entry
point, so that `love-eval train --stage NAME` finds it). `TrainConfig(stage=name,
stage_options={...})` then builds it with `factory(**options)`,
and `train` asks it, in this order, for:

1. `check(cfg)` — refuse a task or option combination before anything is read;
2. `record_tasks(cfg)` — whose annotation records the stage trains on (LOVE: the run's task);
3. `datasets(cfg, train_records, eval_records, cache)` — its datasets (LOVE: `LoveDataset`);
4. `build_module(cfg, model, processor, train_set, eval_set)` — the `LoveForTraining` (or a subclass
   that adds discarded heads and loss terms, see `LoveForTraining.losses`);
5. `collator(module, processor)` — the batches (a `LoveCollator` subclass adds fields to a batch
   through `LoveCollator.extra_fields`);
6. `metrics(predictions, targets, task_ids)` — what picks the best checkpoint.

Its options are recorded beside the run's configuration in `training_info.json`. The training
package knows no stage but LOVE's; love-nano's pre-training stages are registered by
`love_plugins.nano` (docs/training.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ..modeling.configuration_love import SCORE_TASKS

if TYPE_CHECKING:
    from .module import LoveForTraining

LOVE_STAGES = ("stage1", "stage2", "qa")
ENTRY_POINT_GROUP = "love_plugins.training_stages"  # installed packages' stage modules, imported on first use
_ALIASES = {"1": "stage1", "2": "stage2", "qa": "qa"}


@dataclass
class Stage:
    """One training stage. The defaults are LOVE's behaviour; `LoveStage` is LOVE's own three."""

    name: ClassVar[str] = ""
    # what the training module computes and switches on for this stage
    next_token_loss: ClassVar[bool] = False  # cross-entropy on the teacher-forced answer
    score_loss: ClassVar[bool] = False  # L1 between a score head's output and MOS/100
    mixed_tasks: ClassVar[bool] = False  # a batch may hold several tasks' samples
    lora: ClassVar[bool] = True  # the LoRA branches compute (off: the base weights alone)

    def check(self, cfg) -> None:
        """Refuse a configuration this stage cannot train (a ValueError naming the reason)."""

    def options(self) -> dict:
        """The stage's own options, as recorded in training_info.json."""
        return dataclasses.asdict(self)

    def record_tasks(self, cfg) -> tuple[str, ...]:
        return (cfg.task,)

    def datasets(self, cfg, train_records: list, eval_records: list, cache) -> tuple:
        from .data import LoveDataset

        train_set = LoveDataset(train_records, cache, progress=True)
        return train_set, (LoveDataset(eval_records, cache, progress=True) if eval_records else None)

    def trainable_parameter_names(self, model, task: str) -> list[str]:
        raise NotImplementedError

    def build_module(self, cfg, model, processor, train_set, eval_set) -> LoveForTraining:
        from .module import LoveForTraining

        return LoveForTraining(model, processor, self, cfg.task)

    def collator(self, module: LoveForTraining, processor):
        from .collator import LoveCollator

        return LoveCollator(processor)

    def metrics(self, predictions, targets, task_ids) -> dict:
        from .trainer import evaluation_metrics

        return evaluation_metrics(predictions, targets, task_ids, self.name)


def _is_lora_of(name: str, task: str) -> bool:
    return f".lora_A.{task}." in name or f".lora_B.{task}." in name


@dataclass
class LoveStage(Stage):
    """LOVE's stage 1, stage 2 or QA (no options of its own: the Trainer's are in `TrainConfig`)."""

    stage: str = "stage1"

    def __post_init__(self):
        if self.stage not in LOVE_STAGES:
            raise ValueError(f"unknown LOVE stage {self.stage!r}; known: {LOVE_STAGES}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.stage

    @property
    def next_token_loss(self) -> bool:  # type: ignore[override]
        return self.stage in ("stage1", "qa")

    @property
    def score_loss(self) -> bool:  # type: ignore[override]
        return self.stage == "stage2"

    def options(self) -> dict:
        return {}

    def check(self, cfg) -> None:
        check_task(self.stage, cfg.task)

    def trainable_parameter_names(self, model, task: str) -> list[str]:
        """Stage 1: the task's projectors; stage 2: its LoRA and score head; QA: its LoRA. The motion encoder
        stays frozen in every LOVE stage."""
        names = []
        for name, _ in model.named_parameters():
            head = name.split(".")
            if self.stage == "stage1":
                keep = head[0] in ("projectors", "motion_projectors") and head[1] == task
            elif self.stage == "stage2":
                keep = _is_lora_of(name, task) or (head[0] == "score_heads" and head[1] == task)
            else:
                keep = _is_lora_of(name, task)
            if keep and head[0] != "motion_encoder":
                names.append(name)
        return names


def check_task(stage: str, task: str) -> None:
    """LOVE's pairing of stages and tasks."""
    if stage == "qa" and task != "qa":
        raise ValueError("--stage qa trains the qa task")
    if stage == "stage2" and task not in SCORE_TASKS:
        raise ValueError("stage 2 (score head + LoRA with L1) is for perception and correspondence")


# -- the registry -------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable[..., Stage]] = {}


def register_stage(name: str, factory: Callable[..., Stage], aliases: tuple[str, ...] = ()) -> None:
    """Make `TrainConfig(stage=name or an alias, stage_options={...})` build `factory(**stage_options)`."""
    if name in LOVE_STAGES or any(a in _ALIASES for a in aliases):
        raise ValueError(f"stage {name!r} would shadow one of LOVE's stages {LOVE_STAGES}")
    _REGISTRY[name] = factory
    for alias in (name, name.removeprefix("stage"), *aliases):
        _ALIASES.setdefault(alias, name)


def registered_stages() -> tuple[str, ...]:
    """LOVE's stages, then those other packages registered."""
    return LOVE_STAGES + tuple(_REGISTRY)


def _load_registered_packages() -> None:
    """Import the modules of the `love_plugins.training_stages` entry points (each registers its stages)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()


def normalize_stage(stage: str | int) -> str:
    text = str(stage).lower()

    def lookup() -> str | None:
        return _ALIASES.get(text) or _ALIASES.get(text.removeprefix("stage"))

    out = lookup()
    if out is None:  # a stage of an installed package not imported yet
        _load_registered_packages()
        out = lookup()
    if out is None:
        others = f"; registered: {', '.join(_REGISTRY)}" if _REGISTRY else ""
        raise ValueError(f"unknown stage {stage!r}; LOVE's are 1, 2 and qa{others}")
    return out


def resolve_stage(task: str, stage: str | int) -> str:
    """QA has one LoRA stage: `--task qa --stage 2` means the QA recipe."""
    stage = normalize_stage(stage)
    return "qa" if task == "qa" and stage == "stage2" else stage


def build_stage(name: str, options: dict | None = None) -> Stage:
    """The `Stage` called `name` (resolved) with its options; a stage without options of its own refuses any."""
    if name in LOVE_STAGES:
        if options:
            raise ValueError(f"stage {name!r} is one of LOVE's and takes no stage options; got "
                             f"{', '.join(sorted(options))} (LOVE's settings are TrainConfig's)")
        return LoveStage(name)
    factory = _REGISTRY[normalize_stage(name)]
    try:
        return factory(**(options or {}))
    except TypeError as exc:  # an unknown option name
        raise ValueError(f"stage {name!r}: {exc}") from None


__all__ = ["LOVE_STAGES", "LoveStage", "Stage", "build_stage", "register_stage", "registered_stages",
           "resolve_stage"]
