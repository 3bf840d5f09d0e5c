"""Linear probes of a model's visual features on a synthetic suite: what does the LLM get to see?

A LOVE model can only answer "Is the background gray?" or rate a prompt's correspondence if its
visual tokens carry the scene's attributes, and it can only rate quality if they carry the
artefacts. Reading those off the features with a linear probe (fit on one suite, scored on a suite
of another seed) separates the two ways a small model fails: features that lack the content, or an
LLM that has not learnt to use content its features do carry.

Features per clip: the projected frame tokens the LLM receives for a task (flattened) and the
motion encoder's pooled clip features. Probes: scikit-learn's logistic regression per scene
attribute (held-out accuracy, next to the majority-class rate) and ridge regression of the
perception MOS (held-out SRCC), on standardised features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..training.data import VideoCache, load_records
from ..video import normalize_fragments, normalize_frames

ATTRIBUTES: tuple[str, ...] = ("background", "color", "shape", "count", "motion")


@dataclass
class SuiteFeatures:
    """Visual features and known content of every clip of one suite (row i = clip i)."""

    frames: np.ndarray  # (N, frame tokens × LLM hidden): what the LLM receives for the frames
    motion: np.ndarray  # (N, clips × motion dim): the motion encoder's pooled features
    attributes: dict[str, list]  # attribute -> true value per clip
    perception_mos: np.ndarray  # (N,)

    def feature_sets(self) -> dict[str, np.ndarray]:
        return {"frames": self.frames, "motion": self.motion,
                "frames+motion": np.concatenate([self.frames, self.motion], axis=1)}


@torch.no_grad()
def suite_features(model, suite: str | Path, task: str = "perception", cache_dir: str | Path | None = None,
                   batch_size: int = 32, progress: bool = False) -> SuiteFeatures:
    """Run `model`'s vision tower + `task`'s projector and its motion encoder over every clip of a
    synthetic suite (both splits). Raises ValueError if the suite's manifest carries no true scenes."""
    records = [r for split in ("train", "test") for r in load_records(Path(suite) / "manifest.jsonl",
                                                                       "perception", split)]
    missing = [r.video for r in records if not r.scene]
    if missing:
        raise ValueError(f"{suite}: {len(missing)} clips have no true scene (e.g. {missing[0]}); "
                         "probes need a synthetic suite written by `love-eval synth`")
    cache = VideoCache(model.config.sampler_config, cache_dir)
    cache.load([r.video for r in records], progress=progress)
    frames, motion = [], []
    model.eval()
    for start in tqdm(range(0, len(records), batch_size), desc="features", disable=not progress):
        chunk = records[start : start + batch_size]
        pixels = torch.stack([normalize_frames(cache[r.video][0]) for r in chunk]).to(model.device)
        fragments = torch.stack([normalize_fragments(cache[r.video][1]) for r in chunk]).to(model.device)
        frames.append(model.encode_frames(pixels, task).flatten(1).float().cpu().numpy())
        motion.append(model.encode_motion(fragments).flatten(1).float().cpu().numpy())
    return SuiteFeatures(
        frames=np.concatenate(frames),
        motion=np.concatenate(motion),
        attributes={name: [r.scene[name] for r in records] for name in ATTRIBUTES},
        perception_mos=np.array([r.mos for r in records], dtype=np.float64),
    )


def probe_features(train: SuiteFeatures, heldout: SuiteFeatures, regularization: float = 0.1) -> dict:
    """Fit the probes on `train`, score them on `heldout`.

    Returns {"attributes": {feature set: {attribute: accuracy}}, "majority": {attribute: rate of the
    most common held-out value}, "perception_srcc": {feature set: SRCC}}.
    """
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict = {"attributes": {}, "majority": {}, "perception_srcc": {}}
    held_sets = heldout.feature_sets()
    for name, x_train in train.feature_sets().items():
        x_held = held_sets[name]
        accuracies = {}
        for attribute in ATTRIBUTES:
            y_train = [str(v) for v in train.attributes[attribute]]
            y_held = [str(v) for v in heldout.attributes[attribute]]
            if len(set(y_train)) < 2:
                raise ValueError(f"the training suite shows only one {attribute} ({y_train[0]!r}); "
                                 "use more clips")
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=regularization, max_iter=2000))
            accuracies[attribute] = round(float(probe.fit(x_train, y_train).score(x_held, y_held)), 4)
        out["attributes"][name] = accuracies
        ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-1, 4, 11)))
        predicted = ridge.fit(x_train, train.perception_mos).predict(x_held)
        out["perception_srcc"][name] = round(float(spearmanr(predicted, heldout.perception_mos)[0]), 4)
    for attribute in ATTRIBUTES:
        _, counts = np.unique([str(v) for v in heldout.attributes[attribute]], return_counts=True)
        out["majority"][attribute] = round(float(counts.max() / counts.sum()), 4)
    return out


def probe_bundle(bundle: str | Path, train_suite: str | Path, heldout_suite: str | Path, task: str = "perception",
                 cache_dir: str | Path | None = None, progress: bool = False) -> dict:
    """Load a bundle (or "love-nano") on the CPU and probe its visual features (see module docstring)."""
    from .. import scorer as scorer_module

    model = scorer_module.load(str(bundle), device="cpu").model
    features = [suite_features(model, s, task, cache_dir, progress=progress) for s in (train_suite, heldout_suite)]
    return {"bundle": str(bundle), "task": task, "train_videos": len(features[0].perception_mos),
            "heldout_videos": len(features[1].perception_mos), **probe_features(*features)}
