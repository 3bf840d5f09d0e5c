"""love-nano: the packaged demonstration model, and the recipe that makes it from nothing.

love-nano is a tiny LOVE-architecture model trained on synthetic clips with `love_plugins.training`
(LOVE's stages 1, 2 and QA) after four pre-training stages of its own, which stand in for the
pre-trained InternVL3 and FAST-VQA weights a base built from config lacks. Those stages live here and
plug into the training package through its one extension point (`register_stage`); importing this
package registers them. Nothing in `love_plugins.training` imports this package.

* `recipe` — `NanoRecipe`, `build_love_nano` (what `scripts/train_love_nano.py` runs), `build_nano_model`;
* `stages` — `PretrainingStage`: the motion, vision, encoders and stage-0 options and datasets;
* `module` — `NanoForTraining`: their discarded heads and losses;
* `data` — the augmented and fragment-resampled datasets, the scene targets, `NanoCollator`;
* `fragment_statistics`, `probe`, `suite_eval` — the motion stage's distillation targets, linear probes
  of a bundle's features, and the scoring of a synthetic suite against its known targets.

See docs/love-nano.md for the research record and docs/training.md for the two packages.
"""

from . import stages  # noqa: F401  (registers the pre-training stages)
from .recipe import NANO_NAME, NanoRecipe, build_love_nano, build_nano_model
from .stages import PretrainingStage

__all__ = ["NANO_NAME", "NanoRecipe", "PretrainingStage", "build_love_nano", "build_nano_model"]
