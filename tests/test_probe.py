"""Linear probes of visual features (issue 5 diagnostics): the probe logic on features with known
content, and the whole path from a saved bundle over real synthetic mp4 suites."""

from __future__ import annotations

import json

import numpy as np
import pytest

from love_plugins.errors import LoveError
from love_plugins.modeling.tiny import build_tiny_model
from love_plugins.nano.probe import ATTRIBUTES, SuiteFeatures, probe_bundle, probe_features
from love_plugins.synth import generate_suite
from love_plugins.synth.scene import OBJECT_COLORS


def _features(n: int, seed: int) -> SuiteFeatures:
    """Frames carry the colour (one-hot, noisy) and the MOS (first dim); motion is pure noise."""
    rng = np.random.default_rng(seed)
    colors = rng.choice(list(OBJECT_COLORS), size=n)
    onehot = (colors[:, None] == np.array(list(OBJECT_COLORS))[None, :]).astype(float)
    mos = rng.uniform(10, 90, size=n)
    frames = np.concatenate([mos[:, None] / 20, 3 * onehot, rng.normal(size=(n, 10))], axis=1)
    frames += 0.3 * rng.normal(size=frames.shape)
    attributes = {name: rng.choice(["a", "b", "c"], size=n).tolist() for name in ATTRIBUTES}
    attributes["color"] = colors.tolist()
    return SuiteFeatures(frames=frames, motion=rng.normal(size=(n, 16)), attributes=attributes, perception_mos=mos)


def test_probe_reads_what_the_features_carry_and_nothing_else():
    report = probe_features(_features(300, 0), _features(200, 1))
    assert report["attributes"]["frames"]["color"] >= 0.95
    assert report["attributes"]["frames+motion"]["color"] >= 0.95
    # motion features are noise: colour at chance, the MOS unreadable
    assert report["attributes"]["motion"]["color"] <= report["majority"]["color"] + 0.15
    assert report["perception_srcc"]["frames"] >= 0.9
    assert abs(report["perception_srcc"]["motion"]) < 0.3
    # attributes the features do not carry stay near the majority rate
    assert report["attributes"]["frames"]["shape"] <= report["majority"]["shape"] + 0.15


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    generate_suite(root / "train", num_videos=24, seed=21)
    generate_suite(root / "heldout", num_videos=12, seed=22)
    return root


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    model, tokenizer = build_tiny_model(seed=0)
    directory = tmp_path_factory.mktemp("probe_bundle")
    model.save_pretrained(directory, tokenizer)
    return directory


def test_probe_bundle_runs_end_to_end_and_is_deterministic(suites, tiny_bundle, tmp_path):
    first = probe_bundle(tiny_bundle, suites / "train", suites / "heldout", task="qa",
                         cache_dir=tmp_path / "cache")
    again = probe_bundle(tiny_bundle, suites / "train", suites / "heldout", task="qa",
                         cache_dir=tmp_path / "cache")
    assert first == again
    assert (first["train_videos"], first["heldout_videos"], first["task"]) == (24, 12, "qa")
    for accuracies in first["attributes"].values():
        assert set(accuracies) == set(ATTRIBUTES)
        assert all(0.0 <= a <= 1.0 for a in accuracies.values())
    assert set(first["perception_srcc"]) == {"frames", "motion", "frames+motion"}


def test_probe_needs_a_suite_with_true_scenes(suites, tiny_bundle, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    rows = [json.loads(line) for line in (suites / "train" / "manifest.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("scene")
        row["video"] = str(suites / "train" / row["video"])
    (plain / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match="no true scene"):
        probe_bundle(tiny_bundle, plain, suites / "heldout")


def test_probe_refuses_a_training_suite_that_shows_one_value_only():
    train = _features(50, 0)
    train.attributes["shape"] = ["circle"] * 50
    with pytest.raises(ValueError, match="only one shape"):
        probe_features(train, _features(20, 1))


def test_probe_names_a_missing_suite(suites, tiny_bundle, tmp_path):
    with pytest.raises(LoveError, match="no_such_suite"):
        probe_bundle(tiny_bundle, tmp_path / "no_such_suite", suites / "heldout")
